"""The OpenCode reader over real-format JSON storage and a real-schema `opencode.db`."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burn.ledger.readers import Cursor, ReadResult
from burn.ledger.readers import opencode as oc
from burn.ledger.readers.opencode import OpenCodeReader
from burn.ledger.usage import TOKEN_KINDS, add_usage

T0 = 1_760_000_000_000  # ms, 2025-10-09T08:53:20Z
PROJECT = "4b0ea68d7af9a6031a7ffda7ad66e0cb83315750"
SES = "ses_6a1f3c2b0ffe1Qm8R4b2JtV9xZ"
CHILD = "ses_6a1f3c2b0ffe2Child000000001"


def data_dir() -> Path:
    return Path(os.environ["OPENCODE_DATA_DIR"])


def tokens(inp: int, out: int, reasoning: int = 0, read: int = 0, write: int = 0) -> dict:
    return {"input": inp, "output": out, "reasoning": reasoning, "cache": {"read": read, "write": write}}


def assistant(
    mid: str,
    tok: dict,
    *,
    session: str = SES,
    created: int = T0,
    cost: float = 0.0,
    agent: str | None = "build",
    model: str = "claude-sonnet-4-5",
) -> dict:
    msg = {
        "id": mid,
        "sessionID": session,
        "role": "assistant",
        "time": {"created": created, "completed": created + 4000},
        "parentID": "msg_user0001",
        "modelID": model,
        "providerID": "anthropic",
        "mode": agent or "build",
        "path": {"cwd": "/srv/dev/project", "root": "/srv/dev/project"},
        "cost": cost,
        "tokens": tok,
        "finish": "stop",
    }
    if agent is not None:
        msg["agent"] = agent
    return msg


def user(mid: str, session: str = SES, created: int = T0) -> dict:
    return {
        "id": mid,
        "sessionID": session,
        "role": "user",
        "time": {"created": created},
        "agent": "build",
        "model": {"providerID": "anthropic", "modelID": "claude-sonnet-4-5"},
    }


def step(pid: str, mid: str, tok: dict, cost: float, session: str = SES) -> dict:
    return {
        "id": pid,
        "sessionID": session,
        "messageID": mid,
        "type": "step-finish",
        "reason": "tool-calls",
        "snapshot": "9f1c2d3e4b5a",
        "cost": cost,
        "tokens": tok,
    }


def put(path: Path, obj: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(obj, indent=2).encode())
    return path


def legacy_message(msg: dict) -> Path:
    return put(data_dir() / "storage" / "message" / msg["sessionID"] / f"{msg['id']}.json", msg)


def legacy_session(sid: str, parent: str | None = None) -> Path:
    info = {
        "id": sid,
        "version": "0.15.8",
        "projectID": PROJECT,
        "directory": "/srv/dev/project",
        "title": "Refactor the parser",
        "time": {"created": T0 - 60_000, "updated": T0},
    }
    if parent:
        info["parentID"] = parent
    return put(data_dir() / "storage" / "session" / PROJECT / f"{sid}.json", info)


def legacy_part(part: dict) -> Path:
    return put(data_dir() / "storage" / "part" / part["messageID"] / f"{part['id']}.json", part)


def read(path: Path, cursor: Cursor | None = None) -> ReadResult:
    return OpenCodeReader().read(path, cursor or Cursor())


def usage_of(result: ReadResult) -> dict[str, int | None]:
    return add_usage(e.usage for e in result.events)


# -- legacy JSON storage --------------------------------------------------------------------


def test_legacy_session_exact_totals_and_fields() -> None:
    legacy_session(SES)
    legacy_message(user("msg_user0001"))
    # three model steps: the message keeps the last step's tokens but every step's cost
    multi = assistant("msg_a0000001", tokens(12, 80, 0, 9000, 0), cost=0.1234565)
    steps = [
        step("prt_s1", "msg_a0000001", tokens(1500, 200, 64, 0, 6000), 0.05),
        step("prt_s2", "msg_a0000001", tokens(30, 150, 0, 7500, 300), 0.0334565),
        step("prt_s3", "msg_a0000001", tokens(12, 80, 0, 9000, 0), 0.04),
    ]
    for s in steps:
        legacy_part(s)
    legacy_part(
        {"id": "prt_t1", "messageID": "msg_a0000001", "type": "text", "text": "step-finish is a word"}
    )
    single = assistant("msg_a0000002", tokens(7, 40, 16, 9300, 120), created=T0 + 60_000, cost=0.012)
    streaming = assistant("msg_a0000003", tokens(0, 0), created=T0 + 90_000)
    events = []
    for msg in (user("msg_user0002"), multi, single, streaming):
        result = read(legacy_message(msg))
        assert not result.problems and not result.skipped
        events += result.events
    assert [e.key for e in events] == ["msg_a0000001", "msg_a0000002"]
    assert events[0].usage == {
        "input_tokens": 1542,
        "output_tokens": 430,
        "cache_read_tokens": 16500,
        "cache_write_5m_tokens": 6300,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 64,
    }
    assert add_usage(e.usage for e in events) == {
        "input_tokens": 1549,
        "output_tokens": 470,
        "cache_read_tokens": 25800,
        "cache_write_5m_tokens": 6420,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 80,
    }
    assert [e.cost_micros for e in events] == [123457, 12000]  # exact decimal, half-up
    assert {e.session for e in events} == {SES}
    assert {(e.agent, e.model, e.cwd, e.granularity) for e in events} == {
        ("build", "claude-sonnet-4-5", "/srv/dev/project", "per-message")
    }
    assert [e.timestamp for e in events] == ["2025-10-09T08:53:20Z", "2025-10-09T08:54:20Z"]


def test_message_without_step_parts_uses_its_own_tokens() -> None:
    result = read(legacy_message(assistant("msg_a0000009", tokens(100, 20, 0, 50, 10), cost=0.5)))
    (ev,) = result.events
    assert (ev.usage["input_tokens"], ev.usage["cache_read_tokens"], ev.usage["cache_write_5m_tokens"]) == (
        100,
        50,
        10,
    )
    assert ev.cost_micros == 500_000
    assert result.labels == {"build": "build"}


def test_zero_cost_is_unknown_not_free() -> None:
    (ev,) = read(legacy_message(assistant("msg_a0000010", tokens(10, 2), cost=0))).events
    assert ev.cost_micros is None


def test_older_messages_name_their_agent_by_mode() -> None:
    msg = assistant("msg_a0000011", tokens(10, 2), agent=None)
    msg["mode"] = "plan"
    (ev,) = read(legacy_message(msg)).events
    assert ev.agent == "plan"


def test_subagent_session_spend_goes_to_the_root_session() -> None:
    grandchild = "ses_6a1f3c2b0ffe3Grand00000001"
    legacy_session(SES)
    legacy_session(CHILD, parent=SES)
    legacy_session(grandchild, parent=CHILD)
    msg = assistant("msg_a0000020", tokens(10, 5), session=grandchild, agent="reviewer")
    result = read(legacy_message(msg))
    (ev,) = result.events
    assert ev.session == SES
    assert ev.agent == "reviewer"
    assert result.labels == {"reviewer": "reviewer"}


def test_a_growing_message_is_read_again_and_its_cursor_is_its_size() -> None:
    path = legacy_message(assistant("msg_a0000030", tokens(0, 0)))
    first = read(path)
    assert first.events == []
    assert first.cursor.offset == first.cursor.size == path.stat().st_size
    path = legacy_message(assistant("msg_a0000030", tokens(900, 70, 0, 100, 0), cost=0.02))
    second = read(path, first.cursor)
    assert [(e.key, e.usage["input_tokens"]) for e in second.events] == [("msg_a0000030", 900)]
    assert second.cursor.offset == second.cursor.size == path.stat().st_size


def test_half_written_message_waits_for_the_next_run() -> None:
    path = legacy_message(assistant("msg_a0000040", tokens(5, 5)))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    first = read(path)
    assert first.events == [] and not first.skipped
    assert first.cursor.offset == 0  # not consumed: read again
    path.write_bytes(whole)
    assert [e.key for e in read(path, first.cursor).events] == ["msg_a0000040"]


def test_bad_message_files_are_counted() -> None:
    base = data_dir() / "storage" / "message" / SES
    base.mkdir(parents=True)
    good = legacy_message(assistant("msg_a0000050", tokens(5, 5)))
    bad_tokens = assistant("msg_a0000051", tokens(5, 5))
    bad_tokens["tokens"]["input"] = -3
    cases = {
        "msg_x1.json": b'{"role": "assistant", "tokens": {"input": 1,, }',
        "msg_x2.json": b'{"role": "assistant", "tokens": \xff\xfe}',
        "msg_x3.json": b'["assistant", "tokens"]',
        "msg_x4.json": json.dumps(bad_tokens).encode(),
        # a user message cannot carry usage: the fast path never parses it (so never counts it)
        "msg_x5.json": b'{"role": "user", "summary": {"title": "tokens",, }}',
    }
    skipped: dict[str, int] = {}
    for name, data in cases.items():
        (base / name).write_bytes(data)
        result = read(base / name)
        assert result.events == []
        for k, v in result.skipped.items():
            skipped[k] = skipped.get(k, 0) + v
        assert result.cursor.offset == len(data)  # counted once, not read again
    assert skipped == {"malformed JSON": 2, "unexpected shape": 2}
    assert [e.key for e in read(good).events] == ["msg_a0000050"]
    gone = read(base / "msg_gone.json", Cursor(7, 70, 70))
    assert gone.skipped == {"unreadable file": 1}
    assert (gone.cursor.inode, gone.cursor.offset) == (7, 70)


def test_roots_and_files(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = OpenCodeReader()
    assert reader.roots() == [data_dir()]
    a = legacy_message(assistant("msg_a0000060", tokens(1, 1)))
    legacy_session(SES)
    legacy_part(step("prt_1", "msg_a0000060", tokens(1, 1), 0.0))
    db = make_db(data_dir() / "opencode.db")
    beta = make_db(data_dir() / "opencode-beta.db")
    (data_dir() / "opencode.db-wal").write_bytes(b"")
    assert [Path(p) for p in reader.files(data_dir())] == [a, db, beta]  # (some as strings)
    monkeypatch.delenv("OPENCODE_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", "/xdg")
    assert reader.roots() == [Path("/xdg/opencode")]
    monkeypatch.delenv("XDG_DATA_HOME")
    assert reader.roots() == [Path("~/.local/share/opencode").expanduser()]


# -- opencode.db ----------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE `session` (
    `id` text PRIMARY KEY, `project_id` text NOT NULL, `parent_id` text, `slug` text NOT NULL,
    `directory` text NOT NULL, `title` text NOT NULL, `version` text NOT NULL, `share_url` text,
    `summary_additions` integer, `summary_deletions` integer, `summary_files` integer,
    `summary_diffs` text, `revert` text, `permission` text, `time_created` integer NOT NULL,
    `time_updated` integer NOT NULL, `time_compacting` integer, `time_archived` integer,
    `workspace_id` text, `path` text, `agent` text, `model` text
);
CREATE TABLE `message` (
    `id` text PRIMARY KEY, `session_id` text NOT NULL, `time_created` integer NOT NULL,
    `time_updated` integer NOT NULL, `data` text NOT NULL
);
CREATE TABLE `part` (
    `id` text PRIMARY KEY, `message_id` text NOT NULL, `session_id` text NOT NULL,
    `time_created` integer NOT NULL, `time_updated` integer NOT NULL, `data` text NOT NULL
);
CREATE INDEX `message_session_time_created_id_idx` ON `message` (`session_id`,`time_created`,`id`);
CREATE INDEX `part_message_id_id_idx` ON `part` (`message_id`,`id`);
CREATE INDEX `part_session_idx` ON `part` (`session_id`);
CREATE INDEX `session_project_idx` ON `session` (`project_id`);
"""


