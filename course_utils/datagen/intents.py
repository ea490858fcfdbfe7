"""The ``intents`` data set: what a farmer's question is about (8 intents), for lesson 02.

The test split is written with *other words* than the train split: for each intent there are
two disjoint lexicons of cue words (train: "irrigate the beans"; test: "moisten the lentils"),
disjoint question templates and disjoint crop names. A model that only knows the train words
cannot read the test questions; a pretrained encoder that knows English can. :func:`build`
checks that no content word of a test cue occurs anywhere in the train split.
Everything here is synthetic (invented questions, no real advice).
"""
from __future__ import annotations

import random
import re
from pathlib import Path

from course_utils.data import write_jsonl

INTENTS = ("planting", "watering", "pests", "harvest", "soil", "weather", "selling", "equipment")

#: Function words shared by both splits; every *other* word of a test cue is unseen in train.
STOPWORDS = frozenset("a an the my our of on in to for from with and at by up out off around".split())

SEED = 2024
TRAIN_PER_INTENT = 100
TEST_PER_INTENT = 40

# Per intent: actions (with "{crop}" where the crop goes) and topics (noun phrases),
# one lexicon for train and a disjoint one for test.
LEXICON: dict[str, dict[str, dict[str, list[str]]]] = {
    "planting": {
        "train": {"act": ["plant {crop}", "sow {crop}", "transplant {crop}", "reseed {crop}"],
                  "topic": ["planting", "sowing", "seed spacing", "transplanting dates"]},
        "test": {"act": ["establish {crop}", "propagate {crop}", "germinate {crop}", "bed out {crop}"],
                 "topic": ["germination", "propagation", "nursery trays", "emergence"]},
    },
    "watering": {
        "train": {"act": ["water {crop}", "irrigate {crop}", "sprinkle {crop}", "hose down {crop}"],
                  "topic": ["watering", "irrigation", "sprinklers", "drip lines"]},
        "test": {"act": ["moisten {crop}", "hydrate {crop}", "soak {crop}", "drench {crop}"],
                 "topic": ["moisture", "hydration", "dampness", "wetting intervals"]},
    },
    "pests": {
        "train": {"act": ["spray insecticide on {crop}", "kill the bugs on {crop}",
                          "get rid of aphids on {crop}", "control pests on {crop}"],
                  "topic": ["pests", "insects", "aphids", "bug damage"]},
        "test": {"act": ["fumigate {crop}", "deter caterpillars from {crop}",
                         "stop weevils eating {crop}", "ward off beetles from {crop}"],
                 "topic": ["caterpillars", "weevils", "infestation", "larvae"]},
    },
    "harvest": {
        "train": {"act": ["harvest {crop}", "pick {crop}", "reap {crop}", "gather {crop}"],
                  "topic": ["harvest time", "harvesting", "picking", "reaping"]},
        "test": {"act": ["bring in {crop}", "lift {crop}", "thresh {crop}", "dig up {crop}"],
                 "topic": ["ripeness", "maturity", "threshing", "readiness"]},
    },
    "soil": {
        "train": {"act": ["fertilize {crop}", "add compost to {crop}", "lime the soil for {crop}",
                          "feed {crop}"],
                  "topic": ["soil", "fertilizer", "compost", "soil pH"]},
        "test": {"act": ["enrich the earth for {crop}", "mulch {crop}", "top-dress {crop}",
                         "amend the dirt for {crop}"],
                 "topic": ["manure", "nutrients", "humus", "acidity of the earth"]},
    },
    "weather": {
        "train": {"act": ["cover {crop} against frost", "shelter {crop} from the wind",
                          "prepare {crop} for the rain", "check the forecast for {crop}"],
                  "topic": ["frost", "rain", "the forecast", "wind"]},
        "test": {"act": ["shield {crop} from hail", "brace {crop} for a storm",
                         "guard {crop} from drought", "plan around the monsoon for {crop}"],
                 "topic": ["hailstorms", "drought", "the monsoon", "heatwaves"]},
    },
    "selling": {
        "train": {"act": ["sell {crop}", "market {crop}", "get a good price for {crop}",
                          "find buyers for {crop}"],
                  "topic": ["prices", "the market", "buyers", "selling"]},
        "test": {"act": ["trade {crop}", "export {crop}", "auction {crop}", "retail {crop}"],
                 "topic": ["wholesalers", "middlemen", "cooperative contracts", "profit margins"]},
    },
    "equipment": {
        "train": {"act": ["repair the tractor for {crop}", "service the plough for {crop}",
                          "sharpen the tools for {crop}", "fix the machinery for {crop}"],
                  "topic": ["tractor", "plough", "machinery", "tools"]},
        "test": {"act": ["grease the tiller for {crop}", "oil the rotavator for {crop}",
                         "tune the motor for {crop}", "hitch the trailer for {crop}"],
                 "topic": ["trailer", "rotavator", "tiller", "spare parts"]},
    },
}

