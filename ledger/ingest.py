"""`burn ingest`: read harness logs incrementally and record every token exactly once.

For each log file changed since its cursor, the reader's rows update `responses` (per
harness, session and response key: the last report of a response wins). Then, for every
session touched, what the logs now say — summed per agent, model and tier — is compared
with what the ledger already holds for that session (summed from the records, never from
a cache), and the difference, if any, is appended as one record per agent. So a session
that grows gets a record holding only the new usage, a partial response line that is
later completed adds only the difference, and a lost index only means re-reading logs.
"""

from __future__ import annotations

import importlib
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from . import ingest_read, responses, stamps
from .ingest_read import ReadTotals, changed_files, read_logs
from .ledger import Ledger
from .readers import Reader
from .record import make_body
from .usage import TOKEN_KINDS

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from .responses import Session, Sums

# harness -> "module:Class"; imported only when that harness is ingested
READERS = {
    "claude": "burn.ledger.readers.claude:ClaudeReader",
    "codex": "burn.ledger.readers.codex:CodexReader",
    "opencode": "burn.ledger.readers.opencode:OpenCodeReader",
}

Group = tuple[str, str, str | None]  # harness, session, agent link


class IngestReport:
    def __init__(self) -> None:
        self.files = 0
        self.files_read = 0
        self.lines = 0
        self.events = 0
        self.records = 0
        self.skipped: Counter[str] = Counter()
        self.problems: list[str] = []
        self.harnesses: list[str] = []
        self.launches: list[tuple[str, str]] = []  # settled: launch id, why

    def __repr__(self) -> str:
        return f"IngestReport({vars(self)})"

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
            "problems": [ingest_read.printable(p) for p in self.problems],
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
    import gc

    from burn.store.locking import file_lock

    with file_lock(ledger.home.root / "ingest.lock", wait=wait) as held:
        if not held:
            return None
        # No cyclic collection while reading: an ingest makes a container per response
        # and frees them all at its end (not in a cycle), and every full collection
        # walks all of them (measured, 100k lines: 50-70 ms of ~1 s). Put back after.
        paused = gc.isenabled()
        gc.disable()
        try:
            return _ingest(ledger, harnesses, progress)
        finally:
            if paused:
                gc.enable()


def _ingest(
    ledger: Ledger,
    harnesses: Iterable[str] | None,
    progress: Callable[[int, int], None] | None,
) -> IngestReport:
    report = IngestReport()
    began = time.time()  # a launch that ends after this may have lines this ingest never lists
    conn = ledger.index.conn()
    work: list[tuple[Reader, Path | str]] = []
    listings = ingest_read.load_listings(conn)
    for harness in harnesses or READERS:
        reader = reader_for(harness)
        if reader is None:
            continue
        reader.listings = listings
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
    jobs, weights = changed_files(conn, work, report.skipped, report.problems)
    pricing = _price_table(ledger) if jobs else None  # (nothing new: not even loaded)
    done = len(work) - len(jobs)

    def step() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, len(work))

    totals = ReadTotals()
    if sum(weights) < BIG_READ:
        totals.sums = read_logs(conn, jobs, weights, pricing, totals, step, listings)
        return _record(ledger, conn, report, totals, pricing, began)
    # A big read is checkpointed by a thread while the recording goes on (see Checkpoint)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    checkpoint = Checkpoint(ledger.index.path)
    try:
        totals.sums = read_logs(conn, jobs, weights, pricing, totals, step, listings)
        checkpoint.start()
        return _record(ledger, conn, report, totals, pricing, began)
    finally:
        checkpoint.join()
        try:
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        except sqlite3.Error:
            pass  # (the error that matters, if any, is already on its way)


