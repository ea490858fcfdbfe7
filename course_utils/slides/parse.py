"""A deck file (slides/NN_slug.md) to its front matter and slides; see slides/README.md."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from course_utils import paths

DECK_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.md$")


class BuildError(RuntimeError):
    """A deck cannot be built: the message names the deck and the file or line to fix."""


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


def deck_files(src: Path = paths.SLIDES_DIR) -> list[Path]:
    """Every deck: slides/NN_slug.md (a new lesson's deck is picked up by this glob)."""
    return sorted(p for p in src.glob("*.md") if DECK_NAME.match(p.name))


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
