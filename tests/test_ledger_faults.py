"""The ledger under faults: concurrent writers, SIGKILL mid-append, a broken index,
a stale lock, a foreign commit on the record chain (DESIGN sections 4 and 13).

Everything here is real: the `git` binary, SQLite files, child Python processes that
append through `burn.ledger`, and the `burn` CLI run as a child process.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from burn.ledger import Ledger
from burn.ledger.index import SCHEMA_VERSION
from burn.ledger.query import Query

SPEC = {"name": "reviewer", "prompt": "Review the diff; be brief."}

# A writer for the concurrency test. It announces that it is ready, then waits on the
# gate file, so every writer is running before any of them appends.
WRITER = r"""
import os, sys, time
from pathlib import Path
from burn.ledger import Ledger

writer, count, version, gate = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
led = Ledger.open(Path(os.environ["BURN_HOME"]))
led.repo, led.host  # open everything before the gate
(gate.parent / ("ready-" + writer)).touch()
while not gate.exists():
    time.sleep(0.002)
for i in range(count):
    led.record(
        "reviewer",
        version=version,
        by_model=[{"model": "m", "usage": {"input_tokens": i + 1}}],
        cost_micros=i,
        tags={"writer": writer, "i": str(i)},
    )
"""

# Appends up to `limit` records, printing each returned id as soon as append returned.
APPENDER = r"""
import os, sys
from pathlib import Path
from burn.ledger import Ledger

version, limit, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
led = Ledger.open(Path(os.environ["BURN_HOME"]))
for i in range(limit):
    rec = led.record(
        "reviewer",
        version=version,
        by_model=[{"model": "m", "usage": {"input_tokens": 7, "output_tokens": i}}],
        cost_micros=100 + i,
        tags={"round": label, "i": str(i)},
    )
    sys.stdout.write(rec["id"] + "\n")
    sys.stdout.flush()
"""


# -- isolation and helpers -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key, raising=False)
    (tmp_path / "home").mkdir(exist_ok=True)
    monkeypatch.setenv("BURN_HOME", str(tmp_path / "burn"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "burn"


def child_env(root: Path) -> dict[str, str]:
    """The environment of every child: no GIT_*, this test's BURN_HOME and HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["BURN_HOME"] = str(root)
    env["HOME"] = str(root.parent / "home")
    return env


def burn(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "burn.cli.main", *args],
        capture_output=True,
        text=True,
        env=child_env(root),
        cwd=root.parent,
        timeout=300,
    )


def git(root: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "--git-dir", str(root / "ledger.git"), *args],
        capture_output=True,
        text=True,
        input=input,
        env=child_env(root),
        cwd=root.parent,
        timeout=300,
    )


def git_fsck_ok(root: Path) -> None:
    res = git(root, "fsck", "--full", "--strict")
    assert res.returncode == 0, res.stdout + res.stderr


