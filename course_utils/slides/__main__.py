"""``python -m course_utils.slides [04 07_ppo ...] [--pdf auto|require|no] [--out DIR]`` (what `make slides` runs)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_utils import paths
from course_utils.slides import BuildError, build


def main(argv: list[str] | None = None) -> int:
    """Build the decks named (default: all); print what is pending and where the index is."""
    ap = argparse.ArgumentParser(prog="python -m course_utils.slides",
                                 description="Build the instructor decks: slides/NN_slug.md -> "
                                             "build/slides/NN_slug.html (+ .pdf), offline.")
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
