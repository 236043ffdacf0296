"""Bad input for `burn ingest`: an unreadable directory, files that vanish mid-read, a 2 GB
file, non-UTF-8 bytes, unknown line types and missing fields. Each is counted and named
(file, and line where there is one), the rest of the ingest goes on, and nothing already
recorded is lost."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_ingest_claude import SESSION, assistant, line
from test_readers_codex import count, jl, meta, rollout, turn
from test_readers_opencode import SES, T0, db_message, legacy_message, make_db, populate, tokens
from test_readers_opencode import assistant as oc_assistant

from burn.ledger import Ledger
from burn.ledger import ingest as engine
from burn.ledger.query import Query
from burn.ledger.readers import Cursor
from burn.ledger.readers import lines as lines_mod
from burn.ledger.readers.claude import ClaudeReader
from burn.ledger.readers.opencode import OpenCodeReader

THREAD_B = "0199a213-81c0-7800-8aa1-bbab2a035b00"
NOENT = "No such file or directory"


def claude_dir() -> Path:
    return Path(os.environ["CLAUDE_CONFIG_DIR"]) / "projects"


def claude_session(path: Path, session: str, *outs: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for i, out in enumerate(outs):
            f.write(
                line({**assistant(f"{session}-m{path.stat().st_size}-{i}", "r", out), "sessionId": session})
            )
    return path


def codex_rollout(thread: str, day: str, *totals: int) -> Path:
    path = rollout(Path(os.environ["CODEX_HOME"]), thread, f"sessions/2025/10/{day}")
    body = [meta(thread), turn()]
    body += [count((t, 0, t // 10, 0), f"2025-10-01T10:00:{i + 2:02d}Z") for i, t in enumerate(totals)]
    path.write_text(jl(*body))
    return path


def records(burn_home: Path) -> list[dict[str, Any]]:
    return [json.loads(s) for s in Ledger.open(burn_home).log_json(Query())]


def out_tokens(recs: list[dict[str, Any]]) -> int:
    return sum(r["usage"]["output_tokens"] or 0 for r in recs)


# -- an unreadable directory ----------------------------------------------------------------


def _unprivileged() -> tuple[list[str], int, int]:
    """A command prefix that runs a child without the power to read a chmod 000 directory."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()  # chmod alone denies access
    setpriv = shutil.which("setpriv")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        nobody = None
    if setpriv is None or nobody is None:
        pytest.skip("running as root, and no setpriv or no user 'nobody' to drop root with")
    uid, gid = nobody.pw_uid, nobody.pw_gid
    return [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups"], uid, gid


@pytest.fixture
def shared_tree() -> Iterator[Path]:
    """A tree an unprivileged child can use (pytest's own tmp dirs are private to root)."""
    base = Path(tempfile.mkdtemp(prefix="burn-bad-input-"))
    os.chmod(base, 0o755)
    yield base
    for d, _dirs, _files in os.walk(base):
        os.chmod(d, 0o755)
    shutil.rmtree(base, ignore_errors=True)


def test_an_unreadable_directory_is_counted_named_and_the_rest_goes_on(shared_tree: Path) -> None:
    prefix, uid, gid = _unprivileged()
    base = shared_tree
    env = {
        **os.environ,
        "HOME": str(base / "home"),
        "BURN_HOME": str(base / "burn"),
        "CLAUDE_CONFIG_DIR": str(base / "claude"),
        "CODEX_HOME": str(base / "codex"),
        "OPENCODE_DATA_DIR": str(base / "opencode"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    (base / "home").mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        if prefix:  # the tree is the child's own (a locked directory too: mode 000 stops its owner)
            for d, dirs, files in os.walk(base):
                for name in [d, *(os.path.join(d, n) for n in dirs + files)]:
                    os.chown(name, uid, gid)
        cmd = [*prefix, sys.executable, "-m", "burn.cli.main", *args]
        return subprocess.run(cmd, env=env, cwd=base, capture_output=True, text=True, timeout=120)

    projects = base / "claude" / "projects"
    with pytest.MonkeyPatch.context() as m:
        for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "OPENCODE_DATA_DIR"):
            m.setenv(var, env[var])
        first = claude_session(projects / "-srv-a" / "a.jsonl", "sess-a", 120)
        first_run = run("ingest", "--format", "json")
        assert first_run.returncode == 0, first_run.stderr
        assert json.loads(first_run.stdout)["records"] == 1
        [recorded] = json.loads(run("log", "--format", "json").stdout)["records"]

        # the recorded session's directory and one directory of each harness become unreadable
        claude_session(first, "sess-a", 30)  # growth that cannot be seen
        claude_session(projects / "-srv-b" / "b.jsonl", "sess-b", 40)
        codex_rollout("0199a213-81c0-7800-8aa1-bbab2a035a53", "01", 1000)
        locked_codex = codex_rollout(THREAD_B, "02", 5000).parent
        legacy_message(oc_assistant("msg_ok", tokens(5, 7)))
        locked_oc = legacy_message(oc_assistant("msg_hidden", tokens(5, 9), session="ses_hidden")).parent
    locked = [first.parent, locked_codex, locked_oc]
    run("--version")  # hand the new files to the child's user
    for d in locked:
        os.chmod(d, 0)

    second = run("ingest", "--format", "json")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["skipped"] == {"unreadable directory": 3}
    for d in locked:
        assert f"{d}: cannot list: Permission denied" in report["problems"]
    assert report["records"] == 3  # session b, the readable rollout, the readable message
    after = json.loads(run("log", "--format", "json").stdout)["records"]
    assert recorded in after  # the session whose directory is now unreadable keeps its record
    assert sorted(r["usage"]["output_tokens"] for r in after) == [7, 40, 100, 120]


# -- files that vanish mid-read -------------------------------------------------------------


def two_files_per_harness(harness: str) -> tuple[Path, Path]:
    """(a file that will vanish, a file that stays) of one harness, each with usage."""
    if harness == "claude":
        return (
            claude_session(claude_dir() / "-srv-v" / "gone.jsonl", "sess-gone", 50),
            claude_session(claude_dir() / "-srv-v" / "stays.jsonl", "sess-stays", 60),
        )
    if harness == "codex":
        return codex_rollout(THREAD_B, "02", 500), codex_rollout(
            "0199a213-81c0-7800-8aa1-bbab2a035a53", "01", 600
        )
    if harness == "opencode":
        return (
            legacy_message(oc_assistant("msg_gone", tokens(5, 50), session="ses_gone")),
            legacy_message(oc_assistant("msg_stays", tokens(6, 60))),
        )
    db = make_db(Path(os.environ["OPENCODE_DATA_DIR"]) / "opencode-gone.db")
    conn = sqlite3.connect(db)
    db_message(conn, oc_assistant("msg_g1", tokens(5, 50), session="ses_gone"))
    conn.commit()
    conn.close()
    return db, legacy_message(oc_assistant("msg_stays", tokens(6, 60)))


def grow(path: Path) -> None:
    """New usage in a file (or db) that was already ingested."""
    if path.suffix == ".db":
        conn = sqlite3.connect(path)
        db_message(conn, oc_assistant("msg_g2", tokens(1, 1), session="ses_gone", created=T0 + 60_000))
        conn.commit()
        conn.close()
    elif "codex" in str(path):
        with path.open("a") as f:
            f.write(jl(count((900, 0, 90, 0), "2025-10-01T10:05:00Z")))
    elif "opencode" in str(path):
        msg = json.loads(path.read_text())
        msg["tokens"]["output"] += 1
        path.write_text(json.dumps(msg))
    else:
        claude_session(path, path.stem, 1)


HARNESSES = [("claude", "claude"), ("codex", "codex"), ("opencode", "opencode"), ("opencode", "db")]


def wrap_reader(monkeypatch: pytest.MonkeyPatch, **methods: Any) -> None:
    """Every reader the engine makes gets these methods wrapped: name -> (reader, real) -> fn."""
    real_reader_for = engine.reader_for

    def reader_for(harness: str) -> Any:
        reader = real_reader_for(harness)
        for name, wrapper in methods.items():
            setattr(reader, name, wrapper(reader, getattr(reader, name)))
        return reader

    monkeypatch.setattr(engine, "reader_for", reader_for)


@pytest.mark.parametrize(("harness", "kind"), HARNESSES)
@pytest.mark.parametrize("when", ["after listing", "after stat", "after open"])
def test_a_file_that_vanishes_is_counted_with_its_path_and_the_rest_goes_on(
    harness: str, kind: str, when: str, burn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim, stays = two_files_per_harness(kind)
    led = Ledger.open(burn_home)
    assert ingest_records(led, harness) == 2
    before = records(burn_home)
    grow(victim)
    grow(stays)
    if when == "after listing":  # between the listing and the engine's stat

        def files(reader: Any, real: Any) -> Any:
            def listed(root: Path) -> Iterator[Path | str]:
                paths = list(real(root))
                assert str(victim) in map(str, paths)  # (a reader may list paths as strings)
                victim.unlink()
                return iter(paths)

            return listed

        wrap_reader(monkeypatch, files=files)
        reason, text = "vanished file", f"{victim}: vanished before it was read: {NOENT}"
    elif when == "after stat":  # between the engine's stat and the reader's own

        def read(reader: Any, real: Any) -> Any:
            def vanish_then_read(path: Path | str, cursor: Cursor) -> Any:
                if str(path) == str(victim):
                    victim.unlink()
                return real(path, cursor)

            return vanish_then_read

        wrap_reader(monkeypatch, read=read)
        reason, text = "unreadable file", f"{victim}:0: unreadable: {NOENT}"
    elif kind == "db":  # between the reader's stat and its connecting to the db
        from burn.ledger.readers import opencode

        real_connect = opencode._connect

        def connect(path: Path) -> sqlite3.Connection:
            if path == victim and sys._getframe(1).f_code.co_name == "_read_db":
                victim.unlink()
            return real_connect(path)

        monkeypatch.setattr(opencode, "_connect", connect)
        reason, text = "unreadable database", f"{victim}:0: cannot open: unable to open database file"
    elif kind in ("claude", "codex"):  # after the reader opened it: what is open reads whole
        real_builtin_open = open

        def open_log_file(path: Path | str, *args: Any, **kwargs: Any) -> Any:
            f = real_builtin_open(path, *args, **kwargs)
            if str(path) == str(victim):
                victim.unlink()
            return f

        monkeypatch.setattr(lines_mod, "open", open_log_file, raising=False)
        report = engine.ingest(led, [harness])
        assert not victim.exists()
        assert report.skipped == {}, report.problems
        assert report.records == 2  # the growth of both, the one unlinked meanwhile too
        assert records(burn_home)[2:] == before
        monkeypatch.undo()
        assert engine.ingest(led, [harness]).records == 0
        return
    else:  # between the reader's stat and its open
        real_open = Path.open

        def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
            if self == victim:
                victim.unlink()
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", open_)
        reason, text = "unreadable file", f"{victim}:0: unreadable: {NOENT}"
    report = engine.ingest(led, [harness])
    assert report.skipped == {reason: 1}
    assert text in report.problems
    assert report.records == 1  # the file that stays: its growth
    after = records(burn_home)
    assert after[1:] == before  # nothing recorded is lost
    assert after[0]["usage"]["output_tokens"] in (1, 90 - 60)  # claude/opencode +1, codex 600->900
    monkeypatch.undo()
    assert engine.ingest(led, [harness]).records == 0  # the victim is gone: nothing more, no error


def ingest_records(led: Ledger, harness: str) -> int:
    report = engine.ingest(led, [harness])
    assert not report.skipped, report.problems
    return report.records


def test_a_log_file_named_in_bytes_that_are_not_utf8_is_skipped_and_named(burn: Any) -> None:
    """Its name could go neither into the index nor into the ledger's JSON: it is counted
    and named (its bytes escaped, so the message prints), and the rest is recorded."""
    claude_session(claude_dir() / "-srv-u" / "good.jsonl", "sess-good", 7)
    odd = os.fsdecode(os.fsencode(str(claude_dir() / "-srv-u")) + b"/odd-\xff.jsonl")
    Path(odd).write_text(line({**assistant("odd-m1", "r", 9), "sessionId": "sess-odd"}))
    result = burn("ingest", "--harness", "claude", "--format", "json")
    assert result.code == 0, result
    report = json.loads(result.out)
    assert report["records"] == 1 and report["skipped"] == {"file name not UTF-8": 1}
    assert report["problems"] == [
        f"{claude_dir() / '-srv-u'}/odd-\\xff.jsonl: the file name is not UTF-8; rename the file to read it"
    ]
    again = burn("ingest", "--harness", "claude")  # (the table's messages print too)
    assert again.code == 0 and "odd-\\xff.jsonl: the file name is not UTF-8" in again.err, again


@pytest.mark.parametrize("harness", ["claude", "codex"])
def test_a_read_that_fails_mid_file_keeps_what_was_read_and_names_the_line(
    harness: str, burn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file goes away under an open handle (a network mount, a disk error): the lines
    read before are recorded, the failure is named, and the next run reads the rest once."""
    if harness == "claude":
        path = claude_session(claude_dir() / "-srv-r" / "s.jsonl", "sess-r", *range(1, 41))
    else:
        path = codex_rollout(THREAD_B, "02", *range(100, 4100, 100))
    monkeypatch.setattr(lines_mod, "CHUNK", 512)
    real_open = open

    class Failing:
        def __init__(self, f: Any) -> None:
            self.f, self.reads = f, 0

        def __enter__(self) -> Failing:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()

        def seek(self, offset: int) -> int:
            return int(self.f.seek(offset))

        def fileno(self) -> int:
            return int(self.f.fileno())

        def read(self, n: int) -> bytes:
            self.reads += 1
            if self.reads == 4:
                raise OSError(116, "Stale file handle")
            return bytes(self.f.read(n))

    def open_(name: Path | str, *args: Any, **kwargs: Any) -> Any:
        f = real_open(name, *args, **kwargs)
        return Failing(f) if str(name) == str(path) else f

    led = Ledger.open(burn_home)
    with monkeypatch.context() as m:
        m.setattr(lines_mod, "open", open_, raising=False)  # (the readers' open, in lines.open_log)
        report = engine.ingest(led, [harness])
    assert report.skipped == {"read error": 1}
    [problem] = report.problems
    assert problem.startswith(f"{path}:") and problem.endswith(": read failed: Stale file handle")
    read_lines = int(problem.split(":")[-3])
    assert 0 < read_lines < report.lines + 1 and report.records == 1
    partial = out_tokens(records(burn_home))
    rest = engine.ingest(led, [harness])
    assert not rest.skipped and rest.records == 1
    full = sum(range(1, 41)) if harness == "claude" else 4000 // 10
    assert partial < full and out_tokens(records(burn_home)) == full  # each token once


# -- a 2 GB file --------------------------------------------------------------------------


def test_a_2_gb_file_is_skipped_in_bounded_memory_and_reported(tmp_path: Path) -> None:
    """Real 2 GiB files (sparse, so no disk is used): one NUL-filled 'line' and then a real
    usage line, as a Claude transcript and as a Codex rollout; a 2 GiB OpenCode message
    file and a 2 GiB opencode.db of zeros. The child's peak memory stays far below 2 GB."""
    gib2 = 2 * 1024**3
    tail_claude = line({**assistant("m_after", "r", 33), "sessionId": "sess-big"}).encode()
    big_claude = claude_session(claude_dir() / "-srv-big" / "big.jsonl", "sess-big")
    rollout_path = rollout(Path(os.environ["CODEX_HOME"]), THREAD_B, "sessions/2025/10/02")
    tail_codex = jl(meta(THREAD_B), turn(), count((700, 0, 70, 0), "2025-10-01T10:00:05Z")).encode()
    for path, tail in ((big_claude, tail_claude), (rollout_path, tail_codex)):
        with path.open("wb") as f:
            f.truncate(gib2)
            f.seek(gib2)
            f.write(b"\n" + tail)
    data = Path(os.environ["OPENCODE_DATA_DIR"])
    big_message = legacy_message(oc_assistant("msg_big", tokens(1, 1)))
    big_db = data / "opencode.db"
    for path in (big_message, big_db):
        with path.open("r+b" if path.exists() else "wb") as f:
            f.truncate(gib2)
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "p = subprocess.run([sys.executable, '-m', 'burn.cli.main', 'ingest', '--format', 'json'],"
        " capture_output=True, text=True)\n"
        "print(p.returncode, time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(p.stdout, p.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    head, _, body = proc.stdout.partition("\n")
    code, seconds, max_kb = head.split()
    assert code == "0", proc.stdout + proc.stderr
    assert int(max_kb) < 512 * 1024  # KiB: a quarter of the file, at most
    assert float(seconds) < 60  # streamed, not copied over and over (it took 97 s for one file)
    report = json.loads(body.strip())
    assert report["skipped"] == {
        "line too long": 2,
        "file too large": 1,
        "unreadable database": 1,
    }
    limit = lines_mod.MAX_LINE
    assert f"{big_claude}:1: longer than {limit} bytes" in report["problems"]
    assert f"{rollout_path}:1: longer than {limit} bytes" in report["problems"]
    assert f"{big_message}:0: {gib2} bytes: not a message file" in report["problems"]
    assert any(p.startswith(f"{big_db}:0: not a readable database") for p in report["problems"])
    assert report["records"] == 2  # the usage line after each giant line
    assert sorted(r["usage"]["output_tokens"] for r in records(tmp_path / "burn")) == [33, 70]


def test_a_giant_unfinished_line_is_reported_now_and_skipped_until_it_ends(
    burn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same path as a 2 GB line with the threshold lowered: a giant line still being
    written at the end of the file is reported at once (not only when it ends), and the
    next run skips on to its end and reads what follows."""
    monkeypatch.setattr(lines_mod, "MAX_LINE", 4096)
    monkeypatch.setattr(lines_mod, "CHUNK", 1024)
    path = claude_session(claude_dir() / "-srv-g" / "g.jsonl", "sess-g", 10)
    with path.open("ab") as f:
        f.write(b'{"usage": "' + b"x" * 50_000)
    led = Ledger.open(burn_home)
    first = engine.ingest(led, ["claude"])
    assert first.skipped == {"line too long": 1} and first.records == 1
    assert first.problems == [f"{path}:2: longer than 4096 bytes, unfinished: skipped so far"]
    with path.open("ab") as f:
        f.write(b"x" * 9000 + b'"}\n' + line({**assistant("m2", "r", 7), "sessionId": "sess-g"}).encode())
    second = engine.ingest(led, ["claude"])
    assert second.problems == [f"{path}:2: longer than 4096 bytes"] and second.records == 1
    assert out_tokens(records(burn_home)) == 17
    assert engine.ingest(led, ["claude"]).files_read == 0


# -- non-UTF-8 bytes, unknown line types, missing fields, per reader ------------------------


def test_claude_bad_lines_are_counted_by_line_and_the_rest_is_read() -> None:
    good = assistant("m_ok", "r", 11)
    no_id = assistant("m_x", "r", 5)
    del no_id["message"]["id"], no_id["requestId"]
    no_ts = assistant("m_y", "r", 5)
    del no_ts["timestamp"]
    new_type = {**assistant("m_z", "r", 5), "type": "assistant_v2"}
    path = claude_dir() / "-srv-c" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        line(good).encode()
        + line(assistant("m_u", "r", 5)).encode().replace(b"/srv", b"/\xff\xfesrv")  # non-UTF-8
        + line(no_id).encode()
        + line(no_ts).encode()
        + line(new_type).encode()  # an unknown line type that carries usage is not dropped silently
        + line({"type": "file-history-snapshot", "snapshot": {}}).encode()  # unknown, no usage: ignored
        + line(assistant("m_ok2", "r", 22)).encode()
    )
    result = ClaudeReader().read(path, Cursor())
    assert [row[2] for row in result.rows] == ["m_ok", "m_ok2"]  # (the response key)
    assert result.skipped["malformed JSON"] == 1 and sum(result.skipped.values()) == 4
    assert result.problems[0] == f"{path}:2: malformed JSON"
    assert (
        result.problems[1].startswith(f"{path}:3: unexpected shape") and "no message id" in result.problems[1]
    )
    assert (
        result.problems[2].startswith(f"{path}:4: unexpected shape") and "bad timestamp" in result.problems[2]
    )
    assert result.problems[3].startswith(f"{path}:5: unexpected shape")
    assert "unknown line type 'assistant_v2'" in result.problems[3]


def test_codex_missing_fields_are_counted_by_line() -> None:
    path = rollout(Path(os.environ["CODEX_HOME"]))
    no_totals = count((1, 0, 1, 0), "2025-10-01T10:00:03Z")
    no_totals["payload"]["info"] = {"model_context_window": 272000}
    no_id = meta()
    del no_id["payload"]["id"]
    path.write_text(
        jl(no_id, meta(), turn(), count((100, 0, 10, 0), "2025-10-01T10:00:02Z"), no_totals)
        + jl(count((300, 0, 30, 0), "2025-10-01T10:00:04Z"))
    )
    from burn.ledger.readers.codex import CodexReader

    result = CodexReader().read(path, Cursor())
    assert result.skipped == {"unexpected shape": 2}
    assert result.problems[0] == f"{path}:1: unexpected shape: session_meta without an id"
    assert result.problems[1].startswith(f"{path}:5: unexpected shape: token_count without total")
    assert [e.usage["output_tokens"] for e in result.events] == [10, 20]


def test_opencode_legacy_missing_fields_are_counted_and_a_missing_model_is_kept() -> None:
    no_time = oc_assistant("msg_nt", tokens(1, 2))
    del no_time["time"]
    no_model = oc_assistant("msg_nm", tokens(3, 4))
    del no_model["modelID"]
    bad, kept = legacy_message(no_time), legacy_message(no_model)
    reader = OpenCodeReader()
    result = reader.read(bad, Cursor())
    assert result.skipped == {"unexpected shape": 1} and result.events == []
    assert result.problems == [f"{bad}:1: unexpected shape: bad time.created None"]
    [event] = reader.read(kept, Cursor()).events
    assert event.model is None and event.usage["output_tokens"] == 4  # unknown model, tokens kept


def test_opencode_db_row_that_is_not_utf8_is_one_bad_row_not_a_lost_db(burn_home: Path) -> None:
    """Before: the query died on the row ('Could not decode to UTF-8'), no row after it was
    read, and the high-water mark never passed it: the db's spend was never recorded."""
    db = make_db(Path(os.environ["OPENCODE_DATA_DIR"]) / "opencode.db")
    populate(db)
    data = {k: v for k, v in oc_assistant("msg_bad", tokens(1, 1)).items() if k not in ("id", "sessionID")}
    raw = json.dumps(data).encode().replace(b"/srv", b"/\xff\xfesrv")
    conn = sqlite3.connect(db)
    conn.execute(  # the oldest row: read first
        "INSERT INTO message VALUES ('msg_bad', ?, ?, ?, CAST(? AS TEXT))", (SES, T0 - 10**7, T0 - 10**7, raw)
    )
    conn.commit()
    conn.close()
    result = OpenCodeReader().read(db, Cursor())
    assert result.skipped == {"malformed JSON": 1}
    assert result.problems == [f"{db}:0: message msg_bad: malformed JSON"]
    assert [e.key for e in result.events] == ["msg_d1", "msg_d2", "msg_d3"]
    report = engine.ingest(Ledger.open(burn_home), ["opencode"])
    assert report.records == 2 and report.skipped == {"malformed JSON": 1}  # two agents
