"""`burn pricing show|update`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import format_option
from .render import UNKNOWN, Column, emit, emit_one

KINDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")


@click.group()
def pricing() -> None:
    """The offline price table that turns tokens into cost.

    \b
    Examples:
      burn pricing show claude-sonnet-4-5
      burn pricing update ./prices.json
    """


def _rows(model: str | None) -> tuple[Any, list[dict[str, Any]]]:
    from burn.ledger.pricing import load_table, per_mtok
    from burn.store.errors import BurnError

    table = load_table()
    if model is None:
        prices = [table.models[name] for name in sorted(table.models)]
    else:
        found = table.lookup(model)
        if found is None:
            raise BurnError(
                f"no price for model {model!r}: its cost is unknown", fix="see `burn pricing show`"
            )
        prices = [found]
    rows = []
    for mp in prices:
        for tier_name, tier in (("base", mp.base), ("long", mp.long)):
            if tier is None:
                continue
            row: dict[str, Any] = {"model": mp.model, "tier": tier_name}
            row |= {k: per_mtok(tier.of(k)) for k in KINDS}
            row["above_prompt_tokens"] = mp.long_threshold if tier_name == "long" else None
            row["source"] = mp.source
            rows.append(row)
    return table, rows


@pricing.command()
@click.argument("model", required=False)
@format_option()
def show(model: str | None, fmt: str) -> None:
    """Show prices in USD per million tokens (all models, or one by id or alias).

    \b
    Example:
      burn pricing show claude-sonnet-4-5-20250929
    """
    table, rows = _rows(model)
    dollars = [
        Column(k, k.replace("_", " "), lambda v: UNKNOWN if v is None else f"${v}", right=True) for k in KINDS
    ]
    cols = [Column("model", "model"), Column("tier", "tier"), *dollars]
    if fmt == "table":
        click.echo(f"price table {table.id} ({table.origin}); USD per million tokens")
    emit(rows, cols, fmt, key="prices")


@pricing.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option(("table", "json"))
def update(file: Path, fmt: str) -> None:
    """Check a newer price table and make it the one in force ($BURN_HOME/prices.json).

    Queries re-price stored usage with it, so a corrected table corrects history.

    \b
    Example:
      burn pricing update ./prices.json
    """
    from burn.ledger.pricing import install

    table = install(file)
    if fmt == "json":
        emit_one({"schema": 1, "id": table.id, "models": len(table.models), "path": table.origin})
    else:
        click.echo(f"price table {table.id} ({len(table.models)} models) now in force: {table.origin}")
