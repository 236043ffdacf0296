"""Budgets (DESIGN section 8) with real `burn launch` processes and fake harnesses that
spend known amounts; BURN_NOW is the controllable clock for day and month boundaries."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_launch import harness_bin, records, start, truth

from conftest import pty_output, write

__all__ = ["harness_bin"]  # the autouse fixture: fake claude and burn on PATH

REFUSED = 75


def turn_cost(n: int = 0, out: int = 100, model: str = "claude-sonnet-4-5") -> int:
    """What the fake claude's turn n costs, from the price table in force."""
    from burn.ledger.pricing import load_table

    usage = {"input_tokens": 10 + n, "output_tokens": out, "cache_read_tokens": 1000 * (n + 1),
             "cache_write_5m_tokens": 200, "cache_write_1h_tokens": 0}  # fmt: skip
    price = load_table().price(model, usage)
    assert price is not None and price > 0
    return price


def check(burn, *args: str) -> tuple[int, dict]:
    r = burn("budget", "check", *args, "--format", "json")
    assert r.code in (0, 1), r
    return r.code, json.loads(r.out)


def status(burn) -> dict:
    r = burn("budget", "status", "--format", "json")
    assert r.code == 0, r
    return json.loads(r.out)


def cap(rows: list[dict], kind: str, scope: str = "reviewer") -> dict:
    (row,) = [r for r in rows if r["kind"] == kind and r["scope"] == scope]
    return row


def config(burn_home: Path, text: str) -> None:
    write(burn_home / "config.toml", "[budget]\n" + text)


# -- set, check, refuse -------------------------------------------------------------------


def test_check_says_which_cap_binds_and_exits_0_or_1(burn) -> None:
    assert burn("budget", "set", "reviewer", "--daily", "5", "--per-launch", "1").code == 0
    assert burn("budget", "set", "reviewer", "--monthly", "100").code == 0, "kinds not given are kept"
    assert burn("record", "reviewer", "--cost", "4.5").code == 0
    code, ok = check(burn, "reviewer", "--estimate", "0.2")
    assert code == 0 and ok["allowed"]
    assert ok["binding"]["kind"] == "daily" and ok["binding"]["left_micros"] == 500_000
    assert cap(ok["caps"], "monthly")["spent_micros"] == 4_500_000
    assert {r["kind"] for r in ok["caps"]} == {"daily", "monthly", "per_launch"}
    code, no = check(burn, "reviewer", "--estimate", "0.8")
    assert code == 1 and not no["allowed"] and "daily cap $5.00" in no["refusals"][0]
    code, big = check(burn, "reviewer", "--estimate", "1.5")
    assert code == 1 and any("per-launch cap $1.00" in x for x in big["refusals"])
    table = burn("budget", "check", "reviewer", "--estimate", "0.8")
    assert (
        table.code == 1
        and "refused" in table.out
        and "binds: daily cap of reviewer ($0.50 left)" in table.out
    )
    assert burn("budget", "check", "planner").code == 0, "no caps: allowed"


def test_a_hard_cap_refuses_a_launch_with_its_own_exit_code_and_nothing_runs(
    burn, tmp_path, burn_home
) -> None:
    assert burn("budget", "set", "reviewer", "--daily", "1").code == 0
    assert burn("record", "reviewer", "--cost", "1.2").code == 0
    r = burn("launch", "reviewer", "--", "claude")
    assert r.code == REFUSED, r
    assert "burn: refused: hard daily cap $1.00 of reviewer: $1.20 spent since" in r.err
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    assert f"resets {day} 00:00 UTC" in r.err
    assert truth(tmp_path) == [], "nothing ran"
    assert [x["kind"] for x in records(burn)] == ["manual"], "a refused launch leaves no record"
    assert not list((burn_home / "pending").glob("*")), "and no stamp"
    assert burn("launch", "planner", "--", "claude").code == 0, "other personas are not capped"


def test_a_soft_cap_warns_and_the_launch_goes_on(burn, tmp_path) -> None:
    assert burn("budget", "set", "reviewer", "--daily", "1", "--soft").code == 0
    assert burn("record", "reviewer", "--cost", "2").code == 0
    r = burn("launch", "reviewer", "--", "claude")
    assert r.code == 0, r
    assert "burn: warning: soft daily cap $1.00 of reviewer: $2.00 spent" in r.err
    assert len(truth(tmp_path)) == 1


