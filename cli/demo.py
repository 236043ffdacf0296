"""`burn demo`: the whole flow on a throw-away home, printing each command and its output."""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

import click


@click.command()
@click.option(
    "--home",
    "home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Use this (new, empty) directory instead of a fresh temporary one.",
)
def demo(home: Path | None) -> None:
    """Run the whole flow on a throw-away home; nothing of yours is touched.

    Creates personas with two versions each, records a week of launches, writes two
    Claude Code transcripts (one with a subagent), then shows the log, a persona's
    versions with their spend, what changed between them, a launch of each reviewer
    version (a stand-in `claude` that writes a real transcript), an ingest and a summary,
    and ends with `burn diff` of the two reviewer versions: did the edit make reviews cheaper?

    \b
    Example:
      burn demo
    """
    from burn.ledger.demo import build_demo, write_demo_transcripts

    from .main import build, run

    if home is None:
        home = Path(tempfile.mkdtemp(prefix="burn-demo-"))
    elif home.exists() and any(home.iterdir()):
        raise click.UsageError(f"{home} is not empty; the demo needs a new directory")
    home = home.resolve()
    click.echo(f"burn demo: using a throw-away home at {home}\n")
    os.environ["BURN_HOME"] = str(home)
    os.environ.pop("BURN_PERSONA_PATH", None)
    # harness logs of the demo's own: the real ones on this machine are never read
    os.environ["CLAUDE_CONFIG_DIR"] = str(home / "claude")
    os.environ["CODEX_HOME"] = str(home / "codex")
    os.environ["OPENCODE_DATA_DIR"] = str(home / "opencode")
    result = build_demo(home)
    write_demo_transcripts(home / "claude")
    os.chdir(result.project)  # the demo's own project, so its .burn/personas is the cwd layer
    _demo_harness_on_path(home / "bin")
    v = result.versions
    click.echo(
        f"Recorded {result.records} launches: reviewer@{v['reviewer'][0]} and its edit "
        f"reviewer@{v['reviewer'][1]}, planner@{v['planner'][0]} and planner@{v['planner'][1]}.\n"
    )
    review = ["--", "claude", "-p", "review the diff", "--demo-output"]
    steps = [
        ["log", "persona=reviewer", "-n", "6"],
        ["persona", "log", "reviewer"],
        ["persona", "diff", f"reviewer@{v['reviewer'][0]}", f"reviewer@{v['reviewer'][1]}"],
        ["log", "--oneline", "persona=planner", "ticket=DEMO-1"],
        ["ingest"],
        ["launch", f"reviewer@{v['reviewer'][0]}", *review, "3600"],
        ["launch", f"reviewer@{v['reviewer'][1]}", *review, "1500"],
        ["log", "kind=launch"],
        ["summary", "--by", "persona,harness"],
        ["fsck"],
        ["diff", f"reviewer@{v['reviewer'][0]}", f"reviewer@{v['reviewer'][1]}"],
    ]
    for args in steps:
        click.secho(f"$ burn {shlex.join(args)}", bold=True)
        code = run(build(), args)
        if code:
            raise click.ClickException(f"`burn {shlex.join(args)}` failed with exit {code}")
        click.echo()
    click.echo(f"Explore it yourself:  export BURN_HOME={shlex.quote(str(home))}")
    click.echo(
        f"Plain git reads it:   git --git-dir {shlex.quote(str(home / 'ledger.git'))} log --all --oneline"
    )
    click.echo(f"Remove it:            rm -rf {shlex.quote(str(home))}")


def _demo_harness_on_path(bin_dir: Path) -> None:
    """A stand-in `claude` first on PATH, for the demo's launches only."""
    import sys

    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "claude"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m burn.ledger.demo_harness "$@"\n')
    shim.chmod(0o755)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