def make_db(path: Path, wal: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA)
    for sid, parent in ((SES, None), (CHILD, SES)):
        conn.execute(
            "INSERT INTO session (id, project_id, parent_id, slug, directory, title, version,"
            " time_created, time_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sid, PROJECT, parent, "brave-otter", "/srv/dev/project", "t", "1.1.40", T0, T0),
        )
    conn.commit()
    conn.close()
    return path


def db_message(conn: sqlite3.Connection, msg: dict, updated: int | None = None) -> None:
    data = {k: v for k, v in msg.items() if k not in ("id", "sessionID")}  # the row holds the ids
    created = msg["time"]["created"]
    conn.execute(
        "INSERT OR REPLACE INTO message VALUES (?, ?, ?, ?, ?)",
        (msg["id"], msg["sessionID"], created, updated or created + 4000, json.dumps(data)),
    )


def db_part(conn: sqlite3.Connection, part: dict, at: int) -> None:
    data = {k: v for k, v in part.items() if k not in ("id", "sessionID", "messageID")}
    conn.execute(
        "INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)",
        (part["id"], part["messageID"], part["sessionID"], at, at, json.dumps(data)),
    )


def populate(path: Path) -> None:
    conn = sqlite3.connect(path)
    hour = 3_600_000
    db_message(conn, user("msg_u1", created=T0 - hour))
    db_message(conn, assistant("msg_d1", tokens(12, 80, 0, 9000, 0), created=T0 - hour, cost=0.09))
    db_part(conn, step("prt_d1a", "msg_d1", tokens(1500, 200, 64, 0, 6000), 0.05), T0 - hour)
    db_part(conn, step("prt_d1b", "msg_d1", tokens(12, 80, 0, 9000, 0), 0.04), T0 - hour)
    db_message(conn, assistant("msg_d2", tokens(40, 9, 0, 100, 0), created=T0 - hour + 1000, cost=0.003))
    child = assistant("msg_d3", tokens(300, 60, 0, 0, 200), session=CHILD, created=T0, agent="reviewer")
    db_message(conn, child, updated=T0)
    db_message(conn, assistant("msg_d4", tokens(0, 0), created=T0))  # still streaming
    conn.commit()
    conn.close()


