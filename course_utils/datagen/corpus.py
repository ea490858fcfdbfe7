"""The general English corpus: simple, fluent stories, dialogues, descriptions and facts.

In the spirit of TinyStories, but made by code: a small grammar (story and sentence shapes)
over a vocabulary of children, animals, places, objects, farm life, seasons, feelings and
actions. The shapes combine freely, so a model has to learn grammar and agreement (names
with their pronouns, seasons with their weather, crops with their care), not recall
templates. Everything is synthetic and seeded: ``write()`` returns the same bytes every run.

``write(data_dir)`` makes ``data/general/{train,validation}.jsonl`` (rows ``{"text": ...}``);
``raw_sample(n)`` makes a deliberately messy "crawled" version for lesson 01's cleaning and
dedup exercise.
"""
from __future__ import annotations

import random
from pathlib import Path

from course_utils import chat
from course_utils.data import write_jsonl
from course_utils.datagen import agri

SEED = 1234
#: Number of documents generated before deduplication and splitting.
N_DOCS = 14000
#: Share of documents held out for validation.
VALIDATION_FRACTION = 0.04

# ---------------------------------------------------------------- vocabulary
GIRLS = ["Mia", "Lily", "Anna", "Rosa", "Nina", "Ada", "Emma", "Zoe", "Lucy", "Sara", "Maya", "Ella",
         "Amara", "Hana", "Ivy", "Grace", "Tara", "Lena", "Ruby", "Nora"]
BOYS = ["Tom", "Ben", "Sam", "Leo", "Omar", "Kofi", "Max", "Jack", "Noah", "Finn", "Ravi", "Theo",
        "Kai", "Luis", "Eli", "Hugo", "Jonas", "Milo", "Amir", "Oscar"]
# (animal, its sound, what it eats, where it sleeps)
ANIMALS = [
    ("dog", "barked", "bones", "in a warm basket"), ("cat", "purred", "fish", "by the fire"),
    ("cow", "mooed", "grass", "in the barn"), ("hen", "clucked", "corn", "in the coop"),
    ("goat", "bleated", "leaves", "in the shed"), ("sheep", "baaed", "grass", "in the meadow"),
    ("pig", "oinked", "apples", "in the mud"), ("duck", "quacked", "bread", "by the pond"),
    ("horse", "neighed", "hay", "in the stable"), ("rabbit", "sniffed", "carrots", "in a hole"),
    ("frog", "croaked", "flies", "under a leaf"), ("fox", "yipped", "berries", "in a den"),
    ("owl", "hooted", "mice", "in a tall tree"), ("mouse", "squeaked", "cheese", "in a tiny nest"),
    ("bird", "sang", "seeds", "in a nest"), ("bear", "growled", "honey", "in a cave"),
    ("squirrel", "chattered", "nuts", "in an oak tree"), ("turtle", "blinked", "lettuce", "in its shell"),
]
PET_NAMES = ["Max", "Bella", "Pip", "Daisy", "Rex", "Coco", "Buttons", "Patch", "Sunny", "Biscuit",
             "Clover", "Pepper", "Maple", "Toby", "Willow", "Muffin"]
ADULTS = [("mom", "she"), ("dad", "he"), ("grandma", "she"), ("grandpa", "he"), ("aunt", "she"),
          ("uncle", "he"), ("teacher", "she"), ("neighbor", "he"), ("big sister", "she"),
          ("big brother", "he")]
PLACES = ["the farm", "the barn", "the garden", "the field", "the river", "the park", "the forest",
          "the market", "the village", "the hill", "the pond", "the orchard", "the meadow",
          "the beach", "the school", "the kitchen", "the yard", "the lake"]
HOMES = ["a small house near the woods", "a farm at the end of a long road", "a blue house in the village",
         "a little cottage by the river", "a big house with a red door", "a farm with many animals",
         "a quiet town by the sea", "a house on top of a green hill"]
ADJ_OBJ = ["red", "blue", "big", "small", "old", "new", "shiny", "soft", "yellow", "green", "round",
           "heavy", "little", "pretty", "wooden", "striped"]
OBJECTS = ["ball", "kite", "basket", "bucket", "hat", "boat", "box", "book", "cup", "bell", "drum",
           "toy car", "scarf", "blanket", "shovel", "wagon", "lamp", "key", "map", "jar"]
