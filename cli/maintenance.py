"""`burn fsck`, `burn reindex`, `burn gc`."""

from __future__ import annotations

import sys

import click

from .options import format_option, ledger
from .render import emit_one


@click.command()
@format_option(("table", "json"))
def fsck(fmt: str) -> None:
    """Verify the ledger: every record readable, every persona id re-derived, index in step.

    Exits 1 when a problem is found. Stale lock files left by a killed writer are removed
    and an index that disagrees with the ledger is rebuilt (both reported).

    \b
    Example:
      burn fsck && git --git-dir "$BURN_HOME/ledger.git" fsck --full --strict
    """
    from burn.ledger.maintenance import fsck as run_fsck

    report = run_fsck(ledger())
    if fmt == "json":
        emit_one(report.to_json())
    else:
        for line in report.repaired:
            click.echo(f"repaired: {line}")
        for line in report.problems:
            click.echo(f"problem: {line}")
        state = "ok" if not report.problems else f"{len(report.problems)} problem(s)"
        click.echo(
            f"{state}: {report.records} records, {report.versions} persona versions, {report.refs} refs"
        )
    if report.problems:
        sys.exit(1)


@click.command()
@format_option(("table", "json"))
def reindex(fmt: str) -> None:
    """Rebuild the SQLite index from the ledger alone (it is derived, never synced).

    \b
    Example:
      burn reindex
    """
    from burn.ledger.maintenance import reindex as run

    out = run(ledger())
    if fmt == "json":
        emit_one(out)
    else:
        click.echo(f"indexed {out['records']} records into {out['index']}")


@click.command()
@format_option(("table", "json"))
def gc(fmt: str) -> None:
    """Pack the ledger's loose objects into a pack file. Never rewrites or drops anything.

    \b
    Example:
      burn gc
    """
    from burn.ledger.maintenance import gc as run

    out = run(ledger())
    if fmt == "json":
        emit_one(out)
    else:
        click.echo(f"packed {out['packed_objects']} loose objects")
