"""The executed lessons as HTML pages that read offline: nbconvert's page loads MathJax from a CDN,
so opened without a network every equation stays raw LaTeX. Here the math in the markdown cells is
typeset beforehand with the decks' pinned KaTeX (``course_utils.slides``), and the page links a
local copy of KaTeX's stylesheet and fonts (``build/html/assets/katex``)."""
from __future__ import annotations

import copy
from pathlib import Path

from nbconvert import HTMLExporter

from course_utils.slides import assets
from course_utils.slides.render import CODE, DISPLAY_MATH, INLINE_MATH, katex_render

STYLESHEET = "assets/katex/katex.min.css"


def typeset_math(sources: list[str], render=katex_render) -> tuple[list[str], int]:
    """Replace ``$...$`` and ``$$...$$`` outside code in each markdown source with KaTeX's HTML (one
    KaTeX call for all of them); returns the new sources and how many formulas were typeset."""
    formulas: list[tuple[str, bool]] = []
    marked: list[str] = []

    def keep(m, display: bool) -> str:
        formulas.append((m.group(1).strip(), display))
        return f"@@MATH{len(formulas) - 1}@@"

    for text in sources:
        pieces = CODE.split(text)
        for i in range(0, len(pieces), 2):  # even pieces are outside code
            pieces[i] = INLINE_MATH.sub(lambda m: keep(m, False), DISPLAY_MATH.sub(lambda m: keep(m, True), pieces[i]))
        marked.append("".join(pieces))
    if not formulas:
        return list(sources), 0
    html = render(formulas)
    out = []
    for text in marked:
        for k in range(len(formulas)):
            tag = f"@@MATH{k}@@"
            if tag in text:
                frag = html[k] if not formulas[k][1] else f'\n<div class="math-display">{html[k]}</div>\n'
                text = text.replace(tag, frag)
        out.append(text)
    return out, len(formulas)


def write_html(nb, target: Path) -> int:
    """Write notebook ``nb`` (executed) as an HTML page at ``target`` with its math typeset and
    KaTeX's stylesheet and fonts beside it; returns the number of formulas."""
    nb = copy.deepcopy(nb)
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    sources, n = typeset_math([c.source for c in md])
    for cell, source in zip(md, sources, strict=True):
        cell.source = source
    body, _ = HTMLExporter().from_notebook_node(nb)
    if n:
        link = f'<link rel="stylesheet" href="{STYLESHEET}">\n'
        body = body.replace("</head>", link + "</head>", 1)
        assets.copy_katex(target.parent, assets.node_modules())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return n