def test_db_session_exact_totals_and_fields() -> None:
    path = make_db(data_dir() / "opencode.db")
    populate(path)
    result = read(path)
    assert not result.problems and not result.skipped
    assert [e.key for e in result.events] == ["msg_d1", "msg_d2", "msg_d3"]
    assert usage_of(result) == {
        "input_tokens": 1512 + 40 + 300,
        "output_tokens": 280 + 9 + 60,
        "cache_read_tokens": 9000 + 100,
        "cache_write_5m_tokens": 6000 + 200,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 64,
    }
    assert [e.cost_micros for e in result.events] == [90000, 3000, None]
    assert [(e.session, e.agent) for e in result.events] == [
        (SES, "build"),
        (SES, "build"),
        (SES, "reviewer"),
    ]
    assert result.labels == {"build": "build", "reviewer": "reviewer"}
    assert result.cursor.offset == T0 + 4000  # the high-water mark: the newest row's time_updated
    assert result.cursor.inode == path.stat().st_ino


def test_db_incremental_reads_rows_updated_since_the_mark() -> None:
    path = make_db(data_dir() / "opencode.db")
    populate(path)
    first = read(path)
    conn = sqlite3.connect(path)
    db_message(
        conn, assistant("msg_d4", tokens(500, 50, 0, 900, 0), created=T0, cost=0.01), updated=T0 + 8000
    )
    db_message(conn, assistant("msg_d5", tokens(60, 6), created=T0 + 9000, cost=0.001))
    conn.commit()
    conn.close()
    second = read(path, first.cursor)
    # rows an hour older than the mark are not read again; the one at the mark is (a repeat)
    assert [e.key for e in second.events] == ["msg_d3", "msg_d4", "msg_d5"]
    assert second.lines == 3
    assert second.cursor.offset == T0 + 13000
    by_key = {e.key: e.usage for e in first.events + second.events}  # the engine: last report wins
    full = read(path)
    assert by_key == {e.key: e.usage for e in full.events}
    assert add_usage(by_key.values()) == usage_of(full)
    third = read(path, second.cursor)  # nothing new: rows inside the margin come again, unchanged
    assert [(e.key, e.usage) for e in third.events] == [(e.key, e.usage) for e in second.events]