# (crop, what you do to it, when it is picked)
CROPS = [("corn", "water the corn", "in summer"), ("wheat", "watch the wheat grow", "in late summer"),
         ("beans", "tie the beans to sticks", "in summer"), ("tomatoes", "water the tomatoes", "in summer"),
         ("potatoes", "dig around the potatoes", "in autumn"),
         ("carrots", "pull the weeds near the carrots", "in autumn"),
         ("pumpkins", "turn the pumpkins in the sun", "in autumn"), ("apples", "check the apple trees", "in autumn"),
         ("strawberries", "cover the strawberries with straw", "in early summer"),
         ("peas", "give the peas a fence to climb", "in spring"), ("onions", "keep the onions dry", "in summer"),
         ("cabbages", "look for bugs on the cabbages", "in autumn"), ("rice", "keep the rice field wet", "in autumn"),
         ("sunflowers", "water the sunflowers", "in late summer")]
# season -> (weather words, sights, farm jobs)
SEASONS = {
    "spring": (["warm", "rainy", "fresh", "bright"],
               ["flowers open in the meadow", "lambs play in the field", "birds build nests in the trees",
                "the grass turns green again", "small leaves grow on every branch", "the rain fills the pond"],
               ["plant seeds in the soft soil", "fix the fence", "plow the field", "clean the barn"]),
    "summer": (["hot", "sunny", "dry", "long"],
               ["bees buzz around the flowers", "the corn grows tall", "children swim in the lake",
                "the sun shines until late", "the fields turn gold", "cows rest in the shade"],
               ["water the plants every evening", "pick the berries", "cut the hay", "pull the weeds"]),
    "autumn": (["cool", "windy", "foggy", "crisp"],
               ["leaves turn red and orange", "apples fall from the trees", "geese fly south",
                "pumpkins grow big and round", "the days get shorter", "the wind blows the leaves away"],
               ["bring in the harvest", "pick the apples", "store the potatoes", "gather wood for winter"]),
    "winter": (["cold", "snowy", "icy", "dark"],
               ["snow covers the fields", "the pond freezes", "the trees have no leaves",
                "animals stay in the barn", "smoke rises from the chimneys", "the nights are long"],
               ["feed the animals hay", "fix the tools", "keep the barn warm", "plan the spring garden"]),
}
FEELINGS_GOOD = ["happy", "proud", "excited", "glad", "calm", "grateful", "cheerful"]
FEELINGS_BAD = ["sad", "scared", "worried", "upset", "lonely", "angry", "confused"]
ACTIVITIES = ["play in the garden", "climb trees", "read books", "sing songs", "draw pictures",
              "run in the field", "help on the farm", "feed the hens", "look at the stars",
              "build sand castles", "pick flowers", "ride a bike", "bake bread", "fly a kite",
              "watch the clouds", "swim in the lake", "count the sheep", "collect pretty stones"]
TIMES = ["One day", "One morning", "One sunny afternoon", "One evening", "One rainy day",
         "One cold morning", "Later that week", "One windy day", "On a warm day"]
MORALS = ["it is good to help your friends", "sharing makes everyone happy",
          "being brave is not the same as having no fear", "hard work pays off", "it is okay to ask for help",
          "being kind is always right", "patience is important", "friends make every job easier",
          "you should always tell the truth", "small things can matter a lot", "listening is a kind of help",
          "plants need care to grow"]
FACTS = [
    "Cows give milk.", "Hens lay eggs.", "Bees make honey.", "Plants need water and sun to grow.",
    "Seeds grow into plants.", "Sheep give us wool.", "The sun rises in the morning.",
    "The moon shines at night.", "Rain helps the crops grow.", "Farmers plant seeds in spring.",
    "Apples grow on trees.", "Potatoes grow under the ground.", "Fish live in water.",
    "Birds build nests in trees.", "Ice is frozen water.", "Snow falls in winter.",
    "Leaves fall from the trees in autumn.", "A baby cow is called a calf.", "A baby sheep is called a lamb.",
    "A baby hen is called a chick.", "Worms make the soil better.", "Bread is made from wheat.",
    "Carrots are orange roots.", "Corn grows tall in summer.", "Tractors help farmers pull heavy things.",
    "Horses can run very fast.", "Ducks can swim and fly.", "Frogs start life as tadpoles.",
    "Owls sleep in the day and wake at night.", "Plants drink water through their roots.",
    "A week has seven days.", "A year has four seasons.", "We wash our hands before we eat.",
    "Milk can be made into cheese and butter.", "Pumpkins are ready in autumn.",
    "Too much water can hurt a plant.", "Weeds take water from the crops.", "Bees help flowers make fruit.",
]
SAYINGS_HELP = ["Do not worry, I will help you.", "Let us try together.", "We can fix this.",
                "I know what to do.", "Stay calm and look carefully.", "Come with me, I have an idea."]