def burn_fsck_ok(root: Path) -> dict[str, Any]:
    res = burn(root, "fsck", "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    report: dict[str, Any] = json.loads(res.stdout)
    assert report["ok"] is True and report["problems"] == []
    return report


def log_records(root: Path) -> list[dict[str, Any]]:
    res = burn(root, "log", "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    out = json.loads(res.stdout)
    assert out["schema"] == 1
    records: list[dict[str, Any]] = out["records"]
    return records


def host_of(root: Path) -> str:
    return (root / "host-id").read_text().strip()


def chain(root: Path) -> list[str]:
    """Every commit on this host's record ref, newest first, as plain git sees them."""
    res = git(root, "rev-list", f"refs/burn/records/{host_of(root)}")
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


def chain_count(root: Path) -> int:
    res = git(root, "rev-list", "--count", f"refs/burn/records/{host_of(root)}")
    assert res.returncode == 0, res.stderr
    return int(res.stdout)


def store_spec(root: Path) -> str:
    led = Ledger.open(root)
    version, _ = led.specs.put(SPEC, source="user")
    return version.id


def record_some(root: Path, version: str, n: int, label: str = "x") -> list[str]:
    led = Ledger.open(root)
    ids = []
    for i in range(n):
        rec = led.record(
            "reviewer",
            version=version,
            by_model=[{"model": "m", "usage": {"input_tokens": 10 + i, "output_tokens": i}}],
            cost_micros=1000 + i,
            started_at=f"2026-01-0{1 + i % 9}T10:{i % 60:02d}:00Z",
            tags={"label": label, "i": str(i)},
        )
        ids.append(rec["id"])
    return ids


def append_in_child(root: Path, version: str, n: int, label: str) -> list[str]:
    res = subprocess.run(
        [sys.executable, "-c", APPENDER, version, str(n), label],
        capture_output=True,
        text=True,
        env=child_env(root),
        cwd=root.parent,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    ids = res.stdout.split()
    assert len(ids) == n
    return ids


# -- 1. concurrent writers -------------------------------------------------------------

WRITERS = 4
PER_WRITER = 500


def test_four_concurrent_writers_lose_nothing_and_duplicate_nothing(root: Path) -> None:
    version = store_spec(root)
    gate = root.parent / "gate" / "go"
    gate.parent.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"w{n}", str(PER_WRITER), version, str(gate)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(root),
            cwd=root.parent,
        )
        for n in range(WRITERS)
    ]
    try:
        ready = {f"ready-w{n}" for n in range(WRITERS)}
        while not ready <= {p.name for p in gate.parent.iterdir()}:
            dead = [p for p in procs if p.poll() is not None]
            assert not dead, dead[0].communicate()[1]
            time.sleep(0.01)
        # every writer is running and none has appended yet: open the gate
        assert not any(p.poll() is not None for p in procs)
        assert not (root / "ledger.git" / "refs" / "burn" / "records").exists()
        gate.touch()
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    total = WRITERS * PER_WRITER
    # plain git: one chain holding every record exactly once
    assert chain_count(root) == total
    git_ids = chain(root)
    assert len(git_ids) == len(set(git_ids)) == total

    # the index
    conn = Ledger.open(root).index.conn()
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == total
    pairs = [
        (json.loads(j)["tags"]["writer"], json.loads(j)["tags"]["i"])
        for (j,) in conn.execute("SELECT json FROM bodies")
    ]
    want = {(f"w{n}", str(i)) for n in range(WRITERS) for i in range(PER_WRITER)}
    assert len(pairs) == total
    assert set(pairs) == want
    assert {r for (r,) in conn.execute("SELECT id FROM records")} == set(git_ids)

    # the CLI agrees, and both fscks pass
    records = log_records(root)
    assert len(records) == total
    assert {r["id"] for r in records} == set(git_ids)
    assert {(r["tags"]["writer"], r["tags"]["i"]) for r in records} == want
    git_fsck_ok(root)
    report = burn_fsck_ok(root)
    assert report["records"] == total


# -- 2. SIGKILL in the middle of appending ---------------------------------------------


def _append_until_killed(root: Path, version: str, label: str, kill_after: int) -> list[str]:
    """Run an appender, SIGKILL it once it has printed `kill_after` ids; all ids printed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", APPENDER, version, "1000000", label],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(root),
        cwd=root.parent,
    )
    watchdog = threading.Timer(240, proc.kill)  # only against a hang; no timing is asserted
    watchdog.start()
    printed: list[str] = []
    try:
        assert proc.stdout is not None
        while len(printed) < kill_after:
            line = proc.stdout.readline()
            if not line:
                proc.wait()
                assert proc.stderr is not None
                pytest.fail(f"appender ended early ({proc.returncode}): {proc.stderr.read()}")
            printed.append(line.strip())
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # lines already in the pipe were printed too; a torn last line is not an id
    for line in rest.splitlines(keepends=True):
        if line.endswith("\n") and len(line.strip()) == 40:
            printed.append(line.strip())
    return printed


def test_sigkill_mid_append_loses_no_printed_record_and_leaves_a_sound_ledger(
    root: Path,
) -> None:
    version = store_spec(root)
    printed: list[str] = []
    kill_points = [50, 57, 66, 73, 91, 60]
    unprinted_allowed = 0

    def check_sound() -> None:
        on_chain = chain(root)
        assert len(on_chain) == len(set(on_chain))
        assert set(printed) <= set(on_chain)
        # a killed writer may have moved the ref without printing: at most one per kill
        assert 0 <= len(on_chain) - len(printed) <= unprinted_allowed
        logged = log_records(root)
        assert {r["id"] for r in logged} == set(on_chain)
        git_fsck_ok(root)
        report = burn_fsck_ok(root)  # removes a ref lock the dead writer may have left
        assert report["records"] == len(on_chain)

    def append_after(label: str) -> None:
        # a new process appends without being blocked by anything the dead one left
        (new_id,) = append_in_child(root, version, 1, label)
        printed.append(new_id)
        assert chain(root)[0] == new_id
        assert new_id in {r["id"] for r in log_records(root)}

    for n, kill_after in enumerate(kill_points):
        printed += _append_until_killed(root, version, f"r{n}", kill_after)
        unprinted_allowed += 1
        if n % 2:  # fsck first, then append
            check_sound()
            append_after(f"after-r{n}")
        else:  # append first, over whatever the killed writer left, then check
            append_after(f"after-r{n}")
            check_sound()

    assert len(printed) >= sum(kill_points) + len(kill_points)
    tags = {(r["tags"]["round"], r["tags"]["i"]) for r in log_records(root)}
    for n, kill_after in enumerate(kill_points):
        assert {(f"r{n}", str(i)) for i in range(kill_after)} <= tags
        assert (f"after-r{n}", "0") in tags


def test_stale_ref_lock_does_not_block_appends_and_fsck_removes_it(root: Path) -> None:
    version = store_spec(root)
    first = record_some(root, version, 3)
    host = host_of(root)
    refs = root / "ledger.git" / "refs" / "burn"
    record_lock = refs / "records" / f"{host}.lock"
    personas_lock = refs / "personas.lock"

    # a killed writer's leftovers: garbage in the ref lock files
    record_lock.write_bytes(b"\x00garbage from a killed writer\n")
    personas_lock.write_bytes(b"half-written")
    (new_id,) = append_in_child(root, version, 1, "after-lock")
    assert chain(root) == [new_id, *reversed(first)]
    led = Ledger.open(root)
    other, created = led.specs.put({"name": "planner", "prompt": "plan"}, source="user")
    assert created
    assert led.specs.get(other) == {"name": "planner", "prompt": "plan"}

    # leftovers again, this time found by fsck
    record_lock.write_bytes(b"\xffmore garbage")
    personas_lock.write_bytes(b"")
    report = burn_fsck_ok(root)
    assert not record_lock.exists()
    assert not personas_lock.exists()
    repaired = "\n".join(report["repaired"])
    assert f"refs/burn/records/{host}.lock" in repaired
    assert "refs/burn/personas.lock" in repaired
    assert report["records"] == 4
    git_fsck_ok(root)
    assert {r["id"] for r in log_records(root)} == {new_id, *first}

    # the table form reports the repair as well
    record_lock.write_bytes(b"junk")
    res = burn(root, "fsck")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"repaired: removed stale lock refs/burn/records/{host}.lock" in res.stdout
    assert not record_lock.exists()


def test_leftover_object_lock_from_a_killed_writer_does_not_wedge_appends(root: Path) -> None:
    """A writer killed while writing a loose object leaves `objects/xx/<sha>.lock`.

    The persona tree `{persona.json: spec}` is the same object for every record of a
    version, so a lock left on it is met again by the next first record of that version.
    """
    version = store_spec(root)
    blob = git(root, "rev-parse", f"refs/burn/personas:by-version/{version[3:]}").stdout.strip()
    content = b"100644 persona.json\0" + bytes.fromhex(blob)
    tree = hashlib.sha1(b"tree %d\0" % len(content) + content).hexdigest()
    lock = root / "ledger.git" / "objects" / tree[:2] / (tree[2:] + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"x\x9c half a zlib stream")  # the writer died mid-write

    ids = append_in_child(root, version, 2, "after-object-lock")
    assert chain(root) == list(reversed(ids))
    assert git(root, "rev-parse", f"{ids[0]}^{{tree}}").stdout.strip() == tree
    assert git(root, "show", f"{ids[0]}:persona.json").returncode == 0
    git_fsck_ok(root)
    burn_fsck_ok(root)


# -- 3. the index is derived: any damage is rebuilt from the refs ----------------------


def _index_files(root: Path) -> list[Path]:
    return [root / f"index.sqlite{s}" for s in ("", "-wal", "-shm")]


def _delete(path: Path) -> None:
    for p in _index_files(path.parent):
        p.unlink(missing_ok=True)


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(path.stat().st_size))


def _truncate_half(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(size // 2)


def _old_schema(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA user_version = 0")
        conn.commit()
    finally:
        conn.close()


def _assert_index_sound(root: Path, records: int) -> None:
    conn = sqlite3.connect(root / "index.sqlite")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == records
    finally:
        conn.close()


def _rotten_data_pages(path: Path) -> None:
    """Garbage in every page but the first (schema) and the `tips` table's own page."""
    conn = sqlite3.connect(path)
    try:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        keep = {1, conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tips'").fetchone()[0]}
    finally:
        conn.close()
    data = bytearray(path.read_bytes())
    rnd = random.Random(11)
    for n in range(1, len(data) // page + 1):
        if n not in keep:
            data[(n - 1) * page : n * page] = rnd.randbytes(page)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [_delete, _garbage, _truncate_half, _old_schema, _rotten_data_pages],
    ids=["deleted", "garbage", "truncated-half", "old-schema", "rotten-data-pages"],
)
def test_damaged_index_is_rebuilt_with_the_same_answers(root: Path, damage: Any) -> None:
    version = store_spec(root)
    ids = record_some(root, version, 30)
    before = log_records(root)
    assert len(before) == 30 and {r["id"] for r in before} == set(ids)
    index = root / "index.sqlite"
    assert index.stat().st_size > 0

    damage(index)

    assert log_records(root) == before
    _assert_index_sound(root, 30)
    # and again, from the rebuilt file
    assert log_records(root) == before


def test_fsck_repairs_an_index_with_rotten_pages(root: Path) -> None:
    """`burn fsck` is the repair tool: a corrupt index must not make it crash."""
    version = store_spec(root)
    record_some(root, version, 30)
    before = log_records(root)
    _rotten_data_pages(root / "index.sqlite")
    res = burn(root, "fsck")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok: 30 records" in res.stdout
    _assert_index_sound(root, 30)
    assert log_records(root) == before


def test_damaged_index_then_filtered_query_and_show(root: Path) -> None:
    """Not only listing: a filter and `burn show` also read through a rebuilt index."""
    version = store_spec(root)
    ids = record_some(root, version, 30)
    want = burn(root, "log", "--format", "json", "i=7")
    assert want.returncode == 0, want.stderr
    assert [r["id"] for r in json.loads(want.stdout)["records"]] == [ids[7]]
    _truncate_half(root / "index.sqlite")
    got = burn(root, "log", "--format", "json", "i=7")
    assert got.returncode == 0, got.stdout + got.stderr
    assert json.loads(got.stdout) == json.loads(want.stdout)
    _garbage(root / "index.sqlite")
    shown = burn(root, "show", ids[3][:10], "--format", "json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert json.loads(shown.stdout)["id"] == ids[3]


def test_reindex_gives_the_same_answers(root: Path) -> None:
    version = store_spec(root)
    ids = record_some(root, version, 30)
    before = log_records(root)
    assert {r["id"] for r in before} == set(ids)

    res = burn(root, "reindex", "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout)["records"] == 30
    assert log_records(root) == before
    _assert_index_sound(root, 30)

    _garbage(root / "index.sqlite")
    res = burn(root, "reindex")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "indexed 30 records" in res.stdout
    assert log_records(root) == before
    _assert_index_sound(root, 30)


def test_a_busy_index_is_an_error_not_a_rebuild(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process holding the index's write lock past the wait must not make a read
    throw the index away and rebuild it (that would only wait on the same lock)."""
    from burn.ledger import index as index_module
    from burn.store.errors import BurnError

    version = store_spec(root)
    record_some(root, version, 5)
    assert len(log_records(root)) == 5  # the index exists and is caught up
    before = (root / "index.sqlite").stat().st_ino
    record_some(root, version, 1, label="new")  # so the next read must write (catch up)
    holder = sqlite3.connect(root / "index.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, holding the write lock
    try:
        monkeypatch.setattr(index_module, "BUSY_TIMEOUT_S", 0.2)
        ledger = Ledger.open(root)
        with pytest.raises(BurnError, match="index is busy"):
            ledger.log(Query())
        assert ledger.index.rebuilt_because is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (root / "index.sqlite").stat().st_ino == before  # the same file: never rebuilt
    assert len(log_records(root)) == 6  # and once the lock is gone, the read catches up


def test_a_mistaken_query_is_raised_and_the_index_kept(root: Path) -> None:
    version = store_spec(root)
    record_some(root, version, 5)
    ledger = Ledger.open(root)
    assert ledger.index.read(lambda c: c.execute("SELECT count(*) FROM records").fetchone()[0]) == 5
    before = (root / "index.sqlite").stat().st_ino
    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        ledger.index.read(lambda c: c.execute("SELECT no_such_column FROM records").fetchall())
    assert ledger.index.rebuilt_because is None and (root / "index.sqlite").stat().st_ino == before


# -- 4. catching up with appends made elsewhere -----------------------------------------


def test_reads_catch_up_with_records_appended_by_another_process(root: Path) -> None:
    version = store_spec(root)
    mine = record_some(root, version, 3)
    reader = Ledger.open(root)
    conn = reader.index.conn()
    assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 3
    assert {r["id"] for r in log_records(root)} == set(mine)

    theirs = append_in_child(root, version, 5, "elsewhere")

    # a new `burn log` process sees them without a reindex
    logged = log_records(root)
    assert {r["id"] for r in logged} == set(mine) | set(theirs)
    assert [r["tags"]["round"] for r in logged if r["id"] in theirs] == ["elsewhere"] * 5

    # a long-lived reader catches up on its open connection, without a rebuild
    conn = reader.index.conn()
    got = {r for (r,) in conn.execute("SELECT id FROM records")}
    assert got == set(mine) | set(theirs)
    assert reader.index.rebuilt_because is None

    # and a second in-process Ledger, writing, is seen by the first one too
    more = record_some(root, version, 2, label="second")
    conn = reader.index.conn()
    got = {r for (r,) in conn.execute("SELECT id FROM records")}
    assert got == set(mine) | set(theirs) | set(more)
    assert reader.index.rebuilt_because is None
    listed = [json.loads(s)["id"] for s in reader.log_json(Query())]
    assert len(listed) == 10 and set(listed) == got


# -- 5. a commit that is not a burn record, on the chain --------------------------------

NOT_RECORDS = {
    "plain-text": "hand-made commit\n\nthis is not a burn record\n",
    "json-without-record-fields": ('ghost $0.00 0 tokens\n\n{"persona": "ghost"}\n\nBurn-Persona: ghost\n'),
}


@pytest.mark.parametrize("message", list(NOT_RECORDS.values()), ids=list(NOT_RECORDS))
def test_foreign_commit_on_the_chain_is_skipped_and_named_by_fsck(root: Path, message: str) -> None:
    version = store_spec(root)
    good = record_some(root, version, 2)
    ref = f"refs/burn/records/{host_of(root)}"
    assert {r["id"] for r in log_records(root)} == set(good)  # the index has seen the tip

    tip = git(root, "rev-parse", ref).stdout.strip()
    tree = git(root, "rev-parse", f"{tip}^{{tree}}").stdout.strip()
    made = git(
        root,
        "-c",
        "user.name=Someone",
        "-c",
        "user.email=someone@example.invalid",
        "commit-tree",
        tree,
        "-p",
        tip,
        "-F",
        "-",
        input=message,
    )
    assert made.returncode == 0, made.stderr
    bad = made.stdout.strip()
    upd = git(root, "update-ref", ref, bad, tip)
    assert upd.returncode == 0, upd.stderr

    # a good record appended on top of it, by a new process
    (after,) = append_in_child(root, version, 1, "after-bad")
    assert chain(root) == [after, bad, *reversed(good)]  # history was not rewritten

    logged = log_records(root)
    assert {r["id"] for r in logged} == {*good, after}  # nothing good lost, the bad skipped
    assert bad not in {r["id"] for r in logged}

    res = burn(root, "fsck")
    assert res.returncode == 1, res.stdout + res.stderr
    problems = [line for line in res.stdout.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1, res.stdout
    assert bad[:12] in problems[0]
    for rid in (*good, after):
        assert rid[:12] not in problems[0]

    # a rebuilt index still holds every good record
    assert burn(root, "reindex").returncode == 0
    assert {r["id"] for r in log_records(root)} == {*good, after}
    git_fsck_ok(root)
