"""A parsed deck to HTML: figures, results tables and values, KaTeX math, the page templates."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import markdown
import yaml

from course_utils import paths, results
from course_utils.slides.parse import BuildError, Deck

FIGURE = re.compile(r"!\[([^\]]*)\]\(figure:([A-Za-z0-9_\-*]+)\)")
VALUE = re.compile(r"\{\{\s*([a-z0-9_]+)\.([A-Za-z0-9_.]+?)\s*(?:\|\s*([^}]*?)\s*)?\}\}")
RESULTS_BLOCK = re.compile(r"^```results[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
CODE = re.compile(r"(^```.*?^```[ \t]*$|`[^`\n]+`)", re.S | re.M)
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)([^$\n]+?)(?<!\\)\$")


@dataclass
class Context:
    """Where a build reads and writes, and what it found on the way (records: ``course_utils.results``)."""
    out: Path
    figures: Path
    notebooks: Path
    render_math: Callable[[list[tuple[str, bool]]], list[str]]
    pending: list[str] = field(default_factory=list)
    used_figures: set[str] = field(default_factory=set)

    def notebook_present(self, prefix: str) -> Path | None:
        """The notebook a figure or record comes from, by its lesson number ('04') or name."""
        if re.fullmatch(r"\d\d", prefix):
            found = sorted(self.notebooks.glob(f"{prefix}_*.ipynb"))
            return found[0] if found else None
        nb = self.notebooks / f"{prefix}.ipynb"
        return nb if nb.exists() else None


def default_context(out: Path | None = None) -> Context:
    """The course's own folders: build/slides, build/figures, notebooks/, KaTeX through Node.js."""
    return Context(out=out or paths.build_dir() / "slides", figures=paths.figures_dir(),
                   notebooks=paths.NOTEBOOKS_DIR, render_math=katex_render)


def _pending(ctx: Context, deck: Deck, what: str, lesson: str) -> str:
    ctx.pending.append(f"{deck.stem}: {what} (notebooks/{lesson}* not in the course yet)")
    return (f'<div class="pending">{html.escape(what)} appears here once notebook '
            f'<code>{html.escape(lesson)}</code> is in <code>notebooks/</code> and has run '
            f'(<code>make course</code>).</div>')


# --------------------------------------------------------------------------- figures and results

def figure_budget(text: str) -> int:
    """Pixels of height left for a figure on a 1280x720 slide (about 44 px a line of text, 36 a table row).

    The browser test checks that no slide overflows."""
    used = 0
    for block in RESULTS_BLOCK.findall(text):
        rows = len(re.findall(r"^\s*-\s*\[", block, re.M))
        used += 36 * (rows + 2)
    rest = RESULTS_BLOCK.sub("", text)
    for block in DISPLAY_MATH.findall(rest):  # a formula renders on one line however long its TeX
        lines = [x for x in block.strip().splitlines() if x.strip()]
        used += 75 + 50 * (len(lines) - 1)
    rest = DISPLAY_MATH.sub("", rest)
    for line in rest.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or FIGURE.search(line) or line.startswith("<!--"):
            continue
        used += 36 if line.startswith("|") else 44 * (1 + len(line) // 75)
    return max(220, min(520, 560 - used))


def figure_html(ctx: Context, deck: Deck, caption: str, name: str, max_height: int = 520) -> str:
    """A ``![caption](figure:NN_name)`` as a <figure>; a pattern (``01_*loss*``) takes the first match."""
    if "*" in name:
        found = sorted(ctx.figures.glob(f"{name}.png")) if ctx.figures.exists() else []
        name = found[0].stem if found else name
    src = ctx.figures / f"{name}.png"
    if not src.exists():
        if ctx.notebook_present(name[:2]) is None:
            return _pending(ctx, deck, f"Figure {name}", name[:2] + "_")
        raise BuildError(f"{deck.path.name}: figure {src} does not exist. The notebook "
                         f"{ctx.notebook_present(name[:2]).name} did not save it: run the notebook "
                         f"(make course), or fix the name (figures there: "
                         f"{_listing(ctx.figures, name[:2] + '_*.png')})")
    ctx.used_figures.add(name)
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure class="course-figure" data-figure="{name}"><img src="figures/{name}.png" '
            f'alt="{html.escape(caption or name)}" style="max-height: {max_height}px">{cap}</figure>')


def _listing(folder: Path, pattern: str) -> str:
    names = sorted(p.stem for p in folder.glob(pattern)) if folder.exists() else []
    return ", ".join(names) if names else "none"


def record_present(ctx: Context, deck: Deck, record: str) -> bool:
    """True when ``results.load`` reads the record; False when it is missing and its notebook not in the course yet."""
    try:
        results.load(record)
    except results.ResultsError as e:
        missing = not (paths.results_dir() / f"{record}.json").exists()
        if missing and ctx.notebook_present(record) is None:
            return False
        raise BuildError(f"{deck.path.name}: {e}") from e
    return True


