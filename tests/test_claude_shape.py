"""The Claude reader's typed fast path (msgspec, `claude_shape`) says exactly what the
general path (orjson and dict lookups) says, for good lines and odd ones alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burn.ledger.readers import Cursor, ReadResult, claude_shape
from burn.ledger.readers.claude import ClaudeReader
from burn.ledger.readers.claude import prompt_link as claude_prompt_link

SESSION = "5f0c3a52-0000-4000-8000-000000000001"


def assistant(content: Any = None, **usage: Any) -> dict[str, Any]:
    return {
        "type": "assistant",
        "sessionId": SESSION,
        "timestamp": "2026-11-20T10:00:00.000Z",
        "cwd": "/srv/dev/project",
        "requestId": "req_1",
        "uuid": "u-1",
        "message": {
            "id": "msg_1",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "ok"}] if content is None else content,
            "usage": {
                "input_tokens": 10,
                "output_tokens": 120,
                "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 500,
                "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 200},
                **usage,
            },
        },
    }


TASK = [{"type": "tool_use", "name": "Task", "input": {"subagent_type": "code-reviewer", "prompt": "p"}}]
USER_WITH_USAGE = {  # a Task result: usage outside `message`, not spend of this line
    "type": "user",
    "sessionId": SESSION,
    "timestamp": "2026-11-20T10:00:01Z",
    "message": {"role": "user", "content": [{"type": "tool_result", "content": "done"}]},
    "toolUseResult": {"usage": {"input_tokens": 5}},
}
BASES = [
    assistant(),
    assistant(TASK),
    USER_WITH_USAGE,
    {**assistant(), "type": "user"},  # usage on a user message: an error to name
]


def read(path: Path, general_only: bool, monkeypatch: pytest.MonkeyPatch) -> ReadResult:
    with monkeypatch.context() as m:
        if general_only:

            def refuse(line: bytes) -> Any:
                raise claude_shape.msgspec.DecodeError("general path only")

            m.setattr(claude_shape, "decode", refuse)
        return ClaudeReader().read(path, Cursor())


def assert_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> ReadResult:
    fast, general = (read(path, g, monkeypatch) for g in (False, True))
    for field in ("rows", "spans", "skipped", "problems", "labels", "lines"):
        assert getattr(fast, field) == getattr(general, field), field
    assert vars(fast.cursor) == vars(general.cursor)
    return fast


def write(tmp_path: Path, lines: list[bytes], subagent: bool = False) -> Path:
    where = tmp_path / "projects" / "p" / (f"{SESSION}/subagents/agent-1.jsonl" if subagent else "s.jsonl")
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_bytes(b"".join(x + b"\n" for x in lines))
    return where


def test_the_common_line_is_read_without_the_general_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def general(*a: Any) -> None:
        raise AssertionError("the general path read a common line")

    monkeypatch.setattr(ClaudeReader, "_line", general)
    path = write(tmp_path, [json.dumps(assistant()).encode()])
    result = ClaudeReader().read(path, Cursor())
    got = [(row[2], row[12], row[13]) for row in result.rows]  # key, 5m and 1h cache writes
    assert got == [("msg_1", 300, 200)]


ODD = {
    "negative count": assistant(output_tokens=-1),
    "bool count": assistant(output_tokens=True),
    "float count": assistant(output_tokens=1.0),
    "count past int64": assistant(output_tokens=2**63 + 5),
    "count past uint64 (a float to orjson)": assistant(output_tokens=2**70),
    "null counts": assistant(output_tokens=None, cache_creation=None),
    "partial split": assistant(cache_creation={"ephemeral_1h_input_tokens": 700}),
    "split not an object": assistant(cache_creation=[1]),
    "escaped Task name": assistant([{"type": "tool_use", "name": "T\\u0061sk", "input": {"prompt": "q"}}]),
    "escaped Task name with its agent": assistant(
        [{"type": "tool_use", "name": "T\\u0061sk", "input": {"subagent_type": "reviewer", "prompt": "q"}}]
    ),
    "Task call": assistant(TASK),
    "content a number": assistant(5),
    "content a string": assistant("text"),
    "content with a non-object": assistant([1, {"type": "text"}]),
    "usage a string": {**assistant(), "message": {**assistant()["message"], "usage": "x"}},
    "no ids": {**assistant(), "requestId": None, "uuid": None, "message": {"usage": {"input_tokens": 1}}},
    "empty message id": {**assistant(), "message": {**assistant()["message"], "id": ""}},
    "id a number": {**assistant(), "message": {**assistant()["message"], "id": 7}},
    "bad timestamp": {**assistant(), "timestamp": "yesterday"},
    "synthetic": {**assistant(), "message": {**assistant()["message"], "model": "<synthetic>"}},
    "message null": {**assistant(), "message": None},
    "user line with usage on its message": BASES[3],
    "user line with a Task result's usage": USER_WITH_USAGE,
    "unknown type with usage": {**assistant(), "type": "assistant_v2"},
    "array": [assistant()],
}


@pytest.mark.parametrize("name", list(ODD))
def test_odd_lines_read_as_the_general_path_reads_them(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps(ODD[name]).replace("\\\\u0061", "\\u0061").encode()
    assert_same(write(tmp_path, [text]), monkeypatch)
    assert_same(write(tmp_path, [text, json.dumps(assistant()).encode()], subagent=True), monkeypatch)


def test_bytes_the_fast_path_skips_still_decide_as_orjson_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = json.dumps(assistant([{"type": "text", "text": "MARK"}])).encode()
    lines = [
        good.replace(b"MARK", b"\xff\xfe"),  # invalid UTF-8 in a field burn does not read
        good.replace(b"MARK", b"\xc3\xa9t\xc3\xa9"),  # valid UTF-8
        good.replace(b'"MARK"', b"[" * 1100 + b"]" * 1100),  # deeper than orjson parses
        good.replace(b"MARK", b"tab\there"),
        good.replace(b"MARK", b"\\ud800"),
        good + b" x",
    ]
    result = assert_same(write(tmp_path, lines), monkeypatch)
    assert len(result.rows) == 1 and result.skipped["malformed JSON"] == 5


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "Task", "Agent", "tool_use", "assistant", "user", "2026-11-20T10:00:00Z"])
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
PATHS = [
    ("type",),
    ("message",),
    ("message", "id"),
    ("message", "model"),
    ("message", "content"),
    ("message", "content", 0),
    ("message", "content", 0, "name"),
    ("message", "usage"),
    ("message", "usage", "output_tokens"),
    ("message", "usage", "cache_creation"),
    ("message", "usage", "cache_creation", "ephemeral_1h_input_tokens"),
    ("sessionId",),
    ("requestId",),
    ("timestamp",),
    ("cwd",),
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.sampled_from(BASES),
    changes=st.lists(st.tuples(st.sampled_from(PATHS), JSON_VALUES), max_size=3),
    subagent=st.booleans(),
)
def test_any_values_in_the_fields_read_as_the_general_path_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: dict, changes: list, subagent: bool
) -> None:
    obj = json.loads(json.dumps(base))
    for where, value in changes:
        at: Any = obj
        for step in where[:-1]:
            at = at[step] if isinstance(at, dict) and step in at else None
            if isinstance(step, int):
                at = None
            if at is None:
                break
        if isinstance(at, dict):
            at[where[-1]] = value
        elif isinstance(at, list) and at:
            at[0] = value
    assert_same(write(tmp_path, [json.dumps(obj).encode()], subagent=subagent), monkeypatch)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.sampled_from([json.dumps(b).encode() for b in BASES]),
    edits=st.lists(st.tuples(st.integers(0, 2000), st.binary(max_size=4), st.integers(0, 3)), max_size=6),
)
def test_fuzzed_bytes_read_as_the_general_path_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: bytes, edits: list
) -> None:
    data = bytearray(base)
    for pos, insert, delete in edits:
        pos %= len(data) + 1
        data[pos : pos + delete] = insert
    assert_same(write(tmp_path, [bytes(data).replace(b"\n", b" ")]), monkeypatch)


def user_prompt(text: str) -> dict[str, Any]:
    message = {"role": "user", "content": text}
    return {"type": "user", "sessionId": SESSION, "timestamp": "2026-11-20T09:59:00Z", "message": message}


def streamed(msg: str, outputs: list[int], **fields: Any) -> list[dict[str, Any]]:
    """One response written as a line per content block, each with its output count so far."""
    lines = []
    for n, out in enumerate(outputs):
        line = assistant(output_tokens=out)
        line["message"]["id"] = msg
        line["timestamp"] = f"2026-11-20T10:00:0{n}.500Z"
        lines.append({**line, **fields})
    return lines


LINE_KINDS = [
    *streamed("msg_a", [1, 5, 9]),
    assistant(TASK),
    user_prompt("review the diff"),
    USER_WITH_USAGE,
    {"type": "summary", "summary": "s", "leafUuid": "x"},
    {**assistant(), "message": {**assistant()["message"], "model": "<synthetic>"}},
    {**assistant(), "timestamp": "2026-11-20T11:00:00Z", "message": {**assistant()["message"], "id": "z"}},
    assistant([{"type": "text", "text": "déjà vu — ✓"}]),
    *ODD.values(),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, len(LINE_KINDS) - 1), min_size=2, max_size=8), subagent=st.booleans())
def test_batches_of_lines_read_as_the_general_path_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, picks: list[int], subagent: bool
) -> None:
    """Lines decoded a batch at a time (or line by line, when one of them does not fit)
    give the rows, spans, labels and problems the general way gives, line by line."""
    text = [json.dumps(LINE_KINDS[i]).replace("\\\\u0061", "\\u0061").encode() for i in picks]
    assert_same(write(tmp_path, text, subagent=subagent), monkeypatch)


def test_a_batch_of_common_lines_is_decoded_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch with a Task call, a subagent's prompt and a streamed response in it: read
    without a single line by line step, and as the general way reads it."""
    lines = [user_prompt("review the diff"), assistant(TASK), *streamed("msg_a", [1, 5, 9])]
    path = write(tmp_path, [json.dumps(x).encode() for x in lines], subagent=True)
    calls: list[int] = []
    line_by_line = ClaudeReader._read_line
    with monkeypatch.context() as m:
        m.setattr(ClaudeReader, "_read_line", lambda *a: calls.append(1) or line_by_line(*a))
        read(path, False, monkeypatch)
    assert calls == []
    result = assert_same(path, monkeypatch)
    assert result.folded == 2  # the three reports of msg_a: one row
    agent = result.rows[0][3]
    assert agent is not None and agent.startswith("prompt:")  # the subagent's prompt links it
    key_time_output = [(r[2], r[7], r[10]) for r in result.rows]
    assert key_time_output == [("msg_1", "2026-11-20T10:00:00Z", 120), ("msg_a", "2026-11-20T10:00:00Z", 9)]
    assert result.labels == {claude_prompt_link("p"): "code-reviewer"}
    assert result.spans == {("claude", SESSION, agent): ["2026-11-20T10:00:00Z", "2026-11-20T10:00:02Z"]}
