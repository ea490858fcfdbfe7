"""The lessons' HTML pages typeset their math with the pinned KaTeX, so they read offline."""
import json
import re

import nbformat
import pytest

from course_utils import notebook_html, paths
from course_utils.slides import assets
from course_utils.slides.parse import BuildError


def _fake_render(formulas):
    return [f'<span class="katex">{"D" if display else "I"}:{tex}</span>' for tex, display in formulas]


def test_typeset_math_replaces_inline_and_display_math_but_not_code():
    src = ["The update is $\\Delta W = BA$, with\n\n$$h = W_0 x + \\frac{\\alpha}{r} BAx$$\n\nand `cost = $5` in code.",
           "No math here."]
    out, n = notebook_html.typeset_math(src, render=_fake_render)
    assert n == 2
    assert '<span class="katex">I:\\Delta W = BA</span>' in out[0]
    assert '<div class="math-display"><span class="katex">D:h = W_0 x' in out[0]
    assert "`cost = $5`" in out[0] and out[1] == "No math here."


def _installed() -> bool:
    try:
        assets.node_modules()
        return True
    except BuildError:
        return False


@pytest.mark.skipif(not _installed(), reason="KaTeX is installed by make setup (npm ci in slides/)")
def test_every_formula_in_the_lessons_typesets_with_katex():
    sources = [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
               for nb in sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
               for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"]
    out, n = notebook_html.typeset_math(sources)  # raises BuildError naming any formula KaTeX rejects
    assert n >= 20, f"only {n} formulas in the lessons"
    assert not any(notebook_html.INLINE_MATH.search(notebook_html.CODE.sub("", t)) for t in out)


@pytest.mark.skipif(not _installed(), reason="KaTeX is installed by make setup (npm ci in slides/)")
def test_page_links_a_local_katex_and_has_no_raw_latex(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Loss $\\mathcal{L} = -\\log p$ here."),
                                         nbformat.v4.new_code_cell("x = 1")])
    n = notebook_html.write_html(nb, tmp_path / "page.html")
    page = (tmp_path / "page.html").read_text()
    assert n == 1 and notebook_html.STYLESHEET in page and 'class="katex"' in page
    assert not re.search(r"\$\\mathcal", page)
    assert (tmp_path / notebook_html.STYLESHEET).exists() and any((tmp_path / "assets/katex/fonts").iterdir())
