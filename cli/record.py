"""`burn record`: append spend known elsewhere."""

from __future__ import annotations

import click

from .options import format_option, ledger, parse_tags
from .render import emit_one, usd


@click.command()
@click.argument("persona", metavar="PERSONA[@VERSION]")
@click.option("--model", help="Model that did the work, e.g. claude-sonnet-4-5.")
@click.option("--input-tokens", type=click.IntRange(min=0), help="Input not served from cache.")
@click.option("--output-tokens", type=click.IntRange(min=0))
@click.option("--cache-read-tokens", type=click.IntRange(min=0))
@click.option("--cache-write-5m-tokens", type=click.IntRange(min=0))
@click.option("--cache-write-1h-tokens", type=click.IntRange(min=0))
@click.option("--reasoning-tokens", type=click.IntRange(min=0))
@click.option("--cost", metavar="USD", help="What it cost in USD (exact to the micro-dollar).")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option("--harness", help="claude, codex, opencode, ...")
@click.option("--session", "sessions", multiple=True, help="Harness session id (repeatable).")
@click.option("--duration-ms", type=click.IntRange(min=0))
@click.option("--exit-code", type=int)
@click.option("--started-at", metavar="WHEN", help="When it started (default now): ISO time, 2h, ...")
@click.option("--tier", help="Tier of the persona that ran.")
@format_option(("table", "json"))
def record(
    persona: str,
    model: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None,
    cache_write_5m_tokens: int | None,
    cache_write_1h_tokens: int | None,
    reasoning_tokens: int | None,
    cost: str | None,
    tags: tuple[str, ...],
    harness: str | None,
    sessions: tuple[str, ...],
    duration_ms: int | None,
    exit_code: int | None,
    started_at: str | None,
    tier: str | None,
    fmt: str,
) -> None:
    """Append a spend record for PERSONA. Token kinds you leave out are unknown, not 0.

    PERSONA is NAME (the current version), NAME@VERSION, or `none`.

    \b
    Example:
      burn record reviewer --model claude-sonnet-4-5 --input-tokens 1200 \\
        --output-tokens 800 --cost 0.42 --tag ticket=ABC-12
    """
    from burn.ledger.manual import record_spend

    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read_tokens,
        "cache_write_5m_tokens": cache_write_5m_tokens,
        "cache_write_1h_tokens": cache_write_1h_tokens,
        "reasoning_tokens": reasoning_tokens,
    }
    if model is None and any(v is not None for v in usage.values()):
        raise click.UsageError("token counts need --model")
    if model is None and cost is None:
        raise click.UsageError("give --model with token counts, or --cost, or both")
    rec = record_spend(
        ledger(),
        persona,
        model=model,
        usage=usage,
        cost=cost,
        tags=parse_tags(tags),
        harness=harness,
        sessions=list(sessions),
        duration_ms=duration_ms,
        exit_code=exit_code,
        started_at=started_at,
        tier=tier,
    )
    if fmt == "json":
        emit_one(rec)
    else:
        who = rec["persona"] + (f"@{rec['version_short']}" if rec["version_short"] else "")
        click.echo(f"{rec['id'][:10]} {who} {usd(rec['cost_micros'])}")
