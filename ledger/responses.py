"""What the logs say, session by session: the `responses` table of the index.

Each response a harness reported (per harness, session and response key) keeps its last
report: model, tier, token counts and cost from the last, agent, granularity, time and
cwd as first seen (so a sidechain replay in a subagent's file moves nothing). A session's
responses are one JSON object in one row, `{key: [agent, model, tier, granularity, ts,
cwd, input, output, cache read, cache 5m, cache 1h, reasoning, cost]}`, not a row each:
a cold ingest of 100k lines writes a few hundred rows instead of tens of thousands, and
what a session adds up to is summed in the process that read it. Beside the responses a
row keeps their tally (`tally`), so an ingest that finds a long session grown adds and
takes away only what changed instead of summing the session again.

Like every ingest table it is a cache of the logs: what was recorded is always summed from
the records, so losing it only means reading the logs again.
"""

from __future__ import annotations

import sqlite3

from .usage import TOKEN_KINDS

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    Session = tuple[str, str]  # harness, session
    State = dict[str, list[Any]]  # response key -> VALUES
    States = dict[Session, State]
    Group = tuple[Any, str, str]  # agent, model, tier
    # per group each kind's sum (None: no response knows it); per agent [least granularity,
    # greatest cwd]
    Sums = tuple[dict[Group, list[int | None]], dict[Any, list[Any]]]
    # the same kept as it can be updated: per group [responses, then per kind its sum and
    # how many responses know it]
    Tally = tuple[dict[Group, list[int]], dict[Any, list[Any]]]

VALUES = ("agent", "model", "tier", "granularity", "ts", "cwd", *TOKEN_KINDS, "cost_micros")
COUNTS = slice(6, 6 + len(TOKEN_KINDS))  # the token counts in a response's values


def fold(states: States, rows: Iterable[tuple[Any, ...]]) -> None:
    """Apply rows (readers.ROW_FIELDS), in order, to `states`: a response's first row
    sets its agent, granularity, time and cwd; its last, its model, tier, counts and cost."""
    session: Session | None = None
    state: State = {}
    for row in rows:
        if session is None or row[0] != session[0] or row[1] != session[1]:
            session = (row[0], row[1])
            state = states.setdefault(session, {})
        old = state.get(row[2])
        if old is None:
            state[row[2]] = list(row[3:])
        else:  # reported again: the last report's model, tier, counts and cost
            old[1:3] = row[4:6]
            old[6:] = row[9:]


def merge(states: States, later: States) -> None:
    """Apply `later` (a fold of rows read after those of `states`) to `states`."""
    for session, newer in later.items():
        state = states.get(session)
        if state is None:
            states[session] = newer
            continue
        for key, values in newer.items():
            old = state.get(key)
            if old is None:
                state[key] = values
            else:
                _report_again(old, values)


def _report_again(old: list[Any], values: list[Any]) -> None:
    """A response reported again: the last report's model, tier, counts and cost; its
    agent, granularity, time and cwd as first seen."""
    old[1:3] = values[1:3]
    old[6:] = values[6:]


def load(conn: sqlite3.Connection, sessions: Iterable[Session]) -> States:
    """The stored states of `sessions` (a session never seen has none)."""
    return {session: state for session, (state, _tally) in load_tallied(conn, sessions).items()}


def load_tallied(conn: sqlite3.Connection, sessions: Iterable[Session]) -> dict[Session, tuple[State, Tally]]:
    """The stored states of `sessions`, each with its tally."""
    import orjson

    found = _select(conn, "data, tally", sessions)
    return {session: (orjson.loads(data), tally_from_bytes(t)) for session, (data, t) in found.items()}


def load_totals(conn: sqlite3.Connection, sessions: Iterable[Session]) -> dict[Session, Sums]:
    """What the stored sessions add up to, from their tallies alone (no state is read)."""
    return {
        session: totals(tally_from_bytes(t)) for session, (t,) in _select(conn, "tally", sessions).items()
    }


def _select(conn: sqlite3.Connection, columns: str, sessions: Iterable[Session]) -> dict[Session, Any]:
    out = {}
    for harness, session in sessions:
        row = conn.execute(
            f"SELECT {columns} FROM responses WHERE harness = ? AND session = ?", (harness, session)
        ).fetchone()
        if row is not None:
            out[(harness, session)] = row
    return out


