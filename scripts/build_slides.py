"""Build the instructor decks: slides/NN_slug.md -> build/slides/NN_slug.html (+ .pdf), offline.

Each deck is Markdown (see slides/README.md). At build time this script
  * installs the slide runtime (reveal.js) and math typesetting (KaTeX) from the npm registry
    with ``npm ci`` (pinned by slides/package-lock.json) and copies them into build/slides/assets/,
  * typesets every ``$...$`` / ``$$...$$`` with KaTeX (a TeX error fails the build),
  * resolves ``![caption](figure:NN_name)`` to build/figures/NN_name.png (copied next to the deck),
  * renders ```` ```results ```` blocks and ``{{ record.metric | fmt }}`` values from
    build/results/<record>.json,
  * writes one self-contained HTML deck per lesson, an index page, and a PDF per deck
    (headless Chromium printing reveal.js's ``?print-pdf`` view).
A figure or result that a present notebook did not produce is a build error naming the file;
one whose notebook is not in notebooks/ yet becomes a visible "pending" box instead.
"""
from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import markdown
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course_utils import paths  # noqa: E402

SLIDES_SRC = ROOT / "slides"
DECK_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.md$")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags that keep Chromium from calling home (updates, sync, safe browsing...) and let it run as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps",
                 "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                 "--metrics-recording-only", "--no-default-browser-check", "--disable-dev-shm-usage"]


class BuildError(RuntimeError):
    """A deck cannot be built: the message names the deck and the file or line to fix."""


# --------------------------------------------------------------------------- deck parsing

@dataclass
class Slide:
    body: str          # Markdown of the slide
    notes: str = ""    # Markdown of the speaker notes ("Note:" to the end of the slide)
    classes: str = ""  # extra CSS classes, from a first line "<!-- class: ... -->"


@dataclass
class Deck:
    path: Path
    meta: dict[str, Any]
    slides: list[Slide]

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def number(self) -> str:
        return self.stem[:2]


def parse_deck(path: Path) -> Deck:
    """Split a deck file into front matter and slides (separated by a line holding only ``---``)."""
    text = path.read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    if not m:
        raise BuildError(f"{path}: a deck starts with YAML front matter between two '---' lines "
                         f"(title:, subtitle:, minutes:); see slides/README.md")
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        raise BuildError(f"{path}: the front matter is not valid YAML: {e}") from e
    if not isinstance(meta, dict) or not meta.get("title"):
        raise BuildError(f"{path}: the front matter needs at least 'title:'")
    slides = []
    for chunk in re.split(r"^---[ \t]*$", text[m.end():], flags=re.M):
        if not chunk.strip():
            continue
        body, notes = _split_notes(chunk)
        classes = ""
        cm = re.match(r"\s*<!--\s*class:\s*([\w\s-]+?)\s*-->", body)
        if cm:
            classes, body = cm.group(1), body[cm.end():]
        slides.append(Slide(body.strip("\n"), notes.strip(), classes))
    if not slides:
        raise BuildError(f"{path}: the deck has no slides")
    return Deck(path, meta, slides)


def _split_notes(chunk: str) -> tuple[str, str]:
    """A slide's body and its speaker notes: everything after a line starting with 'Note:'."""
    parts = re.split(r"^Note:[ \t]*", chunk, maxsplit=1, flags=re.M)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


# --------------------------------------------------------------------------- build context

@dataclass
class Context:
    """Where a build reads and writes, and what it found on the way."""
    out: Path
    figures: Path
    results: Path
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
    return Context(out=out or paths.build_dir() / "slides", figures=paths.figures_dir(),
                   results=paths.results_dir(), notebooks=paths.NOTEBOOKS_DIR,
                   render_math=katex_render)


