"""What the logs say per session (`responses`): folding reports in order, merging a
helper's fold after this process's, and summing, each held to the SQL it replaced (an
upsert per report into a table keyed by harness, session and response key)."""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from burn.ledger import responses
from burn.ledger.usage import TOKEN_KINDS

COLUMNS = "harness, session, key, agent, model, tier, granularity, ts, cwd, " + ", ".join(TOKEN_KINDS)
# The reference: the upsert `seen` table of index schema 9.
UPSERT = (
    f"INSERT INTO seen VALUES ({', '.join('?' * 16)}) ON CONFLICT (harness, session, key) DO UPDATE"
    " SET model = excluded.model, tier = excluded.tier, "
    + ", ".join(f"{k} = excluded.{k}" for k in (*TOKEN_KINDS, "cost_micros"))
)

count = st.none() | st.integers(0, 1000)
report = st.tuples(
    st.sampled_from(["claude", "codex"]),
    st.sampled_from(["s1", "s2"]),
    st.sampled_from(["k1", "k2", "k3"]),
    st.sampled_from([None, "prompt:a"]),
    st.sampled_from(["m1", "m2"]),
    st.sampled_from(["base", "long"]),
    st.sampled_from(["per-message", "per-turn"]),
    st.sampled_from(["2026-11-20T10:00:00Z", "2026-11-20T09:00:00Z"]),
    st.sampled_from([None, "/a", "/b"]),
    *([count] * len(TOKEN_KINDS)),
    st.none() | st.integers(0, 10),
)


def reference(reports: list[tuple[Any, ...]]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE seen({COLUMNS}, cost_micros, PRIMARY KEY (harness, session, key))")
    db.executemany(UPSERT, reports)
    return db


def as_rows(states: responses.States) -> list[tuple[Any, ...]]:
    rows = [(*s, key, *values) for s, state in states.items() for key, values in state.items()]
    return sorted(rows, key=repr)


@settings(max_examples=300, deadline=None)
@given(reports=st.lists(report, max_size=12), cut=st.integers(0, 12))
def test_a_fold_is_the_upsert_and_a_helpers_fold_merges_after(reports: list, cut: int) -> None:
    whole: responses.States = {}
    responses.fold(whole, reports)
    expected = sorted(reference(reports).execute("SELECT * FROM seen"), key=repr)
    assert as_rows(whole) == expected
    first: responses.States = {}
    later: responses.States = {}
    responses.fold(first, reports[:cut])
    responses.fold(later, reports[cut:])
    responses.merge(first, later)  # this process's files, then the helper's
    assert as_rows(first) == expected


@settings(max_examples=200, deadline=None)
@given(reports=st.lists(report, max_size=12))
def test_sums_are_what_sql_sums(reports: list) -> None:
    states: responses.States = {}
    responses.fold(states, reports)
    db = reference(reports)
    for (harness, session), state in states.items():
        totals, meta = responses.totals(responses.tally(state))
        where = "FROM seen WHERE harness = ? AND session = ?"
        sums = ", ".join(f"sum({k})" for k in TOKEN_KINDS)
        by_group = f"SELECT agent, model, tier, {sums} {where} GROUP BY agent, model, tier"
        expected = {(a, m, t): list(row) for a, m, t, *row in db.execute(by_group, (harness, session))}
        assert totals == expected
        by_agent = f"SELECT agent, min(granularity), max(cwd) {where} GROUP BY agent"
        expected_meta = {agent: [g, cwd] for agent, g, cwd in db.execute(by_agent, (harness, session))}
        assert meta == expected_meta


def test_states_are_stored_and_read_back(tmp_path: Any) -> None:
    db = sqlite3.connect(tmp_path / "i.sqlite")
    db.execute("CREATE TABLE responses(harness, session, data, tally, PRIMARY KEY (harness, session))")
    row = ("claude", "s1", "k1", None, "m1", "base", "per-message", "2026-11-20T10:00:00Z", "/a")
    row += (1, 2, 3, 4, 5, None, None)
    states: responses.States = {}
    responses.fold(states, [row])
    responses.save(db, states)
    assert responses.load(db, [("claude", "s1"), ("claude", "none")]) == states
    assert responses.rows(db, "claude", "s1") == [row[2:]]


@settings(max_examples=200, deadline=None)
@given(reports=st.lists(report, max_size=16), cuts=st.tuples(st.integers(0, 16), st.integers(0, 16)))
def test_an_ingest_stores_earlier_then_this_process_then_the_helper(reports: list, cuts: tuple) -> None:
    """Sessions read in part by each process, read before, or only by the helper: stored
    and summed as one fold of all the reports in order would give them."""
    import orjson

    from burn.ledger.ingest_read import _store_states

    a, b = sorted(cuts)
    earlier, mine, helpers = reports[:a], reports[a:b], reports[b:]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE responses(harness, session, data, tally, PRIMARY KEY (harness, session))")
    before: responses.States = {}
    responses.fold(before, earlier)
    responses.save(db, before)
    read_now: responses.States = {}
    responses.fold(read_now, mine)
    helper: responses.States = {}
    responses.fold(helper, helpers)
    parts = {s: (orjson.dumps(state), responses.tally(state)) for s, state in helper.items()}
    # (what this process made of its sessions while the helper finished: used only where
    # no one else read the session)
    ready = {s: (orjson.dumps(state), responses.tally(state)) for s, state in read_now.items()}
    summed = _store_states(db, read_now, parts, ready)
    expected: responses.States = {}
    responses.fold(expected, reports)
    touched = {(r[0], r[1]) for r in mine + helpers}
    assert responses.load(db, expected) == expected
    assert summed == {s: responses.totals(responses.tally(expected[s])) for s in touched}


@settings(max_examples=300, deadline=None)
@given(reports=st.lists(report, max_size=16), cut=st.integers(0, 16))
def test_a_tally_kept_by_difference_is_the_tally_of_the_whole(reports: list, cut: int) -> None:
    """What an ingest that finds a session grown keeps: the earlier tally, updated by what
    the later reports add and change, equals summing every response again."""
    earlier: responses.States = {}
    responses.fold(earlier, reports[:cut])
    later: responses.States = {}
    responses.fold(later, reports[cut:])
    whole: responses.States = {}
    responses.fold(whole, reports)
    for session, state in whole.items():
        kept = earlier.get(session, {})
        tally = responses.tally_from_bytes(responses.tally_bytes(responses.tally(kept)))  # (stored and read)
        responses.absorb(kept, tally, later.get(session, {}))
        assert kept == state
        assert responses.totals(tally) == responses.totals(responses.tally(state))