def test_db_replaced_by_another_is_read_from_the_start() -> None:
    path = make_db(data_dir() / "opencode.db")
    populate(path)
    stale = Cursor(inode=path.stat().st_ino + 1, size=1, offset=T0 + 10**9)
    assert [e.key for e in read(path, stale).events] == ["msg_d1", "msg_d2", "msg_d3"]
    same = Cursor(inode=path.stat().st_ino, size=1, offset=T0 + 10**9)
    assert read(path, same).events == []


def test_db_locked_is_counted_and_read_later(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oc, "LOCK_WAIT", 0.05)
    path = make_db(data_dir() / "opencode.db", wal=False)
    populate(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        locked = read(path, Cursor())
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert locked.skipped == {"database locked": 1}
    assert locked.events == [] and locked.cursor.offset == 0
    assert [e.key for e in read(path, locked.cursor).events] == ["msg_d1", "msg_d2", "msg_d3"]


def test_db_is_read_only_and_never_blocks_a_running_opencode() -> None:
    path = make_db(data_dir() / "opencode.db")
    populate(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # OpenCode mid-write
    db_message(writer, assistant("msg_d9", tokens(1, 1), created=T0 + 50_000))
    result = read(path)
    assert [e.key for e in result.events] == ["msg_d1", "msg_d2", "msg_d3"]  # committed rows
    writer.execute("COMMIT")  # the writer was never blocked by the read
    writer.close()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        oc._connect(path).execute("DELETE FROM message")


def test_db_bad_rows_and_bad_files_are_counted() -> None:
    path = make_db(data_dir() / "opencode.db")
    populate(path)
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO message VALUES ('msg_bad1', ?, ?, ?, ?)",
        (SES, T0, T0, '{"role":"assistant","tokens":{"input": 1,,}'),
    )
    conn.execute(  # a user row: filtered out by the query itself, never parsed
        "INSERT INTO message VALUES ('msg_user9', ?, ?, ?, ?)",
        (SES, T0, T0, '{"role":"user","summary":{"title":"tokens","body":"count the \\"tokens\\"",,}}'),
    )
    bad = assistant("msg_bad2", tokens(1, 1))
    bad["time"] = {"created": "yesterday"}
    db_message(conn, bad, updated=T0)
    conn.commit()
    conn.close()
    result = read(path)
    assert result.lines == 6  # msg_d1 to msg_d4 and the two bad assistant rows, not the user row
    assert result.skipped == {"malformed JSON": 1, "unexpected shape": 1}
    assert [e.key for e in result.events] == ["msg_d1", "msg_d2", "msg_d3"]
    assert any("message msg_bad2: unexpected shape" in p for p in result.problems)

    junk = data_dir() / "opencode-junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    assert read(junk).skipped == {"unreadable database": 1}
    empty = data_dir() / "opencode-empty.db"
    sqlite3.connect(empty).close()
    assert read(empty).skipped == {"unexpected schema": 1}
    assert read(data_dir() / "opencode-gone.db").skipped == {"unreadable file": 1}


def test_a_message_in_both_stores_has_one_key_and_one_session() -> None:
    legacy_session(SES)
    legacy_session(CHILD, parent=SES)
    msg = assistant("msg_d3", tokens(300, 60, 0, 0, 200), session=CHILD, created=T0, agent="reviewer")
    from_file = read(legacy_message(msg)).events
    path = make_db(data_dir() / "opencode.db")
    populate(path)
    from_db = [e for e in read(path).events if e.key == "msg_d3"]
    assert [(e.session, e.key, e.usage) for e in from_file] == [(e.session, e.key, e.usage) for e in from_db]


# -- fuzz -----------------------------------------------------------------------------------

_REAL = json.dumps(assistant("msg_fz", tokens(120, 30, 4, 900, 50), cost=0.0123), indent=2).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete", "flip"]), st.integers(0, len(_REAL)), st.binary(max_size=6)
        ),
        min_size=1,
        max_size=6,
    )
)
def test_fuzzed_messages_never_raise(edits: list[tuple[str, int, bytes]]) -> None:
    data = bytearray(_REAL)
    for op, pos, blob in edits:
        pos = min(pos, len(data))
        if op == "insert":
            data[pos:pos] = blob or b"\x00"
        elif op == "delete":
            del data[pos : pos + 1 + len(blob)]
        elif pos < len(data):
            data[pos] ^= 0x20
    path = data_dir() / "storage" / "message" / SES / "msg_fz.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
    result = read(path)
    assert result.cursor.offset in (0, len(data))
    for ev in result.events:
        assert set(ev.usage) == set(TOKEN_KINDS)
        assert all(isinstance(v, int) and v >= 0 for v in ev.usage.values())
        assert ev.cost_micros is None or ev.cost_micros > 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.binary(max_size=40).map(lambda b: _REAL[:60] + b + _REAL[60:]), max_size=4))