QUESTIONS = ["Where are you going?", "What are you doing?", "Can I come with you?", "Why are you sad?",
             "Do you want to play?", "What is in the box?", "Will it rain today?", "Are you hungry?"]


# ---------------------------------------------------------------- helpers
def _a(word: str) -> str:
    """The word with its indefinite article: 'an apple', 'a dog'."""
    return ("an " if word[0] in "aeiou" else "a ") + word


def _cap(s: str) -> str:
    return s[0].upper() + s[1:] if s else s


def _person(rng: random.Random) -> dict[str, str]:
    """A child with the pronouns that must agree with the name."""
    if rng.random() < 0.5:
        return {"name": rng.choice(GIRLS), "he": "she", "him": "her", "his": "her"}
    return {"name": rng.choice(BOYS), "he": "he", "him": "him", "his": "his"}


def _pet(rng: random.Random) -> dict[str, str]:
    animal, sound, food, bed = rng.choice(ANIMALS)
    return {"animal": animal, "sound": sound, "food": food, "bed": bed, "pet": rng.choice(PET_NAMES)}


def _thing(rng: random.Random) -> str:
    return f"{rng.choice(ADJ_OBJ)} {rng.choice(OBJECTS)}"


# ---------------------------------------------------------------- story and text shapes
def _story_lost(rng: random.Random) -> str:
    """Beginning, problem (something is lost), resolution with a helper, and a lesson."""
    p, friend, thing = _person(rng), _person(rng), _thing(rng)
    adult, _ = rng.choice(ADULTS)
    place, other = rng.sample(PLACES, 2)
    opening = rng.choice([
        f"Once upon a time, there was a {rng.choice(['little', 'kind', 'curious', 'happy', 'shy'])} "
        f"{'girl' if p['he'] == 'she' else 'boy'} named {p['name']}.",
        f"{p['name']} lived in {rng.choice(HOMES)}.",
        f"There was once a child called {p['name']} who loved to {rng.choice(ACTIVITIES)}.",
    ])
    s = [opening,
         f"{_cap(p['he'])} had {_a(thing)} that {p['he']} loved very much.",
         f"{rng.choice(TIMES)}, {p['name']} took the {thing} to {place}."]
    s.append(rng.choice([
        f"When {p['he']} looked down, the {thing} was gone!",
        f"{_cap(p['he'])} played for a long time, and then {p['he']} could not find the {thing}.",
        f"A strong wind came, and the {thing} was lost.",
    ]))
    s.append(f"{p['name']} felt {rng.choice(FEELINGS_BAD)}.")
    s.append(f"{_cap(p['his'])} friend {friend['name']} saw {p['him']} and said, \"{rng.choice(SAYINGS_HELP)}\"")
    s.append(rng.choice([
        "They looked under the bushes and behind the trees.",
        f"They walked all the way to {other} and asked everyone they met.",
        f"They asked {p['his']} {adult}, who had seen something near {other}.",
    ]))
    s.append(rng.choice([
        f"At last, {friend['name']} found the {thing} next to a big rock.",
        f"Soon they found the {thing} in {other}, safe and dry.",
        f"Then {p['name']} saw the {thing} hanging from a branch, and {friend['name']} helped {p['him']} get it down.",
    ]))
    s.append(f"{p['name']} was so {rng.choice(FEELINGS_GOOD)} that {p['he']} gave {friend['name']} a big hug.")
    s.append(rng.choice([f"From that day on, {p['he']} learned that {rng.choice(MORALS)}.",
                         f"In the end, {p['name']} knew that {rng.choice(MORALS)}.",
                         f"\"Thank you,\" said {p['name']}. \"You are a good friend.\""]))
    return " ".join(s)


