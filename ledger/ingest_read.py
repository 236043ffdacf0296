"""The reading half of `burn ingest`: which log files moved, what they say, and storing it.

Each file changed since its cursor is read by its harness's reader into rows, one per
report of a response, and one time span per session and agent to settle (`dirty`). The
rows are folded session by session into what the logs say (`responses`: per response key
the last report wins, the agent, time and cwd stay as first seen). All of it, with the
files' new cursors, lands in one transaction.

With many bytes to read, a forked helper process reads the last part of the files while
this one reads the first (see `parallel`) and folds its rows itself: it sends one folded
state per session, which this process applies after its own.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Callable

from . import responses
from .parallel import map_in_order
from .readers import Cursor, Reader, Span, UsageEvent, utf8_text
from .usage import TOKEN_KINDS

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .readers.listings import Listings
    from .responses import Session, States, Sums, Tally

    Part = tuple[bytes, Tally]  # a session the helper read: its stored state, and its tally

# Bytes to read in one ingest above which a second process reads part of the files.
PARALLEL_BYTES = 8 << 20
# The helper's part of those bytes: a little under half, as it also stores and sums the
# sessions it read before it sends them, where this process does the same for its own
# sessions while it waits, then takes the helper's in (measured, 100k-line tree: 0.47 to
# 0.53 within the VM's noise, the helper and this process ready within ~10 ms at 0.49-0.50).
HELPER_SHARE = 0.49

Key = tuple[str, str, str]  # harness, session, response key; or harness, session, agent

# A process that leaves with os._exit once the ingest is done (the CLI) sets this to a
# list: what an ingest read is then parked in it when done with, instead of being freed
# container by container (measured, 100k lines: ~10 ms of a cold ingest) for nothing.
PARK: list[Any] | None = None


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
        rows: list[tuple[Any, ...]] | None,  # one per report; None: folded into `states`
        spans: dict[Key, Span],  # (harness, session, agent or '') -> first and last timestamp
    ) -> None:
        self.harness, self.path, self.cursor = harness, path, cursor
        self.lines, self.events, self.skipped, self.problems = lines, events, skipped, problems
        self.labels, self.rows, self.spans = labels, rows, spans
        self.parts: dict[Session, Part] | None = None  # the helper's rows, folded (see read_logs)
        # A helper's whole part, sent as one (see _whole): how many files, each one's path
        # and cursor, and the labels keyed by harness and link.
        self.files = 1
        self.cursors: list[tuple[Any, ...]] | None = None
        self.keyed: dict[tuple[str, str], str] | None = None

    def label_items(self) -> Any:
        """((harness, link), name) of each label the file's lines gave."""
        if self.keyed is not None:
            return self.keyed.items()
        return (((self.harness, link), name) for link, name in self.labels.items())

    def cursor_rows(self) -> list[tuple[Any, ...]]:
        """(path, inode, size, offset, meta) of each file read."""
        return self.cursors if self.cursors is not None else [(self.path, *self.cursor)]


class ReadTotals:
    """What the files read added up to (the caller's report)."""

    files_read = 0
    lines = 0
    events = 0

    def __init__(self) -> None:
        self.skipped: Counter[str] = Counter()
        self.problems: list[str] = []
        self.sums: dict[Session, Sums] = {}  # what each session read adds up to