def _record(
    ledger: Ledger,
    conn: sqlite3.Connection,
    report: IngestReport,
    totals: ReadTotals,
    pricing: Any,
    began: float,
) -> IngestReport:
    """Record the growth of every session marked dirty (by this read or a killed one);
    `began`: when this ingest began listing files (see settle.plan)."""
    report.files_read, report.lines, report.events = totals.files_read, totals.lines, totals.events
    report.skipped.update(totals.skipped)
    report.problems += totals.problems[: max(0, 50 - len(report.problems))]
    # Every session whose logs moved, also those a killed ingest left behind: its growth
    # is what the logs say beyond the records, so recording it again is a no-op.
    dirty = conn.execute(
        "SELECT harness, session, agent, first_ts, last_ts FROM dirty ORDER BY harness, session, agent"
    ).fetchall()
    # Sessions a launch claimed wait for its end; ended launches get their one record.
    from .settle import already_recorded, launch_body, plan

    todo = plan(ledger, conn, dirty, report.problems, began)
    finished = list(todo.free)
    settle = []
    for stamp, why, groups in todo.settle:
        finished += groups
        if already_recorded(conn, stamp):  # its record landed, its stamp was not removed
            todo.free += groups  # later growth of its sessions: plain records
        else:
            settle.append((stamp, why, groups))
    bodies: list[dict[str, Any]] = []
    growth = None
    if todo.free or settle:
        if pricing is None and (todo.free or any(groups for _s, _w, groups in settle)):
            pricing = _price_table(ledger)  # (left by an ingest stopped before recording)
        growth = Growth(ledger, conn, totals.sums)
        for stamp, why, groups in settle:
            bodies.append(launch_body(ledger, conn, stamp, why, groups, pricing, growth))
        bodies += growth.records(todo.free, pricing)
    ledger.append_many(bodies, returning=False)  # one chain, one ref update, one fsync
    report.records = len(bodies)
    report.launches = [(s.id, why) for s, why, _g in todo.settle]
    settled = [d[:3] for d in finished]
    if settled:  # (nothing to settle, nothing written: a closing checkpoint with no work)
        conn.execute("BEGIN")  # (one transaction, not one per row)
        if len(settled) == len(dirty) and set(settled) == {d[:3] for d in dirty}:
            conn.execute("DELETE FROM dirty")  # (every mark settled, the common case: one statement)
        else:
            conn.executemany("DELETE FROM dirty WHERE harness = ? AND session = ? AND agent = ?", settled)
        conn.execute("COMMIT")
    for stamp, _why, _groups in todo.settle:
        stamps.remove(stamp)
    if ingest_read.PARK is not None:
        ingest_read.PARK.append((bodies, dirty, todo, growth, totals))
    return report


# (SQL's sum() is NULL when no row knows a kind: unknown stays None, with no count beside)
_SUMS = ", ".join(f"sum({k})" for k in TOKEN_KINDS)

# What the ledger holds (usage rows of its records) for every session to settle, per
# agent, model and tier, in one query (not one per session: a cold ingest settles
# thousands). `dirty` names "no agent" as '' where the tables hold NULL.
_RECORDED = f"""
SELECT d.harness, d.session, d.agent, u.model, u.tier, {_SUMS}
FROM dirty d JOIN usage u ON u.session = d.session AND u.agent IS nullif(d.agent, '')
  JOIN records r ON r.seq = u.seq AND r.harness = d.harness
GROUP BY d.harness, d.session, d.agent, u.model, u.tier"""
# The launch that last recorded each session, if one did: its later growth is its too.
_LAUNCHES = """
SELECT d.harness, d.session, r.persona, r.version, r.source, r.launch_id, r.parent
FROM (SELECT DISTINCT harness, session FROM dirty) d
  JOIN usage u ON u.session = d.session JOIN records r ON r.seq = u.seq AND r.harness IS d.harness
WHERE r.launch_id IS NOT NULL ORDER BY r.seq"""


WAL_AUTOCHECKPOINT = 1000  # pages: SQLite's default, which the index connection keeps
BIG_READ = 8 << 20  # bytes to read from which the read's rows are checkpointed in a thread


