"""The fast paths of a big ingest give the same ledger, index and state as the plain ones:
files read by a forked helper, records written as one pack, records put straight into the
index, commits serialised by hand."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from burn.ledger import Ledger, ingest_read, parallel
from burn.ledger.ingest import ingest
from burn.ledger.record import make_body

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import gen_logs

LINES = 2000
STATE = ("responses", "dirty", "labels", "cursors")
RECORD_TABLES = ("records", "bodies", "sessions", "usage", "tags", "tips", "problems")


def dump(home: Path, tables: tuple[str, ...]) -> dict[str, list[Any]]:
    conn = sqlite3.connect(home / "index.sqlite")
    try:
        out = {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables if t != "responses"}
        if "responses" in tables:  # (a session's responses as a sorted list, not JSON text)
            rows = conn.execute("SELECT harness, session, data FROM responses")
            out["responses"] = sorted(repr((h, s, sorted(json.loads(d).items()))) for h, s, d in rows)
        return out
    finally:
        conn.close()


def records(home: Path) -> list[dict[str, Any]]:
    """Every record's stored body (ids and hosts apart), in chain order."""
    conn = sqlite3.connect(home / "index.sqlite")
    try:
        out = []
        for (text,) in conn.execute("SELECT json FROM bodies ORDER BY seq"):
            rec = json.loads(text)
            for k in ("id", "host", "commit"):
                rec.pop(k, None)
            out.append(rec)
        return out
    finally:
        conn.close()


HELPED: list[int] = []  # files whose rows the last ingest took folded from a helper


