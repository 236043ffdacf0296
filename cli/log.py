"""`burn log` and `burn show`."""

from __future__ import annotations

import sys

from .options import apply, ledger
from .render import (
    Column,
    count,
    count_sql,
    duration,
    duration_sql,
    emit,
    emit_json_strings,
    emit_one,
    text,
    text_sql,
    usd,
    usd_sql,
)

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)


def _date(v: str) -> str:
    return v.replace("T", " ").removesuffix("Z")


DATE_SQL = "strftime('%Y-%m-%d %H:%M:%S', started_at, 'unixepoch')"
WHO_SQL = "persona || coalesce('@' || substr(version, 4, 12), '')"

LOG_COLUMNS = [
    Column("id", "record", lambda v: v[:10], sql="substr(id, 1, 10)"),
    Column("started_at", "started (UTC)", _date, sql=DATE_SQL),
    Column("who", "persona", sql=WHO_SQL),
    Column("harness", "harness", text, sql=text_sql("harness")),
    Column("models", "model", text, sql=text_sql("nullif(models, '')")),
    Column("total_tokens", "tokens", count, right=True, sql=count_sql("total_tokens")),
    Column("cost_micros", "cost", usd, right=True, sql=usd_sql("cost_micros")),
    Column("duration_ms", "time", duration, right=True, sql=duration_sql("duration_ms")),
    Column("exit_code", "exit", text, right=True, sql=text_sql("exit_code")),
]
ONELINE_SQL = [
    ("", "substr(id, 1, 10)", False),
    ("", WHO_SQL, False),
    ("", usd_sql("cost_micros"), False),
    ("", count_sql("total_tokens") + " || ' tokens'", False),
    ("", DATE_SQL, False),
]


if TYPE_CHECKING:
    import click


def log(
    filters: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int | None,
    oneline: bool,
    rollup: bool,
    fmt: str,
) -> None:
    """List records, newest first, like git log.

    Filters are KEY=VALUE: the same key repeated is OR, different keys are AND,
    KEY!=VALUE excludes, * is a wildcard. Keys: persona (also persona=NAME@VERSION),
    version (b3 or sha256 prefix), harness, model, source, host, session, fidelity,
    parent, launch, exit, id, commit, repo, or any tag key (tag.KEY=VALUE to be explicit).

    Launches still running are listed first (spend so far; JSON: "running"). A launch's
    own spend excludes launches nested in it; --rollup shows theirs included instead.
    The table prices every record with the price table in force (`burn pricing`);
    JSON, JSONL and CSV print each record as recorded: its cost_micros is what the table
    named in its "pricing" field gave.

    \b
    Examples:
      burn log persona=reviewer --since 7d
      burn log persona=reviewer persona=planner model!=claude-opus-4-1 -n 20
      burn log ticket=ABC-12 --format json
      burn log kind=launch --rollup
    """
    from burn.ledger.query import Query, parse_filters
    from burn.ledger.timeparse import parse_when

    q = Query(
        filters=parse_filters(filters),
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
        limit=limit,
    )
    led = ledger()
    out = sys.stdout
    live = [r for r in led.running() if _shows(r, q)] if limit != 0 else []
    if fmt == "json":
        emit_json_strings(led.log_json(q, rollup), "records", out, extra={"running": live})
    elif fmt == "jsonl":
        out.writelines(s + "\n" for s in led.log_json(q, rollup))
    elif fmt == "csv":
        import json

        from burn.ledger.usage import TOKEN_KINDS

        rows = []
        for s in led.log_json(q, rollup):
            r = json.loads(s)
            r.update({k: r["usage"][k] for k in TOKEN_KINDS})
            rows.append({k: v for k, v in r.items() if k not in ("usage", "by_model", "rollup")})
        emit(rows, [Column(k, k) for k in ("id", "started_at", "persona", "version")], "csv")
    elif oneline:
        lines = led.log_text(q, _rolled(ONELINE_SQL, rollup), align=False, rollup=rollup)
        out.writelines([*(_running_line(r) for r in live), *(line + "\n" for line in lines)])
    else:  # formatted by SQLite: a 30k-row table in tens of milliseconds
        columns = _rolled([(c.header, c.sql or "", c.right) for c in LOG_COLUMNS], rollup)
        lines = led.log_text(q, columns, rollup=rollup, first=[_running_cells(r) for r in live])
        out.writelines(line + "\n" for line in lines)


def _rolled(columns: list[tuple[str, str, bool]], rollup: bool) -> list[tuple[str, str, bool]]:
    """With --rollup, the tokens and cost cells of a launch read its rolled-up totals."""
    if not rollup:
        return columns
    from burn.ledger.rollup import cell

    swap = {
        usd_sql("cost_micros"): usd_sql(cell("cost_micros", "cost_micros")),
        count_sql("total_tokens"): count_sql(cell("total_tokens", "total_tokens")),
    }
    out = []
    for header, expr, right in columns:
        for own, rolled in swap.items():
            expr = expr.replace(own, rolled)
        out.append((header + (" (rollup)" if header in ("tokens", "cost") else ""), expr, right))
    return out


