"""Read commands without click: same values as click, same output, click never imported.

The fast path (burn.cli.fastpath) parses argv from a table generated out of the click
commands; whatever it accepts must be what click would pass, and anything it is unsure
of must go to click.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burn.cli import fastgen, fastpath
from burn.cli.fastspec import SPECS
from burn.cli.main import COMMANDS
from conftest import write

ROOT = Path(__file__).parent.parent


def click_command(name: str) -> click.Command:
    top, _, sub = name.partition(" ")
    module, attr, _ = COMMANDS[top]
    cmd = getattr(__import__(module, fromlist=[attr]), attr)()
    return cmd.commands[sub] if sub else cmd


def clicks(name: str, argv: list[str]) -> dict[str, Any] | None:
    """The keyword arguments click passes for argv, or None when click refuses it."""
    try:
        return click_command(name).make_context(name, list(argv)).params
    except click.ClickException:
        return None


def test_the_table_is_generated_from_the_commands_as_they_are() -> None:
    assert (ROOT / "cli/fastspec.py").read_text() == fastgen.generate(), (
        "cli/fastspec.py is stale: python -m burn.cli.fastgen > cli/fastspec.py"
    )


def test_the_hot_read_commands_are_on_the_fast_path() -> None:
    for name in ("log", "show", "diff", "summary", "ingest", "persona log", "persona show"):
        assert name in SPECS, name


PLAIN_LINES = {
    "log": [
        [],
        ["persona=reviewer", "-n", "20"],
        ["persona=reviewer", "-n20", "--since", "7d", "--format=json"],
        ["--oneline", "model!=x", "--rollup", "--until", "2026-01-01"],
        ["--max-count", "0", "--", "persona=a"],
    ],
    "show": [["3f2a9c1b"], ["--format", "json", "3f2a"]],
    "diff": [
        ["reviewer"],
        ["reviewer@3f2a9c", "reviewer@91bd02", "--by", "model", "--format", "markdown"],
        ["reviewer", "planner", "repo=api", "--seed", "7", "--include-partial"],
    ],
    "summary": [
        ["--by", "persona,version", "--since", "7d"],
        ["--by", "day", "--group-by-tag", "ticket", "--tag", "a=b", "--tag", "c=d", "--format", "csv"],
        ["--by", "commit", "main..HEAD"],
    ],
    "ingest": [[], ["--harness", "claude", "--harness", "codex", "--format", "json"]],
    "persona log": [["reviewer"], ["reviewer@3f2a9c", "--format", "json"]],
    "persona show": [["reviewer", "--tier", "fast"]],
    "persona diff": [["reviewer"], ["a", "b", "--format", "json"]],
}


@pytest.mark.parametrize("name", sorted(PLAIN_LINES))
def test_plain_lines_take_the_fast_path_with_clicks_values(name: str) -> None:
    params = SPECS[name][2]
    for argv in PLAIN_LINES[name]:
        fast = fastpath.parse(params, argv)
        assert fast is not None, (name, argv)
        assert fast == clicks(name, argv), (name, argv)


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("log", ["--format", "yaml"]),  # click's message for a bad choice
        ("log", ["-n", "-1"]),  # below IntRange's minimum
        ("log", ["-n"]),  # a missing value
        ("log", ["--max"]),  # not an option (click has no abbreviations)
        ("log", ["-x"]),
        ("log", ["--oneline=yes"]),
        ("diff", []),  # A is required
        ("diff", ["a", "--seed", "x"]),
        ("show", ["a", "b"]),  # an extra argument
        ("summary", ["--repo", "."]),  # a Path that must exist: only click checks it
    ],
)
def test_what_it_is_unsure_of_goes_to_click(name: str, argv: list[str]) -> None:
    assert fastpath.parse(SPECS[name][2], argv) is None


def _tokens(params: tuple[Any, ...]) -> st.SearchStrategy[str]:
    values = ["reviewer", "a=b", "x!=y", "7", "0", "-1", "+3", "json", "table", "model", "claude", "7d", ""]
    options = [opt for p in params for opt in p[2]]
    joined = [f"{opt}={v}" for opt in options if opt.startswith("--") for v in ("json", "7", "")]
    stuck = [f"{opt}{v}" for opt in options if not opt.startswith("--") for v in ("5", "x")]
    return st.sampled_from([*values, *options, *joined, *stuck, "--", "-", "-q", "--nope", "-h"])


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_anything_the_fast_path_accepts_click_parses_the_same(name: str, data: st.DataObject) -> None:
    params = SPECS[name][2]
    argv = data.draw(st.lists(_tokens(params), max_size=7))
    fast = fastpath.parse(params, argv)
    if fast is not None:
        assert fast == clicks(name, argv), (name, argv)


def _run(args: list[str], fast: bool) -> tuple[int, str, str, bool]:
    """Exit code, stdout, stderr, and whether click was imported, for `burn *args`."""
    code = (
        "import sys\n"
        "from burn.cli.main import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "sys.stderr.write('\\nCLICK=%s EXIT=%s' % ('click' in sys.modules, code))\n"
    )
    env = {**os.environ, "BURN_FASTPATH": "1" if fast else "0"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    err, _, tail = proc.stderr.rpartition("\nCLICK=")
    imported, _, exit_code = tail.partition(" EXIT=")
    return int(exit_code), proc.stdout, err, imported == "True"


@pytest.fixture
def ledger_with_two_versions(tmp_path: Path, burn) -> tuple[str, str]:
    f = write(tmp_path / "src/reviewer.toml", 'model = "claude-sonnet-4-5"\nprompt = "Review."\n')
    v1 = json.loads(burn("persona", "add", str(f), "--format", "json").out)["version_short"]
    model = ["--model", "claude-sonnet-4-5"]
    for i in range(3):
        tokens = ["--input-tokens", str(1000 * (i + 1)), "--output-tokens", "200"]
        assert burn("record", "reviewer", *model, *tokens, "--tag", f"ticket=T{i}").code == 0
    write(f, 'model = "claude-sonnet-4-5"\nprompt = "Review.\\nBe brief."\n')
    v2 = json.loads(burn("persona", "add", str(f), "--format", "json").out)["version_short"]
    for i in range(2):
        tokens = ["--input-tokens", str(500 * (i + 1)), "--output-tokens", "100"]
        assert burn("record", "reviewer", *model, *tokens, "--exit-code", "1").code == 0
    return v1, v2


def test_output_and_exit_codes_match_click_and_click_is_not_imported(ledger_with_two_versions) -> None:
    v1, v2 = ledger_with_two_versions
    lines = [
        ["log"],
        ["log", "persona=reviewer", "-n", "2", "--format", "json"],
        ["log", "--oneline", "ticket=T1"],
        ["log", "persna=reviewer"],  # a usage error: exit 2
        ["log", "--since", "not-a-date"],
        ["show", "zzzz"],  # not a record: exit 1
        ["summary", "--by", "persona,version", "--format", "csv"],
        ["summary", "--by", "day", "--group-by-tag", "ticket"],
        ["diff", f"reviewer@{v1}", f"reviewer@{v2}"],
        ["diff", "reviewer", "--format", "json"],
        ["diff", "nobody"],
        ["persona", "log", "reviewer"],
        ["persona", "show", "reviewer", "--format", "json"],
        ["persona", "diff", "reviewer"],
        ["persona", "list"],
        ["ingest", "--format", "json"],
    ]
    codes = set()
    for args in lines:
        fast = _run(args, fast=True)
        slow = _run(args, fast=False)
        assert slow[3], f"BURN_FASTPATH=0 must run click: {args}"
        assert not fast[3], f"burn {' '.join(args)} imported click"
        assert fast[:3] == slow[:3], args
        codes.add(fast[0])
    assert codes == {0, 1, 2}  # the lines cover success, errors and usage errors
