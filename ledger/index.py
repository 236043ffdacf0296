"""The derived SQLite index: records, sessions, usage rows, tags, persona versions.

Never synced, never the source of truth. Every read first catches up from the ref tips it
last saw; a missing, corrupt or older-schema file is rebuilt from the refs alone.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from burn.store.gitrepo import list_refs, read_ref, walk_first_parent

from .usage import TOKEN_KINDS

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")
    Rows = list[tuple[Any, ...]]
    # records, bodies, sessions, usage, tags, problems, attributions (see record_rows)
    RecordRows = tuple[Rows, Rows, Rows, Rows, Rows, Rows, Rows]

PERSONAS_REF = "refs/burn/personas"  # = store.objects.PERSONAS_REF (not imported: start-up)

SCHEMA_VERSION = 12
RECORDS_PREFIX = "refs/burn/records/"

TABLES = """
CREATE TABLE records(
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ref TEXT NOT NULL,
  persona TEXT, version TEXT, source TEXT, harness TEXT, host TEXT,
  started_at INTEGER, ended_at INTEGER, duration_ms INTEGER, exit_code INTEGER,
  parent TEXT, cost_micros INTEGER, total_tokens INTEGER, fidelity TEXT, repo TEXT,
  models TEXT, kind TEXT, agent TEXT, pricing TEXT, launch_id TEXT);
