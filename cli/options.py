"""Options shared by several commands, so every command spells them the same way.

Importing this module does not import click: the bodies of fast-path commands use
`ledger()` and `apply()` from here, and click is loaded only when an option is built.
"""

from __future__ import annotations

from collections.abc import Callable

from .render import FORMATS

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])


def format_option(formats: tuple[str, ...] = FORMATS) -> Callable[[F], F]:
    import click

    return click.option(
        "--format",
        "fmt",
        type=click.Choice(formats),
        default=formats[0],
        show_default=True,
        help="Output format.",
    )


def since_until(f: F) -> F:
    import click

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
            import click

            raise click.BadParameter(f"{v!r} is not key=value", param_hint="--tag")
        out[key] = value
    return out


def apply(f: F, *decorators: Callable[[Any], Any]) -> Any:
    """`apply(f, a, b)` is `@a @b def f`: click's decorators, written in the same order.

    Commands on the fast path keep their body a plain module-level function and build
    the click command around it only when click runs (see `burn.cli.fastpath`).
    """
    out: Any = f
    for decorate in reversed(decorators):
        out = decorate(out)
    return out


OPENED: list[Any] = []  # the ledgers commands opened (closed by main before a hard exit)
LEAVING = False  # True when this process is the command and leaves by main.hard_exit


def ledger() -> Any:
    from burn.ledger import Ledger

    opened = Ledger.open()
    OPENED.append(opened)
    return opened
