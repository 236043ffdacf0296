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
    version (a stand-in `claude` that writes a real transcript), an ingest and a summary;
    then installs the git hooks in a throw-away repository and shows a commit's trailers
    and `burn log commit=HEAD`; then a daily cap that refuses the next launch, with
    `burn budget status`; and ends with `burn diff` of the two reviewer versions: did the
    edit make reviews cheaper?

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
    refused = ["launch", "reviewer", *review, "1500"]  # today's reviewer spend is over $0.05
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
        _COMMIT_DEMO,
        ["budget", "set", "reviewer", "--daily", "0.05", "--monthly", "20"],
        refused,
        ["budget", "status"],
        ["fsck"],
        ["diff", f"reviewer@{v['reviewer'][0]}", f"reviewer@{v['reviewer'][1]}"],
    ]
    for args in steps:
        if args is _COMMIT_DEMO:  # (before the cap below, which would refuse its launch)
            _commit_demo(home, v["reviewer"][1])
            continue
        click.secho(f"$ burn {shlex.join(args)}", bold=True)
        code = run(build(), args) if args is not refused else _launch(args)
        if code != (75 if args is refused else 0):  # the capped launch must be refused
            raise click.ClickException(f"`burn {shlex.join(args)}` failed with exit {code}")
        click.echo()
    click.echo(f"Explore it yourself:  export BURN_HOME={shlex.quote(str(home))}")
    click.echo(
        f"Plain git reads it:   git --git-dir {shlex.quote(str(home / 'ledger.git'))} log --all --oneline"
    )
    click.echo(f"Remove it:            rm -rf {shlex.quote(str(home))}")


_COMMIT_DEMO: list[str] = []  # a marker in the demo's steps


def _demo_harness_on_path(bin_dir: Path) -> None:
    """A stand-in `claude` first on PATH, for the demo's launches only."""
    import sys

    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "claude"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m burn.ledger.demo_harness "$@"\n')
    shim.chmod(0o755)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def _launch(args: list[str]) -> int:
    """`burn launch` through its own entry point (it does not go through click)."""
    import sys

    from .launch import fast_main

    sys.stdout.flush()
    code = fast_main(args[1:])
    sys.stderr.flush()
    return code


def _commit_demo(home: Path, version: str) -> None:
    """Attribution in git: hooks in a throw-away repository, a launch in it, a commit."""
    import shutil
    import subprocess

    from .main import build, run

    if shutil.which("git") is None:
        click.echo("(git is not installed: the commit attribution part of the demo is skipped)\n")
        return
    repo = home / "repo"
    shutil.copytree(home / "project" / ".burn", repo / ".burn")  # the same personas, same versions
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Demo", GIT_AUTHOR_EMAIL="demo@example.com",
               GIT_COMMITTER_NAME="Demo", GIT_COMMITTER_EMAIL="demo@example.com")  # fmt: skip

    def git(*args: str, show: bool = False) -> None:
        if show:
            click.secho(f"$ git {shlex.join(args)}", bold=True)
        proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
        if proc.returncode:
            raise click.ClickException(f"`git {shlex.join(args)}` failed: {proc.stderr.strip()}")
        if show:
            click.echo(proc.stdout)

    git("init", "-q", "-b", "main")
    (repo / "app.py").write_text("print('hello')\n")
    git("add", "app.py", ".burn")
    git("commit", "-q", "-m", "initial")
    os.chdir(repo)
    for args in (
        ["hooks", "install"],
        ["launch", f"reviewer@{version}", "--", "claude", "-p", "review the diff", "--demo-output", "900"],
    ):
        click.secho(f"$ burn {shlex.join(args)}", bold=True)
        if run(build(), args):
            raise click.ClickException(f"`burn {shlex.join(args)}` failed")
        click.echo()
    (repo / "app.py").write_text("print('hello, reviewed')\n")
    git("add", "app.py")
    git("commit", "-q", "-m", "Apply the review", show=True)
    git("log", "-1", "--format=%B", show=True)
    for args in (["log", "commit=HEAD"], ["summary", "--by", "commit"]):
        click.secho(f"$ burn {shlex.join(args)}", bold=True)
        if run(build(), args):
            raise click.ClickException(f"`burn {shlex.join(args)}` failed")
        click.echo()
