"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .render import FORMATS

F = TypeVar("F", bound=Callable[..., Any])


def format_option(formats: tuple[str, ...] = FORMATS) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(formats),
        default=formats[0],
        show_default=True,
        help="Output format.",
    )


def since_until(f: F) -> F:
    f = click.option("--until", metavar="WHEN", help="Only before WHEN (same forms as --since).")(f)
    f = click.option(
        "--since",
        metavar="WHEN",
        help="Only from WHEN on: 7d, 12h, 2w, today, 2026-11-01, ISO time.",
    )(f)
    return f


def parse_tags(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{v!r} is not key=value", param_hint="--tag")
        out[key] = value
    return out


def ledger() -> Any:
    from burn.ledger import Ledger

    return Ledger.open()