def read_logs(
    conn: sqlite3.Connection,
    jobs: list[tuple[Reader, Path | str, Cursor]],
    weights: list[int],
    pricing: Any,
    totals: ReadTotals,
    progress: Callable[[], None] | None = None,
    listings: Listings | None = None,
) -> dict[Session, Sums]:
    """Read `jobs` (files with the cursors to read them from) and store what they say,
    with the `listings` of the walk that found them; return what each session they
    touched adds up to (see `responses.totals`)."""
    if not jobs:
        if listings is not None:
            save_listings(conn, listings)
        return {}
    for reader in {id(job[0]): job[0] for job in jobs}.values():
        prepare = getattr(reader, "prepare", None)
        if prepare is not None:
            prepare(pricing)  # (imports made before the fork are the helper's too)

    def read(job: tuple[Reader, Path | str, Cursor]) -> FileRead:
        return _read_file(*job, pricing)

    def finish(results: list[FileRead]) -> list[FileRead]:  # in the helper, before sending
        return [_whole(results)] if results else results

    labels: dict[tuple[str, str], str] = {}
    spans: dict[Key, Span] = {}
    cursors: list[tuple[Any, ...]] = []
    read_now: States = {}  # what this process read, in the order it was read
    parts: dict[Session, Part] = {}  # what the helper read, folded
    ready: dict[Session, Part] = {}  # this process's sessions, stored and summed (see waiting)

    def waiting() -> None:  # while the helper finishes: what _store_states would do after
        import orjson

        for session, state in read_now.items():
            ready[session] = (orjson.dumps(state), responses.tally(state))

    for got in map_in_order(read, jobs, weights, PARALLEL_BYTES, finish, HELPER_SHARE, waiting):
        if progress:
            for _ in range(got.files):
                progress()
        totals.files_read += got.files
        totals.lines += got.lines
        totals.events += got.events
        totals.skipped.update(got.skipped)
        totals.problems += got.problems[: max(0, 50 - len(totals.problems))]
        if got.rows is not None:
            responses.fold(read_now, got.rows)
            if ready:  # (read here after `waiting`: the helper failed) made again at the end
                for session in {(row[0], row[1]) for row in got.rows}:
                    ready.pop(session, None)
        elif got.parts is not None:
            parts = got.parts
        labels.update(got.label_items())
        _widen(spans, got.spans)
        cursors += got.cursor_rows()
    # A killed ingest leaves all of what it read, with its cursors, or none. (IMMEDIATE: it
    # reads the states before it writes them, and no other writer may come in between.)
    conn.execute("BEGIN IMMEDIATE")
    try:
        sums = _store_states(conn, read_now, parts, ready)
        conn.executemany(
            "INSERT OR REPLACE INTO labels VALUES (?, ?, ?)", [(*k, v) for k, v in labels.items()]
        )
        # Sessions to settle: an event marks the agent it came with (a response's agent
        # stays as first seen; a mark that finds no growth records nothing).
        conn.executemany(
            "INSERT INTO dirty VALUES (?, ?, ?, ?, ?) ON CONFLICT (harness, session, agent) DO UPDATE"
            " SET first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)",
            [(*group, first, last) for group, (first, last) in spans.items()],
        )
        conn.executemany("INSERT OR REPLACE INTO cursors VALUES (?, ?, ?, ?, ?)", cursors)
        if listings is not None:
            save_listings(conn, listings)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if PARK is not None:
        PARK.append((read_now, parts, ready, spans, cursors))
    return sums


def _whole(results: list[FileRead]) -> FileRead:
    """A helper's files as one: their rows folded by session, each session stored and
    summed (`parts`), and the rest merged as read_logs merges it. One object to pickle and
    to take in instead of one per file (measured, ~720 files: unpickling 6 -> ~2 ms)."""
    import orjson

    whole = FileRead("", "", (0, 0, 0, "{}"), 0, 0, Counter(), [], {}, None, {})
    whole.files, whole.cursors, whole.keyed = len(results), [], {}
    states: States = {}
    for got in results:
        responses.fold(states, got.rows or ())
        whole.lines += got.lines
        whole.events += got.events
        whole.skipped.update(got.skipped)
        whole.problems += got.problems[: max(0, 50 - len(whole.problems))]
        whole.keyed.update(got.label_items())
        _widen(whole.spans, got.spans)
        whole.cursors.append((got.path, *got.cursor))
    whole.parts = {s: (orjson.dumps(state), responses.tally(state)) for s, state in states.items()}
    return whole


def _widen(spans: dict[Key, Span], more: dict[Key, Span]) -> None:
    """Widen each group's first and last timestamp in `spans` to cover `more`."""
    for group, (first, last) in more.items():
        span = spans.get(group)
        if span is None:
            spans[group] = [first, last]
        else:
            span[0], span[1] = min(span[0], first), max(span[1], last)


def _store_states(
    conn: sqlite3.Connection, read_now: States, parts: dict[Session, Part], ready: dict[Session, Part]
) -> dict[Session, Sums]:
    """Store every session read: what earlier ingests said of it, then this process's
    reports, then the helper's; return what each adds up to. A session only one process
    read, and no earlier ingest, is stored and tallied as that process made it (`parts`,
    `ready`); one read before has its tally updated by what changed."""
    import orjson

    for session in [s for s in parts if s in read_now]:  # read in part by each process
        responses.merge(read_now, {session: orjson.loads(parts.pop(session)[0])})
        ready.pop(session, None)
    stored: dict[Session, Part] = {}
    earlier = responses.load_tallied(conn, [*read_now, *parts])
    for session, (state, tally) in earlier.items():  # what this ingest read goes after it
        later = read_now.pop(session) if session in read_now else orjson.loads(parts.pop(session)[0])
        responses.absorb(state, tally, later)
        stored[session] = (orjson.dumps(state), tally)
    for session, state in read_now.items():
        made = ready.get(session)
        stored[session] = made if made is not None else (orjson.dumps(state), responses.tally(state))
    stored.update(parts)
    responses.write(conn, stored)
    return {session: responses.totals(tally) for session, (_data, tally) in stored.items()}