def _metric(deck: Deck, record: str, dotted: str) -> Any:
    try:
        return results.metric(record, dotted)
    except results.ResultsError as e:
        raise BuildError(f"{deck.path.name}: {e}") from e


def fmt_value(value: Any, spec: str | None) -> str:
    """Format a metric with a Python format spec ('.1%', ',', '.3g'); text and None as they are."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return html.escape(str(value))
    spec = spec or (",d" if isinstance(value, int) else ".4g")
    try:
        return html.escape(format(value, spec))
    except ValueError as e:
        raise BuildError(f"format spec {spec!r} does not fit the value {value!r}: {e}") from e


def value_html(ctx: Context, deck: Deck, record: str, dotted: str, spec: str | None) -> str:
    """A ``{{ record.metric | format }}`` as a measured value, or "(pending)"."""
    if not record_present(ctx, deck, record):
        ctx.pending.append(f"{deck.stem}: value {record}.{dotted} (notebook not in the course yet)")
        return '<span class="pending-value" title="notebook not in the course yet">(pending)</span>'
    return f'<span class="measured">{fmt_value(_metric(deck, record, dotted), spec)}</span>'


def results_table_html(ctx: Context, deck: Deck, spec_text: str) -> str:
    """A table from a ```results block: record, optional columns, rows of [label, format, metric...]."""
    try:
        spec = yaml.safe_load(spec_text)
    except yaml.YAMLError as e:
        raise BuildError(f"{deck.path.name}: a ```results block is not valid YAML: {e}") from e
    if not isinstance(spec, dict) or "record" not in spec or not isinstance(spec.get("rows"), list):
        raise BuildError(f"{deck.path.name}: a ```results block needs 'record:' and a 'rows:' list "
                         f"of [label, format, metric, ...]; see slides/README.md")
    record = str(spec["record"])
    if not record_present(ctx, deck, record):
        return _pending(ctx, deck, f"The results table of {record}", record)
    columns = spec.get("columns") or ["measured"]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in ["", *columns])
    body = []
    for row in spec["rows"]:
        if not isinstance(row, list) or len(row) < 3:
            raise BuildError(f"{deck.path.name}: results row {row!r} must be [label, format, metric, ...]")
        label, fmt, *cells = row
        if len(cells) != len(columns):
            raise BuildError(f"{deck.path.name}: results row {label!r} has {len(cells)} metrics "
                             f"for {len(columns)} columns")
        fmts = str(fmt or "").split("|")  # one spec for the row, or one per column: ".1%|.2f"
        if len(fmts) == 1:
            fmts = fmts * len(cells)
        elif len(fmts) != len(cells):
            raise BuildError(f"{deck.path.name}: results row {label!r} has {len(fmts)} formats "
                             f"for {len(cells)} columns")
        tds = "".join(f"<td>{'' if c is None else fmt_value(_metric(deck, record, str(c)), f or None)}</td>"
                      for c, f in zip(cells, fmts, strict=True))
        body.append(f"<tr><th>{html.escape(str(label))}</th>{tds}</tr>")
    caption = spec.get("caption") or f"Measured by notebooks/{record}.ipynb (build/results/{record}.json)"
    return (f'<table class="results" data-record="{record}"><caption>{html.escape(caption)}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


# --------------------------------------------------------------------------- Markdown + math

def render_markdown(ctx: Context, deck: Deck, text: str) -> tuple[str, int]:
    """Markdown to HTML with the deck's extensions; returns the HTML and how many formulas it has."""
    slots: list[str] = []

    def slot(fragment: str) -> str:
        slots.append(fragment)
        return f"@@SLOT{len(slots) - 1}@@"

    height = figure_budget(text)
    text = RESULTS_BLOCK.sub(lambda m: "\n" + slot(results_table_html(ctx, deck, m.group(1))) + "\n", text)
    text = FIGURE.sub(lambda m: "\n" + slot(figure_html(ctx, deck, m.group(1), m.group(2), height)) + "\n", text)
    text = VALUE.sub(lambda m: slot(value_html(ctx, deck, m.group(1), m.group(2), m.group(3))), text)
    # Typeset math outside code: collect all formulas, render them in one KaTeX call.
    formulas: list[tuple[str, bool]] = []
    math_slots: list[int] = []

    def math(m: re.Match, display: bool) -> str:
        formulas.append((m.group(1).strip(), display))
        math_slots.append(len(slots))
        return ("\n" if display else "") + slot("") + ("\n" if display else "")

    pieces = CODE.split(text)
    for i in range(0, len(pieces), 2):  # even pieces are outside code
        p = DISPLAY_MATH.sub(lambda m: math(m, True), pieces[i])
        p = INLINE_MATH.sub(lambda m: math(m, False), p)
        pieces[i] = p.replace(r"\$", "&#36;")
    text = "".join(pieces)
    if formulas:
        rendered = ctx.render_math(formulas)
        for k, frag in enumerate(rendered):
            slots[math_slots[k]] = frag
    out = markdown.markdown(text, extensions=["tables", "fenced_code", "attr_list", "md_in_html", "sane_lists"])
    for i, frag in enumerate(slots):
        out = out.replace(f"<p>@@SLOT{i}@@</p>", frag).replace(f"@@SLOT{i}@@", frag)
    return out, len(formulas)


def katex_render(formulas: list[tuple[str, bool]]) -> list[str]:
    """Typeset TeX with the pinned KaTeX through Node.js (slides/tools/render_math.cjs)."""
    node = shutil.which("node")
    if not node:
        raise BuildError("Node.js is needed to typeset the decks' math with KaTeX: run make setup "
                         "(it installs nodejs and npm where it can; Debian: apt-get install nodejs npm)")
    payload = json.dumps([{"tex": t, "display": d} for t, d in formulas])
    proc = subprocess.run([node, str(paths.SLIDES_DIR / "tools" / "render_math.cjs")], input=payload,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"KaTeX failed to run: {proc.stderr.strip()[-800:]}")
    out = json.loads(proc.stdout)
    bad = [f"  ${tex}$: {r['error']}" for (tex, _), r in zip(formulas, out, strict=True) if "error" in r]
    if bad:
        raise BuildError("KaTeX could not typeset:\n" + "\n".join(bad))
    return [r["html"] for r in out]


# --------------------------------------------------------------------------- HTML pages

def _template(name: str) -> str:
    return (paths.SLIDES_DIR / "templates" / name).read_text(encoding="utf-8")


def _fill(template: str, **values: str) -> str:
    for k, v in values.items():
        template = template.replace("{{" + k + "}}", v)
    left = re.findall(r"\{\{[a-z_]+\}\}", template)
    if left:
        raise BuildError(f"template placeholders without a value: {left}")
    return template


def build_deck(ctx: Context, deck: Deck) -> dict[str, Any]:
    """Write build/slides/<deck>.html; return what the browser test checks (counts, slide indices)."""
    meta = deck.meta
    title_slide = _fill(_template("title_slide.html"),
                        number=html.escape(deck.number), title=html.escape(str(meta["title"])),
                        subtitle=html.escape(str(meta.get("subtitle", ""))),
                        minutes=html.escape(str(meta.get("minutes", "30-45"))),
                        notebook=html.escape(f"notebooks/{deck.stem}.ipynb"))
    sections, n_math, figure_slides, pending_slides = [title_slide], 0, [], []
    for i, s in enumerate(deck.slides, start=1):
        before = len(ctx.pending)
        try:
            body, k = render_markdown(ctx, deck, s.body)
            notes, k2 = render_markdown(ctx, deck, s.notes) if s.notes else ("", 0)
        except BuildError as e:
            msg = str(e)
            where = "" if msg.startswith(deck.path.name) else f"{deck.path.name}, slide {i + 1}: "
            raise BuildError(where + msg) from e
        n_math += k + k2
        if 'class="course-figure"' in body:
            figure_slides.append(i)
        if len(ctx.pending) > before:
            pending_slides.append(i)
        cls = f' class="{html.escape(s.classes)}"' if s.classes else ""
        aside = f'\n<aside class="notes">{notes}</aside>' if notes else ""
        sections.append(f"<section{cls}>\n{body}{aside}\n</section>")
    page = _fill(_template("deck.html"), title=html.escape(f"{deck.number} · {meta['title']}"),
                 slides="\n".join(sections))
    (ctx.out / f"{deck.stem}.html").write_text(page, encoding="utf-8")
    return {"deck": deck.stem, "number": deck.number, "title": str(meta["title"]),
            "subtitle": str(meta.get("subtitle", "")), "html": f"{deck.stem}.html",
            "slides": len(sections), "math": n_math, "figure_slides": figure_slides,
            "pending_slides": pending_slides}


def build_index(ctx: Context, decks: list[dict[str, Any]], pdfs: bool) -> None:
    """Write build/slides/index.html, linking every deck (and its PDF when there are PDFs)."""
    rows = []
    for d in decks:
        pdf = f' · <a href="{d["deck"]}.pdf">PDF</a>' if pdfs else ""
        rows.append(f'<li><span class="num">{d["number"]}</span> <a href="{d["html"]}">'
                    f'{html.escape(d["title"])}</a>{pdf}<br><span class="sub">{html.escape(d["subtitle"])}</span></li>')
    page = _fill(_template("index.html"), decks="\n".join(rows),
                 built=time.strftime("%Y-%m-%d %H:%M"))
    (ctx.out / "index.html").write_text(page, encoding="utf-8")
