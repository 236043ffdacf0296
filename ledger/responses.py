"""What the logs say, session by session: the `responses` table of the index.

Each response a harness reported (per harness, session and response key) keeps its last
report: model, tier, token counts and cost from the last, agent, granularity, time and
cwd as first seen (so a sidechain replay in a subagent's file moves nothing). A session's
responses are one JSON object in one row, `{key: [agent, model, tier, granularity, ts,
cwd, input, output, cache read, cache 5m, cache 1h, reasoning, cost]}`, not a row each:
a cold ingest of 100k lines writes a few hundred rows instead of tens of thousands, and
what a session adds up to is summed in the process that read it.

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
    # per (agent, model, tier) each kind's sum; per agent [least granularity, greatest cwd]
    Sums = tuple[dict[tuple[Any, str, str], list[int | None]], dict[Any, list[Any]]]

VALUES = ("agent", "model", "tier", "granularity", "ts", "cwd", *TOKEN_KINDS, "cost_micros")
COUNTS = slice(6, 6 + len(TOKEN_KINDS))  # the token counts in a response's values


def fold(states: States, rows: Iterable[tuple[Any, ...]]) -> None:
    """Apply `seen` rows (readers.ROW_FIELDS), in order, to `states`."""
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
                old[1:3] = values[1:3]
                old[6:] = values[6:]


def load(conn: sqlite3.Connection, sessions: Iterable[Session]) -> States:
    """The stored states of `sessions` (a session never seen has none)."""
    import orjson

    out: States = {}
    for harness, session in sessions:
        row = conn.execute(
            "SELECT data FROM responses WHERE harness = ? AND session = ?", (harness, session)
        ).fetchone()
        if row is not None:
            out[(harness, session)] = orjson.loads(row[0])
    return out


def save(conn: sqlite3.Connection, states: States) -> None:
    """Store `states` whole (each replaces what its session had)."""
    import orjson

    dumps = orjson.dumps
    conn.executemany(
        "INSERT OR REPLACE INTO responses VALUES (?, ?, ?)",
        [(harness, session, dumps(state)) for (harness, session), state in states.items()],
    )


def rows(conn: sqlite3.Connection, harness: str, session: str) -> list[tuple[Any, ...]]:
    """A session's responses as (key, *VALUES) tuples."""
    state = load(conn, [(harness, session)]).get((harness, session), {})
    return [(key, *values) for key, values in state.items()]


def sums(state: State) -> Sums:
    """What a session's responses add up to, per (agent, model, tier): each token kind's
    sum (None when no response knows it); and per agent the least granularity and the
    greatest cwd (None when none says), as SQL's sum, min and max would give them."""
    counts: dict[tuple[Any, str, str], list[list[int | None]]] = {}
    meta: dict[Any, list[Any]] = {}
    for values in state.values():
        agent = values[0]
        group = (agent, values[1], values[2])
        of_group = counts.get(group)
        if of_group is None:
            counts[group] = [values[COUNTS]]
        else:
            of_group.append(values[COUNTS])
        m = meta.get(agent)
        granularity, cwd = values[3], values[5]
        if m is None:
            meta[agent] = [granularity, cwd]
        else:
            if granularity is not None and (m[0] is None or granularity < m[0]):
                m[0] = granularity
            if cwd is not None and (m[1] is None or cwd > m[1]):
                m[1] = cwd
    totals = {group: [_sum(kind) for kind in zip(*rows, strict=True)] for group, rows in counts.items()}
    return totals, meta


def _sum(counts: tuple[int | None, ...]) -> int | None:
    """SQL's sum: of the known counts, None when none is known."""
    if None not in counts:
        return sum(counts)  # type: ignore[arg-type]  # (the common case, in C)
    known = [n for n in counts if n is not None]
    return sum(known) if known else None
