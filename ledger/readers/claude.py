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

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import Cursor, ReadResult, UsageEvent, env_root, find
from .lines import complete_lines, json_object, problem, start

HARNESS = "claude"


def prompt_link(prompt: str) -> str:
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

    def read(self, path: Path, cursor: Cursor) -> ReadResult:

        result = ReadResult(cursor=Cursor(meta=dict(cursor.meta)))
        begin = start(path, cursor, result)
        if begin is None:
            return result
        result.cursor.inode, offset = begin
        if offset == 0:
            result.cursor.meta = {}
        meta = result.cursor.meta
        subagent = path.parent.name == "subagents"
        for lineno, line in complete_lines(path, offset, result):
            result.lines += 1
            interesting = b'"usage"' in line or b'"Task"' in line or b'"Agent"' in line
            if subagent and "agent" not in meta:
                interesting = True  # the first user line names the subagent's prompt
            if not interesting:
                continue
            obj = json_object(line, path, lineno, result)
            if obj is None:
                continue
            try:
                self._line(obj, path, subagent, meta, result)
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                problem(result, path, lineno, f"unexpected shape ({type(e).__name__}: {e})")
        try:
            result.cursor.size = path.stat().st_size
        except OSError:
            result.cursor.size = result.cursor.offset
        return result

    def _line(
        self, obj: dict[str, Any], path: Path, subagent: bool, meta: dict[str, str], result: ReadResult
    ) -> None:
        kind = obj.get("type")
        message = obj.get("message")
        if subagent and "agent" not in meta and kind == "user" and isinstance(message, dict):
            text = _text(message.get("content"))
            if text is not None:
                meta["agent"] = prompt_link(text)
        if kind != "assistant" or not isinstance(message, dict):
            if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                raise ValueError(f"unknown line type {kind!r} carries usage")  # never dropped silently
            return
        for block in message.get("content") or []:
            if (
                isinstance(block, dict)
                and block.get("type") == "tool_use"
                and block.get("name") in ("Task", "Agent")
            ):
                tool_input = block.get("input") or {}
                name, prompt = tool_input.get("subagent_type"), tool_input.get("prompt")
                if isinstance(name, str) and isinstance(prompt, str):
                    result.labels[prompt_link(prompt)] = name
        usage = message.get("usage")
        model = message.get("model")
        if not isinstance(usage, dict) or model == "<synthetic>":
            return
        session = obj.get("sessionId") or path.stem
        key = message.get("id") or obj.get("requestId") or obj.get("uuid")
        if not isinstance(key, str) or not isinstance(session, str):
            raise ValueError("no message id or session id")
        result.events.append(
            UsageEvent(
                harness=HARNESS,
                session=session,
                key=key,
                timestamp=_utc(obj.get("timestamp")),
                model=model if isinstance(model, str) else None,
                usage=_usage(usage),
                granularity="per-message",
                agent=meta.get("agent") if subagent else None,
                cwd=obj.get("cwd") if isinstance(obj.get("cwd"), str) else None,
            )
        )


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
    created = _int(u.get("cache_creation_input_tokens") or 0)
    split = u.get("cache_creation")
    if isinstance(split, dict):
        w5 = _int(split.get("ephemeral_5m_input_tokens") or 0)
        w1 = _int(split.get("ephemeral_1h_input_tokens") or 0)
        if w5 + w1 != created:  # older lines: the split is missing or partial
            w5 = created - w1 if created >= w1 else created
    else:
        w5, w1 = created, 0  # before the split existed every write was a 5-minute write
    return {
        "input_tokens": _int(u.get("input_tokens") or 0),
        "output_tokens": _int(u.get("output_tokens") or 0),
        "cache_read_tokens": _int(u.get("cache_read_input_tokens") or 0),
        "cache_write_5m_tokens": w5,
        "cache_write_1h_tokens": w1,
        "reasoning_tokens": None,  # Claude reports thinking inside output_tokens only
    }


def _utc(ts: Any) -> str:
    """`2026-11-23T10:00:00.123Z` -> `2026-11-23T10:00:00Z` (seconds are enough)."""
    if isinstance(ts, str) and len(ts) >= 19 and ts[10] == "T":
        return ts[:19] + "Z"
    raise ValueError(f"bad timestamp {ts!r}")
