"""`burn launch` with real processes: fake harnesses on PATH write real transcripts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import pty_output

FAKE = Path(__file__).with_name("fake_harness.py")
KINDS = {"input": "input_tokens", "output": "output_tokens", "cache_read": "cache_read_tokens",
         "cache_write_5m": "cache_write_5m_tokens"}  # fmt: skip


@pytest.fixture(autouse=True)
def harness_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`claude`, `codex` (the fake) and `burn` itself on PATH; truth lands in FAKE_TRUTH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shims = {
        "claude": f'exec "{sys.executable}" "{FAKE}" claude "$@"',
        "codex": f'exec "{sys.executable}" "{FAKE}" codex "$@"',
        "burn": f'exec "{sys.executable}" -m burn.cli.main "$@"',
    }
    for name, line in shims.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{line}\n")
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_TRUTH", str(tmp_path / "truth.jsonl"))
    return bin_dir


def truth(tmp_path: Path) -> list[dict]:
    path = tmp_path / "truth.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def token_sums(turns: list[dict]) -> Counter:
    c: Counter = Counter()
    for t in turns:
        for k, kind in KINDS.items():
            c[kind] += t[k]
    return c


def records(burn, *filters: str) -> list[dict]:
    r = burn("log", *filters, "--format", "json")
    assert r.code == 0, r
    return json.loads(r.out)["records"]


def usage_of(recs: list[dict]) -> Counter:
    c: Counter = Counter()
    for rec in recs:
        for kind in KINDS.values():
            c[kind] += rec["usage"][kind] or 0
    return c


def start(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "burn.cli.main", "launch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
        **kw,
    )


def wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.05)


# -- the record, exit codes -------------------------------------------------------------


def test_a_launch_is_one_record_holding_exactly_its_transcript(burn, tmp_path: Path) -> None:
    r = burn("launch", "reviewer", "--tag", "ticket=ABC-12", "--", "claude", "-p", "hi", "--fake-turns", "3")
    assert r.code == 0, r
    turns = truth(tmp_path)
    assert len(turns) == 3
    recs = records(burn)
    assert len(recs) == 1, "every token in exactly one record: no extra ingest record"
    rec = recs[0]
    assert rec["kind"] == "launch" and rec["persona"] == "reviewer" and rec["source"] == "library"
    assert rec["sessions"] == [turns[0]["session"]], "the preallocated --session-id matched exactly"
    assert rec["exit_code"] == 0 and rec["tags"] == {"ticket": "ABC-12"}
    assert usage_of([rec]) == token_sums(turns)
    from burn.ledger.pricing import load_table

    expected = load_table().price(
        "claude-sonnet-4-5", {**dict(token_sums(turns)), "cache_write_1h_tokens": 0}
    )
    assert rec["cost_micros"] == expected and expected > 0
    assert not list((tmp_path / "burn" / "pending").glob("*")), "the stamp is gone once settled"


def test_launch_records_are_valid_git_objects_carrying_their_spec(burn, tmp_path: Path) -> None:
    # the first launch of a version stores its spec; the second finds it in the index. Both
    # write their commit, tree and ref by hand (no dulwich): git itself must accept them.
    for _ in range(2):
        assert burn("launch", "reviewer", "--", "claude", "-p", "hi").code == 0
    recs = records(burn)
    assert len(recs) == 2 and recs[0]["version"] == recs[1]["version"]
    git_dir = str(tmp_path / "burn" / "ledger.git")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    fsck = subprocess.run(
        ["git", "--git-dir", git_dir, "fsck", "--full", "--strict"], env=env, capture_output=True
    )
    assert fsck.returncode == 0, fsck.stderr
    shown = burn("persona", "show", "reviewer@" + recs[0]["version_short"], "--format", "json")
    from burn.store.canonical import Version, canonical_bytes

    spec = json.loads(shown.out)["spec"]
    for rec in recs:
        blob = subprocess.run(
            ["git", "--git-dir", git_dir, "show", f"{rec['id']}:persona.json"],
            env=env,
            capture_output=True,
            check=True,
        ).stdout
        assert blob == canonical_bytes(spec) and Version.of_bytes(blob).id == rec["version"]
    log = subprocess.run(
        ["git", "--git-dir", git_dir, "log", "--format=%H", "--all"], env=env, capture_output=True
    )
    assert {r["id"] for r in recs} <= set(log.stdout.decode().split())


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--fake-exit", "7"], 7),
        (["--fake-signal", str(int(signal.SIGKILL))], 128 + 9),
        (["--fake-signal", str(int(signal.SIGTERM))], 128 + 15),
    ],
)
def test_exit_codes_pass_through_and_are_recorded(burn, tmp_path: Path, args: list[str], code: int) -> None:
    r = burn("launch", "planner", "--", "claude", *args)
    assert r.code == code, r
    (rec,) = records(burn)
    assert rec["exit_code"] == code
    assert usage_of([rec]) == token_sums(truth(tmp_path)), "spend before the crash is kept"


def test_a_missing_command_exits_127_and_is_still_recorded(burn) -> None:
    r = burn("launch", "reviewer", "--", "no-such-harness-here", "-p", "x")
    assert r.code == 127
    assert "no-such-harness-here: command not found" in r.err
    (rec,) = records(burn)
    assert rec["exit_code"] == 127 and rec["cost_micros"] is None, "no spend known: unknown, never $0"


def test_an_unknown_persona_runs_nothing(burn, tmp_path: Path) -> None:
    r = burn("launch", "nobody", "--", "claude")
    assert r.code == 1 and "no persona named 'nobody'" in r.err
    assert truth(tmp_path) == [] and records(burn) == []


def test_usage_errors_exit_2(burn) -> None:
    assert burn("launch").code == 2
    assert burn("launch", "reviewer").code == 2
    assert burn("launch", "--tag", "nokey", "reviewer", "--", "true").code == 2


# -- signals ----------------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_are_forwarded(burn, tmp_path: Path, sig: int, code: int) -> None:
    ready = tmp_path / "ready"
    proc = start(
        "reviewer", "--", "claude", "--fake-hang", "--fake-ready", str(ready), start_new_session=True
    )
    wait_for(ready)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == code
    (rec,) = records(burn)
    assert rec["exit_code"] == code and rec["usage"]["output_tokens"] == 100


def test_sigint_from_kill_is_forwarded_once(burn, tmp_path: Path) -> None:
    """No terminal: the child did not get the SIGINT, so the wrapper passes it on."""
    count = tmp_path / "ints"
    ready = tmp_path / "ready"
    proc = start(
        "reviewer",
        "--",
        "claude",
        "--fake-count-int",
        str(count),
        "--fake-ready",
        str(ready),
        start_new_session=True,
    )
    wait_for(ready)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    assert count.read_text() == f"INT from {proc.pid}\n", "forwarded by the wrapper, once"
    assert records(burn)[0]["exit_code"] == 130


def test_ctrl_c_on_a_terminal_reaches_the_child_once(burn, tmp_path: Path) -> None:
    """Ctrl-C on a terminal goes to the whole foreground group: the wrapper must not send
    it a second time (a harness that asks 'press Ctrl-C again to quit' would quit)."""
    import pty

    count = tmp_path / "ints"
    ready = tmp_path / "ready"
    args = [sys.executable, "-m", "burn.cli.main", "launch", "reviewer", "--", "claude"]
    args += ["--fake-count-int", str(count), "--fake-ready", str(ready)]
    pid, fd = pty.fork()
    if pid == 0:  # the child: session leader of a new terminal, in its foreground group
        os.execvpe(args[0], args, os.environ)
    wait_for(ready)
    os.write(fd, b"\x03")  # the terminal turns ^C into SIGINT for the foreground group
    deadline = time.time() + 60
    while True:
        try:
            os.read(fd, 4096)  # keep the terminal drained
        except OSError:
            break
        if time.time() > deadline:
            break
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 130
    assert count.read_text() == "INT from 0\n", "from the terminal only, not again from the wrapper"


def test_the_wrapper_forwards_sigint_only_where_the_terminal_did_not_send_it() -> None:
    """In a terminal: not to a child in the foreground group (it got the Ctrl-C), yes to
    one in its own group. Without a terminal: always (the signal came from kill)."""

    code = (
        "import subprocess, sys\n"
        "from burn.cli.launch import forwards_interrupt\n"
        "same = subprocess.Popen(['sleep', '30'])\n"
        "other = subprocess.Popen(['sleep', '30'], process_group=0)\n"
        "print('verdict', forwards_interrupt(same.pid), forwards_interrupt(other.pid), flush=True)\n"
        "same.kill(); other.kill()\n"
    )
    out = pty_output([sys.executable, "-c", code])
    assert b"verdict False True" in out, out
    detached = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, start_new_session=True, timeout=60
    )
    assert "verdict True True" in detached.stdout, detached


# -- opting out -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "flag"),
    [({"BURN": "0"}, []), ({"BURN": "off"}, []), ({"AGENTWORKFORCE_BURN": "0"}, []), ({}, ["--no-burn"])],
)
def test_opting_out_runs_the_command_without_importing_the_ledger(
    tmp_path: Path, env: dict, flag: list[str]
) -> None:
    cmd = [sys.executable, "-X", "importtime", "-m", "burn.cli.main", "launch", *flag, "reviewer", "--"]
    proc = subprocess.run(
        [*cmd, "claude", "--fake-exit", "7"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert proc.returncode == 7
    assert len(truth(tmp_path)) == 1, "the command ran"
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "burn.cli.launch" in imported, "importtime saw the wrapper"
    assert not {m for m in imported if m.startswith("burn.ledger")}, "no ledger module was imported"
    assert not (tmp_path / "burn").exists(), "nothing was written"


def test_opting_out_still_exits_127_for_a_missing_command(burn) -> None:
    r = burn("launch", "--no-burn", "reviewer", "--", "no-such-harness-here")
    assert r.code == 127 and "command not found" in r.err


# -- attribution ------------------------------------------------------------------------


def test_two_launches_in_one_directory_in_one_second_each_get_their_own_session(burn, tmp_path: Path) -> None:
    a = start("reviewer", "--", "claude", "--fake-turns", "2", "--fake-out", "111")
    b = start("planner", "--", "claude", "--fake-turns", "3", "--fake-out", "222")
    assert a.wait(timeout=60) == 0 and b.wait(timeout=60) == 0
    turns = truth(tmp_path)
    by_session: dict[str, list[dict]] = {}
    for t in turns:
        by_session.setdefault(t["session"], []).append(t)
    recs = {r["persona"]: r for r in records(burn)}
    assert set(recs) == {"reviewer", "planner"} and len(records(burn)) == 2
    for persona, out in (("reviewer", 111), ("planner", 222)):
        rec = recs[persona]
        (session,) = rec["sessions"]
        assert {t["output"] for t in by_session[session]} == {out}, "its own session, no other"
        assert usage_of([rec]) == token_sums(by_session[session])


def test_codex_launches_are_matched_by_directory_and_time(burn, tmp_path: Path) -> None:
    r = burn("launch", "reviewer", "--", "codex", "exec", "--fake-turns", "2")
    assert r.code == 0, r
    (rec,) = records(burn)
    turns = truth(tmp_path)
    assert rec["harness"] == "codex" and rec["sessions"] == [turns[0]["session"]]
    assert usage_of([rec]) == token_sums(turns)
    assert rec["usage"]["reasoning_tokens"] == 40


def test_a_session_no_stamp_claims_keeps_its_ingest_attribution(burn, tmp_path: Path) -> None:
    """A Claude run outside burn, in the same directory, during a launch: the launch
    preallocated its own session id, so it takes that one only."""
    ready = tmp_path / "ready"
    outside = tmp_path / "outside-ready"
    proc = start(
        "reviewer", "--", "claude", "--fake-delay", "0.5", "--fake-turns", "2", "--fake-ready", str(ready)
    )
    wait_for(ready)
    subprocess.run(["claude", "--fake-out", "999", "--fake-ready", str(outside)], check=True)
    assert proc.wait(timeout=60) == 0
    assert burn("ingest").code == 0
    recs = records(burn)
    launch = [r for r in recs if r["kind"] == "launch"]
    other = [r for r in recs if r["kind"] == "ingest"]
    assert len(launch) == 1 and launch[0]["usage"]["output_tokens"] == 200
    assert len(other) == 1 and other[0]["persona"] == "none" and other[0]["usage"]["output_tokens"] == 999


def test_spend_shows_live_while_the_launch_runs(burn, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    proc = start(
        "reviewer", "--", "claude", "--fake-hang", "--fake-ready", str(ready), start_new_session=True
    )
    wait_for(ready)
    deadline = time.time() + 30
    while True:  # the launch's own tick ingests every second
        r = burn("log", "--format", "json")
        live = json.loads(r.out)["running"]
        if live and live[0]["total_tokens"]:
            break
        assert time.time() < deadline, r
        time.sleep(0.3)
    assert json.loads(r.out)["records"] == [], "no record until the launch ends"
    assert live[0]["persona"] == "reviewer" and live[0]["usage"]["output_tokens"] == 100
    assert live[0]["cost_micros"] > 0
    table = burn("log").out
    assert table.splitlines()[1].startswith("running") and "reviewer@" in table
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    (rec,) = records(burn)
    assert (
        rec["usage"]["output_tokens"] == 100
        and json.loads(burn("log", "--format", "json").out)["running"] == []
    )


def test_a_killed_launcher_is_settled_by_the_next_ingest(burn, tmp_path: Path) -> None:
    proc = start("reviewer", "--", "claude", "--fake-turns", "2", "--fake-kill-launcher")
    assert proc.wait(timeout=60) == -signal.SIGKILL
    time.sleep(0.5)  # the orphaned fake finishes
    assert records(burn) == []
    assert burn("ingest").code == 0
    (rec,) = records(burn)
    assert rec["kind"] == "launch" and rec["settled"] == "launcher died" and rec["exit_code"] is None
    assert usage_of([rec]) == token_sums(truth(tmp_path))


def test_a_stamp_expires_after_24h_and_a_broken_stamp_is_reported(burn, burn_home: Path) -> None:
    from burn.ledger import stamps

    pending = burn_home / "pending"
    old = pending / "old.json"
    stamps.write_json(
        old,
        {"launch_id": "old", "persona": "reviewer", "version": None, "spawned_epoch": time.time() - 25 * 3600,
         "cwd": "/srv/dev/project", "harness": "claude"},
    )  # fmt: skip
    fd = stamps.hold(old)  # its launcher still "lives": only age settles it
    (pending / "broken.json").write_text('{"launch_id": "bro')
    r = burn("ingest", "--format", "json")
    os.close(fd)
    assert r.code == 0, r
    report = json.loads(r.out)
    assert any("broken.json" in p and "not a launch stamp" in p for p in report["problems"])
    (rec,) = records(burn)
    assert rec["settled"] == "expired" and rec["launch_id"] == "old"
    assert not old.exists() and (pending / "broken.json").exists()


def test_a_ledger_failure_never_changes_the_exit_code_and_loses_nothing(
    burn, burn_home: Path, tmp_path
) -> None:
    assert burn("record", "reviewer", "--cost", "0.01").code == 0
    objects = burn_home / "ledger.git" / "objects"
    objects.rename(burn_home / "objects.away")
    objects.write_text("not a directory")
    r = burn("launch", "reviewer", "--", "claude", "--fake-exit", "7")
    assert r.code == 7, r
    assert r.err.count("burn: warning:") == 1
    assert "could not record the launch" in (burn_home / "logs" / "burn.log").read_text()
    objects.unlink()
    (burn_home / "objects.away").rename(objects)
    assert burn("ingest").code == 0, "the stamp was kept: the next ingest settles it"
    recs = records(burn)
    assert sorted(r["kind"] for r in recs) == ["launch", "manual"]
    launch = next(r for r in recs if r["kind"] == "launch")
    assert launch["exit_code"] == 7 and usage_of([launch]) == token_sums(truth(tmp_path))


# -- nesting ----------------------------------------------------------------------------


def test_nested_launches_roll_up_exactly_once_with_a_killed_child(burn, tmp_path: Path) -> None:
    """planner → reviewer → security-auditor, each a real process tree; the innermost
    launcher is SIGKILLed. Its parent's final ingest settles it; the root's rolled-up
    total is every transcript's spend, once."""
    r = burn(
        "launch", "planner", "--", "claude", "--fake-turns", "2", "--fake-out", "10", "--fake-then",
        "burn", "launch", "reviewer", "--", "claude", "--fake-out", "20", "--fake-then",
        "burn", "launch", "security-auditor", "--", "claude", "--fake-turns", "3", "--fake-out", "30",
        "--fake-kill-launcher",
    )  # fmt: skip
    assert r.code == 0, r
    turns = truth(tmp_path)
    assert len(turns) == 6
    recs = {x["persona"]: x for x in records(burn)}
    assert set(recs) == {"planner", "reviewer", "security-auditor"}, "settled without another ingest"
    planner, reviewer, auditor = recs["planner"], recs["reviewer"], recs["security-auditor"]
    assert reviewer["parent"] == planner["launch_id"] and auditor["parent"] == reviewer["launch_id"]
    assert auditor["settled"] == "launcher died" and auditor["exit_code"] is None
    assert [usage_of([x])["output_tokens"] for x in (planner, reviewer, auditor)] == [20, 20, 90]
    rolled = {x["persona"]: x["rollup"] for x in records(burn, "--rollup")}
    everything = token_sums(turns)
    assert Counter({k: rolled["planner"]["usage"][k] for k in KINDS.values()}) == everything
    own_costs = [x["cost_micros"] for x in (planner, reviewer, auditor)]
    assert rolled["planner"]["cost_micros"] == sum(own_costs)
    assert rolled["reviewer"]["cost_micros"] == reviewer["cost_micros"] + auditor["cost_micros"]
    assert rolled["security-auditor"]["cost_micros"] == auditor["cost_micros"]
    assert sum(usage_of(list(recs.values())).values()) == sum(everything.values()), "own: each token once"
    table = burn("log", "--rollup").out
    assert "cost (rollup)" in table.splitlines()[0]
    own = {row["persona"]: row for row in json.loads(burn("summary", "--format", "json").out)["rows"]}
    assert own["security-auditor"]["usage"]["output_tokens"] == 90
    (top,) = json.loads(burn("summary", "--rollup", "kind=launch", "--format", "json").out)["rows"]
    assert top["persona"] == "planner" and top["records"] == 3, "all spend under the outermost launch"
    assert top["usage"]["output_tokens"] == everything["output_tokens"]
    assert top["cost_micros"] == sum(own_costs)