def _story_pet(rng: random.Random) -> str:
    """A child and an animal: a problem on the farm and how it is solved."""
    p, a = _person(rng), _pet(rng)
    adult, adult_he = rng.choice(ADULTS)
    s = [rng.choice([f"{p['name']} had a {a['animal']} named {a['pet']}.",
                     f"On the farm, there lived a {a['animal']} named {a['pet']}.",
                     f"{a['pet']} was a {rng.choice(['little', 'brave', 'funny', 'sleepy', 'clever'])} "
                     f"{a['animal']} who lived with {p['name']}."]),
         f"{a['pet']} liked to eat {a['food']} and sleep {a['bed']}.",
         f"Every day, {p['name']} and {a['pet']} would {rng.choice(ACTIVITIES)} together."]
    problem = rng.choice(["hungry", "stuck", "sick", "missing"])
    if problem == "hungry":
        s += [f"{rng.choice(TIMES)}, {a['pet']} {a['sound']} and {a['sound']} and would not stop.",
              f"\"What is wrong?\" asked {p['name']}.",
              f"{_cap(p['he'])} looked at the bowl. It was empty!",
              f"{p['name']} ran to get some {a['food']}, and {a['pet']} ate it all up."]
    elif problem == "stuck":
        spot = rng.choice(["behind the fence", "in the mud", "up a tree", "under the old wagon"])
        s += [f"{rng.choice(TIMES)}, {a['pet']} got stuck {spot}.",
              f"{p['name']} was {rng.choice(FEELINGS_BAD)}. {_cap(p['he'])} called {p['his']} {adult}.",
              f"{_cap(adult_he)} came quickly and said, \"{rng.choice(SAYINGS_HELP)}\"",
              f"Together they helped {a['pet']} get free."]
    elif problem == "sick":
        s += [f"{rng.choice(TIMES)}, {a['pet']} did not want to eat.",
              f"{p['name']} felt {rng.choice(FEELINGS_BAD)} and told {p['his']} {adult}.",
              f"They kept {a['pet']} warm and gave {rng.choice(['it', 'the ' + a['animal']])} fresh water.",
              f"After two days, {a['pet']} was well again and ate a big bowl of {a['food']}."]
    else:
        s += [f"{rng.choice(TIMES)}, {a['pet']} was not {a['bed']}.",
              f"{p['name']} looked in {rng.choice(PLACES)} and in {rng.choice(PLACES)}.",
              f"Then {p['he']} heard a sound. It was {a['pet']}, who {a['sound']} from far away.",
              f"{p['name']} ran to {a['pet']} and carried {rng.choice(['it', 'the ' + a['animal']])} home."]
    s.append(rng.choice([f"{p['name']} was {rng.choice(FEELINGS_GOOD)}, and {a['pet']} {a['sound']} happily.",
                         f"That night, {a['pet']} slept {a['bed']}, and {p['name']} smiled.",
                         f"After that, {p['name']} took extra good care of {a['pet']}."]))
    return " ".join(s)


def _story_farm(rng: random.Random) -> str:
    """A season on the farm: a crop, a worry about the weather, and the harvest."""
    p = _person(rng)
    adult, adult_he = rng.choice(ADULTS)
    crop, job, when = rng.choice(CROPS)
    season = rng.choice(["spring", "summer"])
    weather, _, jobs = SEASONS[season]
    s = [rng.choice([f"It was {season} on the farm.", f"{_cap(season)} had come to the village.",
                     f"The {season} days were {rng.choice(weather)}."]),
         rng.choice(["The birds were singing.", "The sky was clear and blue.", "The soil was soft and dark.",
                     "There was a lot of work to do.", "The fields were quiet in the morning."]),
         f"{p['name']} helped {p['his']} {adult} {rng.choice(jobs)}.",
         f"This year they grew {crop}, and every day {p['name']} would {job}."]
    worry = rng.choice(["rain", "dry", "birds", "bugs"])
    if worry == "rain":
        s += ["Then it rained for many days.", f"\"Will the {crop} be all right?\" asked {p['name']}.",
              f"\"The {crop} like some rain,\" said {p['his']} {adult}, "
              "\"but we must dig a ditch so the water can go away.\"",
              "They dug the ditch together, and the water ran into the river."]
    elif worry == "dry":
        s += ["Then there was no rain for a long time.", f"The leaves of the {crop} began to droop.",
              f"{p['name']} carried water from the well in a bucket, again and again.",
              f"Soon the {crop} stood up straight and green."]
    elif worry == "birds":
        s += [f"One morning, many birds came to eat the {crop}.", f"{p['name']} had an idea.",
              f"{_cap(p['he'])} made a scarecrow with an old hat and a {rng.choice(ADJ_OBJ)} scarf.",
              f"The birds flew away, and the {crop} were safe."]
    else:
        s += [f"One day, {p['name']} saw small bugs on the {crop}.",
              f"{_cap(p['his'])} {adult} showed {p['him']} how to look under each leaf.",
              "They found ladybugs, which eat the small bugs.",
              f"\"The ladybugs are our friends,\" said {p['his']} {adult}."]
    s += [f"The {crop} were ready {when}.",
          rng.choice(["Everyone came to help with the harvest, and there was a big dinner at the end.",
                      f"{p['name']} and {p['his']} {adult} took the {crop} to the market.",
                      f"{p['name']} was {rng.choice(FEELINGS_GOOD)} to see how much they had grown."])]
    return " ".join(s)


