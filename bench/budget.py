"""What budgets add to `burn launch`: the same launch with no budget set, and with a daily,
monthly and per-launch cap over a month of history.

    python bench/budget.py                  # 30 runs each, 2000 records this month
    python bench/budget.py --runs 50 --records 20000

Each run is a whole process, `burn launch reviewer -- true` (a launch of reviewer that made
a session of its own would be priced the same way), from the current environment
(an editable install adds its import hook to every start, so compare the two rows, not
the absolute figures, with bench/launch.py). Prints p50 and p99 of each, and the difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def runs(n: int, env: dict[str, str], cwd: Path) -> list[float]:
    cmd = [sys.executable, "-m", "burn.cli.main", "launch", "reviewer", "--", "true"]
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--records", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="burn-bench-budget-") as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BURN", "GIT_"))}
        env.update(BURN_HOME=str(root / "home"), HOME=str(root), TZ="UTC")
        for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "OPENCODE_DATA_DIR"):
            env[var] = str(root / var.lower())
        os.environ.update(env)
        from burn.ledger import Ledger

        ledger = Ledger.open()
        now = time.time()
        bodies = []
        from burn.ledger.record import make_body, utc_iso

        for i in range(args.records):
            bodies.append(
                make_body(persona="reviewer", version=None, source="user", host=ledger.host,
                          started_at=utc_iso(now - (i % 20) * 3600), cost_micros=1000, pricing="reported")
            )  # fmt: skip
        ledger.append_many(bodies)
        ledger.index.close()
        subprocess.run(
            [sys.executable, "-m", "burn.cli.main", "budget", "set", "reviewer", "--daily", "1000",
             "--monthly", "10000", "--per-launch", "5"],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        budgets, away = root / "home" / "budgets.json", root / "budgets.away"
        runs(3, env, root)  # warm the index and the page cache
        plain: list[float] = []
        capped: list[float] = []
        for _ in range(args.runs):  # interleaved, so a busy machine slows both alike
            budgets.rename(away)
            plain += runs(1, env, root)
            away.rename(budgets)
            capped += runs(1, env, root)
    print(f"{args.runs} runs each, {args.records} records of reviewer this month")
    for name, v in (("no budgets", plain), ("daily+monthly+per-launch caps", capped)):
        print(f"{name:32s} p50 {statistics.median(v):7.1f} ms   p99 {pct(v, 99):7.1f} ms")
    print(f"{'budgets add':32s} p50 {statistics.median(capped) - statistics.median(plain):7.1f} ms")


if __name__ == "__main__":
    main()