# -- the SDK ----------------------------------------------------------------------------


def test_the_sdk_context_manager_records_a_launch(tmp_path: Path) -> None:
    from burn.ledger import Ledger, launch
    from burn.ledger.query import Query

    with launch("reviewer", ["claude", "--fake-turns", "2"], tags={"via": "sdk"}) as run:
        assert run.env["BURN_LAUNCH_ID"] == run.id and run.argv[1] == "--session-id"
        run.exit_code = subprocess.run(run.argv, env=run.env).returncode
    assert run.record is not None and run.record["exit_code"] == 0
    assert run.record["tags"] == {"via": "sdk"}
    assert usage_of([run.record]) == token_sums(truth(tmp_path))
    assert [r["id"] for r in Ledger.open().log(Query())] == [run.record["id"]]


def test_the_sdk_records_a_launch_that_raised(tmp_path: Path) -> None:
    from burn.ledger import Ledger, launch
    from burn.ledger.query import Query

    with pytest.raises(RuntimeError), launch("reviewer", ["claude"]) as run:
        subprocess.run(run.argv, env=run.env)
        raise RuntimeError("the launcher's own bug")
    (row,) = Ledger.open().log(Query())
    assert row["exit_code"] is None and row["total_tokens"] == 1310


def test_a_launch_that_ends_while_another_ingest_reads_keeps_its_session(tmp_path: Path, burn) -> None:
    """Another launch's tick lists the logs, then this launch's child writes its session
    and exits, and its launcher writes `.end`, all before that tick plans. The tick must
    not settle this launch: it never read the session, so the record would be empty and
    the session would land under `none` (seen on a loaded machine)."""
    from burn.ledger import Ledger, stamps
    from burn.ledger.ingest import ingest
    from burn.ledger.launcher import Launch

    led = Ledger.open()
    other = subprocess.run(["claude", "--fake-turns", "1", "--fake-out", "7"], env=os.environ.copy())
    assert other.returncode == 0  # a session of its own, so the tick has a file to read
    run = Launch.begin(
        "reviewer", ["claude", "--fake-turns", "2", "--fake-out", "111"], ledger=led, live=False
    )
    assert run._stamp is not None
    ran: list[int] = []

    def meanwhile(done: int, total: int) -> None:  # called while the tick reads
        if not ran:
            ran.append(subprocess.run(run.argv, env=run.env).returncode)
            end = {"exit_code": 0, "ended_epoch": time.time(), "duration_ms": 5}
            stamps.write_json(run._stamp.with_suffix(".end"), end, sync=False)

    ingest(Ledger.open(led.home.root), progress=meanwhile)
    assert ran == [0]
    run.exit_code = 0
    record = run.end()
    assert record is not None
    (session,) = {t["session"] for t in truth(tmp_path) if t["output"] == 111}
    assert record["sessions"] == [session] and record["usage"]["output_tokens"] == 222
    elsewhere = [r for r in records(burn) if session in r["sessions"] and r["id"] != record["id"]]
    assert elsewhere == [], "the launch's session is in its record only"


def test_a_stamp_is_locked_before_it_appears(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unlocked stamp looks like a dead launcher's: an ingest in that moment would settle
    it, empty, and the launch's session would land under `none`. So at the rename that makes
    it visible, the stamp must already be locked."""
    import fcntl

    from burn.ledger import stamps

    seen: list[bool] = []
    real_replace = os.replace

    def replace(src, dst) -> None:  # type: ignore[no-untyped-def]
        fd = os.open(src, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            seen.append(False)
        except BlockingIOError:
            seen.append(True)
        finally:
            os.close(fd)
        real_replace(src, dst)

    monkeypatch.setattr(stamps.os, "replace", replace)
    path = tmp_path / "pending" / "x.json"
    fd = stamps.create_held(path, {"launch_id": "x", "spawned_epoch": 1.0})
    monkeypatch.setattr(stamps.os, "replace", real_replace)
    try:
        assert seen == [True], "visible before it was locked"
        [stamp] = stamps.load_all(tmp_path / "pending")
        assert stamp.owner_alive()
    finally:
        os.close(fd)
    assert not stamp.owner_alive()  # closing the fd is the launcher's death
