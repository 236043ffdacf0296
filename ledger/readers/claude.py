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
from itertools import filterfalse
from pathlib import Path

from ..usage import TOKEN_KINDS
from . import Cursor, ReadResult, env_root, find_paths
from .lines import line_batches, open_log, problem, size_now

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from .listings import Listings

HARNESS = "claude"


def prompt_link(prompt: str) -> str:
    import hashlib  # (here: most ingests, and a launch's last one, name no subagent prompt)

    return "prompt:" + hashlib.sha1(prompt.strip().encode()).hexdigest()[:16]


class ClaudeReader:
    harness = HARNESS

    def __init__(self) -> None:
        self.unreadable: list[str] = []
        self.listings: Listings | None = None  # (see Reader.listings)
        self.pricing: Any = None  # (see prepare)
        self.limits: dict[str, int | None] = {}  # model -> long-context threshold

    def roots(self) -> list[Path]:
        import os

        env = os.environ.get("CLAUDE_CONFIG_DIR")
        if env:  # Claude Code (and ccusage) accept a comma-separated list
            return [Path(p).expanduser() for p in env.split(",") if p.strip()]
        return [env_root("CLAUDE_CONFIG_DIR", "~/.claude"), Path("~/.config/claude").expanduser()]

    def files(self, root: Path) -> Iterator[Path | str]:
        # sorted: `<session>.jsonl` comes before `<session>/subagents/...` ('.' < '/'),
        # so a Task call's agent name is known before its subagent's spend is read
        yield from find_paths(
            root / "projects", lambda name: name.endswith(".jsonl"), self.unreadable, self.listings
        )

    def prepare(self, pricing: Any = None) -> None:
        """Import what reading needs (before a helper process is forked to read too), and
        take the price table that decides each response's tier."""
        import orjson  # noqa: F401

        from . import claude_shape  # noqa: F401

        self.pricing = pricing
        self.limits.clear()

    def read(self, path: str | Path, cursor: Cursor) -> ReadResult:
        result = ReadResult(cursor=Cursor(meta=dict(cursor.meta)))
        begin = open_log(path, cursor, result)
        if begin is None:
            return result
        f, result.cursor.inode, offset = begin
        if offset == 0:
            result.cursor.meta = {}
        from .claude_shape import NOT_THIS_SHAPE, decode

        file = _File(self, str(path), result)
        lines = 0
        with f:
            for before, batch in line_batches(f, path, offset, result):
                lines += len(batch) - batch.count(b"")
                shaped = _decode_all(batch, decode, NOT_THIS_SHAPE)
                if shaped is None:  # a line that does not fit: the batch line by line
                    for lineno, line in enumerate(batch, before + 1):
                        self._read_line(file, lineno, line)
                else:
                    self._read_shaped(file, before, batch, shaped)
            result.cursor.size = size_now(f)
        result.lines += lines
        return result

    def _read_shaped(self, file: _File, before: int, batch: list[bytes], shaped: list[Any]) -> None:
        """A batch whose every line decoded into `claude_shape.Line`: the common lines made
        rows here (their types checked by the decoder, so only values are tested), the rest
        read by `_general` (an error to name, a subagent's prompt, no message id)."""
        subagent, agent, meta = file.subagent, file.agent, file.meta
        rows, span, limit = file.rows, file.span, file.limit
        add = rows.append
        last = rows[-1] if rows else _NO_ROW
        folded = 0
        for i, line in enumerate(shaped):
            message = line.message
            if message is None:
                continue
            usage = message.usage
            if line.type != "assistant":
                if usage is not None or (subagent and line.type == "user" and "agent" not in meta):
                    self._general(file, before + i + 1, batch[i])  # (an error, or the prompt)
                    agent, span = file.agent, file.span
                continue
            content = message.content
            if content.__class__ is list:
                for block in content:
                    if block.name in _TASK_TOOLS and block.type == "tool_use":
                        file.task(block.input)  # (a Task call names its agent)
            model = message.model
            if usage is None or model == "<synthetic>":
                continue
            key = message.id  # (else requestId or uuid: the general way)
            ts = line.timestamp
            if not key or not (ts is not None and len(ts) >= 19 and ts[10] == "T"):
                self._general(file, before + i + 1, batch[i])
                agent, span = file.agent, file.span
                last = rows[-1] if rows else _NO_ROW
                continue
            fresh = usage.input_tokens
            read = usage.cache_read_input_tokens
            created = usage.cache_creation_input_tokens
            split = usage.cache_creation
            if split is None:  # before the split existed every write was a 5-minute write
                w5, w1 = created, 0
            else:
                w5, w1 = split.ephemeral_5m_input_tokens, split.ephemeral_1h_input_tokens
                if w5 + w1 != created:  # older lines: the split is missing or partial
                    w5 = created - w1 if created >= w1 else created
            if not model:  # tokens of an unnamed model are kept, and priced as unknown
                model, tier = "unknown", "base"
            else:
                threshold = limit.get(model, 0)
                if threshold == 0:
                    threshold = file.threshold(model)
                tier = "long" if threshold is not None and fresh + read + w5 + w1 > threshold else "base"
            ts = ts[:19] + "Z"  # seconds are enough
            session = line.sessionId or file.stem
            if key == last[2] and session == last[1]:  # the next line of the same response:
                folded += 1
                rows[-1] = last = (  # its report replaces the last (as responses.fold would)
                    HARNESS, session, key, last[3], model, tier, "per-message", last[7], last[8],
                    fresh, usage.output_tokens, read, w5, w1, None, None,
                )  # fmt: skip
            else:
                add(last := (
                    HARNESS, session, key, agent, model, tier, "per-message", ts, line.cwd,
                    fresh, usage.output_tokens, read, w5, w1, None, None,
                ))  # fmt: skip
            if session == file.session and agent == file.span_agent:
                if ts < span[0]:
                    span[0] = ts
                elif ts > span[1]:
                    span[1] = ts
            else:
                span = file.move_span(session, agent, ts)
        file.result.folded += folded

    def _read_line(self, file: _File, lineno: int, line: bytes) -> None:
        """One line of a batch that did not decode whole: `_read_shaped` for one line."""
        from .claude_shape import NOT_THIS_SHAPE, decode

        if (
            line.rfind(b'"usage"') < 0
            and not (b'"Task"' in line or b'"Agent"' in line)
            and (not line or not file.subagent or "agent" in file.meta)
        ):
            return  # (but the first user line of a subagent names its prompt)
        shaped = None
        if line.isascii() or _utf8(line):  # (else malformed JSON to orjson; see _decode_all)
            try:
                shaped = decode(line)
            except NOT_THIS_SHAPE:
                pass
        if shaped is None:
            self._general(file, lineno, line)
        else:
            self._read_shaped(file, lineno - 1, [line], [shaped])

    def _general(self, file: _File, lineno: int, line: bytes) -> None:
        """The general way to read a line (orjson and dict lookups), and the reference."""
        import orjson

        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            problem(file.result, file.path, lineno, "malformed JSON")
            return
        if type(obj) is not dict:
            problem(file.result, file.path, lineno, "not a JSON object")
            return
        try:
            self._line(obj, file)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            problem(file.result, file.path, lineno, f"unexpected shape ({type(e).__name__}: {e})")

    def _line(self, obj: dict[str, Any], file: _File) -> None:
        get = obj.get
        kind = get("type")
        message = get("message")
        if type(message) is not dict:
            return
        if kind != "assistant":
            if file.subagent and kind == "user" and "agent" not in file.meta:
                text = _text(message.get("content"))
                if text is not None:
                    file.meta["agent"] = prompt_link(text)
            if type(message.get("usage")) is dict:
                raise ValueError(f"unknown line type {kind!r} carries usage")  # never dropped silently
            return
        mget = message.get
        for block in mget("content") or []:
            if type(block) is dict and block.get("type") == "tool_use" and block.get("name") in _TASK_TOOLS:
                tool_input = block.get("input") or {}
                name, prompt = tool_input.get("subagent_type"), tool_input.get("prompt")
                if isinstance(name, str) and isinstance(prompt, str):
                    file.result.labels[prompt_link(prompt)] = name
        usage = mget("usage")
        model = mget("model")
        if type(usage) is not dict or model == "<synthetic>":
            return
        session = get("sessionId") or file.stem
        key = mget("id") or get("requestId") or get("uuid")
        if type(key) is not str or type(session) is not str:
            raise ValueError("no message id or session id")
        ts = _utc(get("timestamp"))
        cwd = get("cwd")
        if type(model) is not str:
            model = None
        file.add(session, key, model, ts, cwd if type(cwd) is str else None, _usage(usage))