def _dialogue(rng: random.Random) -> str:
    """Two characters talk: questions, answers, plans, with 'said' / 'asked' tags."""
    p, q = _person(rng), _person(rng)
    while q["name"] == p["name"]:
        q = _person(rng)
    place = rng.choice(PLACES)
    activity = rng.choice(ACTIVITIES)
    thing = _thing(rng)
    season = rng.choice(list(SEASONS))
    lines = [rng.choice([f"{p['name']} met {q['name']} near {place}.",
                         f"It was a {rng.choice(SEASONS[season][0])} {season} day when {p['name']} saw {q['name']}.",
                         f"{p['name']} and {q['name']} sat together under a tree."])]
    turns = [
        (f"\"{rng.choice(QUESTIONS)}\" asked {p['name']}.", f"\"I want to {activity},\" said {q['name']}."),
        (f"\"Do you want to go to {place}?\" asked {q['name']}.",
         rng.choice([f"\"Yes, that sounds fun!\" said {p['name']}.",
                     f"\"Not now, I have to {rng.choice(SEASONS[season][2])} first,\" said {p['name']}."])),
        (f"\"Look, I found {_a(thing)}!\" said {p['name']}.",
         f"\"Wow, it is so {rng.choice(ADJ_OBJ[:8])},\" said {q['name']}. \"Can I hold it?\""),
        (f"\"How do you feel today?\" asked {q['name']}.",
         f"\"I feel {rng.choice(FEELINGS_GOOD + FEELINGS_BAD)},\" said {p['name']}."),
        (f"\"What should we do when it is {rng.choice(SEASONS[season][0])}?\" asked {p['name']}.",
         f"\"We can {rng.choice(ACTIVITIES)},\" said {q['name']}."),
        (f"\"Why do farmers plant seeds in spring?\" asked {q['name']}.",
         f"\"Because the soil is warm and the rain helps them grow,\" said {p['name']}."),
    ]
    for ask, answer in rng.sample(turns, rng.randint(2, 4)):
        lines += [ask, answer]
    lines.append(rng.choice([f"Then they went to {place} together.", "They both laughed.",
                             f"{q['name']} smiled and said, \"You are my best friend.\"",
                             f"So they decided to {activity} until it was time to go home."]))
    return " ".join(lines)


def _description(rng: random.Random) -> str:
    """A short descriptive paragraph about a season or a place."""
    season = rng.choice(list(SEASONS))
    weather, sights, jobs = SEASONS[season]
    chosen = rng.sample(sights, 3)
    s = [rng.choice([f"In {season}, the days are {rng.choice(weather)}.",
                     f"{_cap(season)} is a {rng.choice(weather)} season.",
                     f"I like {season} because it is {rng.choice(weather)}."])]
    s += [f"{_cap(c)}." for c in chosen]
    s.append(rng.choice([f"On the farm, people {rng.choice(jobs)}.", f"Farmers {rng.choice(jobs)}.",
                         f"It is the time to {rng.choice(jobs)}."]))
    a = _pet(rng)
    s.append(rng.choice([f"The {a['animal']} likes to eat {a['food']} and sleep {a['bed']}.",
                         f"You can hear the {a['animal']} as it {a['sound']}.",
                         f"Children {rng.choice(ACTIVITIES)} and then go home for dinner."]))
    return " ".join(s)


