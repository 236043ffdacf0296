"""`burn ingest`: read harness logs incrementally and record every token exactly once.

For each log file changed since its cursor, the reader's events update `seen` (per
harness, session and response key: the last report of a response wins). Then, for every
session touched, what the logs now say — summed per agent, model and tier — is compared
with what the ledger already holds for that session (summed from the records, never from
a cache), and the difference, if any, is appended as one record per agent. So a session
that grows gets a record holding only the new usage, a partial response line that is
later completed adds only the difference, and a lost index only means re-reading logs.
"""

from __future__ import annotations

import importlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import stamps
from .ledger import Ledger
from .readers import Cursor, Reader, UsageEvent
from .record import make_body
from .usage import TOKEN_KINDS

# harness -> "module:Class"; imported only when that harness is ingested
READERS = {
    "claude": "burn.ledger.readers.claude:ClaudeReader",
    "codex": "burn.ledger.readers.codex:CodexReader",
    "opencode": "burn.ledger.readers.opencode:OpenCodeReader",
}

Group = tuple[str, str, str | None]  # harness, session, agent link


@dataclass
class IngestReport:
    files: int = 0
    files_read: int = 0
    lines: int = 0
    events: int = 0
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    harnesses: list[str] = field(default_factory=list)
    launches: list[tuple[str, str]] = field(default_factory=list)  # settled: launch id, why

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "harnesses": self.harnesses,
            "files": self.files,
            "files_read": self.files_read,
            "lines": self.lines,
            "events": self.events,
            "records": self.records,
            "skipped": dict(sorted(self.skipped.items())),
            "problems": self.problems,
        }


def reader_for(harness: str) -> Reader | None:
    module, _, cls = READERS[harness].partition(":")
    try:
        reader: Reader = getattr(importlib.import_module(module), cls)()
        return reader
    except ModuleNotFoundError:
        return None  # a reader not shipped in this build


def ingest(
    ledger: Ledger,
    harnesses: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    wait: bool = True,
) -> IngestReport | None:
    """Read every harness's logs from their cursors and append records for new usage.

    One ingest at a time per home (a file lock): two at once would both see the same
    growth and record it twice. With wait=False, return None at once if one is running
    (a launch's live tick: the running ingest does the work).
    """
    from burn.store.locking import file_lock

    with file_lock(ledger.home.root / "ingest.lock", wait=wait) as held:
        return _ingest(ledger, harnesses, progress) if held else None


def _ingest(
    ledger: Ledger,
    harnesses: Iterable[str] | None,
    progress: Callable[[int, int], None] | None,
) -> IngestReport:
    report = IngestReport()
    conn = ledger.index.conn()
    pricing = _price_table(ledger)
    work: list[tuple[Reader, Path]] = []
    for harness in harnesses or READERS:
        reader = reader_for(harness)
        if reader is None:
            continue
        report.harnesses.append(harness)
        for root in reader.roots():
            try:
                work += [(reader, p) for p in reader.files(root)]
            except OSError as e:
                report.skipped["unreadable directory"] += 1
                report.problems.append(f"{root}: cannot list: {e.strerror}")
        for text in reader.unreadable:  # directories under the roots that could not be listed
            report.skipped["unreadable directory"] += 1
            report.problems.append(text)
    report.files = len(work)
    for done, (reader, path) in enumerate(work, 1):
        if progress:
            progress(done, len(work))
        _ingest_file(conn, reader, path, report, pricing)
    # Every session whose logs moved, also those a killed ingest left behind: its growth
    # is what the logs say beyond the records, so recording it again is a no-op.
    dirty = conn.execute(
        "SELECT harness, session, agent, first_ts, last_ts FROM dirty ORDER BY harness, session, agent"
    ).fetchall()
    # Sessions a launch claimed wait for its end; ended launches get their one record.
    from .settle import already_recorded, launch_body, plan

    todo = plan(ledger, conn, dirty, report.problems)
    bodies: list[dict[str, Any]] = []
    finished = list(todo.free)
    for stamp, why, groups in todo.settle:
        if already_recorded(conn, stamp):  # its record landed, its stamp was not removed
            todo.free += groups  # later growth of its sessions: plain records
            finished += groups
            continue
        bodies.append(launch_body(ledger, conn, stamp, why, groups, pricing))
        finished += groups
    for harness, session, agent, first, last in todo.free:
        body = _growth_record(ledger, conn, (harness, session, agent or None), [first, last], pricing)
        if body is not None:
            bodies.append(body)
    ledger.append_many(bodies)  # one chain, one ref update, one fsync
    report.records = len(bodies)
    report.launches = [(s.id, why) for s, why, _g in todo.settle]
    conn.executemany(
        "DELETE FROM dirty WHERE harness = ? AND session = ? AND agent = ?", [d[:3] for d in finished]
    )
    for stamp, _why, _groups in todo.settle:
        stamps.remove(stamp)
    return report


