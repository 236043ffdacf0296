"""The derived SQLite index: records, sessions, usage rows, tags, persona versions.

Never synced, never the source of truth. Every read first catches up from the ref tips it
last saw; a missing, corrupt or older-schema file is rebuilt from the refs alone.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from burn.store.gitrepo import list_refs, read_ref
from burn.store.objects import PERSONAS_REF, parse_trailers

from .record import iso_to_epoch, load_record
from .usage import TOKEN_KINDS

T = TypeVar("T")

SCHEMA_VERSION = 1
RECORDS_PREFIX = "refs/burn/records/"

DDL = """
CREATE TABLE records(
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ref TEXT NOT NULL,
  persona TEXT, version TEXT, source TEXT, harness TEXT, host TEXT,
  started_at INTEGER, ended_at INTEGER, duration_ms INTEGER, exit_code INTEGER,
  parent TEXT, cost_micros INTEGER, total_tokens INTEGER, fidelity TEXT, repo TEXT,
  models TEXT, json TEXT NOT NULL);
CREATE INDEX records_persona ON records(persona, started_at);
CREATE INDEX records_started ON records(started_at);
CREATE INDEX records_version ON records(version);
CREATE TABLE sessions(seq INTEGER NOT NULL, session_id TEXT NOT NULL);
CREATE INDEX sessions_id ON sessions(session_id);
CREATE TABLE usage(seq INTEGER NOT NULL, model TEXT NOT NULL, tier TEXT, granularity TEXT,
  input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER,
  cache_write_5m_tokens INTEGER, cache_write_1h_tokens INTEGER, reasoning_tokens INTEGER);
