"""`burn budget set|check|status`: spending caps per persona."""

from __future__ import annotations

import sys
from typing import Any

import click

from .options import format_option, ledger, parse_tags
from .render import Column, dumps, emit, usd

BAR = 20


@click.group()
def budget() -> None:
    """Spending caps per persona: per launch, per day, per month, in USD.

    A hard cap refuses a launch (`burn launch` exits 75) once it is spent; a soft cap
    warns. Days and months follow `[budget] timezone` in $BURN_HOME/config.toml (default:
    the local zone). Caps also come from a persona file's `budget` block, which is policy
    and not part of the version hash.

    \b
    Examples:
      burn budget set reviewer --daily 5 --per-launch 1
      burn budget check reviewer --estimate 0.50
      burn budget status
    """


def _micros(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    from burn.ledger.record import RecordError, usd_to_micros

    try:
        return usd_to_micros(value)
    except RecordError as e:
        raise click.BadParameter(e.message, param_hint=name) from e


def _tag(values: tuple[str, ...]) -> tuple[str, str] | None:
    tags = parse_tags(values)
    if len(tags) > 1:
        raise click.BadParameter("a budget is narrowed to one tag at most", param_hint="--tag")
    return next(iter(tags.items()), None)


@budget.command(name="set")
@click.argument("persona", metavar="PERSONA[@VERSION]")
@click.option("--daily", metavar="USD", help="Cap per calendar day.")
@click.option("--monthly", metavar="USD", help="Cap per calendar month.")
@click.option("--per-launch", metavar="USD", help="Cap per launch.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Only launches with this tag.")
@click.option("--soft", is_flag=True, help="Warn instead of refusing (applies to the caps given here).")
@click.option("--clear", is_flag=True, help="Remove every cap of this persona/version/tag.")
@format_option(("table", "json"))
def set_(
    persona: str,
    daily: str | None,
    monthly: str | None,
    per_launch: str | None,
    tags: tuple[str, ...],
    soft: bool,
    clear: bool,
    fmt: str,
) -> None:
    """Set caps for PERSONA (narrowed to a version with @VERSION, or to a tag with --tag).

    Caps you do not give are kept; they live in $BURN_HOME/budgets.json (local, not synced).

    \b
    Example:
      burn budget set reviewer --daily 5 --per-launch 1 --soft
    """
    from burn.ledger.budget import set_budget

    amounts = {
        "daily": _micros(daily, "--daily"),
        "monthly": _micros(monthly, "--monthly"),
        "per_launch": _micros(per_launch, "--per-launch"),
    }
    rows = set_budget(ledger().home.root, persona, tag=_tag(tags), amounts=amounts, soft=soft, clear=clear)
    cols = [
        Column("scope", "scope"),
        Column("kind", "kind", lambda v: v.replace("_", "-")),
        Column("limit_micros", "cap", usd, right=True),
        Column("soft", "soft", lambda v: "soft" if v else "hard"),
    ]
    emit(rows, cols, fmt, key="caps")


@budget.command()
@click.argument("persona", metavar="PERSONA[@VERSION]")
@click.option("--estimate", metavar="USD", help="What the launch is expected to cost.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tags the launch would carry.")
@format_option(("table", "json"))
def check(persona: str, estimate: str | None, tags: tuple[str, ...], fmt: str) -> None:
    """Dry run: would a launch of PERSONA be allowed now? Exit 0 yes, 1 no.

    Says which cap binds (the one with the least left) and how much is left of each.

    \b
    Example:
      burn budget check reviewer --estimate 0.50 && burn launch reviewer -- claude -p …
    """
    from burn.ledger.budget import check as run

    result = run(ledger(), persona, estimate=_micros(estimate, "--estimate"), tags=parse_tags(tags))
    if fmt == "json":
        click.echo(dumps(result))
    else:
        verdict = "allowed" if result["allowed"] else "refused"
        click.echo(f"{persona}: {verdict} at {result['at']}")
        if not result["caps"]:
            click.echo("no caps apply")
        else:
            emit(result["caps"], _columns(False), "table")
            b = result["binding"]
            click.echo(
                f"binds: {b['kind'].replace('_', '-')} cap of {b['scope']} ({usd(b['left_micros'])} left)"
            )
        for line in result["refusals"]:
            click.echo(f"refused: {line}")
    for line in result["warnings"]:
        click.echo(f"burn: warning: {line}", err=True)
    raise click.exceptions.Exit(0 if result["allowed"] else 1)


def _bar(row: dict[str, Any]) -> str:
    spent, limit = row.get("spent_micros"), row["limit_micros"]
    if spent is None:
        return ""
    filled = BAR if limit <= 0 else min(BAR, max(0, spent * BAR // limit))
    pct = "∞" if limit <= 0 else f"{spent * 100 // limit}%"
    return "[" + "#" * filled + "." * (BAR - filled) + f"] {pct}"


def _columns(bars: bool) -> list[Column]:
    cols = [
        Column("scope", "scope"),
        Column("kind", "kind", lambda v: v.replace("_", "-")),
        Column("soft", "", lambda v: "soft" if v else "hard"),
        Column("limit_micros", "cap", usd, right=True),
        Column("spent_micros", "spent", usd, right=True),
        Column("left_micros", "left", usd, right=True),
        Column("unknown_launches", "unknown", lambda v: str(v) if v else "", right=True),
        Column("resets_at", "resets", lambda v: v or "each launch"),
    ]
    if bars:
        cols.insert(6, Column("bar", "used"))
    return cols


@budget.command()
@format_option()
def status(fmt: str) -> None:
    """Every persona's spend against its caps, and the open pools of nested launches.

    `spent` includes what running launches spent or reserved; `unknown` counts launches
    whose cost is unknown (never counted as $0). A pool whose children spent more than
    they reserved shows its negative free amount as `overdrawn`.
    """
    from burn.ledger.budget import status as run

    result = run(ledger())
    rows = result["caps"]
    bars = fmt == "table" and sys.stdout.isatty()
    for row in rows:
        row["bar"] = _bar(row)
    if fmt != "table":
        if fmt == "json":
            click.echo(dumps(result))
        else:
            emit(rows, _columns(False), fmt, key="caps")
        return
    if not rows:
        click.echo("no budgets set (see `burn budget set --help`)")
    else:
        emit(rows, _columns(bars), "table")
    if result["pools"]:
        click.echo("\npools")
        pools = [
            {**p, "free": usd(p["free_micros"]) + (" overdrawn" if p["overdrawn"] else "")}
            for p in result["pools"]
        ]
        cols = [
            Column("pool", "launch", lambda v: v[:8]),
            Column("persona", "persona"),
            Column("state", "state"),
            Column("total_micros", "total", usd, right=True),
            Column("free", "free", right=True),
            Column("reserved_micros", "reserved", usd, right=True),
            Column("committed_micros", "spent", usd, right=True),
            Column("members", "children", right=True),
        ]
        emit(pools, cols, "table")
    for line in result["warnings"]:
        click.echo(f"burn: warning: {line}", err=True)
