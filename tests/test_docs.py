"""Docs that are generated or quoted must stay true."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_cli_reference_is_current() -> None:
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    assert (ROOT / "docs/cli.md").read_text() == generate.generate(), (
        "docs/cli.md is stale: run `python docs/generate.py > docs/cli.md`"
    )


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(python3 -m venv .*)$", readme, flags=re.M)
    assert len(commands) == 2, "the quick start has exactly two set-up commands"
    demo, tests = commands
    assert demo.endswith("burn demo")
    assert "pytest" in tests
    assert tests in (ROOT / ".ci/run").read_text().splitlines()
