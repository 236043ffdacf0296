"""`burn ingest`."""

from __future__ import annotations

import sys
from collections.abc import Callable

from .options import apply, ledger
from .render import emit_one

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)

if TYPE_CHECKING:
    import click


def ingest(harnesses: tuple[str, ...], fmt: str) -> None:
    """Read harness logs (Claude Code, Codex, OpenCode) and record new spend.

    Incremental: a file unchanged since the last run is not even opened, and a session
    that grew is recorded again holding only the new usage. Spend no launch claimed is
    recorded under persona `none` (or the agent the harness itself names). Roots come
    from CLAUDE_CONFIG_DIR, CODEX_HOME and OPENCODE_DATA_DIR, or their defaults.

    \b
    Example:
      burn ingest && burn log persona=none --since 1d
    """
    from burn.ledger import ingest_read
    from burn.ledger.ingest import ingest as run

    from .options import LEAVING

    if LEAVING:
        import gc

        # This process ends with os._exit: nothing the ingest read need be freed, and no
        # cyclic collection need run after it (the first would walk every object it made
        # and parked: ~35 ms after a 100k-line ingest, measured).
        ingest_read.PARK = []
        gc.disable()
    progress = _bar() if sys.stderr.isatty() and fmt == "table" else None
    report = run(ledger(), harnesses or None, progress)
    assert report is not None  # waited for the lock
    if progress:
        sys.stderr.write("\r\033[K")
    if fmt == "json":
        emit_one(report.to_json())
        return
    skipped = sum(report.skipped.values())
    print(
        f"{report.records} new records from {report.events} responses"
        f" ({report.files_read} of {report.files} files read, {report.lines:,} lines"
        + (f", {skipped} skipped" if skipped else "")
        + ")"
    )
    for reason, n in sorted(report.skipped.items()):
        print(f"  skipped {n} × {reason}", file=sys.stderr)
    for p in report.problems[:10]:
        print(f"  {ingest_read.printable(p)}", file=sys.stderr)


def _bar() -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        if done % 50 and done != total:
            return
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        sys.stderr.flush()

    return show


def command() -> click.Command:
    import click

    from .options import format_option

    return apply(
        ingest,
        click.command(),
        click.option(
            "--harness",
            "harnesses",
            multiple=True,
            type=click.Choice(["claude", "codex", "opencode"]),
            help="Only these harnesses (repeatable). Default: all.",
        ),
        format_option(("table", "json")),
    )