def test_the_most_restrictive_cap_wins_and_narrowed_caps_keep_to_their_scope(burn) -> None:
    version = json.loads(burn("persona", "show", "reviewer", "--format", "json").out)["version_short"]
    assert burn("budget", "set", "reviewer", "--daily", "10").code == 0
    assert burn("budget", "set", "reviewer", "--tag", "ticket=A", "--daily", "1").code == 0
    assert burn("budget", "set", "reviewer@000000", "--daily", "0.01").code == 0, "another version"
    assert burn("record", "reviewer", "--cost", "1", "--tag", "ticket=A").code == 0
    assert check(burn, "reviewer", "--tag", "ticket=B")[0] == 0, "the tag cap does not apply"
    code, tagged = check(burn, "reviewer", "--tag", "ticket=A")
    assert code == 1 and tagged["binding"]["scope"] == "reviewer tag ticket=A"
    assert burn("launch", "reviewer", "--tag", "ticket=A", "--", "claude").code == REFUSED
    assert burn("launch", "reviewer", "--tag", "ticket=B", "--", "claude").code == 0
    assert burn("budget", "set", f"reviewer@{version}", "--daily", "0.5").code == 0
    code, narrowed = check(burn, "reviewer")
    assert code == 1 and narrowed["binding"]["scope"] == f"reviewer@{version}"
    assert burn("budget", "set", f"reviewer@{version}", "--clear").code == 0
    assert check(burn, "reviewer")[0] == 0


def test_the_persona_files_budget_block_caps_launches_and_is_not_hashed(burn, burn_home) -> None:
    path = burn_home / "personas" / "auditor.toml"
    write(path, 'harness = "claude"\nmodel = "claude-sonnet-4-5"\nprompt = "audit"\n')
    before = json.loads(burn("persona", "show", "auditor", "--format", "json").out)["version"]
    write(path, path.read_text() + "[budget]\ndaily = 0.5\nper_launch = 0.25\n")
    shown = json.loads(burn("persona", "show", "auditor", "--format", "json").out)
    assert shown["version"] == before, "the budget block is policy: not in the version hash"
    assert shown["budget"] == {"daily": 0.5, "per_launch": 0.25}
    assert burn("record", "auditor", "--cost", "0.5").code == 0
    r = burn("launch", "auditor", "--", "claude")
    assert r.code == REFUSED and "daily cap $0.50 of auditor" in r.err and str(path) in r.err
    rows = status(burn)["caps"]
    assert cap(rows, "daily", "auditor")["origin"] == str(path)


# -- the clock -----------------------------------------------------------------------------


def test_day_and_month_boundaries_follow_the_configured_time_zone(burn, burn_home, monkeypatch) -> None:
    assert burn("budget", "set", "reviewer", "--daily", "5", "--monthly", "8").code == 0
    for when, usd in (
        ("2026-10-31T20:00:00Z", "2"),
        ("2026-11-20T22:30:00Z", "3"),
        ("2026-11-20T23:30:00Z", "1"),
    ):
        assert burn("record", "reviewer", "--cost", usd, "--started-at", when).code == 0
    monkeypatch.setenv("BURN_NOW", "2026-11-20T23:45:00Z")
    _, utc = check(burn, "reviewer")
    assert cap(utc["caps"], "daily")["spent_micros"] == 4_000_000, "UTC: both Nov 20 records"
    assert cap(utc["caps"], "monthly")["spent_micros"] == 4_000_000, "October's is another month"
    assert cap(utc["caps"], "daily")["resets_at"] == "2026-11-21 00:00 UTC"
    config(burn_home, 'timezone = "Europe/Berlin"\n')  # UTC+1: 23:30Z is already Nov 21
    _, berlin = check(burn, "reviewer")
    assert cap(berlin["caps"], "daily")["spent_micros"] == 1_000_000
    assert cap(berlin["caps"], "daily")["resets_at"] == "2026-11-22 00:00 CET"
    assert cap(berlin["caps"], "monthly")["spent_micros"] == 4_000_000
    monkeypatch.setenv("BURN_NOW", "2026-10-31T23:30:00Z")  # 00:30 on Nov 1 in Berlin
    _, month = check(burn, "reviewer")
    assert cap(month["caps"], "monthly")["spent_micros"] == 4_000_000, "Oct 31 20:00Z is October in Berlin"
    assert cap(month["caps"], "daily")["spent_micros"] == 0
    monkeypatch.setenv("BURN_NOW", "2026-10-31T20:30:00Z")
    _, october = check(burn, "reviewer")
    assert cap(october["caps"], "monthly")["spent_micros"] == 2_000_000
    assert cap(october["caps"], "daily")["spent_micros"] == 2_000_000


