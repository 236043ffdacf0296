"""`burn diff` and `burn persona log` over a 100k-record ledger, whole process.

    python bench/diff.py [--records N] [--runs R] [--keep DIR | --home DIR]

Builds the ledger the way bench/ledger.py does (same seeded records: the reviewer has
~33k launches over two versions), then times whole `burn` processes. Targets (DESIGN
section 12): `burn diff` of two versions p50 ≤ 150 ms; `burn persona log` p50 ≤ 150 ms.
Stdlib and the burn package only; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import ledger as bench_ledger

TARGET = 0.150


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000, help="records to append (100000)")
    ap.add_argument("--runs", type=int, default=30, help="runs per process timing (30)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--keep", type=Path, help="build the home in DIR (new) and keep it")
    group.add_argument("--home", type=Path, help="time an existing home (built with --keep) instead")
    args = ap.parse_args()
    build = args.home is None
    if args.home:
        home = args.home.resolve()
    elif args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            sys.exit(f"{args.keep} is not empty")
        home = args.keep.resolve()
        home.mkdir(parents=True, exist_ok=True)
    else:
        home = Path(tempfile.mkdtemp(prefix="burn-bench-diff-"))
    os.environ["BURN_HOME"] = str(home)
    pyc = tempfile.mkdtemp(prefix="burn-bench-pyc-")  # cached bytecode, as an install has
    os.environ["PYTHONPYCACHEPREFIX"] = pyc
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        bench(args.records, args.runs, home, build)
    finally:
        shutil.rmtree(pyc, ignore_errors=True)
        if not (args.keep or args.home):
            shutil.rmtree(home, ignore_errors=True)


def bench(n: int, runs: int, home: Path, build: bool) -> None:
    burn = str(bench_ledger.BURN) if bench_ledger.BURN.exists() else shutil.which("burn") or "burn"
    print(f"BURN_HOME={home}  records={n if build else '(existing)'}  runs={runs}  burn={burn}")
    bench_ledger.run([burn, "log", "persona=nobody"])  # warm the bytecode cache
    if build:
        _, total = bench_ledger.build(n)
        print(f"built in {total:.0f} s; first `burn log` (index catch-up) ...", flush=True)
        bench_ledger.run([burn, "log", "persona=nobody"])
    out = subprocess.run(
        [burn, "persona", "log", "reviewer", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    new, old = (v["version_short"] for v in json.loads(out)["versions"][:2])
    diff = [burn, "diff", f"reviewer@{old}", f"reviewer@{new}"]
    rows: list[tuple[str, str, str]] = []

    def add(label: str, value: str, target: str = "") -> None:
        rows.append((label, value, target))

    def proc(label: str, argv: list[str], target: bool = False) -> None:
        wall, cpu = timed(argv, runs)
        p50, p99 = statistics.median(wall), bench_ledger.pct(wall, 99)
        verdict = ("≤ 150 ms " + ("PASS" if p50 <= TARGET else "MISS")) if target else ""
        ms = bench_ledger.ms
        figures = f"{ms(p50)} / {ms(p99)} / {ms(min(wall))}  (CPU {ms(statistics.median(cpu))})"
        add(f"{label}  p50 / p99 / min", figures, verdict)

    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    forget_kept(home / "index.sqlite")  # so the first figure includes pricing every launch
    first = bench_ledger.run(diff)[0]  # keeps the priced launches (all of them, once)
    add("first `burn diff` (prices and keeps every launch)", bench_ledger.ms(first))
    add(
        "first `burn persona log` after it",
        bench_ledger.ms(bench_ledger.run([burn, "persona", "log", "reviewer"])[0]),
    )
    for label, code in (("interpreter floor", "pass"), ("CLI floor", "import burn.cli.main")):
        proc(f"python -c {code!r} ({label})", [sys.executable, "-c", code])
    proc("burn --version (a whole burn process doing nothing)", [burn, "--version"])
    proc(
        "burn log persona=nobody (the floor of a command that reads the index)",
        [burn, "log", "persona=nobody"],
    )
    print("timing ...", flush=True)
    proc(f"burn diff reviewer@{old} reviewer@{new}", diff, target=True)
    proc("burn persona log reviewer", [burn, "persona", "log", "reviewer"], target=True)
    proc("  burn diff reviewer (two newest with launches)", [burn, "diff", "reviewer"])
    proc("  burn diff ... --format json", [*diff, "--format", "json"])
    proc("  burn diff ... --by harness", [*diff, "--by", "harness"])
    proc("  burn diff ... --since 30d (records read directly)", [*diff, "--since", "30d"])
    proc("  burn diff ... --by model (records read directly)", [*diff, "--by", "model"])
    print(f"load average {os.getloadavg()[0]:.2f}")
    w0, w1 = (max(len(r[i]) for r in rows) for i in (0, 1))
    print(f"\n{'figure'.ljust(w0)}  {'measured'.ljust(w1)}  target")
    for label, value, target in rows:
        print(f"{label.ljust(w0)}  {value.ljust(w1)}  {target}".rstrip())


def timed(argv: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall time and CPU time (user + system, from wait4) of a whole process, `runs`
    times. On a shared machine CPU time moves less than wall time; both are printed."""
    import time

    wall, cpu = [], []
    for _ in range(runs):
        a = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(p.pid, 0)
        wall.append(time.perf_counter() - a)
        cpu.append(usage.ru_utime + usage.ru_stime)
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read() if p.stderr else b""
        if p.returncode:
            sys.exit(f"{' '.join(argv)} exited {p.returncode}: {err.decode()[-2000:]}")
    return wall, cpu


def forget_kept(index: Path) -> None:
    """Drop the derived tables `burn diff` keeps in the index (they are rebuilt on read)."""
    import sqlite3

    conn = sqlite3.connect(index)
    for table in ("launch_units", "launch_units_state", "spec_cache"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.commit()
    conn.close()


if __name__ == "__main__":
    main()
