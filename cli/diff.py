"""`burn diff`."""

from __future__ import annotations

import sys

from .options import apply, ledger

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)

if TYPE_CHECKING:
    import click


def diff(
    a: str,
    b: str | None,
    filters: tuple[str, ...],
    by: str | None,
    include_partial: bool,
    seed: int,
    since: str | None,
    until: str | None,
    fmt: str,
) -> None:
    """Did persona version B cost more or less per launch than A, and what changed.

    A and B are NAME@VERSION (any unique prefix of 6+ digits of the blake3 version or
    of its sha256 alias), a bare version prefix, or a NAME (its newest version with
    launches). With only a NAME: its two most recent versions that have launches.
    Two different personas compare too. KEY=VALUE filters and --since/--until work as
    in `burn log`.

    \b
    For each side: launches, cost per launch (mean, median, p90), tokens per launch,
    duration, error rate (non-zero exits), cache hit ratio and models. Then mean(B) -
    mean(A) with a 95% interval (seeded bootstrap up to 600 launches, the normal
    interval above) and a verdict: cheaper, more expensive, no clear difference, or
    too few launches (under 10 with a known cost on a side; it says how many more it
    would need). Beneath: the spec diff, the prompt as a unified diff.

    \b
    A launch is a `burn launch` (with any later growth of its sessions), a `burn
    record`, or one harness session no launch claimed. Costs are re-priced with the
    current price table; a launch of unknown cost is counted, never taken as $0.
    Launches with partial usage are left out (and counted) unless --include-partial.

    \b
    Examples:
      burn diff reviewer
      burn diff reviewer@3f2a9c reviewer@91bd02 --since 30d
      burn diff reviewer@3f2a9c reviewer@91bd02 --by model --format markdown
      burn diff reviewer planner repo=api
    """
    from burn.ledger.costdiff import diff as run
    from burn.ledger.query import Query, parse_filters
    from burn.ledger.timeparse import parse_when

    if b is not None and "=" in b:  # `burn diff reviewer ticket=X`: B was a filter
        filters, b = (b, *filters), None
    q = Query(
        filters=parse_filters(filters),
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
    )
    data = run(ledger(), a, b, q, by, include_partial, seed)
    from .render_diff import render

    render(data, fmt, sys.stdout)


def command() -> click.Command:
    import click

    from .options import format_option, since_until

    return apply(
        diff,
        click.command(),
        click.argument("a", metavar="A"),
        click.argument("b", metavar="[B]", required=False),
        click.argument("filters", nargs=-1, metavar="[KEY=VALUE]..."),
        click.option(
            "--by",
            type=click.Choice(["model", "harness"]),
            help="Compare within each model (a launch's spend on that model) or each harness.",
        ),
        click.option(
            "--include-partial",
            is_flag=True,
            help="Bring in launches with partial usage (usage-only or partial fidelity),"
            " left out by default.",
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap."),
        since_until,
        format_option(("table", "json", "markdown")),
    )