def _ingest_file(
    conn: sqlite3.Connection,
    reader: Reader,
    path: Path,
    report: IngestReport,
    pricing: Any,
) -> None:
    key = str(path)
    row = conn.execute('SELECT inode, size, "offset", meta FROM cursors WHERE path = ?', (key,)).fetchone()
    cursor = Cursor(row[0], row[1], row[2], json.loads(row[3] or "{}")) if row else Cursor()
    try:
        st = path.stat()
    except OSError as e:
        report.skipped["vanished file"] += 1
        gone = "vanished before it was read" if isinstance(e, FileNotFoundError) else "cannot stat"
        report.problems.append(f"{path}: {gone}: {e.strerror}")
        return
    if row and st.st_ino == cursor.inode and st.st_size == cursor.size == cursor.offset:
        return  # unchanged since the last read: not even opened
    result = reader.read(path, cursor)
    report.files_read += 1
    report.lines += result.lines
    report.events += len(result.events)
    report.skipped.update(result.skipped)
    report.problems += result.problems[: max(0, 50 - len(report.problems))]
    conn.execute("BEGIN")  # one transaction per file: its events and its cursor move together
    try:
        for link, name in result.labels.items():
            conn.execute("INSERT OR REPLACE INTO labels VALUES (?, ?, ?)", (reader.harness, link, name))
        conn.executemany(_UPSERT_SEEN, [_seen_row(ev, pricing) for ev in result.events])
        # Sessions to settle: an event marks the agent it came with (a response's agent
        # stays as first seen in `seen`; a mark that finds no growth records nothing).
        spans: dict[tuple[str, str, str], list[str]] = {}
        for ev in result.events:
            span = spans.setdefault((ev.harness, ev.session, ev.agent or ""), [ev.timestamp, ev.timestamp])
            span[0], span[1] = min(span[0], ev.timestamp), max(span[1], ev.timestamp)
        conn.executemany(
            "INSERT INTO dirty VALUES (?, ?, ?, ?, ?) ON CONFLICT (harness, session, agent) DO UPDATE"
            " SET first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            [(*group, first, last) for group, (first, last) in spans.items()],
        )
        c = result.cursor
        conn.execute(
            "INSERT OR REPLACE INTO cursors VALUES (?, ?, ?, ?, ?)",
            (key, c.inode, c.size, c.offset, json.dumps(c.meta, sort_keys=True)),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# The last report of a response wins (its output count is final); its agent and first
# timestamp stay as first seen, so a replay in a subagent file moves nothing.
_UPSERT_SEEN = (
    "INSERT INTO seen VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (harness, session, key) DO UPDATE SET model = excluded.model, tier = excluded.tier,"
    " input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,"
    " cache_read_tokens = excluded.cache_read_tokens,"
    " cache_write_5m_tokens = excluded.cache_write_5m_tokens,"
    " cache_write_1h_tokens = excluded.cache_write_1h_tokens,"
    " reasoning_tokens = excluded.reasoning_tokens, cost_micros = excluded.cost_micros"
)


def _seen_row(ev: UsageEvent, pricing: Any) -> tuple[Any, ...]:
    tier = ev.tier
    if pricing is not None and ev.model and tier == "base":
        basis = ev.usage if ev.request_prompt is None else {"input_tokens": ev.request_prompt}
        tier = pricing.tier_for(ev.model, basis)
    model = ev.model or "unknown"  # tokens of an unnamed model are kept, and priced as unknown
    return (
        ev.harness, ev.session, ev.key, ev.agent, model, tier, ev.granularity, ev.timestamp, ev.cwd,
        *(ev.usage.get(k) for k in TOKEN_KINDS), ev.cost_micros,
    )  # fmt: skip


_SUMS = ", ".join(f"sum({k}), count({k})" for k in TOKEN_KINDS)


def _growth_record(
    ledger: Ledger, conn: sqlite3.Connection, group: Group, stamps: list[str], pricing: Any
) -> dict[str, Any] | None:
    """The record body holding what the logs say beyond what the ledger holds, if anything."""
    harness, session, agent = group
    by_model, cwd = growth_rows(conn, group)
    if not by_model:
        return None
    cost, pricing_id = _cost(by_model, pricing)
    launch = _launch_of(conn, harness, session)
    if launch is not None:  # a launch's session that grew after the launch was recorded
        name, version, source, launch_fields = launch
    else:
        name, version, source = _persona(ledger, conn, harness, agent)
        launch_fields = {}
    stamps = sorted(stamps)
    return make_body(
        persona=name,
        version=version,
        source=source,
        host=ledger.host,
        harness=harness,
        started_at=stamps[0],
        ended_at=stamps[-1],
        sessions=[session],
        by_model=by_model,
        cost_micros=cost,
        pricing=pricing_id,
        kind="ingest",
        agent=agent,
        cwd=cwd,
        **launch_fields,
    )


def growth_rows(conn: sqlite3.Connection, group: Group) -> tuple[list[dict[str, Any]], str | None]:
    """The usage rows (by model and tier) the logs hold for a group beyond the ledger,
    and the session's working directory."""
    harness, session, agent = group
    now = {
        (model, tier): row
        for model, tier, *row in conn.execute(
            f"SELECT model, tier, {_SUMS} FROM seen WHERE harness = ? AND session = ? AND agent IS ?"
            " GROUP BY model, tier",
            (harness, session, agent),
        )
    }
    meta = conn.execute(
        "SELECT min(granularity), max(cwd) FROM seen WHERE harness = ? AND session = ? AND agent IS ?",
        (harness, session, agent),
    ).fetchone()
    recorded = {
        (model, tier): row
        for model, tier, *row in conn.execute(
            f"SELECT u.model, u.tier, {_SUMS} FROM usage u JOIN records r ON r.seq = u.seq"
            " WHERE u.session = ? AND r.harness = ? AND u.agent IS ? GROUP BY u.model, u.tier",
            (session, harness, agent),
        )
    }
    by_model = []
    for model in sorted({m for m, _t in now}):
        for tier, usage in _growth(model, now, recorded).items():
            by_model.append({"model": model, "tier": tier, "granularity": meta[0], "usage": usage})
    return by_model, meta[1]


def _launch_of(
    conn: sqlite3.Connection, harness: str, session: str
) -> tuple[str, str | None, str, dict[str, Any]] | None:
    """The launch that last recorded a session, if one did: its later growth is its too."""
    row = conn.execute(
        "SELECT r.persona, r.version, r.source, r.launch_id, r.parent FROM usage u"
        " JOIN records r ON r.seq = u.seq WHERE u.session = ? AND r.harness IS ?"
        " AND r.launch_id IS NOT NULL ORDER BY r.seq DESC LIMIT 1",
        (session, harness),
    ).fetchone()
    if row is None:
        return None
    return row[0], row[1], row[2], {"launch_id": row[3], "parent": row[4]}


def _sums(row: Any) -> dict[str, int | None]:
    return {kind: (row[2 * i] if row[2 * i + 1] else None) for i, kind in enumerate(TOKEN_KINDS)}


def _growth(
    model: str, now: dict[tuple[str, str], Any], recorded: dict[tuple[str, str], Any]
) -> dict[str, dict[str, int | None]]:
    """New usage of one model, by price tier: now minus recorded, per kind.

    A response recorded early (in one tier) can cross a long-context threshold later and
    move to the other: then the tiers are netted, so its tokens are never counted twice.
    """
    tiers = sorted({t for m, t in now if m == model} | {t for m, t in recorded if m == model})
    signed: dict[str, dict[str, int | None]] = {}
    for tier in tiers:
        before = _sums(recorded[(model, tier)]) if (model, tier) in recorded else {}
        if (model, tier) in now:
            current = _sums(now[(model, tier)])
        else:  # every response of this tier moved to another: what it had is now 0
            current = {k: None if before.get(k) is None else 0 for k in TOKEN_KINDS}
        signed[tier] = {k: None if v is None else v - (before.get(k) or 0) for k, v in current.items()}
    grown = {t: d for t, d in signed.items() if any(v for v in d.values())}
    if all(v is None or v >= 0 for d in signed.values() for v in d.values()):
        return grown
    net: dict[str, int | None] = {}
    for k in TOKEN_KINDS:
        known = [d[k] for d in signed.values() if d[k] is not None]
        net[k] = max(0, sum(v for v in known if v is not None)) if known else None
    if not any(net.values()):
        return {}  # logs that shrank never un-record
    tier = max(signed, key=lambda t: sum(v or 0 for v in signed[t].values()))
    return {tier: net}


def _cost(by_model: list[dict[str, Any]], pricing: Any) -> tuple[int | None, str | None]:
    if pricing is None:
        return None, None
    total = 0
    for row in by_model:
        cost = pricing.price(row["model"], row["usage"], row["tier"])
        if cost is None:
            return None, pricing.id  # one unpriced model makes the total unknown, never $0
        total += cost
    return total, pricing.id


def _persona(
    ledger: Ledger, conn: sqlite3.Connection, harness: str, agent: str | None
) -> tuple[str, str | None, str]:
    """The persona the harness itself names, at its newest stored version, else `none`."""
    if agent is None:
        return "none", None, "ingest"
    row = conn.execute("SELECT name FROM labels WHERE harness = ? AND link = ?", (harness, agent)).fetchone()
    if row is None:
        return "none", None, "ingest"
    name = row[0]
    history = ledger.specs.history(name)
    return name, (history[-1].version.id if history else None), "harness"


def _price_table(ledger: Ledger) -> Any:
    try:
        from .pricing import load_table
    except ImportError:
        return None
    return load_table()
