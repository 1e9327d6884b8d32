"""Packaging: pyproject.toml and environment.yml list the same packages; the CLI and README agree."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject() -> None:
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = {_name(r) for r in py["project"]["dependencies"]}
    wanted |= {_name(r) for r in py["project"]["optional-dependencies"]["dev"]}
    env_lines = (ROOT / "environment.yml").read_text().splitlines()
    listed = set()
    in_pip = False
    for line in env_lines:
        s = line.strip()
        if s.startswith("- pip:"):
            in_pip = True
            continue
        if in_pip and s.startswith("- ") and not s.startswith("- -e"):
            listed.add(_name(s[2:]))
    assert listed == wanted, f"only in pyproject: {wanted - listed}; only in environment.yml: {listed - wanted}"


def test_makefile_pins_torch_before_the_package() -> None:
    mk = (ROOT / "Makefile").read_text()
    assert mk.index("torch==2.13.0") < mk.index('-e ".[dev]"')


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    readme = (ROOT / "README.md").read_text()
    head = readme[:2500]
    assert "make reproduce" in head and "make test" in head


def test_cli_help_lists_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "salkd.cli", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("reproduce", "synth", "train", "evaluate", "bench", "export", "predict"):
        assert cmd in out.stdout
