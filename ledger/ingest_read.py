"""The reading half of `burn ingest`: which log files moved, what they say, and storing it.

Each file changed since its cursor is read by its harness's reader; its events become one
`seen` row per response (per harness, session and response key: the last report wins,
the agent, time and cwd stay as first seen) and one time span per session and agent to
settle (`dirty`). All of it, with the files' new cursors, lands in one transaction.

With many bytes to read, a forked helper process reads the last part of the files while
this one reads the first (see `parallel`). The helper writes its `seen` rows into a
scratch SQLite file that this process copies with one SQL statement, in order, after its
own rows: the rows never pass through Python here, so both processes turn text into rows
and the remaining serial step is SQLite's own.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .parallel import map_in_order
from .readers import Cursor, Reader, Span, UsageEvent
from .usage import TOKEN_KINDS

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

# Bytes to read in one ingest above which a second process reads part of the files.
PARALLEL_BYTES = 8 << 20
# The helper's part of those bytes: a little over half, as this process also stores its own
# rows and then the helper's (measured: with 0.47, this process read on 0.1-0.3 s after the
# helper was done, 100k-line tree, CPU of each from rusage).
HELPER_SHARE = 0.52

Key = tuple[str, str, str]  # harness, session, response key; or harness, session, agent

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
# The same for the helper's rows, in the order it wrote them (WHERE: SQLite's upsert syntax).
_UPSERT_SEEN_FROM_PART = _UPSERT_SEEN.replace(
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", "SELECT * FROM part.seen WHERE true ORDER BY rowid"
)
_PART_TABLE = (
    "CREATE TABLE seen(harness, session, key, agent, model, tier, granularity, ts, cwd,"
    f" {', '.join(TOKEN_KINDS)}, cost_micros)"
)


def _seen_row(ev: UsageEvent, pricing: Any) -> tuple[Any, ...]:
    tier = ev.tier
    if pricing is not None and ev.model and tier == "base":
        basis = ev.usage if ev.request_prompt is None else {"input_tokens": ev.request_prompt}
        tier = pricing.tier_for(ev.model, basis)
    model = ev.model or "unknown"  # tokens of an unnamed model are kept, and priced as unknown
    return (
        ev.harness, ev.session, ev.key, ev.agent, model, tier, ev.granularity, ev.timestamp, ev.cwd,
        *map(ev.usage.get, TOKEN_KINDS), ev.cost_micros,
    )  # fmt: skip


class FileRead:
    """What one log file said, compacted in the process that read it."""

    def __init__(
        self,
        harness: str,
        path: str,
        cursor: tuple[int, int, int, str],
        lines: int,
        events: int,
        skipped: Counter[str],
        problems: list[str],
        labels: dict[str, str],
        rows: list[tuple[Any, ...]] | None,  # one per response; None: in the helper's scratch file
        spans: dict[Key, Span],  # (harness, session, agent or '') -> first and last timestamp
    ) -> None:
        self.harness, self.path, self.cursor = harness, path, cursor
        self.lines, self.events, self.skipped, self.problems = lines, events, skipped, problems
        self.labels, self.rows, self.spans = labels, rows, spans


class ReadTotals:
    """What the files read added up to (the caller's report)."""

    files_read = 0
    lines = 0
    events = 0

    def __init__(self) -> None:
        self.skipped: Counter[str] = Counter()
        self.problems: list[str] = []


def read_logs(
    conn: sqlite3.Connection,
    jobs: list[tuple[Reader, Path, Cursor]],
    weights: list[int],
    pricing: Any,
    scratch: Path,
    totals: ReadTotals,
    progress: Callable[[], None] | None = None,
) -> None:
    """Read `jobs` (files with the cursors to read them from) and store what they say."""
    if not jobs:
        return
    for reader in {id(job[0]): job[0] for job in jobs}.values():
        prepare = getattr(reader, "prepare", None)
        if prepare is not None:
            prepare(pricing)  # (imports made before the fork are the helper's too)
    part = scratch / f".ingest-{os.getpid()}.part"
    if sum(weights) >= PARALLEL_BYTES:  # a helper may read some files: its rows go here
        _new_part(part)
        conn.execute("ATTACH DATABASE ? AS part", (str(part),))  # (refused inside a transaction)

    def read(job: tuple[Reader, Path, Cursor]) -> FileRead:
        return _read_file(*job, pricing)

    def finish(results: list[FileRead]) -> list[FileRead]:  # in the helper, before sending
        out = sqlite3.connect(part, isolation_level=None)
        out.execute("PRAGMA journal_mode=OFF")
        out.execute("BEGIN")
        for got in results:
            out.executemany(f"INSERT INTO seen VALUES ({','.join('?' * 16)})", got.rows or [])
            got.rows = None
        out.execute("COMMIT")
        out.close()
        return results

    labels: dict[tuple[str, str], str] = {}
    spans: dict[Key, Span] = {}
    cursors: list[tuple[Any, ...]] = []
    copied = False
    conn.execute("BEGIN")  # a killed ingest leaves all of what it read, with its cursors, or none
    try:
        for got in map_in_order(read, jobs, weights, PARALLEL_BYTES, finish, HELPER_SHARE):
            if progress:
                progress()
            totals.files_read += 1
            totals.lines += got.lines
            totals.events += got.events
            totals.skipped.update(got.skipped)
            totals.problems += got.problems[: max(0, 50 - len(totals.problems))]
            if got.rows is not None:
                conn.executemany(_UPSERT_SEEN, got.rows)
            elif not copied:  # the helper's rows, after all of this process's, in its order
                conn.execute(_UPSERT_SEEN_FROM_PART)
                copied = True
            for link, name in got.labels.items():
                labels[(got.harness, link)] = name
            for group, (first, last) in got.spans.items():
                span = spans.get(group)
                if span is None:
                    spans[group] = [first, last]
                else:
                    span[0], span[1] = min(span[0], first), max(span[1], last)
            cursors.append((got.path, *got.cursor))
        conn.executemany(
            "INSERT OR REPLACE INTO labels VALUES (?, ?, ?)", [(*k, v) for k, v in labels.items()]
        )
        # Sessions to settle: an event marks the agent it came with (a response's agent
        # stays as first seen in `seen`; a mark that finds no growth records nothing).
        conn.executemany(
            "INSERT INTO dirty VALUES (?, ?, ?, ?, ?) ON CONFLICT (harness, session, agent) DO UPDATE"
            " SET first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            [(*group, first, last) for group, (first, last) in spans.items()],
        )
        conn.executemany("INSERT OR REPLACE INTO cursors VALUES (?, ?, ?, ?, ?)", cursors)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        if part.exists():
            conn.execute("DETACH DATABASE part")
            part.unlink()


def _new_part(path: Path) -> None:
    """An empty scratch database for the helper's rows (made here: attached before it fills)."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute(_PART_TABLE)
    finally:
        db.close()


def changed_files(
    conn: sqlite3.Connection,
    work: list[tuple[Reader, Path | str]],
    skipped: Counter[str],
    problems: list[str],
) -> tuple[list[tuple[Reader, Path, Cursor]], list[int]]:
    """The files that moved since their cursor (a file unchanged is not even opened), with
    the bytes each has to read."""
    cursors = {
        row[0]: row[1:] for row in conn.execute('SELECT path, inode, size, "offset", meta FROM cursors')
    }
    jobs, weights = [], []
    for reader, path in work:
        row = cursors.get(str(path))
        try:
            st = os.stat(path)
        except OSError as e:
            skipped["vanished file"] += 1
            gone = "vanished before it was read" if isinstance(e, FileNotFoundError) else "cannot stat"
            if len(problems) < 50:
                problems.append(f"{path}: {gone}: {e.strerror}")
            continue
        if row and st.st_ino == row[0] and st.st_size == row[1] == row[2]:
            continue
        cursor = Cursor(row[0], row[1], row[2], json.loads(row[3] or "{}")) if row else Cursor()
        jobs.append((reader, Path(path), cursor))
        start = cursor.offset if st.st_ino == cursor.inode and st.st_size >= cursor.offset else 0
        weights.append(st.st_size - start)
    return jobs, weights


def _read_file(reader: Reader, path: Path, cursor: Cursor, pricing: Any) -> FileRead:
    result = reader.read(path, cursor)
    if result.events:
        rows, spans = _event_rows(result.events, pricing)
    else:  # (a reader that makes its rows itself, or nothing new)
        rows, spans = result.rows, result.spans
    c = result.cursor
    return FileRead(
        harness=reader.harness,
        path=str(path),
        cursor=(c.inode, c.size, c.offset, json.dumps(c.meta, sort_keys=True)),
        lines=result.lines,
        events=len(result.events) or len(result.rows) + result.folded,  # reports read
        skipped=result.skipped,
        problems=result.problems,
        labels=result.labels,
        rows=rows,
        spans=spans,
    )


def _event_rows(events: list[UsageEvent], pricing: Any) -> tuple[list[tuple[Any, ...]], dict[Key, Span]]:
    """A reader's events as `seen` rows, a response's reports made one (see _later), and
    the span of each session and agent."""
    first: dict[Key, UsageEvent] = {}
    last: dict[Key, UsageEvent] = {}
    spans: dict[Key, Span] = {}
    for ev in events:
        key = (ev.harness, ev.session, ev.key)
        if key not in first:
            first[key] = ev
        last[key] = ev
        ts = ev.timestamp
        span = spans.get(group := (ev.harness, ev.session, ev.agent or ""))
        if span is None:
            spans[group] = [ts, ts]
        elif ts < span[0]:
            span[0] = ts
        elif ts > span[1]:
            span[1] = ts
    rows = []
    for key, ev in last.items():
        row = _seen_row(ev, pricing)
        if first[key] is not ev:
            row = _later(_seen_row(first[key], None), row)
        rows.append(row)
    return rows, spans


def _later(old: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[Any, ...]:
    """A response reported again: `_UPSERT_SEEN` in Python (new model, tier, counts and
    cost; agent, granularity, time and cwd as first seen)."""
    return (*old[:4], *new[4:6], *old[6:9], *new[9:])