def test_a_launch_that_spans_midnight_counts_where_its_spend_happened(burn, monkeypatch) -> None:
    """Two turns, one before midnight and one after: the record is split by turn time."""
    assert burn("budget", "set", "reviewer", "--daily", "5").code == 0
    at = "2026-11-20T23:59:30.000Z,2026-11-21T00:00:30.000Z"
    assert burn("launch", "reviewer", "--", "claude", "--fake-turns", "2", "--fake-at", at).code == 0
    (rec,) = records(burn)
    assert rec["cost_micros"] == turn_cost(0) + turn_cost(1)
    monkeypatch.setenv("BURN_NOW", "2026-11-20T12:00:00Z")
    assert cap(check(burn, "reviewer")[1]["caps"], "daily")["spent_micros"] == turn_cost(0)
    monkeypatch.setenv("BURN_NOW", "2026-11-21T12:00:00Z")
    assert cap(check(burn, "reviewer")[1]["caps"], "daily")["spent_micros"] == turn_cost(1)


# -- racing, killing, unknown cost ---------------------------------------------------------


def test_parallel_launches_race_for_the_last_dollar_and_exactly_one_wins(burn, tmp_path) -> None:
    """$1 left and a $1 per-launch cap: of four launches started together, one runs, and it
    holds its reservation until its record lands, so the other three are refused."""
    assert burn("budget", "set", "reviewer", "--daily", "5", "--per-launch", "1").code == 0
    assert burn("record", "reviewer", "--cost", "4").code == 0
    go = tmp_path / "go"
    procs = []
    for i in range(4):
        ready = tmp_path / f"ready{i}"
        procs.append(
            (start("reviewer", "--", "claude", "--fake-ready", str(ready), "--fake-wait", str(go)), ready)
        )
    deadline = time.time() + 60
    while not all(p.poll() is not None or ready.exists() for p, ready in procs):
        assert time.time() < deadline
        time.sleep(0.05)
    running = [p for p, ready in procs if ready.exists()]
    refused = [p for p, ready in procs if not ready.exists()]
    assert len(running) == 1 and len(refused) == 3
    assert all(p.wait() == REFUSED for p in refused)
    assert all("daily cap $5.00 of reviewer" in p.stderr.read() for p in refused)
    _, during = check(burn, "reviewer")
    assert cap(during["caps"], "daily")["running_micros"] == 1_000_000, "the winner holds its $1"
    go.touch()
    assert running[0].wait(timeout=60) == 0
    assert len([r for r in records(burn) if r["kind"] == "launch"]) == 1
    _, after = check(burn, "reviewer")
    daily = cap(after["caps"], "daily")
    assert daily["running_micros"] == 0 and daily["spent_micros"] == 4_000_000 + turn_cost(0)
    assert after["allowed"], "the reservation returned: what it really spent is what counts"


@pytest.mark.parametrize(
    ("extra", "code", "sig"), [([], 143, "SIGTERM"), (["--fake-ignore-term"], 137, "SIGKILL")]
)
def test_kill_on_cap_stops_a_child_whose_live_spend_crosses_a_hard_cap(
    burn, burn_home, extra: list[str], code: int, sig: str
) -> None:
    config(burn_home, "kill_grace_s = 0.5\n")
    assert burn("budget", "set", "reviewer", "--per-launch", "0.001").code == 0
    assert turn_cost(0) > 1000, "one turn is over the cap"
    r = burn("launch", "reviewer", "--kill-on-cap", "--", "claude", "--fake-hang", *extra)
    assert r.code == code, r
    assert f"burn: stopped by {sig}" in r.err and "per-launch cap of reviewer" in r.err
    (rec,) = records(burn)
    assert rec["exit_code"] == code
    assert rec["stopped"] == {"by": "burn", "cap": "per-launch cap of reviewer", "limit_micros": 1000,
                              "spent_micros": turn_cost(0), "signal": sig}  # fmt: skip