def load_listings(conn: sqlite3.Connection) -> Listings:
    """The directory listings earlier ingests kept (see readers/listings.py)."""
    from .readers.listings import Listings

    return Listings({row[0]: row[1:] for row in conn.execute("SELECT dir, mtime_ns, names FROM listings")})


def save_listings(conn: sqlite3.Connection, listings: Listings) -> None:
    """Keep what this walk listed, and forget the directories gone or changed too lately
    to trust: in the transaction open on `conn` if there is one (a read's: one commit
    fewer), else in its own; no write at all when nothing moved."""
    forget = [(d,) for d in (*listings.stale, *listings.gone())]
    if not listings.changed and not forget:
        return
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        conn.executemany("DELETE FROM listings WHERE dir = ?", forget)
        conn.executemany(
            "INSERT OR REPLACE INTO listings VALUES (?, ?, ?)", [(d, *v) for d, v in listings.changed.items()]
        )
        if own:
            conn.execute("COMMIT")
    except BaseException:
        if own and conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def changed_files(
    conn: sqlite3.Connection,
    work: list[tuple[Reader, Path | str]],
    skipped: Counter[str],
    problems: list[str],
) -> tuple[list[tuple[Reader, Path | str, Cursor]], list[int]]:
    """The files that moved since their cursor (a file unchanged is not even opened), with
    the bytes each has to read."""
    cursors = {
        row[0]: row[1:] for row in conn.execute('SELECT path, inode, size, "offset", meta FROM cursors')
    }
    jobs, weights = [], []
    for reader, path in work:
        name = str(path)
        if not utf8_text(name):
            # (its name would go into the index, and the session named after it into the
            # ledger's JSON: neither keeps what is not UTF-8; no harness writes such names)
            skipped["file name not UTF-8"] += 1
            if len(problems) < 50:
                problems.append(f"{printable(name)}: the file name is not UTF-8; rename the file to read it")
            continue
        row = cursors.get(name)
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
        cursor = Cursor(row[0], row[1], row[2], _meta(row[3])) if row else Cursor()
        jobs.append((reader, path, cursor))  # (a string stays one: see Reader.files)
        start = cursor.offset if st.st_ino == cursor.inode and st.st_size >= cursor.offset else 0
        weights.append(st.st_size - start)
    return jobs, weights


def printable(text: str) -> str:
    """`text` with any byte that is not UTF-8 (a surrogate, from a file name) written as
    an escape: a problem must never fail to print."""
    if text.isascii():
        return text
    return os.fsencode(text).decode("utf-8", "backslashreplace")  # (b"\xff" as "\xff")


def _meta(text: str | None) -> dict[str, Any]:
    """A cursor's stored meta (json imported here: an ingest with nothing new needs none)."""
    import json

    return json.loads(text or "{}")


def _read_file(reader: Reader, path: Path | str, cursor: Cursor, pricing: Any) -> FileRead:
    result = reader.read(path, cursor)
    if result.events:
        rows, spans = _event_rows(result.events, pricing)
    else:  # (a reader that makes its rows itself, or nothing new)
        rows, spans = result.rows, result.spans
    c = result.cursor
    return FileRead(
        harness=reader.harness,
        path=str(path),
        cursor=(c.inode, c.size, c.offset, _meta_text(c.meta)),
        lines=result.lines,
        events=len(result.events) or len(result.rows) + result.folded,  # reports read
        skipped=result.skipped,
        problems=result.problems,
        labels=result.labels,
        rows=rows,
        spans=spans,
    )


def _meta_text(meta: dict[str, Any]) -> str:
    """A cursor's meta as stored (keys sorted; orjson, imported by every read by now:
    json.dumps was ~5 µs a file)."""
    import orjson

    return orjson.dumps(meta, option=orjson.OPT_SORT_KEYS).decode()


def _event_rows(events: list[UsageEvent], pricing: Any) -> tuple[list[tuple[Any, ...]], dict[Key, Span]]:
    """A reader's events as rows (readers.ROW_FIELDS), one per report in order (a
    response reported again is folded by responses.fold like any other), and the span
    of each session and agent."""
    spans: dict[Key, Span] = {}
    for ev in events:
        ts = ev.timestamp
        span = spans.get(group := (ev.harness, ev.session, ev.agent or ""))
        if span is None:
            spans[group] = [ts, ts]
        elif ts < span[0]:
            span[0] = ts
        elif ts > span[1]:
            span[1] = ts
    return [_seen_row(ev, pricing) for ev in events], spans
