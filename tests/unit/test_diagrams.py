"""The conceptual diagrams: each draws without error, saves a PNG the decks can embed, keeps its
labels apart, and every lesson's notebook shows at least three of them, the course pipeline first."""
import inspect
import itertools
import json
import re

import matplotlib
import matplotlib.pyplot as plt
import pytest

from course_utils import diagrams
from course_utils.manifest import LESSONS
from course_utils.paths import NOTEBOOKS_DIR

PUBLIC = sorted(name for name, fn in inspect.getmembers(diagrams, inspect.isfunction)
                if not name.startswith("_") and fn.__module__ == diagrams.__name__)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def build_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    yield tmp_path
    plt.close("all")


def saved(build_dir):
    return {p.stem: p for p in (build_dir / "figures").glob("*.png")}


def test_there_are_diagrams_for_every_lesson():
    assert len(PUBLIC) >= 20, PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_diagram_renders_and_saves_a_png(name, build_dir):
    fig = getattr(diagrams, name)()
    assert isinstance(fig, matplotlib.figure.Figure)
    files = saved(build_dir)
    assert len(files) == 1, f"{name} saved {sorted(files)}, expected one figure"
    (stem, path), = files.items()
    assert re.fullmatch(r"0\d_diagram_[a-z0-9_]+", stem), f"{name} saved {stem!r}: decks need NN_diagram_name"
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000, f"{path} is not a real PNG"


@pytest.mark.parametrize("name", PUBLIC)
def test_labels_do_not_overlap_or_leave_the_figure(name, build_dir):
    fig = getattr(diagrams, name)()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    boxes = []
    for text in fig.findobj(matplotlib.text.Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1, f"{name}: {text.get_text()!r} leaves the figure"
        boxes.append((text.get_text(), box.shrunk(0.97, 0.9)))  # ignore touching edges
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{name}: {a!r} overlaps {b!r}"


@pytest.mark.parametrize("lesson", [les.number for les in LESSONS])
def test_pipeline_highlights_each_lesson(lesson, build_dir):
    diagrams.pipeline(lesson)
    assert f"{lesson}_diagram_pipeline" in saved(build_dir)


def test_bad_arguments_give_clear_errors():
    with pytest.raises(ValueError, match="lesson number"):
        diagrams.pipeline("10")
    with pytest.raises(ValueError, match="at least two tokens"):
        diagrams.causal_mask(["one"])


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda les: les.notebook)
def test_each_notebook_shows_at_least_three_diagrams_pipeline_first(lesson):
    cells = json.loads((NOTEBOOKS_DIR / lesson.notebook).read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    calls = [m for src in code for m in re.findall(r"\bdiagrams\.(\w+)\(([^)]*)\)", src)]
    names = [n for n, _ in calls]
    assert len(set(names)) >= 3, f"{lesson.notebook} calls {names}: every lesson shows at least three diagrams"
    assert set(names) <= set(PUBLIC), f"{lesson.notebook} calls unknown diagrams: {set(names) - set(PUBLIC)}"
    assert calls[0] == ("pipeline", f'"{lesson.number}"'), \
        f"{lesson.notebook} should open with diagrams.pipeline(\"{lesson.number}\"), found {calls[0]}"
    for i, cell in enumerate(cells):  # every diagram comes with a paragraph of plain words just before it
        if cell["cell_type"] == "code" and "diagrams." in "".join(cell["source"]):
            assert cells[i - 1]["cell_type"] == "markdown", f"{lesson.notebook} cell {i}: no words before the diagram"