def run_ingest(home: Path, helper: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    def counting(*a: Any) -> Any:
        for got in parallel.map_in_order(*a):
            HELPED[-1] += got.rows is None
            yield got

    HELPED.append(0)
    with monkeypatch.context() as m:
        m.setattr(ingest_read, "PARALLEL_BYTES", 0 if helper else 1 << 62)
        m.setattr(ingest_read, "map_in_order", counting)
        m.setattr(parallel, "cores", lambda: 2)
        return ingest(Ledger.open(home)).to_json()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork here")
def test_a_helper_process_reads_to_the_same_state(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = gen_logs.plan(2, LINES)
    plan.write(logs, until=plan.cut())  # half-written logs first, then grown in place
    homes = {mode: tmp_path / mode for mode in ("serial", "helper")}
    first = {mode: run_ingest(home, mode == "helper", monkeypatch) for mode, home in homes.items()}
    full = plan.write(logs)
    second = {mode: run_ingest(home, mode == "helper", monkeypatch) for mode, home in homes.items()}
    assert HELPED[-1] > 0 and HELPED[-2] == 0  # (the helper read in the helper mode only)
    assert first["serial"] == first["helper"] and second["serial"] == second["helper"]
    assert second["helper"]["records"] > 0
    assert dump(homes["serial"], STATE) == dump(homes["helper"], STATE)
    assert records(homes["serial"]) == records(homes["helper"])
    claude = full["totals"]["claude"]
    got: dict[str, int] = {}
    for rec in records(homes["helper"]):
        if rec["harness"] == "claude":
            for k, v in rec["usage"].items():
                if v is not None:
                    got[k] = got.get(k, 0) + v
    assert got == {k: v for k, v in claude.items() if v is not None}


def test_a_helper_that_fails_is_replaced_by_this_process(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen_logs.generate(logs, 3, LINES)
    serial = run_ingest(tmp_path / "serial", False, monkeypatch)
    monkeypatch.setattr(sqlite3, "connect", _fails_in_children(sqlite3.connect))
    helped = run_ingest(tmp_path / "helper", True, monkeypatch)
    assert HELPED[-1] == 0  # every file was read here after all
    assert helped == serial
    assert dump(tmp_path / "serial", STATE) == dump(tmp_path / "helper", STATE)


def _fails_in_children(connect: Any) -> Any:
    import os

    parent = os.getpid()

    def wrapped(*a: Any, **k: Any) -> Any:
        if os.getpid() != parent:
            raise RuntimeError("the helper cannot write its rows")
        return connect(*a, **k)

    return wrapped


def test_map_in_order_keeps_order_and_falls_back() -> None:
    items = list(range(50))
    weights = [1] * 50
    assert list(parallel.map_in_order(lambda x: x * x, items, weights, 0)) == [x * x for x in items]
    assert list(parallel.map_in_order(lambda x: -x, items, weights, 10**9)) == [-x for x in items]

    def dies(results: list[int]) -> list[int]:
        raise SystemExit(3)  # the helper exits badly: its part is done here

    got = list(parallel.map_in_order(str, items, weights, 0, dies))
    assert got == [str(x) for x in items]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork here")
def test_map_in_order_runs_waiting_between_its_part_and_the_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(parallel, "cores", lambda: 2)
    me = os.getpid()
    seen: list[object] = []
    gen = parallel.map_in_order(
        lambda x: (x, os.getpid()), list(range(10)), [1] * 10, 0, None, 0.5, lambda: seen.append("waiting")
    )
    for x, pid in gen:
        seen.append((x, pid == me))
    assert seen == [*((x, True) for x in range(5)), "waiting", *((x, False) for x in range(5, 10))]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork here")
def test_a_background_job_runs_in_a_child_and_again_here_if_it_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setattr(parallel, "cores", lambda: 2)
    out = tmp_path / "pid"

    def job() -> None:
        out.write_text(str(os.getpid()))

    wait = parallel.in_background(job)
    wait()
    assert int(out.read_text()) != os.getpid()  # written by the child

    parent = os.getpid()

    def fails_in_the_child() -> None:
        if os.getpid() != parent:
            raise OSError("disk full in the child")
        job()

    out.unlink()
    wait = parallel.in_background(fails_in_the_child)
    assert not out.exists() or int(out.read_text()) != parent
    wait()
    assert int(out.read_text()) == parent  # done again here

    def fails() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):  # and what it raises here is raised
        parallel.in_background(fails)()


def test_the_index_written_by_an_ingest_equals_a_rebuild(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from burn.ledger import ledger

    plan = gen_logs.plan(4, LINES)
    plan.write(logs, until=plan.cut())  # half first: the second ingest's rows go after
    home = tmp_path / "home"
    monkeypatch.setattr(ledger, "PACK_BATCH", 4)
    for _ in range(2):
        report = run_ingest(home, True, monkeypatch)
        assert HELPED[-1] > 0
        assert report["records"] >= 4  # a pack, not loose objects
        plan.write(logs)
    assert len(list((home / "ledger.git" / "objects" / "pack").glob("pack-*.idx"))) == 2
    direct = dump(home, RECORD_TABLES)
    Ledger.open(home).index.rebuild()
    assert dump(home, RECORD_TABLES) == direct


def body(i: int, host: str) -> dict[str, Any]:
    return make_body(
        persona="none",
        version=None,
        source="ingest",
        host=host,
        harness="claude",
        started_at=f"2026-11-{1 + i % 28:02d}T10:00:{i % 60:02d}Z",
        sessions=[f"s{i}"],
        by_model=[{"model": "claude-sonnet-4-5", "granularity": "per-message", "usage": {"input_tokens": i}}],
        kind="ingest",
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_packed_batch_is_a_sound_git_chain(burn_home: Path) -> None:
    from burn.ledger.ledger import PACK_BATCH

    led = Ledger.open(burn_home)
    led.append_many([body(0, led.host)])  # a loose commit first: the pack's chain continues it
    got = led.append_many([body(i, led.host) for i in range(1, PACK_BATCH + 6)])
    repo = str(burn_home / "ledger.git")
    packs = list((burn_home / "ledger.git" / "objects" / "pack").glob("pack-*.pack"))
    assert len(packs) == 1
    for check in (["verify-pack", str(packs[0])], ["fsck", "--strict", "--no-dangling"]):
        subprocess.run(["git", "--git-dir", repo, *check], check=True, capture_output=True)
    # git, dulwich and the index (rebuilt from the refs alone) all read the same records
    log = subprocess.run(
        ["git", "--git-dir", repo, "rev-list", "--first-parent", led.record_ref],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert log[: len(got)] == [r["id"] for r in reversed(got)]
    assert led.repo[got[-1]["id"].encode()].parents == [got[-2]["id"].encode()]
    led.index.rebuild()
    ids = led.index.read(lambda c: [row[0] for row in c.execute("SELECT id FROM records ORDER BY seq")])
    assert ids == [r["id"] for r in [*[{"id": log[-1]}], *got]]


def test_index_rows_that_fail_beside_the_pack_never_stop_the_append(
    burn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from burn.ledger import index
    from burn.ledger.ledger import PACK_BATCH

    led = Ledger.open(burn_home)
    led.index.conn()  # (open here: a batch's rows go in directly)
    made = index.record_rows
    calls: list[int] = []

    def fails_once(*a: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("rows could not be made beside the pack")
        return made(*a)

    monkeypatch.setattr(index, "record_rows", fails_once)
    got = led.append_many([body(i, led.host) for i in range(PACK_BATCH + 3)])
    assert len(calls) == 2  # made again once the records had landed
    ids = led.index.read(lambda c: [row[0] for row in c.execute("SELECT id FROM records ORDER BY seq")])
    assert ids == [r["id"] for r in got]


def test_index_rows_staged_beside_the_pack_land_only_with_the_ref(
    burn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's rows go into the index while its pack is written, in a transaction that
    commits only once the ref has moved: a ref update that fails leaves no row behind, and
    one that loses the race and is tried again leaves each record once."""
    import sqlite3

    from burn.ledger.ledger import PACK_BATCH
    from burn.store import gitrepo

    led = Ledger.open(burn_home)
    conn = led.index.conn()  # (open here: a batch's rows go in directly)
    first = led.append_many([body(0, led.host)])
    real_set = gitrepo._set_if_equals
    seen_outside: list[int] = []

    def fails(*a: Any) -> bool:
        assert conn.in_transaction  # the rows are staged by now ...
        outside = sqlite3.connect(burn_home / "index.sqlite")
        seen_outside.append(outside.execute("SELECT count(*) FROM records").fetchone()[0])
        outside.close()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gitrepo, "_set_if_equals", fails)
    with pytest.raises(OSError, match="No space"):
        led.append_many([body(i, led.host) for i in range(1, PACK_BATCH + 3)])
    assert seen_outside == [1]  # ... but not visible to anyone else
    assert not conn.in_transaction
    ids = led.index.read(lambda c: [row[0] for row in c.execute("SELECT id FROM records ORDER BY seq")])
    assert ids == [first[0]["id"]]  # and gone with the failed update

    attempts: list[int] = []

    def loses_once(*a: Any) -> bool:
        attempts.append(1)
        return False if len(attempts) == 1 else bool(real_set(*a))

    monkeypatch.setattr(gitrepo, "_set_if_equals", loses_once)
    got = led.append_many([body(i, led.host) for i in range(1, PACK_BATCH + 3)])
    assert len(attempts) == 2

    def ids_now() -> list[str]:
        return led.index.read(lambda c: [row[0] for row in c.execute("SELECT id FROM records ORDER BY seq")])

    assert ids_now() == [first[0]["id"], *(r["id"] for r in got)]  # staged twice, landed once
    direct = ids_now()
    led.index.rebuild()
    assert ids_now() == direct


def test_commit_bytes_are_what_dulwich_writes(tmp_path: Path) -> None:
    from dulwich.objects import Commit

    from burn.store.gitrepo import commit_bytes, object_id

    tree, parent = b"4b825dc642cb6eb9a060e54bf8d69288fbee4904", b"1" * 40
    message = 'none $0.00 12 tokens claude\n\n{"é":1}\n\nBurn-Persona: none\n'.encode()
    for parents in ([], [parent]):
        c = Commit()
        c.tree = tree
        c.parents = parents
        c.author = c.committer = b"burn <h-1234@burn>"
        c.author_time, c.commit_time = 1_790_000_000, 1_790_000_123
        c.author_timezone = c.commit_timezone = 0
        c.encoding = b"UTF-8"
        c.message = message
        raw = commit_bytes(tree, parents, message, b"burn <h-1234@burn>", 1_790_000_000, 1_790_000_123)
        assert raw == c.as_raw_string()
        assert object_id(b"commit", raw) == c.id


def test_a_batch_commit_message_is_the_one_written_alone() -> None:
    from burn.ledger.record import commit_message

    odd = "".join(map(chr, range(0x80))) + '\u2028\u2029\ufeff😀é/\\"'
    body = make_body(
        persona="reviewer", version=None, source="ingest", host="h-1", started_at="2026-11-20T10:00:00Z",
        harness="claude", sessions=[odd], kind="ingest", cwd=odd, agent=None,
        by_model=[{"model": odd, "granularity": "per-message", "usage": {"input_tokens": 2**63 - 1}}],
        tags={odd: odd, "é": "x", "a": "y"},
    )  # fmt: skip
    assert commit_message(body, fast_json=True) == commit_message(body)
    huge = {**body, "cost_micros": 2**70}  # past orjson's integers: json writes it
    assert commit_message(huge, fast_json=True) == commit_message(huge)
    assert b'"cost_micros":1180591620717411303424' in commit_message(huge, fast_json=True)


def test_find_finds_the_files_rglob_finds(tmp_path: Path) -> None:
    from burn.ledger.readers import find

    root = tmp_path / "root"
    for rel in ("a/x.jsonl", "a/b/y.jsonl", ".h.jsonl", "dir.jsonl/in.jsonl", "a/notes.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "z.jsonl").write_text("")
    (root / "a" / "link").symlink_to(tmp_path / "other")  # not entered, as rglob does not
    (root / "broken.jsonl").symlink_to(tmp_path / "nowhere")
    unreadable: list[str] = []
    found = find(root, lambda name: name.endswith(".jsonl"), unreadable)
    expected = sorted((p for p in root.rglob("*.jsonl") if not p.is_dir()), key=str)
    assert found == expected and root / "broken.jsonl" in found and not unreadable
    assert find(tmp_path / "missing", lambda name: True, unreadable) == [] and not unreadable


def test_no_cyclic_collection_while_ingesting_and_put_back_after(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    gen_logs.generate(logs, 1, 200)
    seen: list[bool] = []
    read = ingest_read._read_file

    def noting(*a: Any) -> Any:
        seen.append(gc.isenabled())
        return read(*a)

    monkeypatch.setattr(ingest_read, "_read_file", noting)
    assert gc.isenabled()
    assert ingest(Ledger.open(tmp_path / "a")).records > 0  # type: ignore[union-attr]
    assert seen and not any(seen)  # paused for every file read
    assert gc.isenabled()  # and on again after

    def fails(*a: Any) -> Any:
        raise RuntimeError("a reader broke")

    monkeypatch.setattr(ingest_read, "_read_file", fails)
    with pytest.raises(RuntimeError):
        ingest(Ledger.open(tmp_path / "b"))
    assert gc.isenabled()  # also after an ingest that failed
    gc.disable()  # (a caller that had it off keeps it off)
    try:
        monkeypatch.setattr(ingest_read, "_read_file", read)
        ingest(Ledger.open(tmp_path / "c"))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_process_leaving_at_once_parks_what_it_read_instead_of_freeing_it(
    logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen_logs.generate(logs, 1, 200)
    assert ingest_read.PARK is None  # (a library caller frees as it goes)
    monkeypatch.setattr(ingest_read, "PARK", [])
    report = ingest(Ledger.open(tmp_path / "home"))
    assert report is not None and report.records > 0
    parked = ingest_read.PARK
    assert parked is not None and len(parked) == 2  # the read's containers, the recording's
    read_now = parked[0][0]
    assert {harness for harness, _session in read_now} >= {"claude"}  # the states themselves
    assert len(parked[1][0]) == report.records  # the record bodies


def test_an_index_is_built_with_16k_pages_and_an_older_one_keeps_its_own(burn_home: Path) -> None:
    from burn.ledger import index

    led = Ledger.open(burn_home)
    assert led.index.read(lambda c: c.execute("PRAGMA page_size").fetchone()[0]) == index.PAGE_SIZE == 16384
    led.close()
    db = sqlite3.connect(burn_home / "index.sqlite")  # an index made before: 4 KB pages, as SQLite's default
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("PRAGMA page_size=4096")
    db.execute("VACUUM")
    db.close()
    led = Ledger.open(burn_home)
    assert led.index.read(lambda c: c.execute("PRAGMA page_size").fetchone()[0]) == 4096  # not rebuilt for it
    assert led.index.rebuilt_because is None


def test_the_cli_leaving_at_once_parks_and_collects_nothing_after_the_ingest(
    logs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gc

    from burn.cli import ingest as cli_ingest
    from burn.cli import options

    gen_logs.generate(logs, 1, 200)
    monkeypatch.setattr(ingest_read, "PARK", None)
    monkeypatch.setattr(options, "OPENED", [])
    try:
        monkeypatch.setattr(options, "LEAVING", False)  # (a command run in-process, as here)
        cli_ingest.ingest((), "json")
        assert ingest_read.PARK is None and gc.isenabled()
        monkeypatch.setattr(options, "LEAVING", True)  # (the process is the command)
        cli_ingest.ingest((), "json")
        assert ingest_read.PARK and not gc.isenabled()
    finally:
        gc.enable()
        for opened in options.OPENED:
            opened.close()
    assert '"records"' in capsys.readouterr().out


def test_a_helpers_files_sent_as_one_say_what_they_say_one_by_one(logs: Path) -> None:
    from collections import Counter

    from burn.ledger import responses
    from burn.ledger.ingest import reader_for
    from burn.ledger.pricing import load_table
    from burn.ledger.readers import Cursor

    gen_logs.generate(logs, 2, 400)
    reader = reader_for("claude")
    assert reader is not None
    pricing = load_table()
    reader.prepare(pricing)  # type: ignore[attr-defined]
    paths = [Path(p) for root in reader.roots() for p in reader.files(root)]
    assert len(paths) > 3

    def read_all() -> list[Any]:
        return [ingest_read._read_file(reader, p, Cursor(), pricing) for p in paths]

    def merged(reads: list[Any]) -> dict[str, Any]:  # as read_logs takes them in
        out: dict[str, Any] = {"files": 0, "lines": 0, "skipped": Counter(), "labels": {}, "spans": {}}
        out["cursors"] = []
        for got in reads:
            out["files"] += got.files
            out["lines"] += got.lines
            out["skipped"].update(got.skipped)
            out["labels"].update(got.label_items())
            ingest_read._widen(out["spans"], got.spans)
            out["cursors"] += got.cursor_rows()
        return out

    one_by_one = read_all()
    states: Any = {}
    for got in one_by_one:
        responses.fold(states, got.rows)
    whole = ingest_read._whole(read_all())
    assert merged([whole]) == merged(one_by_one)
    assert whole.files == len(paths) and whole.rows is None
    assert whole.parts is not None and set(whole.parts) == set(states)
    assert any(merged(one_by_one)["labels"])  # (the tree names subagents: labels were merged)
