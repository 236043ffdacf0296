"""Give sessions to the launches that made them, and write each launch's record once.

Runs inside an ingest (under its lock), after the logs were read. For every session that
moved, in the order its new usage began:

- a stamp that preallocated the session's id (Claude `--session-id`) claims it exactly;
- otherwise the oldest stamp of the same harness (or of an unknown command) and working
  directory, spawned before the session's new usage began and not ended before it, that
  has not claimed a session yet, claims it — one session per stamp, one stamp per session.

A claimed session's usage waits in `dirty` while its launch runs (`burn log` shows it
live). When the launch has ended, its launcher died, or its stamp expired, the launch's
record is written holding the growth of every session it claimed, and its stamp removed.
A session no stamp claims is recorded by ingest as before: under `none`, or the agent the
harness named.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime

from . import stamps as st
from .ledger import Ledger
from .record import make_body, utc_iso

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from .ingest import Growth

Dirty = tuple[str, str, str, str, str]  # harness, session, agent ('' = none), first_ts, last_ts
SLACK_S = 2.0  # clock granularity between a spawn and the harness's own timestamps


class Plan:
    def __init__(self) -> None:
        self.free: list[Dirty] = []  # no launch claims them: plain ingest
        self.settle: list[tuple[st.Stamp, str, list[Dirty]]] = []  # stamp, why, its groups
        self.held: list[Dirty] = []  # their launch still runs


def plan(
    ledger: Ledger, conn: sqlite3.Connection, dirty: list[Dirty], problems: list[str], began: float
) -> Plan:
    """Who claims what; which launches to settle. `began`: when this ingest started listing
    the logs. A launch that ended after that is left to the next ingest (its own final one,
    waiting for the lock): its child's last lines may be in a file this one never listed."""
    pending = st.load_all(ledger.home.pending_dir, problems)
    out = Plan()
    if not pending:
        out.free = list(dirty)
        return out
    owner: dict[tuple[str, str], st.Stamp] = {}
    for stamp in pending:
        for key in stamp.claimed():
            owner.setdefault(key, stamp)
    changed: set[str] = set()
    for harness, session, _agent, first, _last in sorted(dirty, key=lambda d: (d[3], d[0], d[1])):
        key = (harness, session)
        if key in owner:
            continue
        match = _match(conn, pending, harness, session, first)
        if match is not None:
            match.claims.append([harness, session])
            owner[key] = match
            changed.add(match.id)
    for stamp in pending:
        if stamp.id in changed:
            st.save_claims(stamp)
    now = st.now()
    groups: dict[str, list[Dirty]] = {}
    for d in dirty:
        claimer = owner.get((d[0], d[1]))
        if claimer is None:
            out.free.append(d)
        else:
            groups.setdefault(claimer.id, []).append(d)
    for stamp in pending:
        why = stamp.settleable(now)
        if why == "ended" and stamp.ended_after(began):
            why = None
        if why is None:
            out.held += groups.get(stamp.id, [])
        else:
            out.settle.append((stamp, why, groups.get(stamp.id, [])))
    return out


def _match(
    conn: sqlite3.Connection, pending: list[st.Stamp], harness: str, session: str, first: str
) -> st.Stamp | None:
    exact = [s for s in pending if s.data.get("session_id") == session and _harness_fits(s, harness)]
    if exact:
        return exact[0]
    began = _epoch(first)
    cwd = _session_cwd(conn, harness, session)
    if cwd is None or began is None:
        return None
    for stamp in pending:  # oldest first
        d = stamp.data
        if d.get("session_id") or stamp.claims or not _harness_fits(stamp, harness):
            continue
        if _norm(d.get("cwd")) != cwd or began < stamp.spawned - SLACK_S:
            continue
        if stamp.end is not None and began > float(stamp.end["ended_epoch"]) + SLACK_S:
            continue
        return stamp
    return None


def _harness_fits(stamp: st.Stamp, harness: str) -> bool:
    return stamp.data.get("harness") in (None, harness)


def _session_cwd(conn: sqlite3.Connection, harness: str, session: str) -> str | None:
    """The greatest cwd the session's responses name (from its tally: its state of maybe
    thousands of responses is not decoded for it)."""
    from .responses import load_totals

    _sums, meta = load_totals(conn, [(harness, session)]).get((harness, session), ({}, {}))
    return _norm(max((m[1] for m in meta.values() if m[1] is not None), default=None))


def _norm(path: Any) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    return os.path.realpath(path) if os.path.exists(path) else os.path.normpath(path)


def _epoch(ts: str | None) -> float | None:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() if ts else None
    except ValueError:
        return None


def already_recorded(conn: sqlite3.Connection, stamp: st.Stamp) -> bool:
    """A launch whose record landed but whose stamp was not removed (a crash between)."""
    row = conn.execute("SELECT 1 FROM records WHERE launch_id = ? AND kind = 'launch'", (stamp.id,))
    return row.fetchone() is not None


def launch_body(
    ledger: Ledger,
    conn: sqlite3.Connection,
    stamp: st.Stamp,
    why: str,
    groups: list[Dirty],
    pricing: Any,
    growth: Growth,
) -> dict[str, Any]:
    """The launch's one record: the growth of every session it claimed."""
    from .ingest import _cost

    d = stamp.data
    by_model: list[dict[str, Any]] = []
    harnesses = set()
    for harness, session, agent, _first, _last in sorted(groups):
        rows, _cwd = growth.rows((harness, session, agent or None))
        for row in rows:
            by_model.append({**row, "session": session, "agent": agent or None})
        harnesses.add(harness)
    cost, pricing_id = _cost(by_model, pricing) if by_model else (None, getattr(pricing, "id", None))
    end = stamp.end or {}
    ended = end.get("ended_epoch")
    version = d.get("version")
    known = conn.execute("SELECT 1 FROM versions WHERE b3 = ?", (version,)).fetchone()
    if version and d.get("spec") is not None:
        if not known:  # store it once, with its first record
            ledger.specs.put(d["spec"], source=d.get("source", "user"))
        ledger.know_spec(d["spec"], version)  # (a spec that hashes otherwise: looked up in the store)
    return make_body(
        persona=d["persona"],
        version=version,
        source=d.get("source", "user"),
        host=ledger.host,
        harness=d.get("harness") or (min(harnesses) if harnesses else None),
        started_at=utc_iso(stamp.spawned),
        ended_at=utc_iso(float(ended)) if ended is not None else None,
        duration_ms=end.get("duration_ms"),
        exit_code=end.get("exit_code"),
        parent=d.get("parent"),
        sessions=sorted({s for h, s in stamp.claimed()}),
        by_model=by_model,
        cost_micros=cost,
        pricing=pricing_id,
        tags=d.get("tags") or {},
        kind="launch",
        launch_id=stamp.id,
        cwd=d.get("cwd"),
        argv0=d.get("argv0"),
        settled=why,
        **({"stopped": end["stopped"]} if end.get("stopped") else {}),  # --kill-on-cap stopped it
    )
