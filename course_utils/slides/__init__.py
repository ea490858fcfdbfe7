"""The instructor decks: slides/NN_slug.md -> build/slides/NN_slug.html (+ .pdf), offline; see slides/README.md.

``build()`` (or ``python -m course_utils.slides``) parses each deck (parse), renders it to HTML with
the notebooks' figures and records (render), copies reveal.js and KaTeX (assets) and prints PDFs (pdf).
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from course_utils import paths
from course_utils.slides.assets import copy_assets, node_modules
from course_utils.slides.parse import BuildError, Deck, Slide, deck_files, parse_deck
from course_utils.slides.pdf import print_pdfs
from course_utils.slides.render import Context, build_deck, build_index, default_context

__all__ = ["BuildError", "Context", "Deck", "Slide", "build", "deck_files", "parse_deck"]


def build(out: Path | None = None, pdf: str = "auto", only: list[str] | None = None,
          src: Path = paths.SLIDES_DIR, ctx: Context | None = None) -> dict[str, Any]:
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
    copy_assets(ctx.out, node_modules())
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
    made_pdfs = print_pdfs(ctx.out, manifest, pdf)
    build_index(ctx, manifest, made_pdfs)
    info = {"decks": manifest, "pdfs": made_pdfs, "pending": ctx.pending,
            "seconds": round(time.time() - t0, 1)}
    (ctx.out / "decks.json").write_text(json.dumps(info, indent=2) + "\n")
    if errors:
        raise BuildError(f"{len(errors)} of {len(decks)} decks failed to build:\n" + "\n".join(errors))
    return info
