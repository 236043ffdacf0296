"""Engine rules that the harness tests reach only with rare data."""

from __future__ import annotations

from pathlib import Path

from burn.ledger import Ledger, responses
from burn.ledger.ingest import _growth
from burn.ledger.ingest_read import _seen_row
from burn.ledger.pricing import load_table
from burn.ledger.readers import UsageEvent
from burn.ledger.usage import TOKEN_KINDS


def row(**usage: int) -> tuple:
    """A row of sums as _NOW and _RECORDED give it: NULL for a kind no row knew."""
    return tuple(usage.get(k) for k in TOKEN_KINDS)


def test_a_response_that_moves_tier_is_never_counted_twice() -> None:
    # recorded early as base (30 in, 5 out); the same response is long now (100 in, 9 out)
    now = {("m", "long"): row(input_tokens=100, output_tokens=9)}
    recorded = {("m", "base"): row(input_tokens=30, output_tokens=5)}
    grown = _growth("m", now, recorded)
    assert list(grown) == ["long"]
    assert grown["long"]["input_tokens"] == 70 and grown["long"]["output_tokens"] == 4
    assert grown["long"]["reasoning_tokens"] is None


def test_growth_in_both_tiers_stays_per_tier() -> None:
    now = {("m", "base"): row(input_tokens=50), ("m", "long"): row(input_tokens=300)}
    recorded = {("m", "base"): row(input_tokens=20)}
    assert _growth("m", now, recorded) == {
        "base": {**dict.fromkeys(TOKEN_KINDS), "input_tokens": 30},
        "long": {**dict.fromkeys(TOKEN_KINDS), "input_tokens": 300},
    }


def test_long_context_is_decided_per_request_not_per_summed_message(burn_home: Path) -> None:
    conn = Ledger.open(burn_home).index.conn()
    usage = {k: 0 for k in TOKEN_KINDS} | {"input_tokens": 150_000, "cache_read_tokens": 150_000}
    common = {
        "harness": "opencode",
        "session": "s",
        "timestamp": "2026-11-20T10:00:00Z",
        "model": "claude-sonnet-4-5",
        "usage": usage,
    }
    # two steps of 150k prompt each: summed 300k, but no single request passed 200k
    events = [UsageEvent(key="a", request_prompt=150_000, **common), UsageEvent(key="b", **common)]
    states: responses.States = {}
    responses.fold(states, [_seen_row(ev, load_table()) for ev in events])  # b: one 300k request
    conn.execute("BEGIN")
    responses.save(conn, states)
    conn.execute("COMMIT")
    tiers = {key: tier for key, _agent, _model, tier, *_ in responses.rows(conn, "opencode", "s")}
    assert tiers == {"a": "base", "b": "long"}