def test_without_kill_on_cap_a_child_over_its_cap_runs_to_the_end(burn, tmp_path) -> None:
    assert burn("budget", "set", "reviewer", "--per-launch", "0.001").code == 0
    r = burn("launch", "reviewer", "--", "claude", "--fake-turns", "3", "--fake-delay", "0.6")
    assert r.code == 0 and len(truth(tmp_path)) == 3
    assert "stopped" not in records(burn)[0]


def test_unknown_cost_never_counts_as_zero(burn, burn_home) -> None:
    assert burn("budget", "set", "reviewer", "--daily", "1").code == 0
    assert burn("launch", "reviewer", "--", "claude", "--fake-model", "claude-unpriced-9").code == 0
    (rec,) = records(burn)
    assert rec["cost_micros"] is None
    daily = cap(status(burn)["caps"], "daily")
    assert daily["unknown_launches"] == 1 and daily["spent_micros"] == 0
    r = burn("budget", "check", "reviewer")
    assert r.code == 0 and "1 launch(es) of unknown cost (an unpriced model" in r.err, "default: warn"
    assert "unknown" in burn("budget", "status").out.splitlines()[0]
    config(burn_home, 'unknown = "refuse"\n')
    r = burn("launch", "reviewer", "--", "claude")
    assert r.code == REFUSED and "1 launch(es) of unknown cost" in r.err


def test_status_lists_every_capped_persona_with_a_bar_per_cap_on_a_terminal(burn) -> None:

    assert burn("budget", "set", "reviewer", "--daily", "4", "--monthly", "40").code == 0
    assert burn("budget", "set", "planner", "--per-launch", "2").code == 0
    assert burn("record", "reviewer", "--cost", "1").code == 0
    rows = status(burn)["caps"]
    assert {(r["scope"], r["kind"]) for r in rows} == {
        ("planner", "per_launch"), ("reviewer", "daily"), ("reviewer", "monthly")}  # fmt: skip
    assert cap(rows, "daily")["left_micros"] == 3_000_000
    text = pty_output([sys.executable, "-m", "burn.cli.main", "budget", "status"]).decode()
    assert "[#####...............] 25%" in text, text
    assert "[" not in burn("budget", "status").out, "no bars when piped"