def _pending(ctx: Context, deck: Deck, what: str, lesson: str) -> str:
    ctx.pending.append(f"{deck.stem}: {what} (notebooks/{lesson}* not in the course yet)")
    return (f'<div class="pending">{html.escape(what)} appears here once notebook '
            f'<code>{html.escape(lesson)}</code> is in <code>notebooks/</code> and has run '
            f'(<code>make course</code>).</div>')


# --------------------------------------------------------------------------- figures and results

FIGURE = re.compile(r"!\[([^\]]*)\]\(figure:([A-Za-z0-9_\-*]+)\)")
VALUE = re.compile(r"\{\{\s*([a-z0-9_]+)\.([A-Za-z0-9_.]+?)\s*(?:\|\s*([^}]*?)\s*)?\}\}")
RESULTS_BLOCK = re.compile(r"^```results[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def figure_budget(text: str) -> int:
    """Pixels of height left for a figure on a 1280x720 slide after its heading and other content.

    A rough estimate (about 44 px per line of text, 36 px per table row), so that a figure with
    a few bullets under it still fits; the browser test checks that no slide overflows."""
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
    if "*" in name:  # a pattern such as 01_*loss*: the first matching figure, by name
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


def load_record(ctx: Context, deck: Deck, record: str) -> dict | None:
    """The record's metrics, or None when its notebook is not in the course yet."""
    path = ctx.results / f"{record}.json"
    if not path.exists():
        if ctx.notebook_present(record) is None:
            return None
        raise BuildError(f"{deck.path.name}: results record {path} does not exist: run "
                         f"notebooks/{record}.ipynb (make course) so it records its figures")
    try:
        rec = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise BuildError(f"{deck.path.name}: {path} is not valid JSON ({e}); re-run the notebook") from e
    if not isinstance(rec, dict) or not isinstance(rec.get("metrics"), dict):
        raise BuildError(f"{deck.path.name}: {path} has no 'metrics' object; re-run the notebook")
    return rec["metrics"]


def lookup(metrics: dict, dotted: str, deck: Deck, record: str, ctx: Context) -> Any:
    node: Any = metrics
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise BuildError(f"{deck.path.name}: record {ctx.results / (record + '.json')} has no "
                             f"metric '{dotted}' (missing '{part}'); the notebook did not record it")
        node = node[part]
    return node


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
    metrics = load_record(ctx, deck, record)
    if metrics is None:
        ctx.pending.append(f"{deck.stem}: value {record}.{dotted} (notebook not in the course yet)")
        return '<span class="pending-value" title="notebook not in the course yet">(pending)</span>'
    return f'<span class="measured">{fmt_value(lookup(metrics, dotted, deck, record, ctx), spec)}</span>'


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
    metrics = load_record(ctx, deck, record)
    if metrics is None:
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
            raise BuildError(f"{deck.path.name}: results row {label!r} has {len(fmts)} formats for {len(cells)} columns")
        tds = "".join(f"<td>{'' if c is None else fmt_value(lookup(metrics, str(c), deck, record, ctx), f or None)}</td>"
                      for c, f in zip(cells, fmts))
        body.append(f"<tr><th>{html.escape(str(label))}</th>{tds}</tr>")
    caption = spec.get("caption") or f"Measured by notebooks/{record}.ipynb (build/results/{record}.json)"
    return (f'<table class="results" data-record="{record}"><caption>{html.escape(caption)}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


# --------------------------------------------------------------------------- Markdown + math

CODE = re.compile(r"(^```.*?^```[ \t]*$|`[^`\n]+`)", re.S | re.M)
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)([^$\n]+?)(?<!\\)\$")


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
        raise BuildError("Node.js is needed to typeset the decks' math with KaTeX: install nodejs "
                         "(Debian: apt-get install nodejs npm) and re-run make slides")
    payload = json.dumps([{"tex": t, "display": d} for t, d in formulas])
    proc = subprocess.run([node, str(SLIDES_SRC / "tools" / "render_math.cjs")], input=payload,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"KaTeX failed to run: {proc.stderr.strip()[-800:]}")
    out = json.loads(proc.stdout)
    bad = [f"  ${tex}$: {r['error']}" for (tex, _), r in zip(formulas, out) if "error" in r]
    if bad:
        raise BuildError("KaTeX could not typeset:\n" + "\n".join(bad))
    return [r["html"] for r in out]


# --------------------------------------------------------------------------- HTML

def _template(name: str) -> str:
    return (SLIDES_SRC / "templates" / name).read_text(encoding="utf-8")


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
            raise BuildError(msg if msg.startswith(deck.path.name) else f"{deck.path.name}, slide {i + 1}: {msg}") from e
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
    rows = []
    for d in decks:
        pdf = f' · <a href="{d["deck"]}.pdf">PDF</a>' if pdfs else ""
        rows.append(f'<li><span class="num">{d["number"]}</span> <a href="{d["html"]}">'
                    f'{html.escape(d["title"])}</a>{pdf}<br><span class="sub">{html.escape(d["subtitle"])}</span></li>')
    page = _fill(_template("index.html"), decks="\n".join(rows),
                 built=time.strftime("%Y-%m-%d %H:%M"))
    (ctx.out / "index.html").write_text(page, encoding="utf-8")


# --------------------------------------------------------------------------- assets (npm)

def ensure_npm_assets() -> Path:
    """``npm ci`` in slides/ when node_modules is missing or older than package-lock.json."""
    lock = SLIDES_SRC / "package-lock.json"
    modules = SLIDES_SRC / "node_modules"
    stamp = modules / ".course-lock-hash"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return modules
    npm = shutil.which("npm")
    if not npm:
        raise BuildError("npm is needed once to install reveal.js and KaTeX (pinned in "
                         "slides/package-lock.json): install nodejs and npm, then re-run make slides")
    print("==> npm ci in slides/ (reveal.js, KaTeX; pinned by package-lock.json)", flush=True)
    proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                          cwd=SLIDES_SRC, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"npm ci failed in slides/ (is the npm registry reachable?):\n{proc.stderr[-1500:]}")
    stamp.write_text(want)
    return modules


