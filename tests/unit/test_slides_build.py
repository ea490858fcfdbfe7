"""Fast checks of course_utils.slides on throwaway decks, figures and records (no browser).

The real decks are checked too: each parses, names a lesson of the manifest, and has speaker notes
on every slide. Rendering in Chromium is tests/integration/test_slides.py (it needs the notebooks' output).
"""
from __future__ import annotations

import json
import re
import shutil

import pytest

from course_utils import paths
from course_utils.manifest import LESSONS
from course_utils.slides import BuildError, Context, deck_files, parse_deck
from course_utils.slides.assets import node_modules
from course_utils.slides.render import FIGURE, build_deck, figure_budget, figure_html, fmt_value, katex_render

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5dd6e530000000049454e44ae426082")

DECK = """---
title: LoRA
subtitle: Low-rank adapters
minutes: 40
---

## The update

Train $r(d+k)$ numbers, not $dk$; it costs \\$0. Code keeps dollars: `x = "$a$"`.

$$h = W_0 x + \\frac{\\alpha}{r} B A x$$

Note: Speaker notes with math $r \\ll d$.

---

<!-- class: center -->
## A figure

![Rank sweep](figure:04_rank_sweep)

LoRA reached {{ 04_lora.lora.task_accuracy | .1% }}.

Note: Point at the knee of the curve.

---

## Table

```results
record: 04_lora
columns: [Full FT, LoRA]
rows:
  - [Task accuracy, .1%, full.task_accuracy, lora.task_accuracy]
  - [Trainable parameters, ",", full.trainable_params, lora.trainable_params]
```

Note: Read the table row by row.
"""