def _shows(row: dict, q: object) -> bool:
    """A running launch is listed when the filters can be judged on what it knows."""
    from burn.ledger.query import Query

    assert isinstance(q, Query)
    if q.since is not None or q.until is not None:
        return False
    for f in q.filters:
        if f.key not in ("persona", "harness"):
            return False
        value = str(row.get(f.key) or "")
        if (f.value.split("@")[0] == value) == f.negate:
            return False
    return True


def _running_cells(r: dict) -> list[str]:
    who = r["persona"] + (f"@{r['version_short']}" if r["version_short"] else "")
    return [
        "running",
        _date(r["started_at"]),
        who,
        text(r["harness"]),
        text(",".join(r["models"]) or None),
        count(r["total_tokens"]),
        usd(r["cost_micros"]),
        duration(r["elapsed_ms"]),
        "…",
    ]


def _running_line(r: dict) -> str:
    c = _running_cells(r)
    return f"{c[0]} {c[2]} {c[6]} {c[5]} tokens {c[1]}\n"


def show(record: str, fmt: str) -> None:
    """Show one record, whole: persona version, usage per model, cost, tags, sessions.

    RECORD is a record id or a unique prefix of 4+ hex digits (from `burn log`). The
    record is shown as recorded; when the price table in force prices its usage
    differently, its cost at today's prices is shown too (JSON: "cost_now_micros").

    \b
    Example:
      burn show 3f2a9c1b
    """
    rec = ledger().show(record)
    if fmt == "json":
        emit_one(rec)
        return
    lines = [
        ("record", rec["id"]),
        (
            "persona",
            f"{rec['persona']}@{rec['version_short']}" if rec["version"] else rec["persona"],
        ),
        ("version", text(rec["version"])),
        ("source", text(rec["source"])),
        ("harness", text(rec["harness"])),
        ("host", text(rec["host"])),
        ("started", _date(rec["started_at"]) + " UTC"),
        ("ended", _date(rec["ended_at"]) + " UTC" if rec["ended_at"] else "—"),
        ("duration", duration(rec["duration_ms"])),
        ("exit code", text(rec["exit_code"])),
        ("parent", text(rec["parent"])),
        ("cost", _cost_line(rec)),
        ("fidelity", text(rec["fidelity"])),
        ("sessions", ", ".join(rec["sessions"]) or "—"),
        ("tags", ", ".join(f"{k}={v}" for k, v in rec["tags"].items()) or "—"),
    ]
    width = max(len(k) for k, _ in lines)
    out = [f"{k.ljust(width)}  {v}" for k, v in lines]
    out.append("")
    usage_cols = [
        Column("model", "model"),
        Column("tier", "tier"),
        Column("input_tokens", "input", count, True),
        Column("output_tokens", "output", count, True),
        Column("cache_read_tokens", "cache read", count, True),
        Column("cache_write_5m_tokens", "cache write 5m", count, True),
        Column("cache_write_1h_tokens", "cache write 1h", count, True),
        Column("reasoning_tokens", "reasoning", count, True),
    ]
    sys.stdout.write("\n".join(out) + "\n")
    rows = [{"model": r["model"], "tier": r["tier"], **r["usage"]} for r in rec["by_model"]]
    if rows:
        rows.append({"model": "total", "tier": "", **rec["usage"]})
    emit(rows, usage_cols, "table")


def log_command() -> click.Command:
    import click

    from .options import format_option, since_until

    return apply(
        log,
        click.command(),
        click.argument("filters", nargs=-1, metavar="[KEY=VALUE | KEY!=VALUE]..."),
        since_until,
        click.option(
            "-n", "--max-count", "limit", type=click.IntRange(min=0), help="Show at most N records."
        ),
        click.option("--oneline", is_flag=True, help="One short line per record."),
        click.option(
            "--rollup",
            is_flag=True,
            help="On a launch's row, its spend plus that of the launches nested in it (at any depth).",
        ),
        format_option(),
    )


def _cost_line(rec: dict) -> str:
    recorded, now = rec["cost_micros"], rec.get("cost_now_micros", rec["cost_micros"])
    if now == recorded or rec["pricing"] == "reported":
        return f"{usd(recorded)} (pricing: {text(rec['pricing'])})"
    return f"{usd(now)} at today's prices ({usd(recorded)} as recorded, pricing: {text(rec['pricing'])})"


def show_command() -> click.Command:
    import click

    from .options import format_option

    return apply(show, click.command(), click.argument("record"), format_option(("table", "json")))