def copy_assets(out: Path, modules: Path) -> None:
    """Copy the runtime the decks load (reveal.js, its notes plugin, KaTeX CSS + fonts, our theme)."""
    reveal, katex = modules / "reveal.js" / "dist", modules / "katex" / "dist"
    files = {reveal / "reset.css": "reveal/reset.css", reveal / "reveal.css": "reveal/reveal.css",
             reveal / "reveal.js": "reveal/reveal.js", reveal / "theme" / "white.css": "reveal/theme/white.css",
             reveal / "plugin" / "notes.js": "reveal/plugin/notes.js",
             katex / "katex.min.css": "katex/katex.min.css",
             SLIDES_SRC / "templates" / "course.css": "course.css",
             modules / "reveal.js" / "LICENSE": "reveal/LICENSE", modules / "katex" / "LICENSE": "katex/LICENSE"}
    files.update({f: f"katex/fonts/{f.name}" for f in (katex / "fonts").iterdir()})
    for src, rel in files.items():
        if not src.exists():
            raise BuildError(f"{src} is missing: delete slides/node_modules and re-run make slides")
        dst = out / "assets" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


# --------------------------------------------------------------------------- PDF (headless Chromium)

def find_chromium() -> str | None:
    """$COURSE_CHROMIUM, else a Chromium/Chrome on PATH (Debian's package: /usr/bin/chromium)."""
    env = os.environ.get("COURSE_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdfs(out: Path, decks: list[dict[str, Any]], chromium: str) -> None:
    """Print each deck's ``?print-pdf`` view to <deck>.pdf, one page per slide."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        for d in decks:
            url = (out / d["html"]).resolve().as_uri() + "?print-pdf"
            page.goto(url, wait_until="load")
            # reveal.js lays the print view out after it is ready: wait for one page per slide.
            page.wait_for_function(f"document.querySelectorAll('.pdf-page').length === {d['slides']}",
                                   timeout=60_000)
            page.evaluate("document.fonts.ready")
            page.pdf(path=str(out / f"{d['deck']}.pdf"), prefer_css_page_size=True, print_background=True)
        browser.close()


# --------------------------------------------------------------------------- main

def deck_files(src: Path = SLIDES_SRC) -> list[Path]:
    """Every deck: slides/NN_slug.md (a new lesson's deck is picked up by this glob)."""
    return sorted(p for p in src.glob("*.md") if DECK_NAME.match(p.name))


def build(out: Path | None = None, pdf: str = "auto", only: list[str] | None = None,
          src: Path = SLIDES_SRC, ctx: Context | None = None) -> dict[str, Any]:
    """Build every deck (or those named in ``only``); returns the manifest also written to decks.json.

    ``pdf``: "auto" prints PDFs where Chromium and playwright are found (required when $CI is set),
    "require" fails without them, "no" skips them."""
    t0 = time.time()
    ctx = ctx or default_context(out)
    files = deck_files(src)
    if only:
        files = [f for f in files if f.stem in only or f.stem[:2] in only]
        if not files:
            raise BuildError(f"no deck matches {only}; decks: {[f.stem for f in deck_files(src)]}")
    if not files:
        raise BuildError(f"no decks (NN_slug.md) in {src}")
    ctx.out.mkdir(parents=True, exist_ok=True)
    decks = [parse_deck(f) for f in files]
    copy_assets(ctx.out, ensure_npm_assets())
    manifest, errors = [], []
    for d in decks:  # build every deck that can be built, then report all the problems at once
        try:
            manifest.append(build_deck(ctx, d))
        except BuildError as e:
            errors.append(str(e))
    fig_out = ctx.out / "figures"
    fig_out.mkdir(exist_ok=True)
    for name in sorted(ctx.used_figures):
        shutil.copyfile(ctx.figures / f"{name}.png", fig_out / f"{name}.png")
    if pdf == "auto" and os.environ.get("CI"):
        pdf = "require"
    chromium = find_chromium() if pdf != "no" else None
    made_pdfs = False
    if pdf != "no":
        try:
            import playwright  # noqa: F401
            have_pw = True
        except ImportError:
            have_pw = False
        if chromium and have_pw:
            write_pdfs(ctx.out, manifest, chromium)
            made_pdfs = True
        else:
            why = ("no Chromium found (install Debian's chromium, or set COURSE_CHROMIUM)" if not chromium
                   else "the playwright package is missing (pip install -e '.[dev]')")
            if pdf == "require":
                raise BuildError(f"cannot print the PDFs: {why}")
            print(f"note: PDFs skipped: {why}", flush=True)
    build_index(ctx, manifest, made_pdfs)
    info = {"decks": manifest, "pdfs": made_pdfs, "pending": ctx.pending,
            "seconds": round(time.time() - t0, 1)}
    (ctx.out / "decks.json").write_text(json.dumps(info, indent=2) + "\n")
    if errors:
        raise BuildError(f"{len(errors)} of {len(decks)} decks failed to build:\n" + "\n".join(errors))
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("decks", nargs="*", help="deck names or lesson numbers (default: all)")
    ap.add_argument("--pdf", choices=["auto", "require", "no"], default="auto",
                    help="auto: print PDFs where Chromium is found (required when CI is set)")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default build/slides)")
    args = ap.parse_args(argv)
    try:
        info = build(args.out, args.pdf, args.decks or None)
    except BuildError as e:
        print(f"slide build failed: {e}", file=sys.stderr)
        return 1
    out = args.out or paths.build_dir() / "slides"
    for p in info["pending"]:
        print(f"note: pending: {p}")
    print(f"built {len(info['decks'])} decks{' + PDFs' if info['pdfs'] else ''} in {info['seconds']} s "
          f"-> {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
