"""The slide runtime (reveal.js) and KaTeX that `make setup` installs with npm, copied into build/slides/assets."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from course_utils import paths
from course_utils.slides.parse import BuildError

#: Written by scripts/setup_env.sh after `npm ci`: the SHA-256 of the package-lock.json it installed.
STAMP = ".course-lock-hash"


def node_modules() -> Path:
    """slides/node_modules, if `npm ci` installed it from the current package-lock.json; else a BuildError."""
    modules = paths.SLIDES_DIR / "node_modules"
    want = hashlib.sha256((paths.SLIDES_DIR / "package-lock.json").read_bytes()).hexdigest()
    stamp = modules / STAMP
    if not stamp.exists() or stamp.read_text().strip() != want:
        state = "older than slides/package-lock.json" if stamp.exists() else "not installed"
        raise BuildError(f"reveal.js and KaTeX in {modules} are {state}: run `make setup` (it runs "
                         f"`npm ci` in slides/, which needs Node.js, npm and the npm registry once)")
    return modules


def copy_assets(out: Path, modules: Path) -> None:
    """Copy the runtime the decks load (reveal.js, its notes plugin, KaTeX CSS + fonts, our theme)."""
    reveal, katex = modules / "reveal.js" / "dist", modules / "katex" / "dist"
    files = {reveal / "reset.css": "reveal/reset.css", reveal / "reveal.css": "reveal/reveal.css",
             reveal / "reveal.js": "reveal/reveal.js", reveal / "theme" / "white.css": "reveal/theme/white.css",
             reveal / "plugin" / "notes.js": "reveal/plugin/notes.js",
             paths.SLIDES_DIR / "templates" / "course.css": "course.css",
             modules / "reveal.js" / "LICENSE": "reveal/LICENSE"}
    files.update(_katex_files(katex))
    _copy(files, out)


def copy_katex(out: Path, modules: Path) -> None:
    """Copy KaTeX's stylesheet and fonts to ``out/assets/katex`` (the lessons' HTML pages use them)."""
    _copy(_katex_files(modules / "katex" / "dist"), out)


def _katex_files(katex: Path) -> dict[Path, str]:
    files = {katex / "katex.min.css": "katex/katex.min.css", katex.parent / "LICENSE": "katex/LICENSE"}
    files.update({f: f"katex/fonts/{f.name}" for f in (katex / "fonts").iterdir()})
    return files


def _copy(files: dict[Path, str], out: Path) -> None:
    for src, rel in files.items():
        if not src.exists():
            raise BuildError(f"{src} is missing: delete slides/node_modules and run `make setup` again")
        dst = out / "assets" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
