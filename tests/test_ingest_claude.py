"""`burn ingest` over real-format Claude Code transcripts: exactly once, incrementally."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burn.ledger import Ledger
from burn.ledger.ingest import ingest
from burn.ledger.query import Query
from burn.ledger.readers import Cursor
from burn.ledger.readers.claude import ClaudeReader

SESSION = "5f0c3a52-0000-4000-8000-000000000001"


def line(obj: dict) -> str:
    return json.dumps(obj) + "\n"


def assistant(
    msg_id: str,
    req: str,
    out: int,
    *,
    model: str = "claude-sonnet-4-5",
    inp: int = 10,
    read: int = 1000,
    w5: int = 0,
    w1: int = 0,
    content: list | None = None,
    sidechain: bool = False,
    ts: str = "2026-11-20T10:00:00.000Z",
) -> dict:
    return {
        "type": "assistant",
        "sessionId": SESSION,
        "isSidechain": sidechain,
        "timestamp": ts,
        "cwd": "/srv/dev/project",
        "requestId": req,
        "message": {
            "id": msg_id,
            "model": model,
            "role": "assistant",
            "content": content or [{"type": "text", "text": "ok"}],
            "usage": {
                "input_tokens": inp,
                "output_tokens": out,
                "cache_read_input_tokens": read,
                "cache_creation_input_tokens": w5 + w1,
                "cache_creation": {"ephemeral_5m_input_tokens": w5, "ephemeral_1h_input_tokens": w1},
            },
        },
    }


def user(text: str, sidechain: bool = False) -> dict:
    return {
        "type": "user",
        "sessionId": SESSION,
        "isSidechain": sidechain,
        "timestamp": "2026-11-20T10:00:00Z",
        "message": {"role": "user", "content": [{"type": "text", "text": text}]},
    }


@pytest.fixture
def claude_root(tmp_path: Path) -> Path:
    return Path(os.environ["CLAUDE_CONFIG_DIR"]) / "projects" / "-work-project"


def write_session(root: Path) -> tuple[Path, Path]:
    main = root / f"{SESSION}.jsonl"
    sub = root / SESSION / "subagents" / "agent-a1b2c3d.jsonl"
    sub.parent.mkdir(parents=True)
    task = [
        {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "Task",
            "input": {
                "subagent_type": "code-reviewer",
                "prompt": "Review the diff in src/",
                "description": "r",
            },
        }
    ]
    main.write_text(
        line(user("please review"))
        # one response streamed as three lines: only the last output count is real
        + line(assistant("msg_1", "req_1", 5, w5=300, w1=200))
        + line(assistant("msg_1", "req_1", 20, w5=300, w1=200))
        + line(assistant("msg_1", "req_1", 120, w5=300, w1=200, content=task))
        + line(
            {
                "type": "user",
                "sessionId": SESSION,
                "message": {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "agentId: a1b2c3d"}
                    ],
                },
            }
        )
        + line(assistant("msg_syn", "req_2", 0, model="<synthetic>", inp=0, read=0))
        + line({"type": "summary", "summary": "Reviewed", "leafUuid": "x"})
        + '{"type": "assistant", "message": {"usage": {"input_tok\n'  # a torn write
        + line(assistant("msg_3", "req_3", 40, inp=7, read=2000, ts="2026-11-20T10:05:00Z"))
    )
    sub.write_bytes(
        (
            line(user("Review the diff in src/", sidechain=True))
            # a replay of the parent's msg_1 (new requestId): not new spend
            + line(assistant("msg_1", "req_9", 120, w5=300, w1=200, sidechain=True))
            + line(
                assistant("msg_s1", "req_s1", 60, model="claude-haiku-4-5", inp=3, read=500, sidechain=True)
            )
        ).encode()
        + b"\xff\xfe not utf-8\n"
    )
    return main, sub


def totals(records: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        for kind, v in r["usage"].items():
            if v is not None:
                out[kind] = out.get(kind, 0) + v
    return out


def all_records(burn_home: Path) -> list[dict]:
    led = Ledger.open(burn_home)
    return [json.loads(s) for s in led.log_json(Query())]


def test_ingest_counts_each_response_once_and_names_the_subagent(claude_root: Path, burn_home: Path) -> None:
    write_session(claude_root)
    report = ingest(Ledger.open(burn_home), ["claude"])
    assert report.records == 2 and report.skipped["malformed JSON"] == 1
    recs = {r["persona"]: r for r in all_records(burn_home)}
    main, sub = recs["none"], recs["code-reviewer"]
    # msg_1 (final line) + msg_3; the synthetic message and partial lines add nothing
    assert main["usage"] == {
        "input_tokens": 17,
        "output_tokens": 160,
        "cache_read_tokens": 3000,
        "cache_write_5m_tokens": 300,
        "cache_write_1h_tokens": 200,
        "reasoning_tokens": None,
    }
    assert main["sessions"] == [SESSION] and main["harness"] == "claude" and main["source"] == "ingest"
    assert main["started_at"] == "2026-11-20T10:00:00Z" and main["ended_at"] == "2026-11-20T10:05:00Z"
    # the subagent's own response only; the replayed msg_1 is not counted again
    assert sub["source"] == "harness" and sub["models"] == ["claude-haiku-4-5"]
    assert sub["usage"]["output_tokens"] == 60 and sub["usage"]["input_tokens"] == 3
    assert sub["fidelity"] == "full"


def test_second_ingest_parses_nothing_and_growth_is_recorded_as_a_delta(
    claude_root: Path, burn_home: Path
) -> None:
    main, _sub = write_session(claude_root)
    led = Ledger.open(burn_home)
    ingest(led, ["claude"])
    again = ingest(led, ["claude"])
    assert (again.files_read, again.lines, again.records) == (0, 0, 0)
    # the session grows, and its last line is only half written
    with main.open("a") as f:
        f.write(line(assistant("msg_4", "req_4", 30, inp=2, read=100, ts="2026-11-20T11:00:00Z")))
        f.write(line(assistant("msg_5", "req_5", 9, inp=1, read=0))[:40])
    grown = ingest(led, ["claude"])
    assert grown.files_read == 1 and grown.records == 1
    newest = all_records(burn_home)[0]
    assert newest["usage"]["output_tokens"] == 30 and newest["usage"]["input_tokens"] == 2
    # the half-written line completes: counted once, when whole
    text = line(assistant("msg_5", "req_5", 9, inp=1, read=0))
    with main.open("a") as f:
        f.write(text[40:])
    ingest(led, ["claude"])
    assert totals(all_records(burn_home))["output_tokens"] == 160 + 60 + 30 + 9


def test_a_partial_response_recorded_early_adds_only_the_difference(
    claude_root: Path, burn_home: Path
) -> None:
    path = claude_root / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(line(assistant("msg_1", "req_1", 5)))
    led = Ledger.open(burn_home)
    ingest(led, ["claude"])
    with path.open("a") as f:
        f.write(line(assistant("msg_1", "req_1", 120)))
    ingest(led, ["claude"])
    recs = all_records(burn_home)
    assert [r["usage"]["output_tokens"] for r in recs] == [115, 5]
    assert [r["usage"]["input_tokens"] for r in recs] == [0, 10]  # input was recorded the first time


def test_lost_index_or_deleted_logs_never_double_count(claude_root: Path, burn_home: Path, burn) -> None:
    main, sub = write_session(claude_root)
    led = Ledger.open(burn_home)
    ingest(led, ["claude"])
    before = totals(all_records(burn_home))
    (burn_home / "index.sqlite").unlink()
    again = ingest(Ledger.open(burn_home), ["claude"])
    assert again.files_read == 2 and again.records == 0  # logs re-read, nothing new
    main.unlink()
    sub.unlink()
    assert burn("reindex").code == 0
    assert totals(all_records(burn_home)) == before  # the ledger alone answers


def test_truncated_or_rewritten_file_is_reread(claude_root: Path, burn_home: Path) -> None:
    path = claude_root / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(line(assistant("msg_1", "req_1", 50)) + line(assistant("msg_2", "req_2", 50)))
    led = Ledger.open(burn_home)
    ingest(led, ["claude"])
    path.write_text(line(assistant("msg_9", "req_9", 7)))  # shorter: a rewrite
    report = ingest(led, ["claude"])
    assert report.files_read == 1 and report.records == 1
    assert totals(all_records(burn_home))["output_tokens"] == 107


def test_cli_ingest_json_counts(claude_root: Path, burn) -> None:
    write_session(claude_root)
    r = burn("ingest", "--harness", "claude", "--format", "json")
    assert r.code == 0, r
    data = json.loads(r.out)
    assert data["records"] == 2 and data["files"] == 2 and data["events"] == 6  # 3 lines of msg_1
    assert data["skipped"] == {"malformed JSON": 1}
    assert data["problems"] == [f"{claude_root / (SESSION + '.jsonl')}:8: malformed JSON"]
    text = burn("ingest").out
    assert text.startswith("0 new records")


REAL_LINES = [
    line(assistant("msg_1", "req_1", 120, w5=300, w1=200)).encode(),
    line(user("Review the diff in src/", sidechain=True)).encode(),
    line(
        assistant("msg_2", "r", 1, content=[{"type": "tool_use", "name": "Task", "input": {"prompt": "p"}}])
    ).encode(),
]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.sampled_from(REAL_LINES),
    edits=st.lists(st.tuples(st.integers(0, 2000), st.binary(max_size=4), st.integers(0, 3)), max_size=6),
)
def test_fuzzed_lines_never_escape_the_reader(tmp_path: Path, base: bytes, edits: list) -> None:
    data = bytearray(base)
    for pos, insert, delete in edits:
        pos %= len(data) + 1
        data[pos : pos + delete] = insert
    path = tmp_path / "projects" / "p" / "fuzz.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data) + b"\n")
    result = ClaudeReader().read(path, Cursor())
    assert result.cursor.offset == len(data) + 1  # every complete line is consumed
    assert result.events == []  # (the Claude reader gives rows)
    for row in result.rows:  # whatever survives is well-formed: the token counts and cost
        assert all(v is None or (type(v) is int and v >= 0) for v in row[9:])


def test_usage_rows_carry_granularity_coverage_and_class(claude_root: Path, burn_home: Path) -> None:
    write_session(claude_root)
    ingest(Ledger.open(burn_home), ["claude"])
    row = next(r for r in all_records(burn_home) if r["persona"] == "none")["by_model"][0]
    assert row["granularity"] == "per-message" and row["fidelity"] == "full"
    assert row["coverage"] == {
        "has_input_tokens": True,
        "has_output_tokens": True,
        "has_cache_read": True,
        "has_cache_write": True,
        "has_reasoning": False,
    }


def test_a_named_subagent_is_attributed_to_its_imported_version(
    claude_root: Path, burn, tmp_path: Path
) -> None:
    agent = tmp_path / "repo/.claude/agents/code-reviewer.md"
    agent.parent.mkdir(parents=True)
    agent.write_text("---\nname: code-reviewer\ndescription: Reviews\n---\nReview carefully.\n")
    imported = json.loads(burn("persona", "import", "--from", "claude", str(agent), "--format", "json").out)
    write_session(claude_root)
    assert burn("ingest").code == 0
    [rec] = json.loads(burn("log", "persona=code-reviewer", "--format", "json").out)["records"]
    assert rec["version"] == imported["personas"][0]["version"] and rec["source"] == "harness"


def test_a_giant_line_is_skipped_without_holding_it(claude_root: Path, burn_home: Path, monkeypatch) -> None:
    from burn.ledger.readers import lines

    monkeypatch.setattr(lines, "MAX_LINE", 4096)
    monkeypatch.setattr(lines, "CHUNK", 1024)
    path = claude_root / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(line(assistant("m1", "r1", 10)) + '{"usage": "' + "x" * 20_000)  # giant, unfinished
    led = Ledger.open(burn_home)
    first = ingest(led, ["claude"])
    assert first.records == 1
    with path.open("a") as f:
        f.write("x" * 10_000 + '"}\n' + line(assistant("m2", "r2", 7)))
    second = ingest(led, ["claude"])
    assert second.skipped["line too long"] == 1 and second.records == 1
    assert totals(all_records(burn_home))["output_tokens"] == 17


def test_an_ingest_killed_before_recording_is_settled_by_the_next(
    claude_root: Path, burn_home: Path, monkeypatch
) -> None:
    write_session(claude_root)
    led = Ledger.open(burn_home)

    def dies(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt  # the process is stopped after reading, before recording

    with monkeypatch.context() as m:
        m.setattr(Ledger, "append_many", dies)
        with pytest.raises(KeyboardInterrupt):
            ingest(led, ["claude"])
    again = ingest(Ledger.open(burn_home), ["claude"])
    assert again.files_read == 0  # the logs were fully read the first time
    assert again.records == 2
    assert totals(all_records(burn_home))["output_tokens"] == 160 + 60


def test_two_ingests_at_once_record_growth_once(claude_root: Path, burn_home: Path) -> None:
    import subprocess
    import sys

    write_session(claude_root)
    code = "from burn.ledger import Ledger; from burn.ledger.ingest import ingest; ingest(Ledger.open())"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert totals(all_records(burn_home))["output_tokens"] == 160 + 60
