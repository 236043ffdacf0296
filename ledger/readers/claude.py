"""Claude Code transcripts: `projects/**/*.jsonl` under CLAUDE_CONFIG_DIR (default ~/.claude).

Quirks that decide what is spend:
- one API response is written as several lines sharing `message.id` (each but the last
  with a partial `output_tokens`): the key is the message id, and the last line wins;
- a sidechain replay of a parent message repeats its `message.id`: same key, not new spend;
- `<session>/subagents/agent-*.jsonl` are spend of the parent session (their lines carry
  the parent's `sessionId`); the agent type comes from the parent's Task call, linked by
  the hash of the prompt the subagent was started with;
- `<synthetic>` messages, summaries and tool results carry no usage.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from . import Cursor, ReadResult, UsageEvent, env_root, find
from .lines import line_batches, problem, start

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

HARNESS = "claude"


def prompt_link(prompt: str) -> str:
    import hashlib  # (here: most ingests, and a launch's last one, name no subagent prompt)

    return "prompt:" + hashlib.sha1(prompt.strip().encode()).hexdigest()[:16]


class ClaudeReader:
    harness = HARNESS

    def __init__(self) -> None:
        self.unreadable: list[str] = []

    def roots(self) -> list[Path]:
        import os

        env = os.environ.get("CLAUDE_CONFIG_DIR")
        if env:  # Claude Code (and ccusage) accept a comma-separated list
            return [Path(p).expanduser() for p in env.split(",") if p.strip()]
        return [env_root("CLAUDE_CONFIG_DIR", "~/.claude"), Path("~/.config/claude").expanduser()]

    def files(self, root: Path) -> Iterator[Path]:
        # sorted: `<session>.jsonl` comes before `<session>/subagents/...` ('.' < '/'),
        # so a Task call's agent name is known before its subagent's spend is read
        yield from find(root / "projects", lambda name: name.endswith(".jsonl"), self.unreadable)

    def prepare(self) -> None:
        """Import what reading needs (before a helper process is forked to read too)."""
        import orjson  # noqa: F401

        from . import claude_shape  # noqa: F401

    def read(self, path: Path, cursor: Cursor) -> ReadResult:
        import orjson

        result = ReadResult(cursor=Cursor(meta=dict(cursor.meta)))
        begin = start(path, cursor, result)
        if begin is None:
            return result
        result.cursor.inode, offset = begin
        if offset == 0:
            result.cursor.meta = {}
        meta = result.cursor.meta
        from .claude_shape import NOT_THIS_SHAPE, decode

        subagent = path.parent.name == "subagents"
        loads, bad_json = orjson.loads, orjson.JSONDecodeError
        fast = self._fast
        lines = 0
        for before, batch in line_batches(path, offset, result):
            lines += len(batch) - batch.count(b"")
            for lineno, line in enumerate(batch, before + 1):
                # (a line's usage is near its end: searched from there)
                if line.rfind(b'"usage"') >= 0:
                    # the common line, decoded into the few fields it needs (claude_shape);
                    # invalid UTF-8, which it does not look for, is malformed JSON to orjson
                    try:
                        shaped = decode(line)
                    except NOT_THIS_SHAPE:
                        pass
                    else:
                        if (line.isascii() or _utf8(line)) and fast(shaped, path, subagent, meta, result):
                            continue
                elif not (b'"Task"' in line or b'"Agent"' in line) and (
                    not line or not subagent or "agent" in meta
                ):
                    continue  # (but the first user line of a subagent names its prompt)
                try:  # lines.json_object, inline: the general way, and the reference
                    obj = loads(line)
                except bad_json:
                    problem(result, path, lineno, "malformed JSON")
                    continue
                if type(obj) is not dict:
                    problem(result, path, lineno, "not a JSON object")
                    continue
                try:
                    self._line(obj, path, subagent, meta, result)
                except (KeyError, TypeError, ValueError, AttributeError) as e:
                    problem(result, path, lineno, f"unexpected shape ({type(e).__name__}: {e})")
        result.lines += lines
        try:
            result.cursor.size = path.stat().st_size
        except OSError:
            result.cursor.size = result.cursor.offset
        return result

    def _fast(self, line: Any, path: Path, subagent: bool, meta: dict[str, str], result: ReadResult) -> bool:
        """`_line` for a line that decoded into `claude_shape.Line`; False when it needs
        `_line` after all (an error to name, a subagent's prompt, a Task call). Its types
        are checked by the decoder, so only values are tested."""
        message = line.message
        if message is None:
            return True
        usage = message.usage
        if line.type != "assistant":
            if subagent and line.type == "user" and "agent" not in meta:
                return False  # (its prompt names the agent)
            return usage is None  # (usage on another line type is an error `_line` names)
        for block in message.content or ():
            if block.name in _TASK_TOOLS and block.type == "tool_use":
                return False  # (a Task call: `_line` reads its agent's name)
        model = message.model
        if usage is None or model == "<synthetic>":
            return True
        key = message.id or line.requestId or line.uuid
        ts = line.timestamp
        if key is None or not (ts is not None and len(ts) >= 19 and ts[10] == "T"):
            return False
        split = usage.cache_creation
        result.events.append(
            UsageEvent(
                HARNESS,
                line.sessionId or path.stem,
                key,
                ts[:19] + "Z",
                model,
                _kinds(
                    usage.input_tokens or 0,
                    usage.output_tokens or 0,
                    usage.cache_read_input_tokens or 0,
                    usage.cache_creation_input_tokens or 0,
                    None if split is None else split.ephemeral_5m_input_tokens or 0,
                    None if split is None else split.ephemeral_1h_input_tokens or 0,
                ),
                "per-message",
                meta.get("agent") if subagent else None,
                line.cwd,
            )
        )
        return True

    def _line(
        self, obj: dict[str, Any], path: Path, subagent: bool, meta: dict[str, str], result: ReadResult
    ) -> None:
        # (runs for every line with usage: lookups are kept few and types tested with
        # `type(x) is dict`, the same test as isinstance for what orjson returns)
        get = obj.get
        kind = get("type")
        message = get("message")
        if type(message) is not dict:
            return
        if kind != "assistant":
            if subagent and kind == "user" and "agent" not in meta:
                text = _text(message.get("content"))
                if text is not None:
                    meta["agent"] = prompt_link(text)
            if type(message.get("usage")) is dict:
                raise ValueError(f"unknown line type {kind!r} carries usage")  # never dropped silently
            return
        mget = message.get
        for block in mget("content") or []:
            if type(block) is dict and block.get("type") == "tool_use" and block.get("name") in _TASK_TOOLS:
                tool_input = block.get("input") or {}
                name, prompt = tool_input.get("subagent_type"), tool_input.get("prompt")
                if isinstance(name, str) and isinstance(prompt, str):
                    result.labels[prompt_link(prompt)] = name
        usage = mget("usage")
        model = mget("model")
        if type(usage) is not dict or model == "<synthetic>":
            return
        session = get("sessionId") or path.stem
        key = mget("id") or get("requestId") or get("uuid")
        if type(key) is not str or type(session) is not str:
            raise ValueError("no message id or session id")
        ts = get("timestamp")
        if not (type(ts) is str and len(ts) >= 19 and ts[10] == "T"):
            raise ValueError(f"bad timestamp {ts!r}")
        cwd = get("cwd")
        result.events.append(
            UsageEvent(
                HARNESS,
                session,
                key,
                ts[:19] + "Z",  # seconds are enough
                model if type(model) is str else None,
                _usage(usage),
                "per-message",
                meta.get("agent") if subagent else None,
                cwd if type(cwd) is str else None,
            )
        )


_TASK_TOOLS = ("Task", "Agent")


def _utf8(line: bytes) -> bool:
    try:
        line.decode()
    except UnicodeDecodeError:
        return False
    return True


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b.get("text") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        if texts and all(isinstance(t, str) for t in texts):
            return "\n".join(t for t in texts if t is not None)
    return None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"token count {value!r} is not a non-negative integer")
    return value


def _usage(u: dict[str, Any]) -> dict[str, int | None]:
    get = u.get
    created = get("cache_creation_input_tokens") or 0
    fresh = get("input_tokens") or 0
    output = get("output_tokens") or 0
    read = get("cache_read_input_tokens") or 0
    split = get("cache_creation")
    if isinstance(split, dict):
        w5 = split.get("ephemeral_5m_input_tokens") or 0
        w1 = split.get("ephemeral_1h_input_tokens") or 0
    else:
        w5 = w1 = 0
    # the common case in one test (`type(x) is int` rules out bool); else the careful
    # path, which names the first bad count
    if not (
        type(created) is int
        and type(fresh) is int
        and type(output) is int
        and type(read) is int
        and type(w5) is int
        and type(w1) is int
        and created | fresh | output | read | w5 | w1 >= 0  # negative if any is
    ):
        return _usage_checked(u)
    if isinstance(split, dict):
        return _kinds(fresh, output, read, created, w5, w1)
    return _kinds(fresh, output, read, created, None, None)


def _kinds(
    fresh: int, output: int, read: int, created: int, w5: int | None, w1: int | None
) -> dict[str, int | None]:
    """burn's token kinds from Claude's counts (checked); `w5`, `w1` None: no split."""
    if w5 is None or w1 is None:
        w5, w1 = created, 0  # before the split existed every write was a 5-minute write
    elif w5 + w1 != created:  # older lines: the split is missing or partial
        w5 = created - w1 if created >= w1 else created
    return {
        "input_tokens": fresh,
        "output_tokens": output,
        "cache_read_tokens": read,
        "cache_write_5m_tokens": w5,
        "cache_write_1h_tokens": w1,
        "reasoning_tokens": None,  # Claude reports thinking inside output_tokens only
    }


def _usage_checked(u: dict[str, Any]) -> dict[str, int | None]:
    created = _int(u.get("cache_creation_input_tokens") or 0)
    split = u.get("cache_creation")
    w5 = w1 = None
    if isinstance(split, dict):
        w5 = _int(split.get("ephemeral_5m_input_tokens") or 0)
        w1 = _int(split.get("ephemeral_1h_input_tokens") or 0)
    return _kinds(
        _int(u.get("input_tokens") or 0),
        _int(u.get("output_tokens") or 0),
        _int(u.get("cache_read_input_tokens") or 0),
        created,
        w5,
        w1,
    )


def _utc(ts: Any) -> str:
    """`2026-11-23T10:00:00.123Z` -> `2026-11-23T10:00:00Z` (seconds are enough)."""
    if isinstance(ts, str) and len(ts) >= 19 and ts[10] == "T":
        return ts[:19] + "Z"
    raise ValueError(f"bad timestamp {ts!r}")