CREATE INDEX usage_seq ON usage(seq);
CREATE INDEX usage_model ON usage(model);
CREATE TABLE tags(seq INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX tags_kv ON tags(key, value);
CREATE TABLE versions(b3 TEXT PRIMARY KEY, sha256 TEXT NOT NULL, name TEXT, source TEXT,
  stored_at INTEGER);
CREATE INDEX versions_sha ON versions(sha256);
CREATE TABLE tips(ref TEXT PRIMARY KEY, sha TEXT NOT NULL);
CREATE TABLE problems(ref TEXT, sha TEXT, reason TEXT);
CREATE TABLE attributions(seq INTEGER NOT NULL, repo TEXT, commit_sha TEXT);
"""


class Index:
    """Open with `Index(home)`, then `conn()` for a caught-up connection."""

    def __init__(self, index_path: Path, repo_path: Path) -> None:
        self.path = index_path
        self.repo_path = repo_path
        self._conn: sqlite3.Connection | None = None
        self._repo: Any = None
        self.rebuilt_because: str | None = None

    # -- opening -----------------------------------------------------------------------

    def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read against a caught-up index; a corrupt file is rebuilt and the read
        retried once. `query` must finish its work (return a list, not a generator), so
        nothing is printed from a read that fails half-way."""
        try:
            return query(self.conn())
        except sqlite3.DatabaseError as e:
            self._reset(f"corrupt ({e})")
            return query(self.conn())

    def conn(self) -> sqlite3.Connection:
        """A connection that has caught up with every ref tip; rebuilds when needed."""
        if self._conn is None:
            self._conn = self._open()
        try:
            self.catch_up()
        except sqlite3.DatabaseError as e:
            self._reset(f"unreadable ({e})")
            self.catch_up()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        fresh = not self.path.exists()
        try:
            conn = self._connect()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            self._delete_files()
            self.rebuilt_because = f"corrupt ({e})"
            conn = self._connect()
            version = 0
        if version != SCHEMA_VERSION:
            if not fresh and self.rebuilt_because is None:
                self.rebuilt_because = f"schema {version}, expected {SCHEMA_VERSION}"
            conn.close()
            self._delete_files()
            conn = self._connect()
            with conn:
                conn.executescript(DDL)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return conn

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _delete_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(self.path) + suffix).unlink()

    def _reset(self, why: str) -> None:
        if self._conn is not None:
            self._conn.close()
        self._delete_files()
        self.rebuilt_because = why
        self._conn = self._open()

    def rebuild(self) -> int:
        """Drop the index and rebuild it from the refs; return the number of records."""
        self._reset("asked")
        self.catch_up()
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
            if set(seen) - set(tips):  # a ref vanished: only a rebuild is honest
                conn.execute("ROLLBACK")
                self._reset("a ref disappeared")
                return self.catch_up()
            for ref, sha in sorted(tips.items()):
                if seen.get(ref) == sha:
                    continue
                chain = self._walk(sha, seen.get(ref))
                if chain is None:  # old tip not an ancestor: history was rewritten
                    conn.execute("ROLLBACK")
                    self._reset(f"{ref} was rewritten")
                    return self.catch_up()
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

    def _raw(self) -> Any:
        if self._repo is None:
            from burn.store.gitrepo import open_repo

            self._repo = open_repo(self.repo_path, create=False)
        return self._repo.object_store

    def _walk(self, tip: str, stop: str | None) -> list[tuple[str, int, bytes]] | None:
        """(sha, author time, message) from just after `stop` up to `tip`, oldest first."""
        store = self._raw()
        out: list[tuple[str, int, bytes]] = []
        sha: str | None = tip
        while sha and sha != stop:
            _type, raw = store.get_raw(sha.encode())
            headers, _, message = raw.partition(b"\n\n")
            parent = None
            when = 0
            for line in headers.split(b"\n"):
                if line.startswith(b"parent ") and parent is None:
                    parent = line[7:47].decode()
                elif line.startswith(b"author "):
                    when = int(line.rsplit(b" ", 2)[-2])
            out.append((sha, when, message))
            sha = parent
        if stop is not None and sha != stop:
            return None
        out.reverse()
        return out

    def _add_versions(self, chain: list[tuple[str, int, bytes]]) -> None:
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
        assert self._conn is not None
        c = self._conn
        added = 0
        for sha, _when, message in chain:
            try:
                rec = load_record(message, sha)
                started = iso_to_epoch(rec["started_at"])
                ended = iso_to_epoch(rec["ended_at"]) if rec["ended_at"] else None
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                c.execute("INSERT INTO problems VALUES (?, ?, ?)", (ref, sha, str(e)))
                continue
            cur = c.execute(
                "INSERT OR IGNORE INTO records(id, ref, persona, version, source, harness, host,"
                " started_at, ended_at, duration_ms, exit_code, parent, cost_micros, total_tokens,"
                " fidelity, repo, models, json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    sha,
                    ref,
                    rec["persona"],
                    rec["version"],
                    rec["source"],
                    rec["harness"],
                    rec["host"],
                    started,
                    ended,
                    rec["duration_ms"],
                    rec["exit_code"],
                    rec["parent"],
                    rec["cost_micros"],
                    rec["total_tokens"],
                    rec["fidelity"],
                    rec.get("repo"),
                    ",".join(rec["models"]),
                    json.dumps(rec, ensure_ascii=False, separators=(",", ":")),
                ),
            )
            if not cur.rowcount:
                continue
            seq = cur.lastrowid
            added += 1
            c.executemany("INSERT INTO sessions VALUES (?, ?)", [(seq, s) for s in rec["sessions"]])
            c.executemany(
                "INSERT INTO usage VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        seq,
                        r["model"],
                        r.get("tier"),
                        r.get("granularity"),
                        *(r["usage"].get(k) for k in TOKEN_KINDS),
                    )
                    for r in rec["by_model"]
                ],
            )
            c.executemany("INSERT INTO tags VALUES (?, ?, ?)", [(seq, k, v) for k, v in rec["tags"].items()])
        return added

    def problems(self) -> list[tuple[str, str, str]]:
        return self.read(lambda c: c.execute("SELECT ref, sha, reason FROM problems").fetchall())
