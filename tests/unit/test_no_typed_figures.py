"""No measured result is typed into a lesson's markdown or a deck (issue 16): a figure next to
"accuracy", "score", "perplexity", "KL", "reward", "loss", "recall" or "judge" must be printed by a
code cell from the run, or rendered in a deck from build/results with ``{{record.metric}}``.

Allowed, because they state no result of a run: code, math and ``{{...}}`` placeholders; tolerances and
thresholds ("within 0.05", "at least 0.2", a "95% interval"); and the questions of the thinking exercises
(their hypothetical figures and lettered options)."""
import json
import re

import pytest

from course_utils.paths import NOTEBOOKS_DIR, SLIDES_DIR

KEY = r"(?:accuracy|score|perplexity|\bKL\b|reward|loss|recall|judge)"
NUM = r"(?<![\w.])(?:\d+(?:\.\d+)?\s?%|\d+\.\d+)"
NEAR = re.compile(rf"{KEY}[^.\n]{{0,40}}?({NUM})|({NUM})[^.\n]{{0,25}}?{KEY}", re.I)
ALLOWED_BEFORE = re.compile(r"(within|at least|at most|above|below|by at least|compute capability|"
                            r"threshold|aim[: ]|e\.g\.)\s*$", re.I)
QUESTION = re.compile(r"^\s*(\*\*(Predict|Decide|Experiment)\b|\* \*\*[A-E]\*\*)")


def _strip(text: str) -> str:
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]*\$", " ", text)
    return re.sub(r"\{\{.*?\}\}", " ", text)


def typed_figures(text: str) -> list[str]:
    """Figures that read as a typed result; one excerpt each."""
    found = []
    for para in re.split(r"\n\s*\n", _strip(text)):
        if QUESTION.match(para):
            continue
        for line in para.splitlines():
            if QUESTION.match(line):
                continue
            for m in NEAR.finditer(line):
                start = m.start(1) if m.group(1) else m.start(2)
                figure = m.group(1) or m.group(2)
                after = line[start + len(figure):start + len(figure) + 12]
                if ALLOWED_BEFORE.search(line[:start]) or "interval" in after or "confidence" in after:
                    continue
                found.append(line[max(0, m.start() - 50):m.end() + 20].strip())
    return found


def _markdown(nb) -> str:
    cells = json.loads(nb.read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


LESSONS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")) + sorted(SLIDES_DIR.glob("[0-9][0-9]_*.md"))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_no_result_is_typed_into_a_lesson_or_deck(path):
    text = _markdown(path) if path.suffix == ".ipynb" else path.read_text()
    found = typed_figures(text)
    assert not found, f"{path.name} types figures that a run should print or a deck render from build/results:\n" \
                      + "\n".join(found)


def test_the_check_catches_a_typed_result_and_lets_thresholds_pass():
    assert typed_figures("After training, LoRA reached 94.6% accuracy on the held-out questions.")
    assert typed_figures("The general-text perplexity rose to 19.60.")
    assert not typed_figures("We want accuracy within 0.05 of the reference, with a 95% interval.")
    assert not typed_figures("DPO raises the judge score by at least 0.2.")
    assert not typed_figures("Accuracy is printed by the cell below: `f'{acc:.1%}'` and $p = 0.5$.")
    assert not typed_figures("**Decide.** A perplexity of 2.0 per token against 4.0: which is better?")