def save(conn: sqlite3.Connection, states: States) -> None:
    """Store `states` whole (each replaces what its session had)."""
    import orjson

    write(conn, {session: (orjson.dumps(state), tally(state)) for session, state in states.items()})


def write(conn: sqlite3.Connection, stored: dict[Session, tuple[bytes, Tally]]) -> None:
    """Store sessions already serialised, each with its tally."""
    conn.executemany(
        "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
        [(*session, data, tally_bytes(t)) for session, (data, t) in stored.items()],
    )


def rows(conn: sqlite3.Connection, harness: str, session: str) -> list[tuple[Any, ...]]:
    """A session's responses as (key, *VALUES) tuples."""
    state = load(conn, [(harness, session)]).get((harness, session), {})
    return [(key, *values) for key, values in state.items()]


def tally(state: State) -> Tally:
    """A state's tally, from nothing (one Python step per response, to group it; the sums
    in C)."""
    by_group: dict[Group, list[list[Any]]] = {}
    meta: dict[Any, list[Any]] = {}
    for values in state.values():
        group = (values[0], values[1], values[2])
        rows = by_group.get(group)
        if rows is None:
            by_group[group] = [values[COUNTS]]
        else:
            rows.append(values[COUNTS])
        _note(meta, values)
    groups = {}
    for group, rows in by_group.items():
        t = [len(rows)]
        for kind in zip(*rows, strict=True):
            unknown = kind.count(None)
            t.append(sum(kind) if not unknown else sum(n for n in kind if n is not None))
            t.append(len(kind) - unknown)
        groups[group] = t
    return groups, meta


def count(tally: Tally, values: list[Any], sign: int) -> None:
    """Add a response's values to `tally` (sign 1), or take them away (-1: a response
    reported again, before its new report is added; its agent, granularity and cwd stay)."""
    groups, meta = tally
    group = (values[0], values[1], values[2])
    t = groups.get(group)
    if t is None:
        t = groups[group] = [0] * (1 + 2 * len(TOKEN_KINDS))
    t[0] += sign
    for i, n in enumerate(values[COUNTS], 1):
        if n is not None:
            t[2 * i - 1] += sign * n
            t[2 * i] += sign
    if t[0] == 0:
        del groups[group]
    if sign > 0:
        _note(meta, values)


def _note(meta: dict[Any, list[Any]], values: list[Any]) -> None:
    """A response's agent keeps the least granularity and the greatest cwd it has seen
    (None when none says), as SQL's min and max would give them."""
    m = meta.get(values[0])
    granularity, cwd = values[3], values[5]
    if m is None:
        meta[values[0]] = [granularity, cwd]
    else:
        if granularity is not None and (m[0] is None or granularity < m[0]):
            m[0] = granularity
        if cwd is not None and (m[1] is None or cwd > m[1]):
            m[1] = cwd


def absorb(state: State, tally: Tally, later: State) -> None:
    """`merge` for one session whose tally is kept: apply `later` to `state` and `tally`."""
    for key, values in later.items():
        old = state.get(key)
        if old is None:
            state[key] = values
            count(tally, values, 1)
        else:
            count(tally, old, -1)
            _report_again(old, values)
            count(tally, old, 1)


def totals(tally: Tally) -> Sums:
    """What a session's responses add up to, per (agent, model, tier): each token kind's
    sum (None when no response knows it); and per agent the least granularity and the
    greatest cwd (None when none says), as SQL's sum, min and max would give them."""
    groups, meta = tally
    kinds = range(len(TOKEN_KINDS))
    return {g: [t[2 * i + 1] if t[2 * i + 2] else None for i in kinds] for g, t in groups.items()}, meta


def tally_bytes(tally: Tally) -> bytes:
    import orjson

    groups, meta = tally
    return orjson.dumps(
        {"groups": [[*g, *t] for g, t in groups.items()], "meta": [[a, *m] for a, m in meta.items()]}
    )


def tally_from_bytes(data: bytes) -> Tally:
    import orjson

    raw = orjson.loads(data)
    return {(g[0], g[1], g[2]): g[3:] for g in raw["groups"]}, {m[0]: m[1:] for m in raw["meta"]}
