"""`burn summary`."""

from __future__ import annotations

from .options import apply, ledger
from .render import Column, count, emit, text, usd

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)

if TYPE_CHECKING:
    from typing import Any

    import click


def _cost(row: dict[str, Any]) -> str:
    shown = usd(row["cost_micros"])
    if row["unpriced_records"] and row["cost_micros"] is not None:
        shown += f" +{row['unpriced_records']} unpriced"
    return shown


def _short(version: str | None) -> str:
    return version[3:15] if version else "—"


def summary(by: str, repo: str | None, tag: str | None, tags: tuple[str, ...], rollup: bool,
            filters: tuple[str, ...], since: str | None, until: str | None, fmt: str) -> None:  # fmt: skip
    """Totals grouped by persona, version, model, harness, day, session or a tag.

    Costs are priced with the current price table from the stored usage; a cost the
    source reported is kept as reported; records with unknown cost are counted, never $0.
    Each record counts once: under its own persona, or with --rollup under the persona
    of the outermost launch it ran inside.

    \b
    Examples:
      burn summary --by persona,version --since 7d
      burn summary --by day --group-by-tag ticket --format json
      burn summary --by persona --rollup
      burn summary --by commit main..HEAD

    With --by commit, each commit's row holds the launches it claimed (see `burn hooks`);
    a REV-RANGE (default HEAD) picks the commits of the repository here or --repo, found
    by sha and through their notes (so rebased commits keep their cost).
    """
    from burn.ledger.query import Query, parse_filters
    from burn.ledger.summary import summary as run
    from burn.ledger.timeparse import parse_when

    keys = [k.strip() for k in by.split(",") if k.strip()]
    if keys == ["commit"]:
        _by_commit(filters, repo, since, until, fmt)
        return
    q = Query(
        filters=parse_filters([*filters, *(f"tag.{t}" for t in tags)]),
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
    )
    rows = run(ledger(), q, keys, tag, rollup)
    group_cols = [Column(k, k, _short if k == "version" else text) for k in keys]
    group_cols += [Column(f"tag:{tag}", tag, text)] if tag else []
    if fmt == "table":
        for r in rows:
            r["cost_text"] = _cost(r)
            for kind, v in r["usage"].items():
                r[kind] = v
        cols = [
            *group_cols,
            Column("records", "records", count, right=True),
            Column("input_tokens", "input", count, right=True),
            Column("output_tokens", "output", count, right=True),
            Column("cache_read_tokens", "cache read", count, right=True),
            Column("cost_text", "cost", str, right=True),
        ]
        emit(rows, cols, "table")
    elif fmt == "csv":
        for r in rows:
            r.update(r.pop("usage"))
        emit(rows, group_cols, "csv", key="rows")
    else:
        emit(rows, group_cols, fmt, key="rows")


def _by_commit(filters: tuple[str, ...], repo: str | None, since: str | None, until: str | None,
               fmt: str) -> None:  # fmt: skip
    from burn.ledger.query import Query, parse_filters
    from burn.ledger.summary import summary_by_commit
    from burn.ledger.timeparse import parse_when

    ranges = [f for f in filters if "=" not in f]
    if len(ranges) > 1:
        from burn.store.errors import UsageError

        raise UsageError(f"one REV-RANGE at most, got {' '.join(ranges)}")
    q = Query(
        filters=parse_filters([f for f in filters if "=" in f]),
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
    )
    rows = summary_by_commit(ledger(), q, repo, ranges[0] if ranges else None)
    for r in rows:
        r["who"] = ", ".join(r["personas"]) or None
    cols = [
        Column("commit", "commit", lambda v: v[:10]),
        Column("who", "persona", text),
        Column("launches", "launches", count, right=True),
        Column("cost_micros", "cost", lambda v: usd(v), right=True),
        Column("subject", "subject", text),
    ]
    if fmt == "table":
        for r in rows:
            r["cost_text"] = usd(r["cost_micros"]) + ("" if r["complete"] else " +unknown")
        cols[3] = Column("cost_text", "cost", str, right=True)
    emit(rows, cols, fmt, key="rows")


def command() -> click.Command:
    import click

    from .options import format_option, since_until

    return apply(
        summary,
        click.command(),
        click.option(
            "--by",
            default="persona",
            show_default=True,
            metavar="KEYS",
            help="Comma-separated: persona, version, model, harness, day, session, source, host;"
            " or commit alone.",
        ),
        click.option(
            "--repo",
            type=click.Path(file_okay=False, exists=True),
            help="With --by commit: the repository whose commits to show (default: the one here).",
        ),
        click.option("--group-by-tag", "tag", metavar="KEY", help="Also group by the value of this tag."),
        click.option(
            "--tag",
            "tags",
            multiple=True,
            metavar="KEY=VALUE",
            help="Only records with this tag (repeatable).",
        ),
        click.option(
            "--rollup",
            is_flag=True,
            help="Count a nested launch's spend under the launch at the top of its tree.",
        ),
        click.argument("filters", nargs=-1, metavar="[KEY=VALUE]... [REV-RANGE]"),
        since_until,
        format_option(),
    )
