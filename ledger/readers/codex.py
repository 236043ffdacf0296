"""Codex CLI rollouts: `sessions/**/rollout-*.jsonl` (and `archived_sessions/`, where Codex
moves archived ones) under CODEX_HOME (default ~/.codex).

The format (openai/codex, `codex-rs/protocol`: `RolloutLine`, `RolloutItem`) is one JSON
object a line, `{"timestamp": "…Z", "type": KIND, "payload": {…}}`:

- `session_meta`: `{id, forked_from_id?, timestamp, cwd, originator, cli_version, source,
  model_provider, …}`; `source` is `"cli"`, `"exec"`, … or, for a thread Codex spawned
  itself, `{"subagent": {"thread_spawn": {parent_thread_id, depth, agent_role, …}}}`;
- `turn_context`: `{turn_id?, cwd, model, effort, …}` at the start of every turn;
- `event_msg`: an `EventMsg` tagged by `payload.type`; `token_count` carries
  `info: {total_token_usage, last_token_usage, model_context_window} | null`, each usage
  `{input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens}`;
- `response_item`, `compacted`: conversation items, no usage.

What is spend (see also ryoppippi/ccusage `apps/codex`, and the fork-replay reports there):
- `total_token_usage` is cumulative per thread; a response's usage is the difference from
  the previous total. Codex re-emits `token_count` with an unchanged total (rate-limit
  refreshes), so a zero difference is no event; a total that steps back a little is a
  stale, out-of-order snapshot (ignored), one that falls far is a counter restart (a new
  epoch, counted from zero);
- `input_tokens` includes cached input: burn's input is `input - cached`, cache reads are
  `cached`; `reasoning_output_tokens` are already inside `output_tokens`;
- a forked or spawned thread's file starts by replaying the parent's history, `token_count`
  lines included, and its own totals continue from the parent's. Those lines are the
  parent's spend: they only set the baseline, until the child's first own turn (a
  `turn_context`/`task_started` whose UUIDv7 `turn_id` is not older than the child's id;
  for ids without a time, a line stamped after the child's creation second);
- a spawned (subagent) thread's spend belongs to its root session, under its `agent_role`.

Incremental state lives in the cursor's `meta` (strings): the last cumulative total
(`prev`), the reset `epoch`, the replay flag and the thread's identity, so a read from a
cursor continues exactly where a full read would be. Event keys are
`<thread>:<epoch>:<cumulative input>:<cached>:<output>:<reasoning>`: deterministic, so a
re-read from 0 yields the same keys and the engine counts nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import Cursor, ReadResult, UsageEvent, env_root, find
from .lines import complete_lines, json_object, open_log, size_now, skip_with_detail

if TYPE_CHECKING:
    from .listings import Listings

HARNESS = "codex"
# Lines that can matter; every other line is skipped before any JSON parse.
NEEDLES = (b'"token_count"', b'"turn_context"', b'"session_meta"', b'"task_started"')
KNOWN_TYPES = ("session_meta", "turn_context", "event_msg", "response_item", "compacted")
MAX_META_LINE = 8 << 20  # a parent rollout's first line, read to follow a subagent to its root

Vec = tuple[int, int, int, int]  # cumulative input (incl. cached), cached input, output, reasoning


class UnknownType(ValueError):
    """A line of a kind this reader does not know."""


class CodexReader:
    harness = HARNESS

    def __init__(self) -> None:
        self._paths: dict[str, Path] | None = None  # thread id -> rollout path (for subagent roots)
        self._roots: dict[str, str] = {}
        self.unreadable: list[str] = []
        self.listings: Listings | None = None  # (see Reader.listings)

    def roots(self) -> list[Path]:
        return [env_root("CODEX_HOME", "~/.codex")]

    def files(self, root: Path) -> Iterator[Path]:
        for sub in ("sessions", "archived_sessions"):
            yield from find(root / sub, _is_rollout, self.unreadable, self.listings)

    def read(self, path: str | Path, cursor: Cursor) -> ReadResult:
        path = Path(path)
        result = ReadResult(cursor=Cursor(cursor.inode, cursor.size, cursor.offset, dict(cursor.meta)))
        begin = open_log(path, cursor, result)
        if begin is None:
            return result  # unreadable now: keep the old cursor, try again next run
        f, result.cursor.inode, offset = begin
        if offset == 0:
            result.cursor.meta = {}
        meta = result.cursor.meta
        with f:
            for lineno, line in complete_lines(f, path, offset, result):
                result.lines += 1
                if not any(n in line for n in NEEDLES):
                    continue
                obj = json_object(line, path, lineno, result)
                if obj is None:
                    continue
                try:
                    self._line(obj, path, meta, result)
                except UnknownType as e:
                    skip_with_detail(result, path, lineno, str(e), "unknown line type")
                except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
                    skip_with_detail(result, path, lineno, f"unexpected shape: {e}", "unexpected shape")
            result.cursor.size = size_now(f)
        return result

    # -- one line -------------------------------------------------------------------------

    def _line(self, obj: dict[str, Any], path: Path, meta: dict[str, str], result: ReadResult) -> None:
        kind = obj.get("type")
        payload = obj.get("payload")
        if kind not in KNOWN_TYPES:
            if "payload" not in obj:
                return  # a bare item of the pre-envelope format (2025 rollouts): no usage there
            raise UnknownType(f"unknown line type {kind!r}")
        if not isinstance(payload, dict):
            raise ValueError(f"{kind} without a payload object")
        ts = obj.get("timestamp")
        if isinstance(ts, str) and _seconds(ts) is not None:
            meta["ts"] = ts
        if kind == "session_meta":
            self._session_meta(payload, meta)
        elif kind == "turn_context":
            model = payload.get("model")
            if isinstance(model, str) and model:
                meta["model"] = model
            self._maybe_own_turn(payload.get("turn_id"), ts, meta)
        elif kind == "event_msg":
            sub = payload.get("type")
            if sub == "task_started":
                self._maybe_own_turn(payload.get("turn_id"), ts, meta)
            elif sub == "token_count":
                self._token_count(payload, path, meta, result)

    def _session_meta(self, payload: dict[str, Any], meta: dict[str, str]) -> None:
        if "thread" in meta:
            return  # a parent's metadata replayed into a fork: not this thread's
        thread = payload.get("id")
        if not isinstance(thread, str) or not thread:
            raise ValueError("session_meta without an id")
        meta["thread"] = thread
        cwd = payload.get("cwd")
        if isinstance(cwd, str):
            meta["cwd"] = cwd
        born = _uuid7_ms(thread)
        if born is None:
            born = _millis(payload.get("timestamp")) or _millis(meta.get("ts"))
        if born is not None:
            meta["born"] = str(born)
        parent = _spawn_parent(payload.get("source"))
        forked = payload.get("forked_from_id")
        if born is not None and (parent or (isinstance(forked, str) and forked)):
            meta["replay"] = "1"  # without a creation time the replay's end is unknowable
        if parent:
            meta["session"] = self._root_of(parent)
            role = _spawn_role(payload.get("source"))
            if role:
                meta["agent"] = role

    def _maybe_own_turn(self, turn_id: Any, ts: Any, meta: dict[str, str]) -> None:
        """End a fork's replayed prefix at the child's first own turn."""
        if "replay" not in meta or "born" not in meta:
            return
        born = int(meta["born"])
        turn_ms = _uuid7_ms(turn_id) if isinstance(turn_id, str) else None
        if turn_ms is not None:
            own = turn_ms >= born
        else:  # no time in the id: a line stamped after the creation second is the child's
            sec = _seconds(ts) if isinstance(ts, str) else None
            own = sec is not None and sec > born // 1000
        if own:
            del meta["replay"]

    def _token_count(
        self, payload: dict[str, Any], path: Path, meta: dict[str, str], result: ReadResult
    ) -> None:
        info = payload.get("info")
        if info is None:
            return  # a rate-limit refresh: no usage
        if not isinstance(info, dict):
            raise ValueError("token_count info is not an object")
        prev = _parse_vec(meta.get("prev"))
        last = info.get("last_token_usage")
        total = info.get("total_token_usage")
        if total is not None:
            cur = _vec(total)
        elif last is not None:  # no cumulative total: the last response adds to the running one
            cur = _add(prev, _vec(last))
        else:
            raise ValueError("token_count without total_token_usage or last_token_usage")
        if "replay" in meta:
            meta["prev"] = _fmt(cur)  # the parent's spend: only the baseline the child continues
            return
        epoch = int(meta.get("epoch", "0"))
        if all(c >= p for c, p in zip(cur, prev, strict=True)):
            delta = tuple(c - p for c, p in zip(cur, prev, strict=True))
        else:
            now, before = cur[0] + cur[2], prev[0] + prev[2]
            step = _vec(last)[0] + _vec(last)[2] if isinstance(last, dict) else 0
            if now * 100 >= before * 98 or now + 2 * step >= before:
                return  # a stale snapshot arriving out of order: the counter resumes above it
            epoch += 1  # the counter restarted: this total counts from zero
            meta["epoch"] = str(epoch)
            delta = cur
        meta["prev"] = _fmt(cur)
        if not any(delta):
            return  # a repeated report of the same total
        d_in, d_cached, d_out, d_reason = delta
        cached = min(d_cached, d_in)
        thread = meta.get("thread") or _thread_from_name(path)
        ts = meta.get("ts")
        if ts is None:
            raise ValueError("token_count without a timestamp")
        result.events.append(
            UsageEvent(
                harness=HARNESS,
                session=meta.get("session") or thread,
                key=f"{thread}:{epoch}:{_fmt(cur).replace(',', ':')}",
                timestamp=_utc(ts),
                model=meta.get("model"),
                usage={
                    "input_tokens": d_in - cached,
                    "output_tokens": d_out,
                    "cache_read_tokens": cached,
                    # OpenAI bills no cache writes (caching is automatic and writing costs
                    # nothing extra), so zero is the true billed amount, not an unknown.
                    "cache_write_5m_tokens": 0,
                    "cache_write_1h_tokens": 0,
                    "reasoning_tokens": d_reason,  # already inside output_tokens
                },
                granularity="per-turn",
                agent=meta.get("agent"),
                cwd=meta.get("cwd"),
            )
        )
        agent = meta.get("agent")
        if agent:
            result.labels[agent] = agent

    # -- subagent roots -------------------------------------------------------------------

    def _root_of(self, thread: str) -> str:
        """The root session of a spawned thread (its parents' rollouts name theirs)."""
        if thread in self._roots:
            return self._roots[thread]
        root, seen = thread, {thread}
        for _ in range(16):
            parent = self._parent_of(root)
            if parent is None or parent in seen:
                break
            seen.add(parent)
            root = parent
        self._roots[thread] = root
        return root

    def _parent_of(self, thread: str) -> str | None:
        import orjson

        if self._paths is None:
            self._paths = {}
            for base in self.roots():
                try:
                    for p in self.files(base):
                        self._paths.setdefault(_thread_from_name(p), p)
                except OSError:
                    pass
        path = self._paths.get(thread)
        if path is None:
            return None
        try:
            with path.open("rb") as f:
                first = f.readline(MAX_META_LINE)
            obj = orjson.loads(first)
        except (OSError, orjson.JSONDecodeError):
            return None
        payload = obj.get("payload") if isinstance(obj, dict) else None
        if not isinstance(payload, dict) or obj.get("type") != "session_meta":
            return None
        return _spawn_parent(payload.get("source"))


def _is_rollout(name: str) -> bool:
    return name.startswith("rollout-") and name.endswith(".jsonl")


def _spawn(source: Any) -> dict[str, Any] | None:
    if isinstance(source, dict):
        sub = source.get("subagent")
        if isinstance(sub, dict):
            spawn = sub.get("thread_spawn")
            if isinstance(spawn, dict):
                return spawn
    return None


def _spawn_parent(source: Any) -> str | None:
    spawn = _spawn(source)
    parent = spawn.get("parent_thread_id") if spawn else None
    return parent if isinstance(parent, str) and parent else None


def _spawn_role(source: Any) -> str | None:
    spawn = _spawn(source)
    role = spawn.get("agent_role") if spawn else None
    return role if isinstance(role, str) and role else None


def _count(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"token count {value!r} is not a non-negative integer")
    return value


def _vec(usage: Any) -> Vec:
    if not isinstance(usage, dict):
        raise ValueError("token usage is not an object")
    cached = usage.get("cached_input_tokens")
    if cached is None:
        cached = usage.get("cache_read_input_tokens")
    return (
        _count(usage.get("input_tokens")),
        _count(cached),
        _count(usage.get("output_tokens")),
        _count(usage.get("reasoning_output_tokens")),
    )


def _add(a: Vec, b: Vec) -> Vec:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def _fmt(v: Vec) -> str:
    return ",".join(str(x) for x in v)


def _parse_vec(text: str | None) -> Vec:
    if text:
        parts = text.split(",")
        if len(parts) == 4 and all(p.isdigit() for p in parts):
            return (int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3]))
    return (0, 0, 0, 0)


