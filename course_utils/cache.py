"""The one model cache: the base model, the SFT model and the reward model all live here.

A cached model is a folder ``paths.cache_dir() / "<kind>-<key>"``; the key hashes everything
that made it (recipe, data files, the starting model's weights via :func:`fingerprint`), so a
change to any of them builds a new folder and never touches an old one. :func:`get_or_build`:

* **lock**: one process builds while others wait (notebooks started side by side);
* **atomic**: the model is written into a temporary folder next to the target and renamed
  into place only when complete, so an interrupted build leaves nothing half-written;
* **complete**: a folder missing a required file is refused with a message saying which file
  and how to rebuild; nothing a learner made is deleted or overwritten silently.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from course_utils import paths

try:
    import fcntl
except ImportError:  # Windows: no lock; the atomic rename still keeps the cache sound
    fcntl = None


class CacheError(RuntimeError):
    """A cached model folder is incomplete or unreadable."""


def fingerprint(model) -> str:
    """A short hash of a model's weights (every tensor's name and bytes, in name order)."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def file_hash(*files: Path) -> str:
    """A short hash of the bytes of ``files`` (the data a model was trained on)."""
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]


def folder_for(kind: str, key: dict[str, Any]) -> Path:
    """``paths.cache_dir() / "<kind>-<12 hex digits>"`` for the JSON-able ``key``."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return paths.cache_dir() / f"{kind}-{digest}"


@contextlib.contextmanager
def lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder``'s build (a ``.<name>.lock`` file beside it)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as f:
        if fcntl is None:  # Windows (see the import)
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def check_complete(folder: Path, required: Sequence[str], hint: str, error: type[CacheError] = CacheError) -> Path:
    """``folder`` if every ``required`` file is in it; else ``error`` naming what is missing."""
    missing = [f for f in required if not (folder / f).is_file()]
    if missing:
        raise error(f"the cached model in {folder} is incomplete (missing {', '.join(missing)}); {hint}")
    return folder


def write_atomically(target: Path, write: Callable[[Path], None], required: Sequence[str] = ()) -> Path:
    """Run ``write(tmp)`` into a temporary folder beside ``target``, check it holds ``required``,
    then rename it to ``target``. If ``target`` appeared meanwhile (another process), keep that one."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-building-", dir=target.parent))
    try:
        write(tmp)
        check_complete(tmp, required, "the build did not write it (a bug: please report it)")
        if not target.exists():
            tmp.chmod(0o755)  # mkdtemp makes it private; a finished model is an ordinary folder
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def get_or_build(folder: Path, write: Callable[[Path], None], required: Sequence[str], hint: str,
                 log: Callable[[str], None] | None = None, what: str = "model",
                 error: type[CacheError] = CacheError) -> tuple[Path, bool]:
    """The complete cached ``folder``, built with ``write(tmp)`` under the lock if missing.
    Returns ``(folder, built_now)``."""
    built = False
    if not folder.exists():
        with lock(folder):
            if not folder.exists():  # another process may have built it while we waited
                if log:
                    log(f"building the {what} into {folder} (once)")
                write_atomically(folder, write, required)
                built = True
    return check_complete(folder, required, hint, error), built


def link_base_model(folder: Path) -> Path:
    """Link this cache's base model(s) into ``folder`` (made if missing): the base model does not
    depend on the lesson or the seed, so another cache shares it instead of rebuilding it."""
    folder.mkdir(parents=True, exist_ok=True)
    for base in paths.cache_dir().glob("base-model-*"):
        link = folder / base.name
        if not link.exists():
            link.symlink_to(base.resolve(), target_is_directory=True)
    return folder


def fresh_with_base_model(folder: Path) -> Path:
    """Empty ``folder`` and link the base model into it: a cache in which every lesson trains what
    it teaches, as on a learner's first pass (``make bench``)."""
    shutil.rmtree(folder, ignore_errors=True)
    return link_base_model(folder)