# Intent-neutral question shapes, crops and framings: also disjoint between the splits.
TEMPLATES = {
    "train": {"act": ["how do I {act}?", "when should I {act}?", "what is the best way to {act}?",
                      "can you tell me how to {act}?", "I want to {act}, any tips?",
                      "is it too early to {act}?"],
              "topic": ["tell me about {topic} for {crop}.", "I have a question about {topic} for {crop}.",
                        "what should I know about {topic} for {crop}?", "any tips on {topic} for {crop}?",
                        "need help with {topic} and {crop}."]},
    "test": {"act": ["what's the right moment to {act}?", "could you explain the steps to {act}?",
                     "my neighbour says I ought to {act} now, true?",
                     "any guidance for a beginner hoping to {act}?", "remind me which way people {act}."],
             "topic": ["explain {topic} regarding {crop}, please.",
                       "looking for guidance concerning {topic} in {crop}.",
                       "who can advise me on {topic} in {crop}?", "what matters most about {topic} with {crop}?"]},
}
CROPS = {
    "train": ["maize", "beans", "wheat", "tomatoes", "cabbage", "potatoes", "rice", "onions", "cassava", "sorghum"],
    "test": ["lentils", "millet", "barley", "peppers", "carrots", "spinach", "yams", "groundnuts",
             "chickpeas", "okra"],
}
DETERMINERS = ["my", "the", "our"]
PREFIXES = {"train": ["", "", "hello, ", "quick question: ", "hi, "],
            "test": ["", "", "good morning! ", "sorry to bother you, ", "hey there, "]}
SUFFIXES = {"train": ["", "", " Thanks.", " Many thanks!"], "test": ["", "", " Cheers!", " Much appreciated."]}


def words(text: str) -> list[str]:
    """Lower-case alphabetic words of ``text`` (how the vocabulary checks split text)."""
    return re.findall(r"[a-z]+", text.lower())


def cue_words(cue: str) -> set[str]:
    """The intent-bearing words of a cue: its words minus the crop slot and :data:`STOPWORDS`."""
    return {w for w in words(cue.replace("{crop}", "")) if w not in STOPWORDS}


def _question(rng: random.Random, intent: str, split: str) -> tuple[str, str]:
    kind = rng.choice(["act", "topic"])
    cue = rng.choice(LEXICON[intent][split][kind])
    crop = f"{rng.choice(DETERMINERS)} {rng.choice(CROPS[split])}"
    body = rng.choice(TEMPLATES[split][kind])
    if kind == "act":
        text = body.format(act=cue.format(crop=crop))
    else:
        text = body.format(topic=cue, crop=crop)
    text = rng.choice(PREFIXES[split]) + text + rng.choice(SUFFIXES[split])
    return text[0].upper() + text[1:], cue


def _split_rows(rng: random.Random, split: str, per_intent: int) -> list[dict]:
    rows = []
    for intent in INTENTS:
        seen: set[str] = set()
        while len(seen) < per_intent:
            text, cue = _question(rng, intent, split)
            if text not in seen:
                seen.add(text)
                rows.append({"text": text, "label": intent, "cue": cue, "split": split})
    rng.shuffle(rows)
    return rows


def build(seed: int = SEED) -> dict[str, list[dict]]:
    """Both splits as lists of rows ``{text, label, cue, split}``; checks the vocabulary gap."""
    rng = random.Random(seed)
    splits = {"train": _split_rows(rng, "train", TRAIN_PER_INTENT),
              "test": _split_rows(rng, "test", TEST_PER_INTENT)}
    train_vocab = {w for r in splits["train"] for w in words(r["text"])}
    for r in splits["test"]:
        leaked = cue_words(r["cue"]) & train_vocab
        if leaked:
            raise ValueError(f"test cue {r['cue']!r} uses train words {sorted(leaked)}: fix LEXICON")
    return splits


def write(data_dir: Path) -> list[Path]:
    """Write ``intents/train.jsonl`` and ``intents/test.jsonl`` under ``data_dir``."""
    splits = build()
    return [write_jsonl(Path(data_dir) / "intents" / f"{s}.jsonl", rows) for s, rows in splits.items()]
