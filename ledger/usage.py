"""Token kinds, their sums, and how much of the usage a row really reports (fidelity).

Unknown is never zero: a kind the source did not report is None, and stays None in sums
unless some row knew it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

TOKEN_KINDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
)
STORED_KINDS = tuple(sorted(TOKEN_KINDS))  # their order in a stored record's JSON
# Reasoning tokens are billed as output and already counted in it (OpenAI's meaning), so
# they are shown but not added into totals.
BILLED_KINDS = TOKEN_KINDS[:5]
# What a request sends: its size decides a long-context price tier.
PROMPT_KINDS = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens")

GRANULARITIES = ("per-turn", "per-message", "per-session-aggregate", "cost-only")
FIDELITY_CLASSES = ("full", "usage-only", "aggregate-only", "cost-only", "partial")

Usage = dict[str, int | None]


def empty_usage() -> Usage:
    return dict.fromkeys(TOKEN_KINDS)


def check_usage(usage: Mapping[str, Any], where: str | int) -> Usage:
    """A usage mapping with every kind present, each a non-negative int or None, its keys
    in the order a record stores them (sorted, see record.make_body). (`where` names the
    row in an error: a string, or a `by_model` index.)"""
    out = dict.fromkeys(STORED_KINDS)
    for key, value in usage.items():
        if key not in out:
            raise ValueError(f"{_row(where)}: unknown token kind {key!r} (known: {', '.join(TOKEN_KINDS)})")
        # (an int is one test; a subclass of int, not bool, is still a count)
        if value is not None and (type(value) is not int or value < 0) and not _is_count(value):
            raise ValueError(f"{_row(where)}: {key} must be a non-negative integer or null, got {value!r}")
        out[key] = value
    return out


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _row(where: str | int) -> str:
    return where if isinstance(where, str) else f"by_model[{where}]"


def add_usage(rows: Iterable[Mapping[str, int | None]]) -> Usage:
    """Sum per kind; a kind no row knew stays None."""
    total = empty_usage()
    for row in rows:
        for k in TOKEN_KINDS:
            v = row.get(k)
            if v is not None:
                cur = total[k]
                total[k] = v if cur is None else cur + v
    return total


def total_tokens(usage: Mapping[str, int | None]) -> int | None:
    """Billed tokens (reasoning is inside output), or None when nothing is known."""
    total = None
    for k in BILLED_KINDS:
        v = usage.get(k)
        if v is not None:
            total = (0 if total is None else total) + v  # (as sum() would)
    return total


def coverage(usage: Mapping[str, int | None]) -> dict[str, bool]:
    get = usage.get
    return {  # (keys sorted: the order a stored record has them, see record.make_body)
        "has_cache_read": get("cache_read_tokens") is not None,
        "has_cache_write": (get("cache_write_5m_tokens"), get("cache_write_1h_tokens")) != (None, None),
        "has_input_tokens": get("input_tokens") is not None,
        "has_output_tokens": get("output_tokens") is not None,
        "has_reasoning": get("reasoning_tokens") is not None,
    }


def fidelity_class(
    granularity: str, usage: Mapping[str, int | None], cost_known: bool, cov: dict[str, bool] | None = None
) -> str:
    """Classify one usage row (docs/records.md has the table); `cov`: its coverage, if known."""
    if cov is None:
        cov = coverage(usage)
    if not any(cov.values()):
        return "cost-only" if cost_known else "partial"
    if granularity == "per-session-aggregate":
        return "aggregate-only"
    if cov["has_input_tokens"] and cov["has_output_tokens"]:
        if cov["has_cache_read"] and cov["has_cache_write"]:
            return "full"
        return "usage-only"
    return "partial"


_FIDELITY_ORDER = {c: i for i, c in enumerate(FIDELITY_CLASSES)}


def worst_fidelity(classes: Iterable[str]) -> str:
    """A record is as faithful as its least faithful row."""
    order = _FIDELITY_ORDER
    worst = "full"
    for c in classes:
        if order[c] > order[worst]:
            worst = c
    return worst