def _uuid7_ms(value: Any) -> int | None:
    """The millisecond timestamp of a version-7 UUID, else None."""
    if not isinstance(value, str) or len(value) != 36 or value[14] != "7":
        return None
    hexpart = value[:8] + value[9:13]
    try:
        return int(hexpart, 16)
    except ValueError:
        return None


def _thread_from_name(path: Path) -> str:
    """`rollout-2025-09-11T18-25-30-<uuid>.jsonl` -> `<uuid>` (else the file's stem)."""
    stem = path.stem
    tail = stem[-36:]
    return tail if len(stem) > 36 and tail.count("-") == 4 else stem


def _when(ts: str) -> datetime | None:
    """An ISO-8601 timestamp as an aware datetime (naive ones are UTC), else None."""
    if len(ts) < 19 or ts[10] != "T":
        return None
    try:
        when = datetime.fromisoformat(ts[:-1] + "+00:00" if ts.endswith("Z") else ts)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _utc(ts: str) -> str:
    """`2026-11-23T10:00:00.123Z` -> `2026-11-23T10:00:00Z` (seconds are enough)."""
    when = _when(ts)
    if when is None:
        raise ValueError(f"bad timestamp {ts!r}")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(ts: str) -> int | None:
    when = _when(ts)
    return None if when is None else int(when.timestamp())


def _millis(ts: Any) -> int | None:
    sec = _seconds(ts) if isinstance(ts, str) else None
    return None if sec is None else sec * 1000