def test_a_launch_with_no_budgets_does_not_import_the_budget_code(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "burn.cli.main", "launch", "reviewer", "--", "claude"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "burn.ledger.launcher" in imported
    assert not imported & {"burn.ledger.budget", "burn.ledger.admission", "burn.ledger.pool"}


# -- pools ---------------------------------------------------------------------------------


def journal(burn_home: Path) -> list[dict]:
    path = burn_home / "pools" / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_invariant(state: dict) -> None:
    assert state["total"] == state["free"] + state["reserved"] + state["committed"], state
    members = state["members"].values()
    assert state["reserved"] == sum(m["reserved"] for m in members if m["state"] == "reserved"), state
    assert state["committed"] == sum(m["committed"] for m in members if m["state"] == "committed"), state


def test_pool_invariant_holds_at_every_step_of_a_three_level_tree_with_a_killed_child(
    burn, burn_home
) -> None:
    """planner --pool 1 → reviewer --pool 0.30 → security-auditor, whose launcher is
    SIGKILLed: reviewer's final ingest settles it and reviewer reconciles its reservation."""
    r = burn(
        "launch", "planner", "--pool", "1", "--", "claude", "--fake-out", "10", "--fake-then",
        "burn", "launch", "reviewer", "--pool", "0.30", "--", "claude", "--fake-out", "20", "--fake-then",
        "burn", "launch", "security-auditor", "--", "claude", "--fake-turns", "2", "--fake-out", "30",
        "--fake-kill-launcher",
    )  # fmt: skip
    assert r.code == 0, r
    recs = {x["persona"]: x for x in records(burn)}
    planner, reviewer, auditor = recs["planner"], recs["reviewer"], recs["security-auditor"]
    assert auditor["settled"] == "launcher died"
    steps = journal(burn_home)
    for step in steps:
        assert_invariant(step["pool_state"])
    seen = [(s["step"], s["pool"], s["member"], s["by"]) for s in steps]
    pid, rid, aid = planner["launch_id"], reviewer["launch_id"], auditor["launch_id"]
    assert seen == [
        ("open", pid, None, pid),
        ("reserve", pid, rid, rid),
        ("open", rid, None, rid),
        ("reserve", rid, aid, aid),
        ("open", aid, None, aid),
        ("commit", rid, aid, rid),  # its reservation settled by the parent after its final ingest
        ("close", aid, None, rid),  # and the pool it could not close
        ("close", rid, None, rid),
        ("commit", pid, rid, rid),
        ("close", pid, None, pid),
    ]
    final = {s["pool"]: s["pool_state"] for s in steps}
    assert final[rid]["total"] == 300_000, "reviewer reserved what it asked for"
    assert final[rid]["members"][aid] == {"persona": "security-auditor", "reserved": 300_000,
        "committed": auditor["cost_micros"], "state": "committed", "unknown": False}  # fmt: skip
    assert final[rid]["free"] == 300_000 - auditor["cost_micros"]
    rolled = reviewer["cost_micros"] + auditor["cost_micros"]
    assert final[pid]["committed"] == rolled, "a child commits its rolled-up spend"
    assert final[pid]["free"] == 1_000_000 - rolled and final[pid]["reserved"] == 0
    listed = {p["pool"]: p for p in status(burn)["pools"]}
    assert listed[pid]["state"] == "closed" and listed[pid]["committed_micros"] == rolled


def test_an_empty_pool_refuses_the_next_child_and_an_overdrawn_pool_says_so(burn, burn_home) -> None:
    """A $0.0001 pool: the first child reserves all of it and spends more (free goes
    negative); the second child finds nothing free and is refused."""
    script = "burn launch reviewer -- claude; burn launch planner -- claude; echo second=$?"
    r = burn("launch", "planner", "--pool", "0.0001", "--", "claude", "--fake-then", "sh", "-c", script)
    assert r.code == 0, r
    assert "second=75" in r.out and "has nothing free" in r.err
    root = next(x for x in records(burn) if x["parent"] is None)
    child = next(x for x in records(burn) if x["persona"] == "reviewer")
    state = {s["pool"]: s["pool_state"] for s in journal(burn_home)}[root["launch_id"]]
    assert_invariant(state)
    assert state["free"] == 100 - child["cost_micros"] < 0
    (listed,) = [p for p in status(burn)["pools"] if p["pool"] == root["launch_id"]]
    assert listed["overdrawn"] and listed["free_micros"] < 0
    assert "overdrawn" in burn("budget", "status").out


def test_a_bad_pool_amount_is_a_usage_error(burn, tmp_path) -> None:
    r = burn("launch", "planner", "--pool", "lots", "--", "claude")
    assert r.code == 2 and "--pool" in r.err and truth(tmp_path) == []


def test_the_demo_shows_a_refused_launch_and_budget_status(tmp_path, burn) -> None:
    r = burn("demo", "--home", str(tmp_path / "demo"))
    assert r.code == 0, r
    assert "$ burn budget set reviewer --daily 0.05" in r.out
    assert "burn: refused: hard daily cap $0.05 of reviewer" in r.err
    status = r.out[r.out.index("$ burn budget status") :]
    assert "reviewer  daily    hard   $0.05" in status and "-$" in status, "over the cap, and says so"


def test_a_launch_that_only_ran_launches_adds_nothing_but_one_that_found_no_session_is_unknown(burn) -> None:
    assert burn("budget", "set", "planner", "--daily", "10").code == 0
    r = burn("launch", "planner", "--", "sh", "-c", "burn launch reviewer -- claude")
    assert r.code == 0, r
    daily = cap(check(burn, "planner")[1]["caps"], "daily", "planner")
    assert daily["unknown_launches"] == 0 and daily["spent_micros"] == 0, "its child's record holds the spend"
    assert burn("launch", "planner", "--", "true").code == 0
    daily = cap(check(burn, "planner")[1]["caps"], "daily", "planner")
    assert daily["unknown_launches"] == 1, "no session found: burn cannot see what it spent"


def test_the_sdk_raises_budget_refused_and_spawns_nothing(burn, burn_home) -> None:
    from burn.ledger import launch
    from burn.ledger.budget import BudgetRefused

    assert burn("budget", "set", "reviewer", "--daily", "1").code == 0
    assert burn("record", "reviewer", "--cost", "2").code == 0
    with pytest.raises(BudgetRefused) as refused, launch("reviewer", ["claude"]):
        pytest.fail("the block must not run")
    assert refused.value.exit_code == REFUSED and "daily cap $1.00 of reviewer" in str(refused.value)
    assert not list((burn_home / "pending").glob("*")), "no stamp left behind"
