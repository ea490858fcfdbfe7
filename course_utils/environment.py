"""Is this Python environment the one the course was tested with? OK/FAIL per requirement."""
from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, requires, version

CORE = ("torch", "transformers", "peft", "trl", "datasets", "bitsandbytes", "accelerate", "tokenizers")


@dataclass(frozen=True)
class Check:
    name: str
    wanted: str
    found: str
    ok: bool


def pinned_versions() -> dict[str, str]:
    """The pins of the installed course package (from pyproject.toml, via its metadata)."""
    pins = {}
    for req in requires("course-utils") or []:
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^;\s]+)", req)
        if m and "extra ==" not in req:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def check_environment(packages: tuple[str, ...] = CORE) -> list[Check]:
    """One :class:`Check` for Python and each package: installed, and at the pinned version."""
    pins = pinned_versions()
    py = platform.python_version()
    checks = [Check("python", ">=3.10,<3.13", py, (3, 10) <= tuple(map(int, py.split(".")[:2])) < (3, 13))]
    for name in packages:
        wanted = pins.get(name, "any")
        try:
            found = version(name)
        except PackageNotFoundError:
            checks.append(Check(name, wanted, "missing", False))
            continue
        # a local build tag (2.13.0+cpu) still satisfies the pin 2.13.0
        checks.append(Check(name, wanted, found, wanted == "any" or found.split("+")[0] == wanted))
    return checks


def report(checks: list[Check] | None = None) -> bool:
    """Print one OK/FAIL line per requirement; return True if all are OK."""
    checks = checks if checks is not None else check_environment()
    for c in checks:
        hint = "" if c.ok else "  <- run `make setup` (or pip install -e .) to get the pinned version"
        print(f"{'OK  ' if c.ok else 'FAIL'} {c.name:<13} wanted {c.wanted:<14} found {c.found}{hint}")
    ok = all(c.ok for c in checks)
    print("All requirements met." if ok else "Some requirements are not met: see the FAIL lines above.")
    return ok
