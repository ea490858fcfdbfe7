"""Regenerate every data set in data/ (deterministic: the same bytes on every run)."""
from __future__ import annotations

import hashlib
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GENERATORS = ["course_utils.datagen.corpus", "course_utils.datagen.agri", "course_utils.datagen.intents"]


def main(data_dir: Path = ROOT / "data") -> int:
    for name in GENERATORS:
        t0 = time.time()
        module = importlib.import_module(name)
        written = module.write(data_dir)
        for path in written:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            print(f"{path.relative_to(data_dir)}  {path.stat().st_size / 1e6:7.2f} MB  sha256 {digest}")
        print(f"  ({name}: {time.time() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "data"))
