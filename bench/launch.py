"""What `burn launch` costs on top of the command it wraps, and what its 1 s tick costs.

    python bench/launch.py                    # 40 runs each, empty harness roots, then the tick
    python bench/launch.py --runs 100 --history-lines 100000
    python bench/launch.py --against main     # also a build of main, interleaved (before/after)

1. Wrapper overhead, whole process: `burn launch reviewer -- true` against `true` run
   directly, p50 and p99 of the difference (DESIGN section 12: p50 <= 100 ms, p99 <= 200 ms).
   burn is run from a fresh non-editable install (`pip install .`), as a user has it: an
   editable install's import hook alone adds ~45 ms to every Python start. Besides wall
   time, the CPU time of each run (user + system, from wait4) is reported: it moves less
   than wall time when other jobs share the machine. With --against REF, a build of git
   REF runs interleaved too (its own venv and home), so before and after meet the same
   load.
2. The tick on an idle machine with a large history: a Claude tree of --history-lines lines
   (bench/gen_logs.py) is ingested once; then one tick (`ingest(wait=False)` with nothing
   new) is timed, and must read no file (files_read == 0).
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

ROOT = Path(__file__).resolve().parent.parent


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall ms and CPU ms (user + system) of one run."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def install(work: Path, name: str, source: Path) -> str:
    """A fresh venv with burn installed from `source` (non-editable); its `burn`."""
    venv = work / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(source)], check=True)
    return str(venv / "bin" / "burn")


def checkout(work: Path, ref: str) -> Path:
    """The tree of git `ref` of this repository, exported under `work`."""
    tree = work / "against-src"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def overhead(work: Path, runs: int, env: dict[str, str], against: str | None) -> dict[str, dict[str, float]]:
    print("installing burn (non-editable) into a fresh venv ...", flush=True)
    builds = {"this tree": install(work, "venv", ROOT)}
    if against:
        print(f"installing {against} too ...", flush=True)
        builds[against] = install(work, "venv-against", checkout(work, against))
    homes = {name: dict(env, BURN_HOME=f"{env['BURN_HOME']}-{i}") for i, name in enumerate(builds)}
    true = "/bin/true" if Path("/bin/true").exists() else "true"
    for name, burn in builds.items():  # warm: pyc, index, the spec stored
        for _ in range(2):
            timed([burn, "launch", "reviewer", "--", true], homes[name], work)
    direct: list[float] = []
    wrapped: dict[str, list[tuple[float, float]]] = {name: [] for name in builds}
    for _ in range(runs):  # interleaved, so drift on a shared VM hits all alike
        direct.append(timed([true], env, work)[0])
        for name, burn in builds.items():
            wrapped[name].append(timed([burn, "launch", "reviewer", "--", true], homes[name], work))
    out = {}
    for name, runs_of in wrapped.items():
        extra = [w - d for (w, _c), d in zip(runs_of, direct, strict=True)]
        out[name] = {
            "direct_p50_ms": statistics.median(direct),
            "wrapped_p50_ms": statistics.median(w for w, _c in runs_of),
            "extra_p50_ms": statistics.median(extra),
            "extra_p99_ms": pct(extra, 99),
            "cpu_p50_ms": statistics.median(c for _w, c in runs_of),
        }
    return out


def tick(work: Path, lines: int, runs: int, env: dict[str, str]) -> dict[str, float]:
    tree = work / "history"
    print(f"generating a {lines:,}-line Claude history ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "gen_logs.py"),
            str(tree),
            "--lines",
            str(lines),
            "--harness",
            "claude",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    os.environ.update(env)
    os.environ["CLAUDE_CONFIG_DIR"] = str(tree / "claude")
    sys.path.insert(0, str(ROOT))
    from burn.ledger import Ledger
    from burn.ledger.ingest import ingest

    ledger = Ledger.open(Path(env["BURN_HOME"]))
    t = time.perf_counter()
    first = ingest(ledger, ["claude"])
    cold = time.perf_counter() - t
    assert first is not None
    print(
        f"cold ingest of the history: {cold:.2f} s, {first.files} files, {first.records} records", flush=True
    )
    times, reads = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        report = ingest(ledger, ["claude"], wait=False)
        times.append((time.perf_counter() - t) * 1000)
        reads += report.files_read if report else 0
    return {"files": first.files, "tick_p50_ms": statistics.median(times), "tick_p99_ms": pct(times, 99),
            "files_read_by_ticks": reads}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--history-lines", type=int, default=100_000)
    ap.add_argument("--against", metavar="REF", help="also run a build of git REF, interleaved")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="burn-bench-launch-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BURN", "GIT_"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python caches bytecode
        env.update(
            BURN_HOME=str(work / "home"),
            CLAUDE_CONFIG_DIR=str(work / "claude"),
            CODEX_HOME=str(work / "codex"),
            OPENCODE_DATA_DIR=str(work / "opencode"),
        )
        for name, o in overhead(work, args.runs, env, args.against).items():
            print(
                f"wrapper overhead, {name} ({args.runs} runs): true {o['direct_p50_ms']:.1f} ms, "
                f"burn launch -- true {o['wrapped_p50_ms']:.1f} ms (CPU {o['cpu_p50_ms']:.1f} ms); "
                f"extra p50 {o['extra_p50_ms']:.1f} ms ({'PASS' if o['extra_p50_ms'] <= 100 else 'MISS'}"
                f" <= 100), p99 {o['extra_p99_ms']:.1f} ms ({'PASS' if o['extra_p99_ms'] <= 200 else 'MISS'}"
                " <= 200)",
                flush=True,
            )
        env["BURN_HOME"] = str(work / "home-history")
        t = tick(work, args.history_lines, args.runs, env)
        print(
            f"idle tick over {t['files']} files: p50 {t['tick_p50_ms']:.1f} ms,"
            f" p99 {t['tick_p99_ms']:.1f} ms; files re-read by ticks: {t['files_read_by_ticks']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
