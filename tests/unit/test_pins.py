"""Versions are pinned once (pyproject.toml); environment.yml must agree with it."""
import re
import tomllib

import yaml

from course_utils.paths import REPO_ROOT


def _pyproject():
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def _pins(reqs):
    out = {}
    for r in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([\w.+]+)", r.strip())
        assert m, f"pyproject.toml: {r!r} is not pinned with '=='"
        out[m.group(1).lower()] = m.group(2)
    return out


def test_every_dependency_is_pinned_exactly():
    proj = _pyproject()["project"]
    pins = _pins(proj["dependencies"])
    pins.update(_pins(proj["optional-dependencies"]["dev"]))
    for name in ("torch", "transformers", "trl", "peft", "datasets", "bitsandbytes", "nbval"):
        assert name in pins, f"{name} must be pinned in pyproject.toml"


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    proj = _pyproject()["project"]
    pins = _pins(proj["dependencies"] + proj["optional-dependencies"]["dev"])
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert any(p.startswith("-e .") for p in pip), "environment.yml must install the course (pip -e .[dev])"
    python = next(d for d in conda if d.startswith("python="))
    major_minor = tuple(int(x) for x in python.split("=")[1].split(".")[:2])
    assert (3, 11) <= major_minor < (3, 13), f"{python} is outside requires-python {proj['requires-python']}"
    # A package pinned in both places must carry the same version.
    for spec in conda + pip:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*==?\s*([\w.+]+)", spec)
        if m and m.group(1).lower() in pins:
            pinned = pins[m.group(1).lower()]
            assert pinned == m.group(2), f"environment.yml pins {spec}, pyproject.toml {pinned}"


def test_setup_script_installs_the_same_torch_pin():
    text = (REPO_ROOT / "scripts" / "setup_env.sh").read_text()
    assert not re.search(r"torch==\d", text), "setup_env.sh must read the torch pin from pyproject.toml, not repeat it"