class Checkpoint:
    """A checkpoint of the index's WAL in a thread of its own, started once the read's
    transaction has committed (megabytes of rows), so that copying them into the database
    and syncing it overlaps the recording instead of stalling the COMMIT. The connection's
    own automatic checkpoints are off meanwhile; its close checkpoints what came after."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.thread: Any = None

    def start(self) -> None:
        import threading

        self.thread = threading.Thread(target=self._run, name="burn-checkpoint", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self.path, timeout=1.0, isolation_level=None)
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                db.close()
        except sqlite3.Error:
            pass  # (only a checkpoint: the next one copies those pages instead)

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()


class Growth:
    """For every session and agent in `dirty`: what the logs say beyond what the ledger
    holds (see `rows`), and the records that hold it (`records`)."""

    def __init__(
        self, ledger: Ledger, conn: sqlite3.Connection, summed: dict[Session, Sums] | None = None
    ) -> None:
        """`summed`: what the sessions this ingest has just read add up to (see
        ingest_read.read_logs); any other session to settle is summed from the index."""
        self.ledger = ledger
        self.now: dict[Group, dict[tuple[str, str], Any]] = {}
        self.meta: dict[Group, list[Any]] = {}
        sessions = conn.execute("SELECT DISTINCT harness, session FROM dirty").fetchall()
        known = dict(summed or {})
        known.update(responses.load_totals(conn, [s for s in sessions if s not in known]))
        for harness, session in sessions:
            if (harness, session) not in known:
                continue
            totals, meta = known[(harness, session)]
            for (agent, model, tier), sums in totals.items():
                self.now.setdefault((harness, session, agent), {})[(model, tier)] = sums
            for agent, m in meta.items():
                self.meta[(harness, session, agent)] = m
        self.recorded: dict[Group, dict[tuple[str, str], Any]] = {}
        for harness, session, agent, model, tier, *sums in conn.execute(_RECORDED):
            self.recorded.setdefault((harness, session, agent or None), {})[(model, tier)] = sums
        self.launches = {(row[0], row[1]): row[2:] for row in conn.execute(_LAUNCHES)}  # last wins
        self.personas = _Personas(ledger, conn)

    def rows(self, group: Group) -> tuple[list[dict[str, Any]], str | None]:
        """The usage rows (by model and tier) the logs hold for a group beyond the ledger,
        and the session's working directory."""
        now = self.now.get(group, {})
        recorded = self.recorded.get(group)
        granularity, cwd = self.meta.get(group, [None, None])
        by_model = []
        if not recorded and _all_known_or_positive(now):  # nothing recorded yet: all of it is new
            for (model, tier), sums in sorted(now.items()):
                if any(sums):
                    by_model.append(_row(model, tier, granularity, dict(zip(TOKEN_KINDS, sums, strict=True))))
            return by_model, cwd
        for model in sorted({m for m, _t in now}):
            for tier, usage in _growth(model, now, recorded or {}).items():
                by_model.append(_row(model, tier, granularity, usage))
        return by_model, cwd

    def records(self, dirty: list[Any], pricing: Any) -> list[dict[str, Any]]:
        """A record body for each session and agent whose logs say more than the ledger
        holds, in the order of `dirty`."""
        bodies = []
        for harness, session, agent, first, last in dirty:
            group = (harness, session, agent or None)
            by_model, cwd = self.rows(group)
            if not by_model:
                continue
            cost, pricing_id = _cost(by_model, pricing)
            launch = self.launches.get((harness, session))
            launch_fields: dict[str, Any] = {}
            if launch is not None:  # a launch's session that grew after the launch was recorded
                name, version, source, launch_id, parent = launch
                launch_fields = {"launch_id": launch_id, "parent": parent}
            else:
                name, version, source = self.personas(harness, agent or None)
            times = sorted([first, last])
            bodies.append(
                make_body(
                    persona=name,
                    version=version,
                    source=source,
                    host=self.ledger.host,
                    harness=harness,
                    started_at=times[0],
                    ended_at=times[-1],
                    sessions=[session],
                    by_model=by_model,
                    cost_micros=cost,
                    pricing=pricing_id,
                    kind="ingest",
                    agent=agent or None,
                    cwd=cwd,
                    **launch_fields,
                )
            )
        return bodies


def _row(model: str, tier: str, granularity: str | None, usage: dict[str, int | None]) -> dict[str, Any]:
    return {"model": model, "tier": tier, "granularity": granularity, "usage": usage}


def _sums(row: Any) -> dict[str, int | None]:
    return dict(zip(TOKEN_KINDS, row, strict=True))


def _all_known_or_positive(now: dict[tuple[str, str], Any]) -> bool:
    """No sum below zero (logs never say so; if one did, `_growth` nets it)."""
    for sums in now.values():
        for v in sums:
            if v is not None and v < 0:
                return False
    return True


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


class _Personas:
    """The persona the harness itself names for an agent, at its newest stored version,
    else `none`: the names of every agent to settle in one query, each name's versions once."""

    def __init__(self, ledger: Ledger, conn: sqlite3.Connection) -> None:
        self.ledger = ledger
        self.names = {
            (harness, link): name
            for harness, link, name in conn.execute(
                "SELECT l.harness, l.link, l.name FROM dirty d"
                " JOIN labels l ON l.harness = d.harness AND l.link = d.agent"
            )
        }
        self.versions: dict[str, str | None] = {}

    def __call__(self, harness: str, agent: str | None) -> tuple[str, str | None, str]:
        name = self.names.get((harness, agent)) if agent is not None else None
        if name is None:
            return "none", None, "ingest"
        if name not in self.versions:
            history = self.ledger.specs.history(name)
            self.versions[name] = history[-1].version.id if history else None
        return name, self.versions[name], "harness"


def _price_table(ledger: Ledger) -> Any:
    try:
        from .pricing import load_table
    except ImportError:
        return None
    return load_table()