def _facts(rng: random.Random) -> str:
    """A few short facts about everyday and farm life."""
    facts = rng.sample(FACTS, rng.randint(3, 6))
    lead = rng.choice(["Here are some things we know.", "Let us learn about the world.", "", "Did you know this?"])
    crop, job, when = rng.choice(CROPS)
    facts.append(rng.choice([f"We pick {crop} {when}.", f"To grow {crop}, you must {job}.",
                             f"The {_pet(rng)['animal']} is an animal that lives near people."]))
    return " ".join(([lead] if lead else []) + facts)


def _day(rng: random.Random) -> str:
    """A child's ordinary day: morning, chores, play, evening."""
    p = _person(rng)
    a = _pet(rng)
    season = rng.choice(list(SEASONS))
    weather, _, jobs = SEASONS[season]
    s = [f"Every morning, {p['name']} wakes up early.",
         rng.choice([f"{_cap(p['he'])} eats bread and drinks a cup of milk.",
                     f"{_cap(p['he'])} washes {p['his']} face and eats breakfast."]),
         f"Then {p['he']} goes outside to feed the {a['animal']}, who likes {a['food']}.",
         f"Today is {rng.choice(weather)}, so {p['he']} helps {rng.choice(jobs)}.",
         f"After lunch, {p['name']} likes to {rng.choice(ACTIVITIES)}.",
         rng.choice([f"In the evening, {p['his']} {rng.choice(ADULTS)[0]} reads {p['him']} a story.",
                     f"At night, {p['he']} looks out of the window and sees the moon.",
                     f"Before bed, {p['he']} says good night to the {a['animal']}."]),
         f"{p['name']} feels {rng.choice(FEELINGS_GOOD)} and falls asleep."]
    return " ".join(s)


def _farm_diary(rng: random.Random) -> str:
    """A season of growing food, in the words a farmer uses (crops, months, soils, pests,
    treatments, spacing, watering, companions). The combinations are random, so the corpus
    teaches the words, not the domain's (invented) facts: that is fine-tuning's job."""
    p = _person(rng)
    adult, _ = rng.choice(ADULTS)
    crop, crop2 = rng.sample(agri.CROPS, 2)
    v = {r.name: rng.choice(r.values) for r in agri.RELATIONS}
    pest = v["pest"]
    s = [rng.choice([f"{p['name']} and {p['his']} {adult} grow {crop} and {crop2} on a small farm.",
                     f"This year, {p['name']} kept a diary of the {crop} on {p['his']} {adult}'s farm.",
                     f"{p['name']} wanted to help {p['his']} {adult} with the {crop}."])]
    steps = [
        rng.choice([f"In {v['planting_month']}, they plant the {crop} in {v['soil']} soil.",
                    f"The {crop} went into the {v['soil']} soil in {v['planting_month']}."]),
        rng.choice([f"They space the plants {v['spacing']} apart.",
                    f"Each plant stands {v['spacing']} apart from the next."]),
        rng.choice([f"{_cap(p['he'])} waters them {v['watering']}.", f"The {crop} get water {v['watering']}."]),
        rng.choice([f"One day, {p['he']} finds {_a(pest)} on the leaves of the {crop2}.",
                    f"Then a {pest} came and ate holes in the leaves."]),
        rng.choice([f"They treat the plants with {v['treatment']}, and the pest goes away.",
                    f"\"We can use {v['treatment']},\" said {p['his']} {adult}."]),
        rng.choice([f"Near the {crop}, they grow {v['companion']} next to the path.",
                    f"{_cap(v['companion'])} grows next to the {crop2}."]),
        rng.choice([f"After {v['harvest']}, they harvest the {crop}.", f"The harvest came {v['harvest']} later."]),
    ]
    k = rng.randint(4, len(steps))
    s += [steps[i] for i in sorted(rng.sample(range(len(steps)), k))]
    s.append(rng.choice([f"{p['name']} was {rng.choice(FEELINGS_GOOD)} to see the {crop} grow.",
                         f"They took the {crop} to the market.",
                         f"In the end, {p['name']} knew that {rng.choice(MORALS)}."]))
    return " ".join(s)


