"""The Codex reader over real-format rollouts: cumulative totals become exact deltas, once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burn.ledger.readers import Cursor, ReadResult
from burn.ledger.readers.codex import CodexReader
from burn.ledger.usage import TOKEN_KINDS, add_usage

THREAD = "0199a213-81c0-7800-8aa1-bbab2a035a53"  # a UUIDv7, as Codex names threads
BORN = "2025-10-01T10:00:00.000Z"


def rollout(home: Path, thread: str = THREAD, sub: str = "sessions/2025/10/01") -> Path:
    path = home / sub / f"rollout-2025-10-01T10-00-00-{thread}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def jl(*objs: dict) -> str:
    return "".join(json.dumps(o) + "\n" for o in objs)


def meta(thread: str = THREAD, ts: str = BORN, **extra: object) -> dict:
    payload = {
        "id": thread,
        "timestamp": ts,
        "cwd": "/srv/dev/project",
        "originator": "codex_cli_rs",
        "cli_version": "0.46.0",
        "instructions": None,
        "source": "cli",
        "model_provider": "openai",
        **extra,
    }
    return {"timestamp": ts, "type": "session_meta", "payload": {**payload, "git": {"branch": "main"}}}


def turn(
    model: str = "gpt-5-codex", ts: str = "2025-10-01T10:00:01.000Z", turn_id: str | None = None
) -> dict:
    payload: dict = {
        "cwd": "/srv/dev/project",
        "approval_policy": "on-request",
        "sandbox_policy": {"mode": "workspace-write"},
        "model": model,
        "effort": "medium",
        "summary": "auto",
    }
    if turn_id:
        payload["turn_id"] = turn_id
    return {"timestamp": ts, "type": "turn_context", "payload": payload}


def usage(i: int, c: int, o: int, r: int) -> dict:
    return {
        "input_tokens": i,
        "cached_input_tokens": c,
        "output_tokens": o,
        "reasoning_output_tokens": r,
        "total_tokens": i + o,
    }


def count(
    total: tuple[int, int, int, int] | None, ts: str, last: tuple[int, int, int, int] | None = None
) -> dict:
    info = None
    if total is not None:
        info = {
            "total_token_usage": usage(*total),
            "last_token_usage": usage(*(last or total)),
            "model_context_window": 272000,
        }
    rate = {"primary": {"used_percent": 7.0, "window_minutes": 300, "resets_at": 1759400000}}
    return {
        "timestamp": ts,
        "type": "event_msg",
        "payload": {"type": "token_count", "info": info, "rate_limits": rate},
    }


def noise(ts: str, text: str = "working on it") -> list[dict]:
    return [
        {
            "timestamp": ts,
            "type": "event_msg",
            "payload": {"type": "user_message", "message": text, "images": []},
        },
        {
            "timestamp": ts,
            "type": "response_item",
            "payload": {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text}],
            },
        },
        {"timestamp": ts, "type": "event_msg", "payload": {"type": "agent_message", "message": text}},
    ]


# A realistic session: two turns, a model switch, rate-limit-only refreshes (info null) and
# a re-emitted unchanged total. Cumulative (input incl. cached, cached, output, reasoning):
TOTALS = [(5200, 0, 310, 128), (11800, 5120, 702, 320), (19000, 11776, 1210, 512), (26500, 18944, 1490, 512)]
EXPECTED = [  # per response: input not cached, output, cache read, reasoning
    (5200, 310, 0, 128),
    (6600 - 5120, 392, 5120, 192),
    (7200 - 6656, 508, 6656, 192),
    (7500 - 7168, 280, 7168, 0),
]


def session_lines() -> list[dict]:
    return [
        meta(),
        turn("gpt-5-codex", "2025-10-01T10:00:01.000Z"),
        *noise("2025-10-01T10:00:01.500Z"),
        count(None, "2025-10-01T10:00:02.000Z"),
        count(TOTALS[0], "2025-10-01T10:00:05.000Z"),
        count(TOTALS[0], "2025-10-01T10:00:05.400Z"),  # re-emitted: same total
        count(TOTALS[1], "2025-10-01T10:00:09.000Z", last=(6600, 5120, 392, 192)),
        turn("gpt-5", "2025-10-01T10:01:00.000Z"),
        *noise("2025-10-01T10:01:00.100Z", "next"),
        count(TOTALS[2], "2025-10-01T10:01:07.000Z"),
        count(None, "2025-10-01T10:01:07.100Z"),
        count(TOTALS[3], "2025-10-01T10:01:12.000Z"),
        count(TOTALS[3], "2025-10-01T10:01:13.000Z"),
    ]


def write_session(home: Path) -> Path:
    path = rollout(home)
    path.write_text(jl(*session_lines()))
    return path


def home() -> Path:
    return Path(os.environ["CODEX_HOME"])


def read(path: Path, cursor: Cursor | None = None) -> ReadResult:
    return CodexReader().read(path, cursor or Cursor())


def totals(result: ReadResult) -> dict[str, int | None]:
    return add_usage(ev.usage for ev in result.events)


def test_realistic_session_exact_totals() -> None:
    result = read(write_session(home()))
    assert not result.problems and not result.skipped
    got = [
        (
            e.usage["input_tokens"],
            e.usage["output_tokens"],
            e.usage["cache_read_tokens"],
            e.usage["reasoning_tokens"],
        )
        for e in result.events
    ]
    assert got == EXPECTED
    assert totals(result) == {
        "input_tokens": 5200 + 1480 + 544 + 332,
        "output_tokens": 1490,
        "cache_read_tokens": 18944,
        "cache_write_5m_tokens": 0,  # OpenAI bills no cache writes: a true zero
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 512,
    }
    # billed input (not cached + cached) is exactly Codex's cumulative input
    t = totals(result)
    assert (t["input_tokens"] or 0) + (t["cache_read_tokens"] or 0) == TOTALS[-1][0]
    assert [e.model for e in result.events] == ["gpt-5-codex", "gpt-5-codex", "gpt-5", "gpt-5"]
    assert {e.session for e in result.events} == {THREAD}
    assert {e.cwd for e in result.events} == {"/srv/dev/project"}
    assert {e.granularity for e in result.events} == {"per-turn"}
    assert [e.timestamp for e in result.events] == [
        "2025-10-01T10:00:05Z",
        "2025-10-01T10:00:09Z",
        "2025-10-01T10:01:07Z",
        "2025-10-01T10:01:12Z",
    ]
    assert len({e.key for e in result.events}) == 4
    assert result.lines == len(session_lines())
    assert result.cursor.offset == result.cursor.size == os.path.getsize(rollout(home()))


def test_cumulative_totals_become_deltas_and_repeats_count_once() -> None:
    path = rollout(home())
    path.write_text(
        jl(
            meta(),
            turn(),
            count((100, 0, 10, 0), "2025-10-01T10:00:02Z"),
            count((100, 0, 10, 0), "2025-10-01T10:00:03Z"),
            count((100, 0, 10, 0), "2025-10-01T10:00:04Z"),
            count((350, 0, 40, 0), "2025-10-01T10:00:05Z"),
        )
    )
    result = read(path)
    assert [e.usage["input_tokens"] for e in result.events] == [100, 250]
    assert [e.usage["output_tokens"] for e in result.events] == [10, 30]


def test_cached_input_is_split_out_of_input() -> None:
    path = rollout(home())
    path.write_text(jl(meta(), turn(), count((10000, 9000, 50, 0), "2025-10-01T10:00:02Z")))
    (ev,) = read(path).events
    assert ev.usage["input_tokens"] == 1000
    assert ev.usage["cache_read_tokens"] == 9000


def test_session_id_falls_back_to_the_file_name() -> None:
    path = rollout(home())
    path.write_text(jl(turn(), count((10, 0, 1, 0), "2025-10-01T10:00:02Z")))
    (ev,) = read(path).events
    assert ev.session == THREAD


def test_incremental_read_gets_only_new_events_and_adds_up_exactly() -> None:
    lines = session_lines()
    full = read(write_session(home()))
    path = rollout(home(), thread="0199a213-81c0-7800-8aa1-000000000002")
    for cut in range(1, len(lines)):
        path.write_text(jl(*lines[:cut]))
        first = read(path)
        with path.open("a") as f:
            f.write(jl(*lines[cut:]))
        second = read(path, first.cursor)
        assert second.lines == len(lines) - cut  # nothing before the cursor is read again
        assert [e.usage for e in first.events + second.events] == [e.usage for e in full.events], cut
        assert [e.key.split(":", 1)[1] for e in first.events + second.events] == [
            e.key.split(":", 1)[1] for e in full.events
        ]
        assert [e.model for e in first.events + second.events] == [e.model for e in full.events]


def test_unchanged_file_reads_nothing_new() -> None:
    path = write_session(home())
    first = read(path)
    again = read(path, first.cursor)
    assert again.events == [] and again.lines == 0
    assert again.cursor.offset == first.cursor.offset


def test_half_written_last_line_waits_for_the_next_run() -> None:
    path = rollout(home())
    done = jl(meta(), turn(), count((100, 0, 10, 0), "2025-10-01T10:00:02Z"))
    partial = json.dumps(count((300, 100, 30, 0), "2025-10-01T10:00:05Z"))
    path.write_text(done + partial[:57])
    first = read(path)
    assert len(first.events) == 1
    assert first.cursor.offset == len(done.encode())
    assert not first.problems
    path.write_text(done + partial + "\n")
    second = read(path, first.cursor)
    assert [(e.usage["input_tokens"], e.usage["cache_read_tokens"]) for e in second.events] == [(100, 100)]


def test_truncated_or_rewritten_file_is_read_again_from_the_start() -> None:
    path = write_session(home())
    first = read(path)
    # rewritten in place, shorter: the old offset is past its end
    other = "0199a213-81c0-7800-8aa1-0000000000ff"
    path.write_text(jl(meta(other), turn("o3"), count((40, 0, 4, 0), "2025-10-01T11:00:00Z")))
    again = read(path, first.cursor)
    assert [e.usage["input_tokens"] for e in again.events] == [40]
    assert [(e.session, e.model, e.key) for e in again.events] == [(other, "o3", f"{other}:0:40:0:4:0")]
    # replaced by another file (new inode) that is longer than the old offset
    longer = path.with_suffix(".tmp")
    longer.write_text(jl(*session_lines(), *noise("2025-10-01T12:00:00Z") * 40))
    assert longer.stat().st_size > again.cursor.offset
    os.replace(longer, path)
    third = read(path, again.cursor)
    assert [e.usage["input_tokens"] for e in third.events] == [x[0] for x in EXPECTED]


def test_bad_lines_are_counted_and_the_rest_is_read() -> None:
    path = rollout(home())
    good = [meta(), turn(), count((100, 0, 10, 0), "2025-10-01T10:00:02Z")]
    bad_count = count((150, 0, 20, 0), "2025-10-01T10:00:03Z")
    bad_count["payload"]["info"]["total_token_usage"]["input_tokens"] = "many"
    with path.open("wb") as f:
        f.write(jl(*good).encode())
        f.write(b'{"timestamp":"2025-10-01T10:00:03Z","type":"event_msg","payload":{"type":"token_count",\n')
        f.write(b'{"type":"event_msg","payload":{"type":"token_count","info":\xff\xfe}}\n')
        f.write(
            json.dumps({"timestamp": BORN, "type": "mystery", "payload": {"type": "token_count"}}).encode()
            + b"\n"
        )
        f.write(json.dumps(bad_count).encode() + b"\n")
        f.write(b'[1, 2, 3, "token_count"]\n')
        f.write(b"{not json, but it cannot carry usage: never parsed\n")  # the fast path skips it
        f.write(b'{"type":"message","role":"user","content":"what is a token_count?"}\n')  # pre-envelope
        f.write(jl(count((400, 100, 50, 0), "2025-10-01T10:00:09Z")).encode())
    result = read(path)
    assert result.skipped == {
        "malformed JSON": 2,
        "unknown line type": 1,
        "unexpected shape": 1,
        "not a JSON object": 1,
    }
    assert len(result.problems) == 5
    assert result.problems[0].startswith(f"{path}:4: ")
    assert any(":6: unknown line type 'mystery'" in p for p in result.problems)
    assert [(e.usage["input_tokens"], e.usage["cache_read_tokens"]) for e in result.events] == [
        (100, 0),
        (200, 100),
    ]


def test_stale_snapshot_is_ignored_and_a_restart_counts_from_zero() -> None:
    path = rollout(home())
    path.write_text(
        jl(
            meta(),
            turn(),
            count((10000, 0, 500, 0), "2025-10-01T10:00:02Z"),
            count((9900, 0, 480, 0), "2025-10-01T10:00:03Z", last=(100, 0, 20, 0)),  # late, stale
            count((12000, 0, 600, 0), "2025-10-01T10:00:04Z"),
            count((300, 0, 30, 0), "2025-10-01T10:00:05Z"),  # the counter restarted
            count((700, 0, 70, 0), "2025-10-01T10:00:06Z"),
        )
    )
    result = read(path)
    assert [e.usage["input_tokens"] for e in result.events] == [10000, 2000, 300, 400]
    assert [e.usage["output_tokens"] for e in result.events] == [500, 100, 30, 40]
    assert len({e.key for e in result.events}) == 4  # the restart's totals get keys of their own


PARENT = "0199a200-0000-7000-8000-00000000000a"
CHILD = "0199a213-81c0-7800-8aa1-00000000000c"  # created 2025-10-01T10:00:00Z, after the parent


def test_forked_session_does_not_count_the_replayed_parent_history() -> None:
    parent_turn = "0199a200-1111-7000-8000-000000000001"  # a turn older than the fork
    child_turn = "0199a213-9000-7000-8000-000000000001"  # after the fork was created
    path = rollout(home(), CHILD)
    path.write_text(
        jl(
            meta(CHILD, forked_from_id=PARENT),
            meta(PARENT, ts="2025-09-30T08:00:00Z"),  # the parent's history, replayed
            turn("gpt-5", "2025-10-01T10:00:00.010Z", turn_id=parent_turn),
            count((5000, 0, 300, 0), "2025-10-01T10:00:00.011Z"),
            count((9000, 4000, 500, 0), "2025-10-01T10:00:00.012Z"),
            turn("gpt-5-codex", "2025-10-01T10:00:00.300Z", turn_id=child_turn),  # the child's own
            count((9000, 4000, 500, 0), "2025-10-01T10:00:00.400Z"),  # baseline re-emitted
            count((15000, 8500, 900, 64), "2025-10-01T10:00:06Z"),
        )
    )
    result = read(path)
    assert len(result.events) == 1
    (ev,) = result.events
    assert ev.session == CHILD
    assert ev.model == "gpt-5-codex"
    assert (ev.usage["input_tokens"], ev.usage["cache_read_tokens"], ev.usage["output_tokens"]) == (
        1500,
        4500,
        400,
    )
    assert ev.usage["reasoning_tokens"] == 64


def test_fork_without_timed_turn_ids_ends_replay_at_a_later_stamped_turn() -> None:
    child = "5b7c5a32-9a39-4ad5-9c48-1f1f1f1f1f1f"  # a v4 id: no time in it
    path = rollout(home(), child)
    path.write_text(
        jl(
            meta(child, ts="2025-10-01T10:00:00.000Z", forked_from_id=PARENT),
            turn("gpt-5", "2025-09-30T08:00:01Z"),  # replayed with its original stamp
            count((5000, 0, 300, 0), "2025-09-30T08:00:05Z"),
            turn("gpt-5", "2025-10-01T10:00:00.500Z"),  # replayed, stamped at the fork
            count((8000, 0, 400, 0), "2025-10-01T10:00:00.600Z"),
            turn("gpt-5", "2025-10-01T10:00:03Z"),  # the child's own first turn
            count((8100, 0, 420, 0), "2025-10-01T10:00:07Z"),
        )
    )
    result = read(path)
    assert [(e.usage["input_tokens"], e.usage["output_tokens"]) for e in result.events] == [(100, 20)]


def test_spawned_subagent_spend_goes_to_the_root_session_under_its_role() -> None:
    root = "0199a100-0000-7000-8000-000000000001"
    mid = "0199a150-0000-7000-8000-000000000002"
    leaf = "0199a213-81c0-7800-8aa1-000000000003"

    def spawn(parent: str, role: str) -> dict:
        return {"subagent": {"thread_spawn": {"parent_thread_id": parent, "depth": 1, "agent_role": role}}}

    rollout(home(), root).write_text(jl(meta(root), turn()))
    rollout(home(), mid, "sessions/2025/10/02").write_text(jl(meta(mid, source=spawn(root, "planner"))))
    leaf_path = rollout(home(), leaf)
    leaf_path.write_text(
        jl(
            meta(leaf, source=spawn(mid, "explorer")),
            turn("gpt-5-codex", "2025-10-01T10:00:00.200Z", turn_id="0199a213-9000-7000-8000-000000000009"),
            count((700, 200, 70, 0), "2025-10-01T10:00:04Z"),
        )
    )
    result = read(leaf_path)
    (ev,) = result.events
    assert ev.session == root
    assert ev.agent == "explorer"
    assert ev.key.startswith(leaf + ":")
    assert result.labels == {"explorer": "explorer"}
    assert (ev.usage["input_tokens"], ev.usage["cache_read_tokens"]) == (500, 200)


def test_roots_and_files_follow_codex_home(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = CodexReader()
    assert reader.roots() == [home()]
    a = write_session(home())
    b = rollout(home(), "0199a213-81c0-7800-8aa1-000000000004", "archived_sessions")
    b.write_text(jl(meta()))
    (home() / "sessions" / "history.jsonl").write_text("{}\n")
    (home() / "sessions" / "2025" / "notes.jsonl").write_text("{}\n")
    assert list(reader.files(home())) == [a, b]
    monkeypatch.delenv("CODEX_HOME")
    assert reader.roots() == [Path("~/.codex").expanduser()]


def test_unreadable_or_vanished_file_is_counted_and_the_cursor_kept() -> None:
    gone = rollout(home())
    old = Cursor(inode=42, size=100, offset=100, meta={"prev": "1,0,1,0"})
    result = read(gone, old)
    assert result.skipped == {"unreadable file": 1}
    assert result.events == []
    assert (result.cursor.inode, result.cursor.offset, result.cursor.meta) == (42, 100, {"prev": "1,0,1,0"})
    gone.mkdir(parents=True)  # a directory where the file was
    result = read(gone, Cursor(inode=gone.stat().st_ino))
    assert result.skipped == {"unreadable file": 1}


_REAL = [json.dumps(o).encode() for o in session_lines()]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    lines = list(_REAL)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        line = bytearray(lines[i])
        op = draw(st.sampled_from(["insert", "delete", "flip", "truncate"]))
        pos = draw(st.integers(0, max(0, len(line) - 1)))
        if op == "insert":
            line[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del line[pos : pos + draw(st.integers(1, 12))]
        elif op == "flip" and line:
            line[pos] ^= 1 << draw(st.integers(0, 7))
        else:
            line = line[:pos]
        lines[i] = bytes(line)
    return b"\n".join(lines) + draw(st.sampled_from([b"\n", b""]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mutated(), split=st.integers(0, 100))
def test_fuzzed_rollouts_never_raise(data: bytes, split: int) -> None:
    path = rollout(home())
    cut = len(data) * split // 100
    path.write_bytes(data[:cut])
    first = read(path)
    path.write_bytes(data)
    second = read(path, first.cursor)
    for result in (first, second):
        assert 0 <= result.cursor.offset <= len(data)
        for ev in result.events:
            assert set(ev.usage) == set(TOKEN_KINDS)
            assert all(v is None or (isinstance(v, int) and v >= 0) for v in ev.usage.values())
    whole = read(path)
    assert whole.cursor.offset == (len(data) if data.endswith(b"\n") else data.rfind(b"\n") + 1)


def test_ingest_records_every_codex_token_exactly_once(burn_home: Path) -> None:
    from burn.ledger import Ledger
    from burn.ledger.ingest import ingest
    from burn.ledger.query import Query

    path = write_session(home())
    led = Ledger.open(burn_home)
    assert ingest(led, ["codex"]).records == 1
    assert ingest(led, ["codex"]).records == 0  # nothing new: the cursor's state holds
    with path.open("a") as f:
        f.write(jl(turn("gpt-5"), count((30000, 20000, 1600, 600), "2025-10-01T10:02:00Z")))
    assert ingest(led, ["codex"]).records == 1  # only the growth
    records = [json.loads(s) for s in led.log_json(Query())]
    recorded = add_usage(r["usage"] for r in records)
    assert recorded == totals(read(path))
    assert recorded["input_tokens"] + recorded["cache_read_tokens"] == 30000
    assert {r["sessions"][0] for r in records} == {THREAD}