def fake_math(formulas):
    return [f'<span class="katex" data-display="{int(d)}">{t}</span>' for t, d in formulas]


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A deck, its notebook, figure and record in a throwaway tree; returns (ctx, deck path)."""
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))  # course_utils.results reads tmp_path/results
    src, nbs, figs, res = (tmp_path / d for d in ("src", "notebooks", "figures", "results"))
    for d in (src, nbs, figs, res):
        d.mkdir()
    (src / "04_lora.md").write_text(DECK)
    (nbs / "04_lora.ipynb").write_text("{}")
    (figs / "04_rank_sweep.png").write_bytes(PNG)
    (res / "04_lora.json").write_text(json.dumps({"metrics": {
        "full": {"task_accuracy": 0.9, "trainable_params": 1234567},
        "lora": {"task_accuracy": 0.875, "trainable_params": 12345}}}))
    ctx = Context(out=tmp_path / "out", figures=figs, notebooks=nbs, render_math=fake_math)
    ctx.out.mkdir()
    return ctx, src / "04_lora.md"


def build_one(ctx, path):
    info = build_deck(ctx, parse_deck(path))
    return info, (ctx.out / "04_lora.html").read_text()


def test_deck_builds_with_figure_table_value_math_and_notes(site):
    ctx, path = site
    info, page = build_one(ctx, path)
    assert info["slides"] == 4 and info["figure_slides"] == [2] and info["pending_slides"] == []
    assert info["math"] == 4  # three formulas on slide 1, one in its notes
    assert 'src="figures/04_rank_sweep.png"' in page and ctx.used_figures == {"04_rank_sweep"}
    assert '<span class="measured">87.5%</span>' in page
    assert "<td>90.0%</td><td>87.5%</td>" in page and "<td>1,234,567</td><td>12,345</td>" in page
    assert page.count('<aside class="notes">') == 4  # the title slide's and three of ours
    assert '<section class="center">' in page
    assert "&#36;0" in page, "an escaped \\$ is a literal dollar sign"
    assert '$a$' in page, "dollars inside code are not math"
    assert '<span class="katex" data-display="1">h = W_0 x' in page


def test_missing_figure_of_a_present_notebook_fails_naming_the_file(site):
    ctx, path = site
    (ctx.figures / "04_rank_sweep.png").unlink()
    with pytest.raises(BuildError, match=r"04_lora\.md.*figures/04_rank_sweep\.png does not exist"):
        build_one(ctx, path)


def test_missing_record_of_a_present_notebook_fails_naming_the_file(site):
    ctx, path = site
    (paths.results_dir() / "04_lora.json").unlink()
    with pytest.raises(BuildError, match=r"04_lora\.md: no results record .*results/04_lora\.json"):
        build_one(ctx, path)


def test_missing_metric_fails_naming_it(site):
    ctx, path = site
    (paths.results_dir() / "04_lora.json").write_text(json.dumps({"metrics": {"lora": {}}}))
    with pytest.raises(BuildError, match=r"no metric 'lora\.task_accuracy'"):
        build_one(ctx, path)


def test_absent_notebook_gives_visible_pending_boxes_not_an_error(site):
    ctx, path = site
    (ctx.notebooks / "04_lora.ipynb").unlink()
    (ctx.figures / "04_rank_sweep.png").unlink()
    (paths.results_dir() / "04_lora.json").unlink()
    info, page = build_one(ctx, path)
    assert page.count('class="pending"') == 2 and "pending-value" in page
    assert info["pending_slides"] == [2, 3] and len(ctx.pending) == 3


def test_bad_input_gives_clear_errors(tmp_path, site):
    ctx, _ = site
    bad = tmp_path / "05_x.md"
    bad.write_text("## no front matter\n")
    with pytest.raises(BuildError, match="front matter"):
        parse_deck(bad)
    bad.write_text("---\ntitle: X\n---\n\n```results\nrecord: 04_lora\nrows: [[A, .1%]]\n```\n")
    with pytest.raises(BuildError, match=r"\[label, format, metric"):
        build_deck(ctx, parse_deck(bad))
    bad.write_text("---\ntitle: X\n---\n\n{{ 04_lora.full.task_accuracy | d }}\n")
    with pytest.raises(BuildError, match="format spec 'd'"):
        build_deck(ctx, parse_deck(bad))


def test_fmt_value():
    assert fmt_value(0.8123, ".1%") == "81.2%"
    assert fmt_value(1234567, None) == "1,234,567"
    assert fmt_value(3.14159, None) == "3.142"
    assert fmt_value(None, ".2f") == "n/a" and fmt_value("a<b", None) == "a&lt;b"


def test_katex_typesets_and_reports_bad_tex():
    if not shutil.which("node"):
        pytest.skip("Node.js not installed: the slide build needs it (make setup installs it where it can)")
    try:
        node_modules()
    except BuildError as e:
        pytest.skip(str(e))
    html, = katex_render([(r"\mathcal{L} = -\log\sigma(r_c - r_r)", True)])
    assert 'class="katex-display"' in html and "katex-error" not in html
    with pytest.raises(BuildError, match=r"\\frac\{a\}\{"):
        katex_render([(r"\frac{a}{", False)])


# --------------------------------------------------------------------------- the real decks

DECKS = deck_files()


def test_every_lesson_has_a_deck_and_every_deck_a_lesson():
    numbers = {p.stem[:2]: p.stem for p in DECKS}
    for lesson in LESSONS:
        assert lesson.number in numbers, f"lesson {lesson.number} has no deck slides/{lesson.number}_{lesson.slug}.md"
        assert numbers[lesson.number] == f"{lesson.number}_{lesson.slug}", \
            f"slides/{numbers[lesson.number]}.md should be named after its notebook {lesson.notebook}"


@pytest.mark.parametrize("path", DECKS, ids=[p.stem for p in DECKS])
def test_real_deck_is_a_lecture_with_notes_and_known_references(path):
    deck = parse_deck(path)
    assert 8 <= len(deck.slides) <= 40, f"{path.name}: {len(deck.slides)} slides; a 30-45 minute lecture has 8-40"
    for i, s in enumerate(deck.slides, start=2):
        assert s.notes.strip(), f"{path.name}, slide {i} ({s.body.strip().splitlines()[0][:40]!r}) has no speaker notes"
    text = path.read_text()
    known = {lesson.number for lesson in LESSONS}
    for name in FIGURE.findall(text):
        assert name[1][:2] in known, f"{path.name}: figure {name[1]} does not start with a lesson number"
    for m in re.finditer(r"^record:\s*(\S+)", text, re.M):
        assert m.group(1) in {f"{x.number}_{x.slug}" for x in LESSONS}, f"{path.name}: unknown record {m.group(1)}"
    assert "$$" in text or path.stem.startswith("00"), f"{path.name}: a lesson deck shows its key equation"


def test_figure_pattern_picks_the_notebooks_figure_or_fails_listing_what_exists(site):
    ctx, path = site
    deck = parse_deck(path)
    html = figure_html(ctx, deck, "cap", "04_*sweep*")
    assert 'src="figures/04_rank_sweep.png"' in html
    with pytest.raises(BuildError, match=r"04_\*curve\*\.png does not exist.*figures there: 04_rank_sweep"):
        figure_html(ctx, deck, "cap", "04_*curve*")


def test_figure_budget_shrinks_figures_on_busy_slides():
    alone = figure_budget("## Title\n\n![c](figure:04_x)\n")
    busy = figure_budget("## Title\n\n- one\n- two\n- three\n\n![c](figure:04_x)\n")
    assert alone == 520 and 220 <= busy < alone