def test_fuzzed_db_rows_never_raise(rows: list[bytes]) -> None:
    path = data_dir() / "fuzz.db"
    if path.exists():
        path.unlink()
    make_db(path, wal=False)
    conn = sqlite3.connect(path)
    for i, data in enumerate(rows):
        text = data.decode("utf-8", "replace")
        conn.execute("INSERT INTO message VALUES (?, ?, ?, ?, ?)", (f"msg_{i}", SES, T0, T0 + i, text))
    conn.commit()
    conn.close()
    result = read(path)
    assert result.lines == sum(1 for d in rows if b'"assistant"' in d and b'"tokens"' in d)


def test_ingest_records_a_message_in_both_stores_once(burn_home: Path) -> None:
    from burn.ledger import Ledger
    from burn.ledger.ingest import ingest
    from burn.ledger.query import Query

    legacy_session(SES)
    legacy_message(assistant("msg_d2", tokens(40, 9, 0, 100, 0), created=T0 - 3_600_000 + 1000))
    path = make_db(data_dir() / "opencode.db")
    populate(path)
    led = Ledger.open(burn_home)
    ingest(led, ["opencode"])
    assert ingest(led, ["opencode"]).records == 0  # the db's repeats change nothing
    conn = sqlite3.connect(path)
    db_message(conn, assistant("msg_d5", tokens(60, 6), created=T0 + 9000))
    conn.commit()
    conn.close()
    assert ingest(led, ["opencode"]).records == 1
    records = [json.loads(s) for s in led.log_json(Query())]
    assert add_usage(r["usage"] for r in records) == usage_of(read(path))
    assert {r["persona"] for r in records} == {"build", "reviewer"}