class _File:
    """One read of one file: where its rows and spans go, and what its lines share."""

    def __init__(self, reader: ClaudeReader, path: str, result: ReadResult) -> None:
        import os

        name = os.path.basename(path)
        dot = name.rfind(".")
        self.path, self.result = path, result
        self.stem = name[:dot] if 0 < dot < len(name) - 1 else name  # (Path.stem, without a Path)
        self.meta = result.cursor.meta
        self.subagent = os.path.basename(os.path.dirname(path)) == "subagents"
        self.rows, self.spans = result.rows, result.spans
        self.pricing, self.limit = reader.pricing, reader.limits
        # the span of the last row's session and agent (a file's rows rarely change them)
        self.session: str | None = None
        self.span_agent: str | None = None
        self.span = ["", ""]

    @property
    def agent(self) -> str | None:
        """The agent this file's spend belongs to: a subagent's, once its prompt is read."""
        return self.meta.get("agent") if self.subagent else None

    def threshold(self, model: str) -> int | None:
        """`pricing.long_threshold`, remembered per model for the rest of the ingest."""
        found = None if self.pricing is None else self.pricing.long_threshold(model)
        self.limit[model] = found
        return found

    def move_span(self, session: str, agent: str | None, ts: str) -> list[str]:
        """Make (session, agent) the current span, widened to `ts`."""
        self.session, self.span_agent = session, agent
        span = self.spans.get(group := (HARNESS, session, agent or ""))
        if span is None:
            span = self.spans[group] = [ts, ts]
        elif ts < span[0]:
            span[0] = ts
        elif ts > span[1]:
            span[1] = ts
        self.span = span
        return span

    def task(self, tool_input: Any) -> None:
        """A Task call: the agent it starts, linked by its prompt (see prompt_link)."""
        if tool_input is not None and tool_input.subagent_type is not None and tool_input.prompt is not None:
            self.result.labels[prompt_link(tool_input.prompt)] = tool_input.subagent_type

    def add(self, session: str, key: str, model: str | None, ts: str, cwd: str | None, usage: dict) -> None:
        """A response's report as a row (the general way's; `_read_shaped` inlines it)."""
        agent = self.agent
        u = [usage[k] for k in TOKEN_KINDS]
        if not model:  # tokens of an unnamed model are kept, and priced as unknown
            model, tier = "unknown", "base"
        else:
            threshold = self.limit[model] if model in self.limit else self.threshold(model)
            tier = "long" if threshold is not None and u[0] + u[2] + u[3] + u[4] > threshold else "base"
        rows = self.rows
        if rows and rows[-1][2] == key and rows[-1][1] == session:  # (as _read_shaped does)
            last = rows[-1]
            self.result.folded += 1
            first = last[3:9]  # agent, and granularity, time and cwd as first seen
            rows[-1] = (HARNESS, session, key, first[0], model, tier, *first[3:], *u, None)
        else:
            rows.append((HARNESS, session, key, agent, model, tier, "per-message", ts, cwd, *u, None))
        self.move_span(session, agent, ts)


_TASK_TOOLS = ("Task", "Agent")
_NO_ROW = (None,) * 16


def _decode_all(batch: list[bytes], decode: Any, not_this_shape: Any) -> list[Any] | None:
    """Every line of a batch decoded into `claude_shape.Line`, or None when one does not
    fit (an empty line, another shape, malformed JSON, invalid UTF-8 anywhere: msgspec
    checks the UTF-8 of what it keeps, orjson of the whole line)."""
    try:
        shaped = list(map(decode, batch))
    except not_this_shape:
        return None
    for line in filterfalse(bytes.isascii, batch):  # (most lines are ASCII: tested in C)
        if not _utf8(line):
            return None
    return shaped


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
