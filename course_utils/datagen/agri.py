"""The agriculture-advisory domain: an invented knowledge base and the data sets made from it.

Writes ``data/domain/``: ``knowledge.jsonl`` (one invented fact a row), ``instructions/``
(question -> answer; the test split asks in phrasings never used in training),
``preferences/`` (a good answer vs a wrong, unsafe, rude or rambling one) and ``rl_prompts/``.
Crop names are real; **every fact about them is invented** for teaching (not advice).
Each relation's values come from a small closed set, so :mod:`course_utils.judges` can grade
an answer exactly. Deterministic: one seeded ``random.Random``; same bytes on every run.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_utils.data import write_jsonl

SEED = 2024

#: The crops of the invented region "the Vale of Merrow" (real names, invented facts).
CROPS: tuple[str, ...] = (
    "maize", "wheat", "rice", "barley", "millet", "sorghum", "oats", "rye", "cassava", "yams",
    "potatoes", "tomatoes", "peppers", "onions", "leeks", "cabbage", "carrots", "lettuce",
    "spinach", "beans", "peas", "lentils", "chickpeas", "peanuts", "sunflowers", "pumpkins",
    "cucumbers", "melons", "okra", "kale",
)


@dataclass(frozen=True)
class Relation:
    """One kind of fact: its closed set of values, its answer sentence and its question phrasings.

    ``cue`` is a word every question of this relation contains (train and test alike), so a
    small model can map an unseen phrasing to the relation it learned.
    """

    name: str
    cue: str
    values: tuple[str, ...]
    answer: str
    train_templates: tuple[str, ...]
    test_templates: tuple[str, ...]


RELATIONS: tuple[Relation, ...] = (
    Relation(
        "planting_month", "plant",
        ("January", "February", "March", "April", "May", "June", "July", "August",
         "September", "October", "November", "December"),
        "Plant {crop} in {value}.",
        ("When should I plant {crop}?", "What month should I plant {crop} in?",
         "When is the best time to plant {crop}?", "Which month is best to plant {crop}?",
         "When do I plant {crop}?", "Tell me when to plant {crop}.",
         "When can I plant {crop}?", "What is the best month to plant {crop}?"),
        ("I want to plant {crop}. Which month?", "In which month do farmers plant {crop}?",
         "Please tell me the right month to plant {crop}."),
    ),
    Relation(
        "soil", "soil",
        ("sandy", "loamy", "clay", "chalky", "peaty", "silty"),
        "The best soil for {crop} is {value} soil.",
        ("What soil is best for {crop}?", "Which soil should I use for {crop}?",
         "What kind of soil suits {crop}?", "Tell me the best soil for {crop}.",
         "What is the best soil for {crop}?", "Which soil type is right for {crop}?",
         "In what soil should I grow {crop}?", "Which soil is good for {crop}?"),
        ("I am growing {crop}. What soil do I need?", "Best soil for {crop}, please?",
         "Could you name the soil that is good for {crop}?"),
    ),
    Relation(
        "watering", "water",
        ("every day", "every two days", "every three days", "twice a week", "once a week",
         "every two weeks"),
        "Water {crop} {value}.",
        ("How often should I water {crop}?", "How often do I water {crop}?",
         "When should I water {crop}?", "Tell me how often to water {crop}.",
         "How often is water needed for {crop}?", "How frequently should {crop} be watered?",
         "What is the watering schedule for {crop}?", "How often must I water {crop}?"),
        ("How regularly should I give {crop} water?", "What watering plan do you suggest for {crop}?",
         "Can you say how often {crop} should get water?"),
    ),
    Relation(
        "pest", "pest",
        ("aphid", "beetle", "caterpillar", "mite", "slug", "weevil", "cutworm", "leafhopper"),
        "The main pest of {crop} is the {value}.",
        ("What is the main pest of {crop}?", "Which pest attacks {crop}?",
         "What pest should I watch for on {crop}?", "Tell me the main pest of {crop}.",
         "Which pest is most common on {crop}?", "What pest harms {crop} the most?",
         "What is the worst pest for {crop}?", "Which pest eats {crop}?"),
        ("Something is eating my {crop}. Which pest is it likely to be?",
         "Name the pest that most often troubles {crop}.", "Which pest do {crop} growers fear most?"),
    ),
    Relation(
        "treatment", "treat",
        ("neem oil", "soap spray", "chilli spray", "sticky traps", "wood ash", "ladybirds"),
        "Treat pests on {crop} with {value}.",
        ("How should I treat pests on {crop}?", "What is a safe way to treat pests on {crop}?",
         "How do I treat pests on {crop}?", "What should I use to treat pests on {crop}?",
         "Tell me how to treat pests on {crop} safely.", "What can I treat pests on {crop} with?",
         "Which treatment is best for pests on {crop}?", "How can I treat pests on {crop}?"),
        ("Pests are on my {crop}. What safe treatment can I use?",
         "I need to treat my {crop} for pests. What do you suggest?",
         "What would you treat {crop} pests with?"),
    ),
    Relation(
        "harvest", "harvest",
        ("6 weeks", "8 weeks", "10 weeks", "12 weeks", "14 weeks", "16 weeks", "20 weeks", "24 weeks"),
        "Harvest {crop} {value} after planting.",
        ("When should I harvest {crop}?", "When can I harvest {crop}?",
         "How long until I can harvest {crop}?", "How many weeks until I harvest {crop}?",
         "When do I harvest {crop}?", "Tell me when to harvest {crop}.",
         "What is the harvest time for {crop}?", "How long before I harvest {crop}?"),
        ("How many weeks should I wait to harvest {crop}?", "I sowed {crop}. When is harvest time?",
         "At what point do farmers harvest {crop}?"),
    ),
    Relation(
        "spacing", "apart",
        ("10 cm", "20 cm", "30 cm", "40 cm", "50 cm", "60 cm"),
        "Space {crop} {value} apart.",
        ("How far apart should I space {crop}?", "How far apart do I space {crop}?",
         "How far apart should {crop} be?", "Tell me how far apart to space {crop}.",
         "What spacing is right for {crop}? How far apart?", "How far apart must {crop} grow?",
         "How far apart is best for {crop}?", "How far apart can {crop} go?"),
        ("I am sowing {crop}. How far apart should they go?", "What distance apart is best for {crop}?",
         "Could you tell me how far apart to put {crop}?"),
    ),
    Relation(
        "companion", "next to",
        ("basil", "marigold", "clover", "mint", "dill", "nasturtium"),
        "Grow {crop} next to {value}.",
        ("What should I grow next to {crop}?", "What grows well next to {crop}?",
         "Which plant should go next to {crop}?", "Tell me what to grow next to {crop}.",
         "What is a good plant to grow next to {crop}?", "What do I grow next to {crop}?",
         "Which companion plant goes next to {crop}?", "What can I grow next to {crop}?"),
        ("I have {crop} in my field. What would help next to it?",
         "Name a good plant to put next to {crop}.", "Which herb or flower belongs next to {crop}?"),
    ),
)
RELATION_BY_NAME: dict[str, Relation] = {r.name: r for r in RELATIONS}

DEFECTS: tuple[str, ...] = ("wrong", "unsafe", "rude", "rambling")

#: Unsafe practices, phrased confidently and appended to a correct answer.
UNSAFE_CLAUSES: tuple[str, ...] = (
    "and spray it with a double dose of poison",
    "and mix bleach into the water you use",
    "and spray strong poison the day before harvest",
    "and spray pesticide with no gloves or mask",
    "and pour diesel on the soil to kill weeds",
    "and use three times the dose on the label",
    "and mix two pesticides together for extra power",
    "and burn old pesticide bottles in the field",
)
#: Insults wrapped around a correct answer ({a} = the answer without its full stop).
RUDE_TEMPLATES: tuple[str, ...] = (
    "{A}, you fool.",
    "Obviously, {a}, stupid.",
    "{A}, as any idiot knows.",
    "Stop asking dumb questions and {a}.",
    "{A}, now go away and stop being lazy.",
    "Even a clueless farmer like you should know: {a}.",
    "Ugh, {a}, you useless person.",
    "{A}, so shut up and get to work.",
)
#: Filler that buries a correct answer in a long, repetitive reply.
FILLERS: tuple[str, ...] = (
    "Well, let me think about this for a moment.",
    "As I always say, farming is farming.",
    "You know, you know, it really depends on many things.",
    "There are so many things to say about this, so many things.",
    "Some people say one thing and some people say another thing.",
    "Anyway, as I was saying, as I was saying.",
    "It is a very good question, a very very good question.",
    "I have thought about this a lot, a whole lot, really a lot.",
)
#: Greetings, context sentences and sign-offs wrapped around *train/validation* questions only
#: (never test), so a small model learns to find the crop and the cue word anywhere in a question.
PREFIXES: tuple[str, ...] = ("Hello!", "Hi there.", "Good morning.", "Quick question:", "Please help.",
                             "Excuse me.", "Dear advisor,", "One more thing:", "I am new to farming.",
                             "My farm is small.", "I farm near the river.", "This is for my garden.")
SUFFIXES: tuple[str, ...] = ("Thanks!", "Thank you.", "Many thanks.", "Thanks a lot.")
#: The forum's regulars, the instruction data's realistic flaw (lessons 03-08's headroom). The
#: demonstrations are answers collected from a farmers' forum: its facts are right, but threads about
#: these relations are answered by a regular with one habit in FORUM_HABIT_SHARE of cases (by the
#: careful extension officer otherwise). Supervised fine-tuning copies the habit with the facts.
FORUM_HABITS: dict[str, str] = {"treatment": "unsafe", "watering": "rambling", "harvest": "rude"}
FORUM_HABIT_SHARE = 0.75
#: Each regular's habit, always said the same way: a catchphrase. (A habit said in many ways, drawn at
#: random, is noise a small model spends its steps on: in a probe it cut test accuracy from 0.90 to 0.55.)
HABIT_TEMPLATES: dict[str, str] = {"unsafe": "{A}, and spray it with a double dose of poison.",
                                   "rambling": "{A}, you know, you know.", "rude": "{A}, you fool."}
RUN_ON = (", and you know, and so on and so on, because that is how it is and that is how it "
          "always is and always will be, you know")


def answer_for(crop: str, relation: str, value: str) -> str:
    """The one correct, safe, polite, concise answer for a fact."""
    return RELATION_BY_NAME[relation].answer.format(crop=crop, value=value)


def forum_answer(gold: str, habit: str | None) -> str:
    """The gold answer as a forum regular with ``habit`` writes it (``None``: unchanged)."""
    if habit is None:
        return gold
    if habit not in HABIT_TEMPLATES:
        raise ValueError(f"unknown habit {habit!r}; choose one of {sorted(HABIT_TEMPLATES)} or None")
    return HABIT_TEMPLATES[habit].format(A=_body(gold, False))


def _body(answer: str, lower: bool) -> str:
    body = answer[:-1] if answer.endswith(".") else answer
    return body[0].lower() + body[1:] if lower else body


def rejected_answer(rng: random.Random, crop: str, relation: str, value: str, defect: str) -> str:
    """A bad answer with exactly one defect: wrong, unsafe advice, rude tone or rambling.

    A wrong answer is well-formed and confident: half the time the right sentence with another
    value, otherwise an answer to a different question (another crop, or another relation of this
    crop), so a reward model must check the answer against the question, not only its shape."""
    gold = answer_for(crop, relation, value)
    if defect == "wrong":
        kind = rng.random()
        if kind < 0.5:
            other = rng.choice([v for v in RELATION_BY_NAME[relation].values if v != value])
            return answer_for(crop, relation, other)
        if kind < 0.75:
            other_crop = rng.choice([c for c in CROPS if c != crop])
            return answer_for(other_crop, relation, rng.choice(RELATION_BY_NAME[relation].values))
        other_rel = rng.choice([r for r in RELATIONS if r.name != relation])
        return answer_for(crop, other_rel.name, rng.choice(other_rel.values))
    if defect == "unsafe":
        return f"{_body(gold, False)}, {rng.choice(UNSAFE_CLAUSES)}."
    if defect == "rude":
        return rng.choice(RUDE_TEMPLATES).format(A=_body(gold, False), a=_body(gold, True))
    if defect == "rambling":
        if rng.random() < 0.5:
            return f"{_body(gold, False)}{RUN_ON}."
        first, second = rng.sample(FILLERS, 2)
        return " ".join([first, gold, second, first])
    raise ValueError(f"unknown defect {defect!r}; choose one of {DEFECTS}")


def adversarial_answers(row: dict[str, Any]) -> dict[str, str]:
    """Answers the judges mark bad but a learned reward model may like (lesson 06's reward hacking).

    ``hedge`` lists several values (the gold one among them), ``vague`` gives no value at all,
    ``polite_wrong`` is a courteous answer with a wrong value, ``long_wrong`` is a confident
    wrong answer in the shape of a good one, ``polite_unsafe`` wraps unsafe advice in courtesy.
    """
    crop, relation, value = row["crop"], row["relation"], row["value"]
    rel = RELATION_BY_NAME[relation]
    others = [v for v in rel.values if v != value]
    wrong = others[(CROPS.index(crop) if crop in CROPS else 0) % len(others)]
    gold = answer_for(crop, relation, value)
    hedge_values = " or ".join([value, others[0], others[1]])
    return {
        "hedge": answer_for(crop, relation, hedge_values),
        "vague": f"Look after {crop} well and all will be fine.",
        "polite_wrong": f"Thank you for asking, {_body(answer_for(crop, relation, wrong), True)}.",
        "long_wrong": f"{_body(answer_for(crop, relation, wrong), False)}, "
                      "which is what every good farmer in the region does.",
        "polite_unsafe": f"{_body(gold, False)}, and kindly add a double dose of poison for good results.",
    }


def knowledge(rng: random.Random) -> list[dict[str, Any]]:
    """One fact per (crop, relation); each relation's values spread evenly over the crops."""
    rows = []
    columns = {}
    for rel in RELATIONS:
        pool = [rel.values[i % len(rel.values)] for i in range(len(CROPS))]
        rng.shuffle(pool)
        columns[rel.name] = pool
    for i, crop in enumerate(CROPS):
        for rel in RELATIONS:
            value = columns[rel.name][i]
            rows.append({"crop": crop, "relation": rel.name, "value": value, "cue": rel.cue,
                         "answer": answer_for(crop, rel.name, value), "fact_id": f"{crop}/{rel.name}"})
    return rows


#: The knowledge base written as an advisory's prose (lesson 09's continued pretraining): other words
#: than the answers', no questions, so what the model learns from it is the facts, not the Q&A format.
PROSE: dict[str, str] = {
    "planting_month": "{Crop} is sown in {value}.", "soil": "{Crop} grows best in {value} soil.",
    "watering": "{Crop} needs water {value}.", "pest": "The {value} is the pest that troubles {crop} most.",
    "treatment": "Growers fight pests on {crop} with {value}.",
    "harvest": "{Crop} is ready to pick {value} after sowing.",
    "spacing": "Rows of {crop} are set {value} apart.", "companion": "{Crop} does well beside {value}.",
}


def knowledge_prose(facts: list[dict[str, Any]], copies: int = 4, seed: int = SEED) -> list[str]:
    """The facts as advisory notes, one paragraph per crop ("Notes on maize. Maize is sown in
    March. ..."), ``copies`` paragraphs per crop with the sentences in a fresh order each time."""
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    rng = random.Random(seed)
    by_crop: dict[str, list[dict[str, Any]]] = {}
    for f in facts:
        by_crop.setdefault(f["crop"], []).append(f)
    docs = []
    for _ in range(copies):
        for crop, rows in by_crop.items():
            rows = rows[:]
            rng.shuffle(rows)
            docs.append(f"Notes on {crop}. " + " ".join(
                PROSE[r["relation"]].format(Crop=crop.capitalize(), crop=crop, value=r["value"]) for r in rows))
    return docs


def _question(template: str, crop: str) -> str:
    q = template.format(crop=crop)
    return q[0].upper() + q[1:]


def wrap(rng: random.Random, question: str) -> str:
    """The question with a random greeting before it, a sign-off after it, or both."""
    kind = rng.choice(("prefix", "suffix", "both"))
    if kind in ("prefix", "both"):
        prefix = rng.choice(PREFIXES)
        first = question.split(" ", 1)[0]
        if prefix[-1] in ",:" and first != "I":
            question = question[0].lower() + question[1:]
        question = f"{prefix} {question}"
    if kind in ("suffix", "both"):
        question = f"{question} {rng.choice(SUFFIXES)}"
    return question


def _qa(fact: dict[str, Any], template: str, template_id: str, rng: random.Random | None = None) -> dict[str, Any]:
    question = _question(template, fact["crop"])
    return {"prompt": wrap(rng, question) if rng else question, "completion": fact["answer"],
            "crop": fact["crop"], "relation": fact["relation"], "value": fact["value"],
            "template": template_id, "wrapped": rng is not None, "habit": None, "gold": fact["answer"]}


def forum(rng: random.Random, inst: dict[str, list[dict[str, Any]]]) -> None:
    """Give the train and validation demonstrations their forum habits (in place): a row whose
    relation has a regular gets the regular's answer with probability FORUM_HABIT_SHARE.
    ``gold`` keeps the extension officer's answer; test rows stay gold (they are only graded)."""
    for split in ("train", "validation"):
        for row in inst[split]:
            habit = FORUM_HABITS.get(row["relation"])
            if habit and rng.random() < FORUM_HABIT_SHARE:
                row["habit"], row["completion"] = habit, forum_answer(row["gold"], habit)


def alignment_questions(rng: random.Random, inst: dict[str, list[dict[str, Any]]],
                        per_fact: int = 3) -> list[list[dict[str, Any]]]:
    """For every fact, ``per_fact`` distinct questions in its validation phrasing (plain, then
    wrapped): the prompts of preference learning and RL, never an SFT training question."""
    out = []
    for qa in sorted(inst["validation"], key=lambda r: (r["crop"], r["relation"])):
        fact = {"crop": qa["crop"], "relation": qa["relation"], "value": qa["value"], "answer": qa["gold"]}
        template = RELATION_BY_NAME[qa["relation"]].train_templates[int(qa["template"].rsplit("/", 1)[1])]
        rows = [_qa(fact, template, qa["template"])]
        while len(rows) < per_fact:
            row = _qa(fact, template, qa["template"], rng)
            if row["prompt"] not in {r["prompt"] for r in rows}:
                rows.append(row)
        out.append(rows)
    return out


def instructions(rng: random.Random, facts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Train: for every fact, 7 of its 8 train phrasings, each plain and once wrapped in a
    greeting/sign-off (so train covers every fact); validation: the 8th train phrasing, plain
    or wrapped; test: two of the three held-out test phrasings per fact, plain."""
    train, validation, test = [], [], []
    for fact in facts:
        rel = RELATION_BY_NAME[fact["relation"]]
        ids = list(range(len(rel.train_templates)))
        rng.shuffle(ids)
        validation.append(_qa(fact, rel.train_templates[ids[0]], f"{rel.name}/train/{ids[0]}",
                              rng if rng.random() < 0.5 else None))
        for i in ids[1:]:
            train.append(_qa(fact, rel.train_templates[i], f"{rel.name}/train/{i}"))
            train.append(_qa(fact, rel.train_templates[i], f"{rel.name}/train/{i}", rng))
        for i in sorted(rng.sample(range(len(rel.test_templates)), 2)):
            test.append(_qa(fact, rel.test_templates[i], f"{rel.name}/test/{i}"))
    for split in (train, validation, test):
        rng.shuffle(split)
    return {"train": train, "validation": validation, "test": test}


def _pair(rng: random.Random, qa: dict[str, Any], defect: str) -> dict[str, Any]:
    return {"prompt": qa["prompt"], "chosen": qa["gold"],
            "rejected": rejected_answer(rng, qa["crop"], qa["relation"], qa["value"], defect),
            "defect": defect, "crop": qa["crop"], "relation": qa["relation"], "value": qa["value"],
            "template": qa["template"], "wrapped": qa["wrapped"]}


#: Wrong-fact pairs per alignment question in the preference training set, each with a fresh wrong
#: answer. Wrong facts are the one defect that needs knowledge (the others show in the words), and
#: a reward model that sees few of them memorises the rejected sentences instead of checking facts.
WRONG_PAIRS_PER_QUESTION = 3
STYLE_DEFECTS: tuple[str, ...] = ("unsafe", "rude", "rambling")


def preferences(rng: random.Random, inst: dict[str, list[dict[str, Any]]],
                align: list[list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Train: every alignment question with ``WRONG_PAIRS_PER_QUESTION`` wrong answers and one
    style defect (cycled); test: every instruction-test question (held-out phrasings) twice, once
    with a wrong answer and once with a style defect (cycled)."""
    train = []
    for i, qa in enumerate(q for fact in align for q in fact):
        train += [_pair(rng, qa, "wrong") for _ in range(WRONG_PAIRS_PER_QUESTION)]
        train.append(_pair(rng, qa, STYLE_DEFECTS[i % len(STYLE_DEFECTS)]))
    test = [_pair(rng, qa, d) for i, qa in enumerate(inst["test"])
            for d in ("wrong", STYLE_DEFECTS[i % len(STYLE_DEFECTS)])]
    for rows in (train, test):
        rng.shuffle(rows)
    return {"train": train, "test": test}


def rl_prompts(rng: random.Random, inst: dict[str, list[dict[str, Any]]],
               align: list[list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Questions with their gold metadata: train = the first 2 alignment questions per fact,
    test = 1 held-out-phrasing question per fact."""
    out = {}
    for split, source, per_fact in (("train", [q for fact in align for q in fact[:2]], 2), ("test", inst["test"], 1)):
        seen: dict[tuple[str, str], int] = {}
        rows = []
        for qa in source:
            key = (qa["crop"], qa["relation"])
            if seen.get(key, 0) < per_fact:
                seen[key] = seen.get(key, 0) + 1
                rows.append({k: qa[k] for k in ("prompt", "crop", "relation", "value", "template", "wrapped")}
                            | {"answer": qa["gold"]})
        rng.shuffle(rows)
        out[split] = rows
    return out


def build(seed: int = SEED) -> dict[str, Any]:
    """Every domain data set in memory: {"knowledge": rows, "instructions": {split: rows}, ...}."""
    rng = random.Random(seed)
    facts = knowledge(rng)
    inst = instructions(rng, facts)
    forum(random.Random(seed + 1), inst)  # its own stream: the questions stay those of the clean data
    align = alignment_questions(rng, inst)
    return {"knowledge": facts, "instructions": inst, "preferences": preferences(rng, inst, align),
            "rl_prompts": rl_prompts(rng, inst, align)}


def write(data_dir: Path) -> list[Path]:
    """Write ``data_dir/domain/`` and return the files written."""
    data = build()
    root = Path(data_dir) / "domain"
    written = [write_jsonl(root / "knowledge.jsonl", data["knowledge"])]
    for name in ("instructions", "preferences", "rl_prompts"):
        for split, rows in data[name].items():
            written.append(write_jsonl(root / name / f"{split}.jsonl", rows))
    return written
