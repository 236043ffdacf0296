"""Ingest benchmark, side by side with ccusage 20 on the same generated Claude Code files.

    python bench/ingest.py [--lines 100000] [--seed 1] [--runs 3] [--keep DIR]
                           [--ccusage DIR] [--profile] [--json FILE]

1. Generates a tree with bench/gen_logs.py (Claude part ~800 bytes a line: 100k lines is
   ~80 MB; plus Codex and OpenCode logs) and its ground truth, then reads every file once so
   both tools start from a warm page cache.
2. Claude part, the DESIGN section 12 target: `burn ingest --harness claude` into a fresh
   BURN_HOME, then `burn summary --by harness --format json` (cold: median of --runs fresh
   homes); a second `burn ingest` with nothing new (median of --runs); peak RSS of each.
3. `ccusage daily --json --offline` (ccusage@20.0.24 from npm, installed once into --ccusage,
   run through its npm launcher and, for reference, as the bare native binary) with
   CLAUDE_CONFIG_DIR at the same Claude tree and an empty HOME (so no other agent's logs are
   found): median of --runs, peak RSS.
4. Compares the Claude token totals of burn, ccusage (the sum of its daily rows) and the
   ground truth, and prints where they differ.
5. For reference: cold and second ingest of all three harnesses.
6. With --profile: a cProfile of a cold `burn ingest --harness claude` (top functions).

Timings are wall time of whole processes (`time.perf_counter` around each child), and their
CPU time (user + system from `os.wait4`, which moves less than wall time on a shared
machine); peak RSS is `ru_maxrss` of that child from `os.wait4` (for the npm launcher it
covers the native binary it runs, a waited-for child). Linux counts in a child's `ru_maxrss` the pages it
shared with its parent between fork and exec, so the tree is generated in a separate process
and this script stays small; its own RSS (the floor of every figure) is printed. Processes
run as an installed burn runs: with cached bytecode (see bench/ledger.py). Stdlib, burn,
node/npm.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GEN_LOGS = Path(__file__).resolve().with_name("gen_logs.py")
CCUSAGE = "ccusage@20.0.24"  # the last 20.0.x whose npm package has the linux-x64 binary here
BURN = Path(sys.executable).with_name("burn")
CC_KINDS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")


class Child:
    """One finished child process: wall seconds, CPU seconds (user + system, with the
    children it waited for: burn's forked reader), peak RSS (bytes), exit code, stdout."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            p = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd)
            _, status, ru = os.wait4(p.pid, 0)
            self.seconds = time.perf_counter() - start
            p.returncode = os.waitstatus_to_exitcode(status)
            self.cpu = ru.ru_utime + ru.ru_stime
            self.rss = ru.ru_maxrss * 1024  # kilobytes on Linux
            self.code = p.returncode
            out.seek(0)
            err.seek(0)
            self.out = out.read().decode()
            self.err = err.read().decode()
        if self.code:
            sys.exit(f"{' '.join(argv)} exited {self.code}:\n{self.err[-3000:]}")


def ms(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(children: list[Child]) -> str:
    """Median (min-max) wall time."""
    xs = [c.seconds for c in children]
    if len(xs) == 1:
        return ms(xs[0])
    return f"{ms(median(xs))} ({ms(min(xs))}–{ms(max(xs))})"


def ensure_ccusage(cache: Path) -> tuple[Path, Path]:
    """(npm launcher, native binary) of ccusage 20.0.24, installed into `cache` once."""
    launcher = cache / "node_modules" / ".bin" / "ccusage"
    if not launcher.exists():
        print(f"installing {CCUSAGE} into {cache} ...", flush=True)
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(cache), "--no-audit", "--no-fund", CCUSAGE],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    native = cache / "node_modules" / "@ccusage" / "ccusage-linux-x64" / "bin" / "ccusage"
    if native.exists():
        native.chmod(0o755)
    return launcher, native


def warm(root: Path) -> int:
    """Read every file once (the page cache then holds them for both tools); return bytes."""
    total = 0
    for p in root.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                while chunk := f.read(1 << 20):
                    total += len(chunk)
    return total


def sum_ccusage(report: dict[str, Any]) -> dict[str, int]:
    return {k: sum(int(row.get(k, 0)) for row in report.get("daily", [])) for k in CC_KINDS}


def as_ccusage(usage: dict[str, int | None]) -> dict[str, int]:
    """burn's kinds in ccusage's four columns (cache writes are one column there)."""
    return {
        "inputTokens": usage["input_tokens"] or 0,
        "outputTokens": usage["output_tokens"] or 0,
        "cacheCreationTokens": (usage["cache_write_5m_tokens"] or 0) + (usage["cache_write_1h_tokens"] or 0),
        "cacheReadTokens": usage["cache_read_tokens"] or 0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=100_000, help="Claude Code lines (100000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3, help="runs per timing (3)")
    ap.add_argument("--keep", type=Path, help="generate into DIR (new) and keep it")
    ap.add_argument(
        "--ccusage",
        type=Path,
        default=Path(tempfile.gettempdir()) / "burn-bench-ccusage",
        help="where ccusage is installed (once)",
    )
    ap.add_argument("--profile", action="store_true", help="also cProfile a cold burn ingest")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args(argv)
    if args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            sys.exit(f"{args.keep} is not empty")
        work = args.keep.resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="burn-bench-ingest-"))
    pyc = tempfile.mkdtemp(prefix="burn-bench-pyc-")
    try:
        return bench(args, work, Path(pyc))
    finally:
        shutil.rmtree(pyc, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def bench(args: argparse.Namespace, work: Path, pyc: Path) -> int:
    burn = str(BURN) if BURN.exists() else shutil.which("burn") or "burn"
    logs, empty, homes = work / "logs", work / "empty", work / "homes"
    empty.mkdir(exist_ok=True)
    (empty / "home").mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BURN", "CLAUDE", "CODEX", "OPENCODE"))}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    base.update(PYTHONPYCACHEPREFIX=str(pyc), TZ="UTC")
    n_home = 0

    def burn_env(home: Path, claude: Path, codex: Path = empty, opencode: Path = empty) -> dict[str, str]:
        return {
            **base,
            "BURN_HOME": str(home),
            "CLAUDE_CONFIG_DIR": str(claude),
            "CODEX_HOME": str(codex),
            "OPENCODE_DATA_DIR": str(opencode),
        }

    def fresh() -> Path:
        nonlocal n_home
        n_home += 1
        return homes / f"h{n_home}"

    print(
        f"lines={args.lines} seed={args.seed} runs={args.runs} cpus={os.cpu_count()}"
        f" python={platform.python_version()} sqlite={sqlite3.sqlite_version} burn={burn}"
    )
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    t = time.perf_counter()
    gen = [sys.executable, str(GEN_LOGS), str(logs), "--seed", str(args.seed), "--lines", str(args.lines)]
    subprocess.run(gen, check=True, stdout=subprocess.DEVNULL)  # not in this process: see the docstring
    truth = json.loads((logs / "truth.json").read_text())
    gen_s = time.perf_counter() - t
    size = warm(logs)
    claude_mb = truth["bytes"].get("claude", 0)
    print(
        f"generated {logs} in {gen_s:.1f} s: claude {truth['lines']['claude']} lines {mb(claude_mb)}, "
        f"codex {truth['lines'].get('codex', 0)} lines {mb(truth['bytes'].get('codex', 0))}, "
        f"opencode {truth['files'].get('opencode', 0)} files; {mb(size)} in all",
        flush=True,
    )
    launcher, native = ensure_ccusage(args.ccusage)
    cc_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(empty / "home"),
        "TZ": "UTC",
        "CLAUDE_CONFIG_DIR": str(logs / "claude"),
        "NO_COLOR": "1",
    }
    version = Child([str(launcher), "--version"], cc_env).out.strip()
    print(f"ccusage {version} ({launcher})", flush=True)
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"this script's RSS (inherited by each child until exec, so the floor of its ru_maxrss): {mb(floor)}"
    )

    # warm the bytecode cache: every module an ingest and a summary import (an ingest of
    # nothing imports neither the price table nor dulwich, so the warm-up reads the tree)
    claude = logs / "claude"
    warm_home = fresh()
    Child([burn, "ingest"], burn_env(warm_home, empty))
    Child([burn, "ingest", "--harness", "claude"], burn_env(warm_home, claude))
    Child([burn, "summary", "--by", "harness", "--format", "json"], burn_env(warm_home, claude))

    ingest_argv = [burn, "ingest", "--harness", "claude", "--format", "json"]
    summary_argv = [burn, "summary", "--by", "harness", "--format", "json"]
    cc_argv = ["daily", "--json", "--offline"]
    Child([str(launcher), *cc_argv], cc_env)  # a first run (not timed), like burn's warm-up
    # Rounds, each a cold burn ingest + summary then ccusage (launcher, native binary): the
    # VM's speed drifts by tens of percent over a minute, so each ratio compares runs made
    # seconds apart, not burn's runs against ccusage's made later.
    print("cold burn ingest + summary (claude), then ccusage daily --json --offline ...", flush=True)
    cold: list[Child] = []
    summ: list[Child] = []
    cc: list[Child] = []
    cc_native: list[Child] = []
    home = warm_home
    for _ in range(args.runs):
        home = fresh()
        cold.append(Child(ingest_argv, burn_env(home, claude)))
        summ.append(Child(summary_argv, burn_env(home, claude)))
        cc.append(Child([str(launcher), *cc_argv], cc_env))
        if native.exists():
            cc_native.append(Child([str(native), *cc_argv], cc_env))
    report = json.loads(cold[-1].out)
    print("second burn ingest (nothing new) ...", flush=True)
    again = [Child(ingest_argv, burn_env(home, claude)) for _ in range(args.runs)]
    assert all(json.loads(c.out)["records"] == 0 for c in again)
    burn_claude = next(r["usage"] for r in json.loads(summ[-1].out)["rows"] if r["harness"] == "claude")
    burn_cost = next(r["cost_micros"] for r in json.loads(summ[-1].out)["rows"] if r["harness"] == "claude")

    cc_report = json.loads(cc[-1].out)
    cc_totals = sum_ccusage(cc_report)
    cc_cost = (cc_report.get("totals") or {}).get("totalCost")

    print("all harnesses, for reference ...", flush=True)
    all_home = fresh()
    all_env = burn_env(all_home, claude, logs / "codex", logs / "opencode")
    all_cold = Child([burn, "ingest", "--format", "json"], all_env)
    all_summary = Child(summary_argv, all_env)
    all_again = Child([burn, "ingest", "--format", "json"], all_env)
    all_rows = {r["harness"]: r["usage"] for r in json.loads(all_summary.out)["rows"]}

    # -- figures -------------------------------------------------------------------------------
    cold_s = median([c.seconds for c in cold])
    summ_s = median([c.seconds for c in summ])
    again_s = median([c.seconds for c in again])
    cc_s = median([c.seconds for c in cc])
    rows: list[tuple[str, str, str]] = []

    def add(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("**PASS**" if ok else "**MISS**")
        rows.append((label, value, f"{target} {verdict}".strip()))

    peak = max(c.rss for c in cold)
    add("Claude tree", f"{truth['lines']['claude']} lines, {mb(claude_mb)}, {truth['files']['claude']} files")
    add("cold `burn ingest --harness claude`", spread(cold))
    add("`burn summary --by harness` after it", spread(summ))
    add("cold ingest + summary", ms(cold_s + summ_s))
    add("`ccusage daily --json --offline` (npm launcher)", spread(cc))
    if cc_native:
        add("  the native binary alone", spread(cc_native))
    ratio = (cold_s + summ_s) / cc_s
    add("ratio burn (ingest + summary) / ccusage", f"{ratio:.2f}", "≤ 1.0", ratio <= 1.0)
    rounds = sorted((i.seconds + s.seconds) / c.seconds for i, s, c in zip(cold, summ, cc, strict=True))
    add("  the same, round by round (min–max)", f"{rounds[0]:.2f}–{rounds[-1]:.2f}")
    add("  ratio burn ingest alone / ccusage", f"{cold_s / cc_s:.2f}")
    cpu = {name: median([c.cpu for c in kids]) for name, kids in (("cold", cold), ("summ", summ), ("cc", cc))}
    add(
        "CPU (user + sys): cold ingest / summary / ccusage",
        f"{ms(cpu['cold'])} / {ms(cpu['summ'])} / {ms(cpu['cc'])}"
        f" (ratio {(cpu['cold'] + cpu['summ']) / cpu['cc']:.2f})",
    )
    add("second `burn ingest`, nothing new", spread(again))
    add("ratio second / cold", f"{again_s / cold_s * 100:.1f} %", "≤ 10 %", again_s <= 0.10 * cold_s)
    add("peak RSS, cold burn ingest", mb(peak), "≤ 200 MB", peak <= 200e6)
    add("peak RSS, second burn ingest", mb(max(c.rss for c in again)))
    add("peak RSS, ccusage (launcher + native)", mb(max(c.rss for c in cc)))
    add(
        "burn throughput, cold",
        f"{claude_mb / 1e6 / cold_s:.1f} MB/s, {truth['lines']['claude'] / cold_s:,.0f} lines/s",
    )
    add("records written (claude)", str(report["records"]))
    add(
        "all harnesses: cold ingest",
        f"{ms(all_cold.seconds)} ({mb(sum(truth['bytes'].values()))}, "
        f"{sum(truth['files'].values())} files), RSS {mb(all_cold.rss)}",
    )
    add(
        "all harnesses: second ingest",
        f"{ms(all_again.seconds)} ({all_again.seconds / all_cold.seconds * 100:.1f} %)",
    )
    w0, w1 = (max(len(r[i]) for r in rows) for i in (0, 1))
    print(f"\n{'figure'.ljust(w0)}  {'measured'.ljust(w1)}  target")
    for label, value, target in rows:
        print(f"{label.ljust(w0)}  {value.ljust(w1)}  {target}".rstrip())

    # -- token totals: burn vs ccusage vs the ground truth --------------------------------------
    want = truth["ccusage_claude"]
    got_burn = as_ccusage(burn_claude)
    print(f"\nClaude token totals (ccusage's columns){'':4}{'truth':>14}{'burn':>14}{'ccusage':>14}")
    differ = []
    for k in CC_KINDS:
        print(f"  {k:<42}{want[k]:>14,}{got_burn[k]:>14,}{cc_totals[k]:>14,}")
        for who, v in (("burn", got_burn[k]), ("ccusage", cc_totals[k])):
            if v != want[k]:
                differ.append(f"{who} {k}: {v - want[k]:+,} ({(v - want[k]) / max(1, want[k]) * 100:+.3f} %)")
    exact = burn_claude == truth["totals"]["claude"]
    print(f"  burn, all six kinds (5m/1h split, reasoning null) equal to the truth: {exact}")
    all_exact = all(all_rows.get(h) == u for h, u in truth["totals"].items())
    print(f"  burn, every harness (claude, codex, opencode) equal to the truth: {all_exact}")
    print("  differences: " + ("; ".join(differ) if differ else "none"))
    if cc_cost is not None and burn_cost is not None:
        print(f"  cost (each tool's own price table): burn ${burn_cost / 1e6:,.2f}, ccusage ${cc_cost:,.2f}")
    if args.json:
        figures = {
            "rows": rows,
            "truth": want,
            "burn": got_burn,
            "ccusage": cc_totals,
            "differences": differ,
            "cold_s": [c.seconds for c in cold],
            "summary_s": [c.seconds for c in summ],
            "second_s": [c.seconds for c in again],
            "ccusage_s": [c.seconds for c in cc],
            "cold_cpu_s": [c.cpu for c in cold],
            "summary_cpu_s": [c.cpu for c in summ],
            "second_cpu_s": [c.cpu for c in again],
            "ccusage_cpu_s": [c.cpu for c in cc],
            "ccusage_native_s": [c.seconds for c in cc_native],
            "peak_rss": peak,
        }
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    if args.profile:
        profile(burn_env(fresh(), claude), work)
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


def profile(env: dict[str, str], work: Path) -> None:
    import pstats

    out = work / "ingest.prof"
    print("\ncProfile of a cold `burn ingest --harness claude` ...", flush=True)
    Child(
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(out),
            "-m",
            "burn.cli.main",
            "ingest",
            "--harness",
            "claude",
        ],
        env,
    )
    stats = pstats.Stats(str(out))
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    sys.exit(main())