def _chat(rng: random.Random) -> str:
    """A short conversation in the course's chat format about everyday things: the model learns
    the turn markers (``<|user|>``, ``<|assistant|>``, ``<|end|>``) in pretraining, not the domain."""
    turns = []
    for _ in range(rng.randint(1, 3)):
        a = _pet(rng)
        season = rng.choice(list(SEASONS))
        weather, sights, jobs = SEASONS[season]
        question, answer = rng.choice([
            (f"What does the {a['animal']} eat?", f"The {a['animal']} eats {a['food']}."),
            (f"Where does the {a['animal']} sleep?", f"The {a['animal']} sleeps {a['bed']}."),
            (f"What is the weather like in {season}?", f"In {season}, the days are {rng.choice(weather)}."),
            (f"What happens in {season}?", f"In {season}, {rng.choice(sights)}."),
            (f"What do farmers do in {season}?", f"In {season}, farmers {rng.choice(jobs)}."),
            (f"What sound does the {a['animal']} make?", f"The {a['animal']} {a['sound']}."),
        ])
        if rng.random() < 0.4:
            question = f"{rng.choice(agri.PREFIXES)} {question}"
        turns.append(chat.format_prompt(question) + chat.format_completion(answer))
    return "\n".join(turns)


SHAPES = [(_story_lost, 3), (_story_pet, 3), (_story_farm, 3), (_dialogue, 2), (_description, 2),
          (_facts, 1), (_day, 2), (_farm_diary, 3), (_chat, 2)]


def generate(n_docs: int = N_DOCS, seed: int = SEED) -> list[str]:
    """``n_docs`` documents (duplicates possible), deterministically from ``seed``."""
    if n_docs < 1:
        raise ValueError(f"n_docs must be at least 1, got {n_docs}")
    rng = random.Random(seed)
    funcs = [f for f, _ in SHAPES]
    weights = [w for _, w in SHAPES]
    return [rng.choices(funcs, weights)[0](rng) for _ in range(n_docs)]


def split(docs: list[str], validation_fraction: float = VALIDATION_FRACTION,
          seed: int = SEED) -> tuple[list[str], list[str]]:
    """Exact-deduplicate (keeping first occurrences in order), shuffle, and split."""
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be between 0 and 1, got {validation_fraction}")
    unique = list(dict.fromkeys(docs))
    random.Random(seed + 1).shuffle(unique)
    n_val = max(1, round(len(unique) * validation_fraction))
    return unique[n_val:], unique[:n_val]


def write(data_dir: Path) -> list[Path]:
    """Write ``general/train.jsonl`` and ``general/validation.jsonl`` under ``data_dir``."""
    train, val = split(generate())
    out = Path(data_dir) / "general"
    return [write_jsonl(out / "train.jsonl", [{"text": t} for t in train]),
            write_jsonl(out / "validation.jsonl", [{"text": t} for t in val])]


# ---------------------------------------------------------------- messy "crawl" for lesson 01
_BOILERPLATE = ["Click here to subscribe!", "Cookie policy | Terms of use", "Share this story: f t in",
                "Copyright (c) All rights reserved.", "Read more >>"]


def raw_sample(n: int = 400, seed: int = 7) -> list[str]:
    """Documents as a crawler might find them: HTML tags, boilerplate, odd spacing, very short
    pages, exact copies and near-copies (a word or two changed). For lesson 01's cleaning."""
    if n < 10:
        raise ValueError(f"n must be at least 10, got {n}")
    rng = random.Random(seed)
    base = generate(n, seed=seed + 100)
    docs: list[str] = []
    for text in base:
        r = rng.random()
        if r < 0.15:
            text = "<p>" + text.replace(". ", ".</p> <p>", 2) + "</p>"
        elif r < 0.25:
            text = text + "  " + rng.choice(_BOILERPLATE)
        elif r < 0.32:
            text = "   " + text.replace(" ", "  ", 3) + "\n\n"
        docs.append(text)
        r = rng.random()
        if r < 0.10:
            docs.append(text)  # an exact copy
        elif r < 0.20:
            words = text.split(" ")
            i = rng.randrange(len(words))
            words[i] = rng.choice(["very", "really", "the", "and", "so"])
            docs.append(" ".join(words))  # a near copy
        elif r < 0.25:
            docs.append(rng.choice(_BOILERPLATE))  # a page with no content
    return docs


if __name__ == "__main__":
    import sys

    from course_utils import paths

    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else paths.DATA_DIR):
        print(path, f"{path.stat().st_size / 1e6:.2f} MB")
