"""OpenCode: its data dir is OPENCODE_DATA_DIR, else `$XDG_DATA_HOME/opencode`, else
~/.local/share/opencode. Two stores (sst/opencode `packages/opencode/src/session`), read both:

- legacy JSON storage: `storage/message/<sessionID>/<messageID>.json`, one message each;
  `storage/part/<messageID>/<partID>.json` its parts; `storage/session/<projectID>/<id>.json`
  the sessions (`parentID` names a subagent session's parent);
- `opencode.db` (and `opencode-<channel>.db`), SQLite: `message(id, session_id,
  time_created, time_updated, data)`, `part(id, message_id, session_id, time_created,
  time_updated, data)`, `session(id, parent_id, …)`; `data` is the same JSON as a file's,
  without its ids. OpenCode moved the JSON storage into the db (same ids), so a message can
  be in both: its key is its id either way and the engine counts it once.

An assistant message (`MessageV2.Assistant`) is `{role: "assistant", time: {created,
completed?}, modelID, providerID, mode, agent, path: {cwd, root}, cost, tokens: {input,
output, reasoning, cache: {read, write}}, …}`. Quirks that decide what is spend:
- OpenCode overwrites `tokens` with each step's usage but adds up `cost`; a message that ran
  several model steps says the last step's tokens only. Each step's usage is also kept in
  its `step-finish` part, so when a message has those parts their sum is its usage;
- `tokens.input` is already input not served from cache (OpenCode subtracts cached input
  for providers that include it), cache writes are 5-minute writes (OpenCode marks cache
  breakpoints `ephemeral` with the default TTL), `reasoning` is kept as OpenCode reports it;
- `cost` is OpenCode's own price: kept as a reported cost, exactly (decimal micro-USD,
  half-up). OpenCode writes 0 both for free models and for models it has no price for, so
  a zero cost is not reported (unknown, left to burn's price table);
- a subagent runs in a child session: its spend is counted under the root session, with
  the subagent's `agent` name;
- a message still streaming has zero tokens: skipped until it has some.

Cursors: a legacy message file is a "file" of its own (offset = its size once consumed; a
changed size or inode means it is read again — it is small). For a db, `files()` yields
the db path and the cursor's `offset` is a high-water mark, the largest `time_updated`
(ms) of the message rows read, not a byte offset: each read asks for rows updated since
a little before it (writers' clocks and commit order can differ; a repeat is the same key
and changes nothing). The db is opened read-only (`mode=ro`) so a running OpenCode is
never disturbed; a locked db is counted and what was read is kept.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..usage import PROMPT_KINDS
from . import Cursor, ReadResult, UsageEvent, find_paths
from .lines import skip_with_detail

if TYPE_CHECKING:
    from .listings import Listings

HARNESS = "opencode"
MAX_JSON = 4 << 20  # a message's JSON is a few KB; anything bigger is not one
MAX_STEP = 256 << 10  # a step-finish part is a few hundred bytes: bigger parts are not read
LOCK_WAIT = 2.0  # seconds to wait on a writer's lock before counting it and moving on
MARGIN_MS = 5 * 60 * 1000  # db rows updated this long before the high-water mark are asked again


class OpenCodeReader:
    harness = HARNESS

    def __init__(self) -> None:
        self._parents: dict[Path, dict[str, str | None]] = {}  # data dir -> session -> parent
        self.unreadable: list[str] = []
        self.listings: Listings | None = None  # (see Reader.listings)

    def roots(self) -> list[Path]:
        own = os.environ.get("OPENCODE_DATA_DIR")
        if own:
            return [Path(own).expanduser()]
        xdg = os.environ.get("XDG_DATA_HOME")
        if xdg:
            return [Path(xdg).expanduser() / "opencode"]
        return [Path("~/.local/share/opencode").expanduser()]

    def files(self, root: Path) -> Iterator[Path | str]:
        # legacy files first, then the db: a message in both ends with the db's report
        base = root / "storage" / "message"  # <session>/<message>.json
        names = find_paths(base, lambda name: name.endswith(".json"), self.unreadable, self.listings)
        top = str(base)  # (strings: see find_paths)
        yield from (p for p in names if os.path.dirname(os.path.dirname(p)) == top)
        for db in [root / "opencode.db", *sorted(root.glob("opencode-*.db"))]:
            try:
                if db.is_file():
                    yield db
            except OSError:
                pass  # an unsearchable data dir: its storage/message was noted as unreadable

    def read(self, path: str | Path, cursor: Cursor) -> ReadResult:
        path = Path(path)
        if path.suffix == ".db":
            return self._read_db(path, cursor)
        return self._read_file(path, cursor)

    # -- legacy JSON storage ----------------------------------------------------------------

    def _read_file(self, path: Path, cursor: Cursor) -> ReadResult:
        import orjson

        result = ReadResult(cursor=Cursor(cursor.inode, cursor.size, cursor.offset, dict(cursor.meta)))
        try:
            st = os.stat(path)
            if st.st_size > MAX_JSON:
                skip_with_detail(result, path, 0, f"{st.st_size} bytes: not a message file", "file too large")
                result.cursor = Cursor(st.st_ino, st.st_size, st.st_size)
                return result
            with path.open("rb") as f:
                data = f.read(MAX_JSON + 1)
        except OSError as e:
            skip_with_detail(result, path, 0, f"unreadable: {e.strerror}", "unreadable file")
            return result  # keep the old cursor: try again next run
        result.lines = 1
        if not data.rstrip().endswith((b"}", b"]")):
            # half-written (OpenCode rewrites the file as a message grows): not consumed
            result.cursor = Cursor(st.st_ino, len(data), 0)
            return result
        done = Cursor(st.st_ino, len(data), len(data))
        if not (b'"assistant"' in data and b'"tokens"' in data):
            result.cursor = done  # a user message or other: nothing billed
            return result
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            skip_with_detail(result, path, 1, "malformed JSON", "malformed JSON")
            result.cursor = done
            return result
        result.cursor = done
        # <root>/storage/message/<session>/<message>.json
        root = path.parents[3] if len(path.parents) > 3 else path.parent
        try:
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            message_id = obj.get("id") or path.stem
            session = obj.get("sessionID") or path.parent.name
            steps = self._file_steps(root / "storage" / "part" / str(message_id))
            self._message(obj, str(message_id), str(session), steps, root, result)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            skip_with_detail(result, path, 1, f"unexpected shape: {e}", "unexpected shape")
        return result

    def _file_steps(self, part_dir: Path) -> list[dict[str, Any]]:
        import orjson

        steps = []
        try:
            names = sorted(part_dir.glob("*.json"))
        except OSError:
            return []
        for p in names:
            try:
                if p.stat().st_size > MAX_STEP:
                    continue  # tool output and the like: not a step-finish part
                data = p.read_bytes()
            except OSError:
                continue
            if b'"step-finish"' not in data:
                continue
            try:
                part = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(part, dict) and part.get("type") == "step-finish":
                steps.append(part)
        return steps

    # -- opencode.db ------------------------------------------------------------------------

    def _read_db(self, path: Path, cursor: Cursor) -> ReadResult:
        import orjson

        result = ReadResult(cursor=Cursor(cursor.inode, cursor.size, cursor.offset, dict(cursor.meta)))
        try:
            st = os.stat(path)
        except OSError as e:
            skip_with_detail(result, path, 0, f"unreadable: {e.strerror}", "unreadable file")
            return result
        mark = cursor.offset if st.st_ino == cursor.inode else 0  # another db: from the start
        high = mark
        try:
            conn = _connect(path)
        except sqlite3.Error as e:
            skip_with_detail(result, path, 0, f"cannot open: {e}", "unreadable database")
            return result
        try:
            rows = conn.execute(
                # data as bytes: a row that is not UTF-8 is one malformed row, not a failed query
                "SELECT id, session_id, time_updated, CAST(data AS BLOB) FROM message"
                " WHERE time_updated >= ? AND instr(data, '\"assistant\"') > 0"
                " AND instr(data, '\"tokens\"') > 0 ORDER BY time_updated, id",
                (max(0, mark - MARGIN_MS),),
            )
            for message_id, session, updated, data in rows:
                result.lines += 1
                where = f"message {message_id}"
                try:
                    obj = orjson.loads(data)
                except (orjson.JSONDecodeError, TypeError):
                    skip_with_detail(result, path, 0, f"{where}: malformed JSON", "malformed JSON")
                    continue
                try:
                    if not isinstance(obj, dict):
                        raise ValueError("not a JSON object")
                    steps = _db_steps(conn, message_id)
                    self._message(obj, str(message_id), str(session), steps, path.parent, result)
                except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
                    skip_with_detail(result, path, 0, f"{where}: unexpected shape: {e}", "unexpected shape")
                if isinstance(updated, int) and not isinstance(updated, bool):
                    high = max(high, updated)
        except sqlite3.OperationalError as e:
            text = str(e)
            locked = "locked" in text or "busy" in text
            reason = "database locked" if locked else "unexpected schema"
            skip_with_detail(result, path, 0, f"{text} (kept what was read)", reason)
        except sqlite3.DatabaseError as e:
            skip_with_detail(result, path, 0, f"not a readable database: {e}", "unreadable database")
        finally:
            conn.close()
        result.cursor = Cursor(st.st_ino, st.st_size, high, result.cursor.meta)
        return result

    # -- one message ------------------------------------------------------------------------

    def _message(
        self,
        obj: dict[str, Any],
        message_id: str,
        session: str,
        steps: list[dict[str, Any]],
        root: Path,
        result: ReadResult,
    ) -> None:
        if obj.get("role") != "assistant":
            return
        tokens = obj.get("tokens")
        if not isinstance(tokens, dict):
            raise ValueError("assistant message without tokens")
        request_prompt = None
        if steps:
            per_step = [_usage(step.get("tokens")) for step in steps]
            usage: dict[str, int | None] = {
                k: None if all(u[k] is None for u in per_step) else sum(u[k] or 0 for u in per_step)
                for k in per_step[0]
            }
            request_prompt = max(sum(u[k] or 0 for k in PROMPT_KINDS) for u in per_step)
        else:
            usage = _usage(tokens)
        if not any(usage.values()):
            return  # still streaming (or an error before any usage): nothing billed yet
        created = (obj.get("time") or {}).get("created")
        model = obj.get("modelID")
        agent = obj.get("agent") or obj.get("mode")
        cwd = (obj.get("path") or {}).get("cwd")
        result.events.append(
            UsageEvent(
                harness=HARNESS,
                session=self._root_session(root, session),
                key=message_id,
                timestamp=_utc_ms(created),
                model=model if isinstance(model, str) and model else None,
                usage=usage,
                granularity="per-message",
                agent=agent if isinstance(agent, str) and agent else None,
                cwd=cwd if isinstance(cwd, str) else None,
                cost_micros=_micros(obj.get("cost")),
                request_prompt=request_prompt,
            )
        )
        if isinstance(agent, str) and agent:
            result.labels[agent] = agent

    # -- sessions ---------------------------------------------------------------------------

    def _root_session(self, root: Path, session: str) -> str:
        parents = self._parents.get(root)
        if parents is None:
            parents = self._parents[root] = _load_parents(root)
        seen = {session}
        while True:
            parent = parents.get(session)
            if not parent or parent in seen or len(seen) > 64:
                return session
            seen.add(parent)
            session = parent


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=LOCK_WAIT)


def _db_steps(conn: sqlite3.Connection, message_id: Any) -> list[dict[str, Any]]:
    import orjson

    try:
        rows = conn.execute(
            "SELECT CAST(data AS BLOB) FROM part WHERE message_id = ?"
            " AND instr(data, '\"step-finish\"') > 0 ORDER BY id",
            (message_id,),
        ).fetchall()
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            raise
        return []  # no part table: the message's own tokens are all there is
    steps = []
    for (data,) in rows:
        try:
            part = orjson.loads(data)
        except (orjson.JSONDecodeError, TypeError):
            continue
        if isinstance(part, dict) and part.get("type") == "step-finish":
            steps.append(part)
    return steps


def _load_parents(root: Path) -> dict[str, str | None]:
    """session -> parent session, from the dbs (first) and the legacy session files."""
    import orjson

    parents: dict[str, str | None] = {}
    for db in [root / "opencode.db", *sorted(root.glob("opencode-*.db"))]:
        if not db.is_file():
            continue
        try:
            conn = _connect(db)
            try:
                for sid, parent in conn.execute("SELECT id, parent_id FROM session"):
                    if isinstance(sid, str):
                        parents.setdefault(sid, parent if isinstance(parent, str) else None)
            finally:
                conn.close()
        except sqlite3.Error:
            continue
    try:
        files = sorted((root / "storage" / "session").glob("*/*.json"))
    except OSError:
        files = []
    for p in files:
        if p.stem in parents:
            continue
        try:
            if p.stat().st_size > MAX_JSON:
                continue
            data = p.read_bytes()
        except OSError:
            continue
        parent = None
        if b'"parentID"' in data:
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            value = obj.get("parentID") if isinstance(obj, dict) else None
            parent = value if isinstance(value, str) and value else None
        parents[p.stem] = parent
    return parents


def _count(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"token count {value!r} is not a non-negative integer")
    return value


def _usage(tokens: Any) -> dict[str, int | None]:
    if not isinstance(tokens, dict):
        raise ValueError("tokens is not an object")
    cache = tokens.get("cache") or {}
    if not isinstance(cache, dict):
        raise ValueError("tokens.cache is not an object")
    return {
        "input_tokens": _count(tokens.get("input")),
        "output_tokens": _count(tokens.get("output")),
        "cache_read_tokens": _count(cache.get("read")),
        "cache_write_5m_tokens": _count(cache.get("write")),
        "cache_write_1h_tokens": 0,  # OpenCode's cache breakpoints use the default 5-minute TTL
        "reasoning_tokens": _count(tokens.get("reasoning")),
    }


def _micros(cost: Any) -> int | None:
    """OpenCode's reported cost in integer micro-USD, exactly; None when it reports none."""
    if isinstance(cost, bool) or not isinstance(cost, int | float):
        return None
    try:
        micros = (Decimal(str(cost)) * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None  # NaN or infinity
    if not micros.is_finite() or micros <= 0:
        return None  # zero means free or unpriced: OpenCode cannot tell, so neither can we
    return int(micros)


def _utc_ms(ms: Any) -> str:
    if isinstance(ms, bool) or not isinstance(ms, int | float) or ms != ms:
        raise ValueError(f"bad time.created {ms!r}")
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError) as e:
        raise ValueError(f"bad time.created {ms!r}") from e
