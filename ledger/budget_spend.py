"""Spend of one persona in calendar windows, placed where it happened (for budgets).

A record is re-priced with the current table. When the per-turn usage of its sessions is
still in the index (`responses`) and adds up to exactly the record, and no other record holds
those sessions, each turn counts at its own time — so a launch that spans midnight counts
on both days. Otherwise the record counts whole at its start. A reported cost counts as
reported; an unknown one (an unpriced model, or a launch in which no session was found)
is counted apart, never as $0 — except a launch with no usage of its own that started
launches: its children's records hold its spend, so it adds nothing itself.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .ledger import Ledger
from .usage import TOKEN_KINDS

if TYPE_CHECKING:
    from .budget import Cap


@dataclass
class Window:
    micros: int = 0
    unknown: int = 0  # records or running launches whose cost is unknown
    running: int = 0  # of `micros`: what running launches spent or reserved
    records: set[int] = field(default_factory=set)


@dataclass
class _Item:
    seq: int
    at: float
    model: str | None = None  # None: a reported cost (micros) or an unknown one
    tier: str = "base"
    usage: dict[str, int | None] = field(default_factory=dict)
    micros: int | None = None


def _epoch(ts: str | None) -> float | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _items(
    conn: sqlite3.Connection, seqs: list[tuple[int, int, str | None, str | None, int | None]]
) -> list[_Item]:
    """Where and what each record spent: per turn when its sessions' turns are still known
    and no other record holds them, else whole at its start."""
    if not seqs:
        return []
    marks = ",".join("?" * len(seqs))
    ids = [s[0] for s in seqs]
    sums = ", ".join(f"sum({k}), count({k})" for k in TOKEN_KINDS)
    rows: dict[int, list[tuple[str, str, str | None, dict[str, int | None]]]] = {}
    for seq, model, tier, session, *raw in conn.execute(
        f"SELECT seq, model, tier, session, {sums} FROM usage WHERE seq IN ({marks})"
        " GROUP BY seq, model, tier, session",
        ids,
    ):
        usage = {k: (raw[2 * i] if raw[2 * i + 1] else None) for i, k in enumerate(TOKEN_KINDS)}
        rows.setdefault(seq, []).append((model, tier or "base", session, usage))
    sessions = {s for rs in rows.values() for _m, _t, s, _u in rs if s}
    shared: set[str] = set()
    if sessions:
        smarks = ",".join("?" * len(sessions))
        shared = {
            s
            for (s,) in conn.execute(
                f"SELECT session FROM usage WHERE session IN ({smarks}) GROUP BY session"
                " HAVING count(DISTINCT seq) > 1",
                list(sessions),
            )
        }
    bare = [s[0] for s in seqs if s[0] not in rows and s[4] is None]
    wrappers: set[int] = set()
    if bare:
        bmarks = ",".join("?" * len(bare))
        wrappers = {
            seq
            for (seq,) in conn.execute(
                f"SELECT r.seq FROM records r WHERE r.seq IN ({bmarks}) AND r.launch_id IS NOT NULL"
                " AND EXISTS (SELECT 1 FROM records c WHERE c.parent = r.launch_id)",
                bare,
            )
        }
    out: list[_Item] = []
    for seq, started, harness, pricing, cost in seqs:
        mine = rows.get(seq, [])
        if pricing == "reported" or not mine:
            if cost is None and not mine and seq in wrappers:
                continue  # a launch that only ran launches: its children's records hold the spend
            out.append(_Item(seq, started, micros=cost))
            continue
        turns = _turns(conn, harness, mine) if harness and not shared & {s for *_x, s, _u in mine} else None
        if turns is None:
            out += [_Item(seq, started, m, t, u) for m, t, _s, u in mine]
        else:
            out += [_Item(seq, at if at is not None else started, m, t, u) for at, m, t, u in turns]
    return out


def _turns(conn: sqlite3.Connection, harness: str, mine: list[Any]) -> list[Any] | None:
    """The per-turn rows of a record's sessions, if they add up to exactly the record."""
    names = sorted({s for _m, _t, s, _u in mine})
    if not names or None in names:
        return None
    from .responses import COUNTS, load

    turns = []
    for session in names:
        state = load(conn, [(harness, session)]).get((harness, session), {})
        turns += [
            (_epoch(v[4]), v[1], v[2] or "base", dict(zip(TOKEN_KINDS, v[COUNTS], strict=True)))
            for v in state.values()  # (VALUES: agent, model, tier, granularity, ts, ...)
        ]
    for kind in TOKEN_KINDS:
        if sum(u[kind] or 0 for *_x, u in turns) != sum(u[kind] or 0 for *_x, u in mine):
            return None  # turns forgotten or not all recorded here: keep the record whole
    return turns


def _records(
    conn: sqlite3.Connection, persona: str, since: float, version: str | None, tag: tuple[str, str] | None
) -> list[tuple[int, int, str | None, str | None, int | None]]:
    where = ["persona = ?", "coalesce(ended_at, started_at) >= ?"]
    args: list[Any] = [persona, int(since) - 86400]  # a day of slack: turns may precede the end
    if version:
        where.append("version LIKE ?")
        args.append(f"b3:{version}%")
    if tag:
        where.append("EXISTS (SELECT 1 FROM tags t WHERE t.seq = records.seq AND t.key = ? AND t.value = ?)")
        args += list(tag)
    return conn.execute(
        "SELECT seq, started_at, harness, pricing, cost_micros FROM records WHERE " + " AND ".join(where),
        args,
    ).fetchall()


class Spend:
    """The spend of one persona's records from `since` on, ready to be summed per window."""

    def __init__(self, ledger: Ledger, persona: str, since: float) -> None:
        from .pricing import load_table

        self.ledger, self.persona, self.since = ledger, persona, since
        self.table = load_table()
        self._cache: dict[tuple[Any, Any], list[_Item]] = {}

    def items(self, version: str | None, tag: tuple[str, str] | None) -> list[_Item]:
        key = (version, tag)
        if key not in self._cache:

            def read(conn: sqlite3.Connection) -> list[_Item]:
                return _items(conn, _records(conn, self.persona, self.since, version, tag))

            self._cache[key] = self.ledger.index.read(read)
        return self._cache[key]

    def window(self, cap: Cap, start: float, end: float) -> Window:
        w = Window()
        groups: dict[tuple[str, str], dict[str, int | None]] = {}
        owners: dict[tuple[str, str], set[int]] = {}
        for item in self.items(cap.version, cap.tag):
            if not start <= item.at < end:
                continue
            w.records.add(item.seq)
            if item.model is None:
                if item.micros is None:
                    w.unknown += 1
                else:
                    w.micros += item.micros
                continue
            key = (item.model, item.tier)
            current = groups.setdefault(key, dict.fromkeys(TOKEN_KINDS))
            for k, v in item.usage.items():
                if v is not None:
                    current[k] = (current[k] or 0) + v
            owners.setdefault(key, set()).add(item.seq)
        unknown: set[int] = set()
        for (model, tier), usage in groups.items():
            price = self.table.price(model, usage, tier)
            if price is None:
                unknown |= owners[(model, tier)]
            else:
                w.micros += price
        w.unknown += len(unknown)
        return w
