"""`burn persona add|list|show|log|diff|import`."""

from __future__ import annotations

import sys
from pathlib import Path

from .options import apply, ledger
from .render import Column, count, emit, emit_one, text, usd

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)

if TYPE_CHECKING:
    import click


def echo(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def warn(line: str) -> None:
    sys.stderr.write(line + "\n")


def persona() -> None:
    """The persona store: every change to a persona is a new content-addressed version.

    \b
    Examples:
      burn persona add reviewer.toml
      burn persona log reviewer
      burn persona diff reviewer@3f2a9c reviewer@91bd02
    """


def add(file: Path, layer: str, fmt: str) -> None:
    """Add a persona file (JSON or TOML) to a layer and store its version.

    \b
    Example:
      burn persona add ./reviewer.toml      # prints reviewer@3f2a9c1b7d0e
    """
    from burn.ledger.personas import add as add_persona

    added = add_persona(ledger(), file, layer)
    p = added.persona
    if fmt == "json":
        emit_one(
            {
                "schema": 1,
                "name": p.name,
                "version": p.version.id,
                "version_short": p.version.short,
                "sha256": p.version.sha256_id,
                "new": added.new,
                "path": str(added.path),
            }
        )
        return
    state = "new version" if added.new else "unchanged"
    echo(f"{p.name}@{p.version.short}  {p.version.id}  ({state}, {added.path})")


def list_cmd(fmt: str) -> None:
    """List personas from every layer and the store, with their current version.

    \b
    Example:
      burn persona list --format json
    """
    from burn.ledger.personas import list_personas

    rows, errors = list_personas(ledger())
    emit(
        rows,
        [
            Column("name", "name"),
            Column("version_short", "version"),
            Column("source", "source"),
            Column("description", "description", text),
        ],
        fmt,
        key="personas",
    )
    for e in errors:
        warn(f"burn: warning: {e}")


def show(ref: str, tier: str | None, fmt: str) -> None:
    """Show a persona's resolved spec (what is hashed) and its ids.

    \b
    Examples:
      burn persona show reviewer
      burn persona show reviewer@3f2a9c --format json
    """
    import json

    from burn.ledger.personas import show as show_persona

    data = show_persona(ledger(), ref, tier)
    if fmt == "json":
        emit_one(data)
        return
    echo(f"persona  {data['name']}@{data['version_short']}")
    echo(f"version  {data['version']}")
    echo(f"sha256   {data['sha256']}")
    echo(f"source   {data['source']}" + (f"  ({data['path']})" if data["path"] else ""))
    if data["tier"]:
        echo(f"tier     {data['tier']}")
    echo("")
    echo(json.dumps(data["spec"], indent=2, ensure_ascii=False, sort_keys=True))


def log_cmd(name: str, fmt: str) -> None:
    """Every version of a persona, newest first, with its launches and their cost.

    Like `git log` with a cost column: when each version was stored, where from, how
    many launches ran under it, their total and mean cost (re-priced with the current
    price table; launches of unknown cost are counted apart, never as $0). NAME@VERSION
    or a bare version prefix (blake3 or sha256, 6+ digits) starts the log at that
    version, like `git log REV`.

    \b
    Examples:
      burn persona log reviewer
      burn persona log reviewer@3f2a9c --format json
    """
    from burn.ledger.personas import log as persona_log

    rows = persona_log(ledger(), name)
    if fmt == "table":
        for r in rows:  # a launch of unknown cost is counted beside the total, never as $0
            r["total"] = usd(r["cost_micros"]) + (
                f" +{r['unpriced_launches']} unpriced" if r["unpriced_launches"] and r["cost_micros"] else ""
            )
    cols = [
        Column("current", "", lambda v: "*" if v else " "),
        Column("version_short", "version", text),
        Column("stored_at", "stored (UTC)", lambda v: text(v).replace("T", " ").removesuffix("Z")),
        Column("source", "source", text),
        Column("launches", "launches", count, right=True),
        Column(
            "total" if fmt == "table" else "cost_micros", "total", str if fmt == "table" else usd, right=True
        ),
        Column("mean_cost_micros", "per launch", usd, right=True),
    ]
    emit(rows, cols, fmt, key="versions")


def diff_cmd(a: str, b: str | None, fmt: str) -> None:
    """Field-level diff of two persona versions; the prompt as a unified diff.

    A and B are NAME or NAME@VERSION. With only a NAME, its two newest stored versions.

    \b
    Examples:
      burn persona diff reviewer
      burn persona diff reviewer@3f2a9c reviewer@91bd02
    """
    from burn.ledger.personas import diff as persona_diff

    from .render_diff import change_lines

    data = persona_diff(ledger(), a, b)
    if fmt == "json":
        emit_one(data)
        return
    left, right = data["a"], data["b"]
    echo(f"--- {left['name']}@{left['version_short']}")
    echo(f"+++ {right['name']}@{right['version_short']}")
    if not data["changes"]:
        echo("(no differences)")
    for line in change_lines(data["changes"]):
        echo(line)


def import_cmd(kind: str, path: Path, fmt: str) -> None:
    """Import other tools' agent files into the store (re-importing unchanged files is a no-op).

    \b
    Examples:
      burn persona import --from claude .claude/agents
      burn persona import --from codex ~/.codex/config.toml
    """
    from burn.ledger.personas import import_files

    rows, errors = import_files(ledger(), kind, path)
    emit(
        rows,
        [
            Column("name", "name"),
            Column("version_short", "version"),
            Column("status", "status"),
            Column("origin", "from"),
        ],
        fmt,
        key="personas",
    )
    for e in errors:
        warn(f"burn: warning: {e}")
    if errors:
        sys.exit(1)


def command() -> click.Group:
    import click

    from .options import format_option

    group: click.Group = apply(persona, click.group())
    for cmd in [
        apply(
            add,
            click.command(),
            click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.option(
                "--layer", default="user", show_default=True, help="Layer to install into: user or cwd."
            ),
            format_option(("table", "json")),
        ),
        apply(list_cmd, click.command(name="list"), format_option()),
        apply(
            show,
            click.command(),
            click.argument("ref", metavar="NAME[@VERSION]"),
            click.option("--tier", help="Show the spec of a named tier."),
            format_option(("table", "json")),
        ),
        apply(
            log_cmd,
            click.command(name="log"),
            click.argument("name", metavar="NAME[@VERSION]"),
            format_option(),
        ),
        apply(
            diff_cmd,
            click.command(name="diff"),
            click.argument("a", metavar="A"),
            click.argument("b", metavar="[B]", required=False),
            format_option(("table", "json")),
        ),
        apply(
            import_cmd,
            click.command(name="import"),
            click.option(
                "--from",
                "kind",
                required=True,
                type=click.Choice(["claude", "opencode", "codex", "workforce"]),
                help="Which tool's format PATH is in.",
            ),
            click.argument("path", type=click.Path(exists=True, path_type=Path)),
            format_option(),
        ),
    ]:
        group.add_command(cmd)
    return group