-- The public JSON of each record, apart: slim record rows keep big scans fast.
CREATE TABLE bodies(seq INTEGER PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE sessions(seq INTEGER NOT NULL, session_id TEXT NOT NULL);
CREATE TABLE usage(seq INTEGER NOT NULL, model TEXT NOT NULL, tier TEXT, granularity TEXT,
  input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER,
  cache_write_5m_tokens INTEGER, cache_write_1h_tokens INTEGER, reasoning_tokens INTEGER,
  session TEXT, agent TEXT);
CREATE TABLE tags(seq INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE versions(b3 TEXT PRIMARY KEY, sha256 TEXT NOT NULL, name TEXT, source TEXT,
  stored_at INTEGER);
CREATE INDEX versions_sha ON versions(sha256);
CREATE TABLE tips(ref TEXT PRIMARY KEY, sha TEXT NOT NULL);
CREATE TABLE problems(ref TEXT, sha TEXT, reason TEXT);
-- One row per launch a commit claimed (from kind=attribution records; seq is theirs):
-- what the launch had spent when the commit claimed it.
CREATE TABLE attributions(seq INTEGER NOT NULL, repo TEXT, commit_sha TEXT, launch_id TEXT,
  record_id TEXT, persona TEXT, cost_micros INTEGER, mode TEXT, at INTEGER);
-- Ingest state. A cache of what the logs said, rebuilt by re-reading them: what was
-- recorded is always summed from the records, so losing these never double counts.
CREATE TABLE cursors(path TEXT PRIMARY KEY, inode INTEGER, size INTEGER, "offset" INTEGER, meta TEXT);
-- What the logs say, one row per session: its responses as one JSON object, and their
-- tally (see ledger/responses.py).
CREATE TABLE responses(harness TEXT NOT NULL, session TEXT NOT NULL, data BLOB NOT NULL,
  tally BLOB NOT NULL, PRIMARY KEY (harness, session));
CREATE TABLE labels(harness TEXT NOT NULL, link TEXT NOT NULL, name TEXT NOT NULL,
  PRIMARY KEY (harness, link));
-- Sessions whose logs moved since their growth was last recorded (agent '' = none).
CREATE TABLE dirty(harness TEXT NOT NULL, session TEXT NOT NULL, agent TEXT NOT NULL,
  first_ts TEXT, last_ts TEXT, PRIMARY KEY (harness, session, agent));
-- Log directories as last listed: their entries, NUL-separated (see readers/listings.py).
CREATE TABLE listings(dir TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, names TEXT NOT NULL);
"""
# Secondary indexes over record rows: dropped during a bulk load, built once after it.
INDEX_DDL = (
    "CREATE INDEX records_persona ON records(persona, started_at)",
    "CREATE INDEX records_started ON records(started_at)",
    "CREATE INDEX records_version ON records(version)",
    "CREATE INDEX sessions_seq ON sessions(seq)",
    "CREATE INDEX sessions_id ON sessions(session_id)",
    "CREATE INDEX usage_seq ON usage(seq)",
    "CREATE INDEX usage_model ON usage(model)",
    "CREATE INDEX tags_seq ON tags(seq)",
    "CREATE INDEX tags_kv ON tags(key, value)",
    "CREATE INDEX records_harness_agent ON records(harness, agent)",
    "CREATE INDEX records_launch ON records(launch_id)",
    "CREATE INDEX records_parent ON records(parent)",  # (budgets: a wrapper launch's children)
    "CREATE INDEX usage_session ON usage(session)",
    "CREATE INDEX attributions_commit ON attributions(commit_sha)",
    "CREATE INDEX attributions_launch ON attributions(launch_id)",
)
INGEST_TABLES = ("cursors", "responses", "labels", "dirty")
CACHE_TABLES = ("listings",)  # carried into a rebuilt index one by one (each stands alone)
INDEXES = tuple(stmt.split()[2] for stmt in INDEX_DDL)
BULK_LOAD = 5000  # commits in one catch-up above which indexes are rebuilt after the load
FAST_JSON_FROM = 8  # commits in one catch-up from which orjson parses them


BUSY_TIMEOUT_S = 30.0  # how long a reader or writer waits for another's lock on the index
# SQLite's page, for an index built from now on (an older file keeps its own). 16 KB, not
# the default 4 KB: a cold ingest writes megabytes of session states and record bodies, and
# each page is a WAL frame with its header and checksum to write, then to copy back at the
# checkpoint (measured, 100k-line ingest: closing checkpoint 34 -> 25 ms, record rows
# 33 -> 29, states 14 -> 12; the file 9.0 -> 9.7 MB).
PAGE_SIZE = 16384


def _damage(e: sqlite3.DatabaseError, path: Path) -> str:
    """The reason to rebuild the index for `e`; raises instead when a rebuild is not the
    fix: the file is busy (another burn holds its lock: rebuilding would only wait too) or
    the query itself is wrong (a rebuild would not change it, and would cost seconds)."""
    name = getattr(e, "sqlite_errorname", None)
    if name is not None and name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        from burn.store.errors import BurnError

        raise BurnError(
            f"the index is busy ({e})", path=path, fix="another burn is writing it; run the command again"
        ) from e
    if name == "SQLITE_ERROR" and "no such table" not in str(e):
        raise e  # a mistake in the query, not damage to the file
    return str(e)


class Index:
    """Open with `Index(home)`, then `conn()` for a caught-up connection."""

    def __init__(self, index_path: Path, repo_path: Path) -> None:
        self.path = index_path
        self.repo_path = repo_path
        self._conn: sqlite3.Connection | None = None
        self._fresh = False  # building a new file: secondary indexes come at the end
        self.rebuilt_because: str | None = None

    # -- opening -----------------------------------------------------------------------

    def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read against a caught-up index; a corrupt file is rebuilt and the read
        retried once. `query` must finish its work (return a list, not a generator), so
        nothing is printed from a read that fails half-way."""
        try:
            return query(self.conn())
        except sqlite3.DatabaseError as e:
            self._reset(f"corrupt ({_damage(e, self.path)})")
            return query(self.conn())

    def conn(self) -> sqlite3.Connection:
        """A connection that has caught up with every ref tip; rebuilds when needed."""
        if self._conn is None:
            self._conn = self._open()
        try:
            self.catch_up()
        except sqlite3.DatabaseError as e:
            self._reset(f"unreadable ({_damage(e, self.path)})")
        return self._conn

    def _open(self) -> sqlite3.Connection:
        """Open the index; build it afresh when missing, corrupt or of another schema."""
        if self.path.exists():
            try:
                conn = self._connect()
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == SCHEMA_VERSION:
                    return conn
                conn.close()
                self.rebuilt_because = f"schema {version}, expected {SCHEMA_VERSION}"
            except sqlite3.DatabaseError as e:
                self.rebuilt_because = f"corrupt ({e})"
        return self._build()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _build(self) -> sqlite3.Connection:
        """Build a whole index in a private file, then move it into place.

        No journal and secondary indexes made once at the end: a rebuild writes each
        page once instead of through the WAL and every index on every insert.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(f"{self.path}.{os.getpid()}.build")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp, isolation_level=None)
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.executescript(f"BEGIN; {TABLES}; COMMIT;")  # (one transaction, not one a table)
        self._conn, self._fresh = conn, True
        try:
            self.catch_up()
            conn.execute("BEGIN")
            for stmt in INDEX_DDL:
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
            self._keep_ingest_state(conn)
            conn.execute("PRAGMA journal_mode=WAL")  # (kept by the file: opening it is then quicker)
        finally:
            self._fresh = False
            conn.close()
        for suffix in ("-wal", "-shm", "-journal"):  # they belong to the file being replaced
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        os.replace(tmp, self.path)
        return self._connect()

    def _keep_ingest_state(self, conn: sqlite3.Connection) -> None:
        """Carry what the logs said (cursors, responses seen, agent names) into the new
        file when the old one can still be read, so a rebuild does not mean re-reading
        every log. Losing it is safe (records are always summed from the ledger), only slow."""
        if not self.path.exists():
            return
        try:
            conn.execute("ATTACH DATABASE ? AS old", (str(self.path),))
        except sqlite3.DatabaseError:
            return
        try:
            # All of it or none: cursors carried without the responses they read would
            # leave those responses unknown (an older schema kept them in another table).
            def ddl(db: str, table: str) -> Any:
                return conn.execute(f"SELECT sql FROM {db}.sqlite_master WHERE name = ?", (table,)).fetchone()

            if all(ddl("old", table) == ddl("main", table) for table in INGEST_TABLES):
                for table in INGEST_TABLES:
                    conn.execute(f"INSERT OR IGNORE INTO main.{table} SELECT * FROM old.{table}")
            for table in CACHE_TABLES:
                if ddl("old", table) == ddl("main", table):
                    conn.execute(f"INSERT OR IGNORE INTO main.{table} SELECT * FROM old.{table}")
        except sqlite3.DatabaseError:
            pass  # damaged: the logs will be read again
        finally:
            conn.execute("DETACH DATABASE old")

    def _reset(self, why: str) -> None:
        if self._conn is not None:
            self._conn.close()
        self.rebuilt_because = why
        self._conn = self._build()

    def rebuild(self) -> int:
        """Rebuild the index from the refs alone; return the number of records."""
        self._reset("asked")
        assert self._conn is not None
        count: int = self._conn.execute("SELECT count(*) FROM records").fetchone()[0]
        return count

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- catching up -------------------------------------------------------------------

    def current_tips(self) -> dict[str, str]:
        tips = {k: v.decode() for k, v in list_refs(self.repo_path, RECORDS_PREFIX).items()}
        personas = read_ref(self.repo_path, PERSONAS_REF)
        if personas:
            tips[PERSONAS_REF] = personas.decode()
        return tips

    def catch_up(self) -> int:
        """Index every commit added since the tips last seen; return how many records."""
        assert self._conn is not None
        conn = self._conn
        tips = self.current_tips()
        if dict(conn.execute("SELECT ref, sha FROM tips").fetchall()) == tips:
            return 0  # the common case: nothing new, and no dulwich import
        added = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            seen = dict(conn.execute("SELECT ref, sha FROM tips").fetchall())
            if not seen and not self._fresh:  # nothing indexed yet: the bulk build is faster
                conn.execute("ROLLBACK")
                self._reset("first build")
                return 0
            if set(seen) - set(tips):  # a ref vanished: only a rebuild is honest
                conn.execute("ROLLBACK")
                self._reset("a ref disappeared")
                return 0
            for ref, sha in sorted(tips.items()):
                if seen.get(ref) == sha:
                    continue
                chain = walk_first_parent(self.repo_path, sha, seen.get(ref))
                if chain is None:  # old tip not an ancestor: history was rewritten
                    conn.execute("ROLLBACK")
                    self._reset(f"{ref} was rewritten")
                    return 0
                if ref == PERSONAS_REF:
                    self._add_versions(chain)
                else:
                    added += self._add_records(ref, chain)
                conn.execute("INSERT OR REPLACE INTO tips(ref, sha) VALUES (?, ?)", (ref, sha))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return added

    def add_appended(
        self,
        ref: str,
        old: str | None,
        chain: list[tuple[str, int, bytes]],
        bodies: list[dict[str, Any]] | None = None,
    ) -> None:
        """Index records this process has just appended to `ref` (its tip moved from `old`
        to the last commit of `chain`) without reading them back from git. Only when the
        index had caught up exactly to `old` on that ref; otherwise (not open here, or
        another process indexed or appended meanwhile) the next catch-up reads them.
        `bodies`: what the commits were made from (see record_rows)."""
        if chain and self.stage_appended(ref, old, record_rows(ref, chain, bodies)):
            self.commit_appended(ref, chain[-1][0])

    def stage_appended(self, ref: str, old: str | None, rows: RecordRows) -> bool:
        """`add_appended` in two halves, for an append that moves its ref only once its
        objects are on disk: the rows go in now (while the objects are written), in a
        transaction left open until `commit_appended` (once the ref moved) or
        `drop_appended` (it did not), so the index never holds a record the ledger lacks.
        False when nothing was staged (see add_appended)."""
        conn = self._conn
        if conn is None:
            return False
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT sha FROM tips WHERE ref = ?", (ref,)).fetchone()
            if (row[0] if row else None) == old:
                self._insert_rows(rows)
                return True
            conn.execute("ROLLBACK")
        except BaseException as e:
            self.drop_appended()
            if not isinstance(e, sqlite3.DatabaseError):
                raise  # (a database error is not the append's: a catch-up finds the records)
        return False

    def commit_appended(self, ref: str, tip: str) -> None:
        """The staged rows land, with `ref`'s new tip."""
        conn = self._conn
        assert conn is not None and conn.in_transaction
        try:
            conn.execute("INSERT OR REPLACE INTO tips(ref, sha) VALUES (?, ?)", (ref, tip))
            conn.execute("COMMIT")
        except BaseException as e:
            self.drop_appended()
            if not isinstance(e, sqlite3.DatabaseError):
                raise

    def drop_appended(self) -> None:
        """Forget staged rows, if any."""
        conn = self._conn
        if conn is not None and conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.DatabaseError:
                pass  # (rolled back by SQLite itself already)

    def _add_versions(self, chain: list[tuple[str, int, bytes]]) -> None:
        from burn.store.objects import parse_trailers

        assert self._conn is not None
        for _sha, when, message in chain:
            t = parse_trailers(message.decode("utf-8", "replace"))
            if "Burn-Version" not in t:
                continue
            self._conn.execute(
                "INSERT OR IGNORE INTO versions VALUES (?, ?, ?, ?, ?)",
                (
                    t["Burn-Version"],
                    t.get("Burn-Sha256", ""),
                    t.get("Burn-Persona"),
                    t.get("Burn-Source"),
                    when,
                ),
            )

    def _add_records(self, ref: str, chain: list[tuple[str, int, bytes]]) -> int:
        return self._insert_rows(record_rows(ref, chain))

    def _insert_rows(self, rows: RecordRows) -> int:
        """Insert records' rows (numbered after the last record indexed); a long chain
        loads without secondary indexes first."""
        assert self._conn is not None
        c = self._conn
        records, bodies, sessions, usage, tags, problems, claims = rows
        bulk = len(records) >= BULK_LOAD and not self._fresh
        if bulk:
            for name in INDEXES:
                c.execute(f"DROP INDEX IF EXISTS {name}")
        base = c.execute("SELECT coalesce(max(seq), 0) FROM records").fetchone()[0]
        if base:  # (rows are numbered from 1)
            tables = (records, bodies, sessions, usage, tags, claims)
            records, bodies, sessions, usage, tags, claims = (_renumber(t, base) for t in tables)
        c.executemany(f"INSERT INTO records VALUES ({', '.join('?' * 22)})", records)
        c.executemany("INSERT INTO bodies VALUES (?, ?)", bodies)
        c.executemany("INSERT INTO sessions VALUES (?, ?)", sessions)
        c.executemany("INSERT INTO usage VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", usage)
        c.executemany("INSERT INTO tags VALUES (?, ?, ?)", tags)
        c.executemany("INSERT INTO problems VALUES (?, ?, ?)", problems)
        c.executemany("INSERT INTO attributions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", claims)
        if bulk:
            for stmt in INDEX_DDL:
                c.execute(stmt)
        return len(records)

    def problems(self) -> list[tuple[str, str, str]]:
        return self.read(lambda c: c.execute("SELECT ref, sha, reason FROM problems").fetchall())


def _renumber(rows: Rows, base: int) -> Rows:
    return [(r[0] + base, *r[1:]) for r in rows]


def record_rows(
    ref: str, chain: list[tuple[str, int, bytes]], bodies: list[dict[str, Any]] | None = None
) -> RecordRows:
    """The rows of every table a chain of record commits goes into, numbered from 1
    (`Index._insert_rows` numbers them after what is indexed). Plain Python, no database:
    an append makes them while its pack is written (see Ledger.append_many).

    `bodies`: the record bodies the commits were made from (record.make_body, then
    commit_message), in their order; their rows are then made from them instead of from
    parsing the commits back. The same rows: a commit keeps its body's keys in their
    order, and its time is the body's start."""
    loads: Any
    dumps: Any
    if len(chain) >= FAST_JSON_FROM:
        import orjson

        loads, dumps = orjson.loads, lambda rec: orjson.dumps(rec).decode()
    else:  # (a launch's one record: importing orjson would cost more than parsing it)
        import json

        loads, dumps = json.loads, lambda rec: json.dumps(rec, separators=(",", ":"), ensure_ascii=False)
    from .record import iso_to_epoch, public, read_record

    records, texts, sessions, usage, tags, problems = [], [], [], [], [], []
    claims: list[tuple[object, ...]] = []
    seq = 0
    for i, (sha, when, message) in enumerate(chain):
        try:
            if bodies is None:
                rec, started, ended = read_record(message, sha, loads)
            else:  # (checked by make_body; `when` is its start, see Ledger.append_many)
                rec, started = public(bodies[i], sha), when
                ended = iso_to_epoch(rec["ended_at"]) if rec["ended_at"] is not None else None
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            problems.append((ref, sha, str(e)))
            continue
        seq += 1
        records.append(
            (
                seq, sha, ref, rec["persona"], rec["version"], rec["source"], rec["harness"],
                rec["host"], started, ended, rec["duration_ms"], rec["exit_code"], rec["parent"],
                rec["cost_micros"], rec["total_tokens"], rec["fidelity"], rec.get("repo"),
                ",".join(rec["models"]), rec.get("kind"), rec.get("agent"), rec["pricing"],
                rec.get("launch_id"),
            )
        )  # fmt: skip
        texts.append((seq, dumps(rec)))
        sessions += [(seq, s) for s in rec["sessions"]]
        # Whose usage a row is: its own session/agent when the record spans several
        # (a launch), else the record's.
        own = (rec["sessions"][0] if len(rec["sessions"]) == 1 else None, rec.get("agent"))
        for r in rec["by_model"]:
            whose = (r["session"], r.get("agent")) if "session" in r else own
            kinds = map(r["usage"].get, TOKEN_KINDS)  # (map: a generator costs 8 ms a 1,440)
            usage.append((seq, r["model"], r.get("tier"), r.get("granularity"), *kinds, *whose))
        tags += [(seq, k, v) for k, v in rec["tags"].items()]
        if rec.get("kind") == "attribution":
            claims += attribution_rows(seq, rec, started)
    return records, texts, sessions, usage, tags, problems, claims


def attribution_rows(seq: int, rec: dict, when: int) -> list[tuple[object, ...]]:
    """The `attributions` rows of a kind=attribution record: one per launch it claimed."""
    out: list[tuple[object, ...]] = []
    for launch in rec.get("launches") or []:
        if isinstance(launch, dict):
            cost = launch.get("cost_micros")
            out.append(
                (
                    seq, rec.get("repo"), rec.get("commit"), launch.get("launch_id"), launch.get("record"),
                    who(launch), cost if isinstance(cost, int) else None, rec.get("mode"), when,
                )
            )  # fmt: skip
    return out


def who(launch: dict) -> str | None:
    """`persona@short` of a launch an attribution names."""
    persona, version = launch.get("persona"), launch.get("version")
    if not isinstance(persona, str):
        return None
    return persona + (f"@{version[3:15]}" if isinstance(version, str) else "")
