"""`burn demo` end to end, and the dependency direction cli -> ledger -> store."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path


def test_demo_runs_on_a_throwaway_home_and_leaves_ours_alone(tmp_path: Path, burn, burn_home: Path) -> None:
    demo_home = tmp_path / "demo"
    r = burn("demo", "--home", str(demo_home))
    assert r.code == 0, r
    assert f"using a throw-away home at {demo_home}" in r.out
    assert not burn_home.exists()  # the user's BURN_HOME was never touched
    for command in (
        "$ burn log persona=reviewer",
        "$ burn persona log reviewer",
        "$ burn persona diff reviewer@",
    ):
        assert command in r.out
    assert "~ prompt:" in r.out and re.search(r"ok: 33 records, 4 persona versions", r.out)
    # one launch of the stand-in claude per reviewer version, each a priced record
    old_v, new_v = re.search(r"burn persona diff reviewer@(\w+) reviewer@(\w+)", r.out).groups()
    table = r.out.split("$ burn log kind=launch\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [row.split()[3] for row in table[1:]] == [f"reviewer@{new_v}", f"reviewer@{old_v}"]
    for row in table[1:]:
        assert re.search(r"claude-sonnet-4-5\s+[\d,]+\s+\$0\.\d\d\s+[\d.]+s\s+0$", row), row
    # the demo's own transcripts are ingested (the subagent named by its Task call), never ours
    assert "$ burn ingest\n3 new records from 15 responses" in r.out
    assert re.search(r"^code-reviewer\s+claude\s+1\s", r.out, flags=re.M)
    # The demo's ledger is a real one: plain git reads it and the numbers tell its story.
    rows = json.loads(
        subprocess.run(
            [sys.executable, "-m", "burn.cli.main", "persona", "log", "reviewer", "--format", "json"],
            capture_output=True,
            text=True,
            env={**_env(), "BURN_HOME": str(demo_home)},
            cwd=demo_home / "project",
            check=True,
        ).stdout
    )["versions"]
    new, old = rows
    assert old["launches"] == 10  # 9 recorded + 1 real launch
    assert new["launches"] == 11  # and one more in the repository whose commit it makes
    # that commit carries its trailers, and `burn log commit=HEAD` shows that launch
    assert f"Burn-Persona: reviewer@{new_v}\n" in r.out and "Burn-Attribution: window" in r.out
    launch_id = re.search(r"Burn-Launch: ([0-9a-f]{40})", r.out).group(1)
    shown = r.out.split("$ burn log commit=HEAD\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [row.split()[0] for row in shown[1:]] == [launch_id[:10]]
    assert new["mean_cost_micros"] < old["mean_cost_micros"]  # the edit made reviews cheaper
    fsck = subprocess.run(["git", "--git-dir", str(demo_home / "ledger.git"), "fsck", "--full", "--strict"])
    assert fsck.returncode == 0
    # It ends with `burn diff` of the two reviewer versions, whose verdict fits the data:
    # the costs `burn log` shows, and a Welch interval computed here, both say B is cheaper.
    last = r.out.rsplit(f"$ burn diff reviewer@{old_v} reviewer@{new_v}\n", 1)[1]
    assert "verdict: B is cheaper" in last and "-Review the change. Read every file it touches" in last
    assert not re.search(r"^\$ burn ", last, flags=re.M)  # nothing runs after it
    logged = subprocess.run(
        [sys.executable, "-m", "burn.cli.main", "log", "persona=reviewer", "--format", "json"],
        capture_output=True, text=True, env={**_env(), "BURN_HOME": str(demo_home)}, check=True,
    ).stdout  # fmt: skip
    costs = {v: [x["cost_micros"] for x in json.loads(logged)["records"] if x["version_short"] == v]
             for v in (old_v, new_v)}  # fmt: skip
    assert len(costs[old_v]) == 10 and len(costs[new_v]) == 11  # (+1: the launch the commit claims)
    a, b = costs[old_v], costs[new_v]
    se = (statistics.variance(a) / len(a) + statistics.variance(b) / len(b)) ** 0.5
    assert statistics.fmean(b) - statistics.fmean(a) + 1.96 * se < 0


def test_demo_refuses_a_non_empty_home(tmp_path: Path, burn) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    r = burn("demo", "--home", str(tmp_path / "full"))
    assert r.code == 2 and "not empty" in r.err
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _imported_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "; import sys; print('\\n'.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_ledger_and_store_never_import_click_or_rich() -> None:
    mods = _imported_after(
        "import burn.ledger.ledger, burn.ledger.index, burn.ledger.query, burn.ledger.personas,"
        " burn.ledger.maintenance, burn.ledger.demo, burn.store.cascade, burn.store.objects"
    )
    assert not {m for m in mods if m.split(".")[0] in ("click", "rich", "rich_click")}
    assert not {m for m in mods if m.startswith("burn.cli")}


def test_store_knows_nothing_of_the_ledger() -> None:
    mods = _imported_after("import burn.store.cascade, burn.store.objects, burn.store.diff, burn.store.merge")
    assert not {m for m in mods if m.startswith("burn.ledger")}


def test_plain_log_does_not_load_rich_or_dulwich(burn, tmp_path: Path) -> None:
    burn("record", "none", "--cost", "1")
    burn("log")  # the first read after a write catches up (that one needs dulwich)
    code = (
        "import sys; from burn.cli.main import build, run; run(build(), ['log']);"
        " bad = [m for m in sys.modules if m.split('.')[0] in ('rich', 'dulwich')]; print('LOADED', bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out
