"""What burn's git hooks add to a commit (DESIGN section 12: p50 <= 100 ms, p99 <= 200 ms).

    python bench/hooks.py                       # 100k-record ledger, 30 runs per case
    python bench/hooks.py --records 5000 --runs 10   # smoke run
    python bench/hooks.py --records 5000 --runs 20 --baseline ../burn-main   # before/after

A ledger of --records records is built exactly as bench/ledger.py builds it (its `build`),
then two repositories with the same content take a commit in turn: one without hooks, one
with `burn hooks install` (prepare-commit-msg + post-commit). burn runs from a fresh
non-editable install (`pip install .`), as a user has it. Two cases, interleaved runs:

- attributed: a `burn launch reviewer -- true` in the repository before each commit (not
  timed), so prepare-commit-msg finds it and adds trailers, and post-commit writes the note
  and the ledger's attribution record — the whole work of both hooks;
- nothing to attribute: no launch since the last commit (prepare-commit-msg looks and
  finds nothing; post-commit's shim exits without starting Python).

Printed: p50 and p99 of (commit with hooks - commit without), PASS/MISS against the target;
the CPU time of the whole `git commit` (git, the hooks and their children, from wait4); and
for the attributed case how long after `git commit` returned the ledger record was in
(the post-commit hook leaves it to a background writer). The next run waits for that, so
the writer never overlaps a timed commit. With --baseline, another burn source tree (e.g.
a checkout of main) is installed too and its hooked repository takes its commit in the
same interleaved runs: before and after under the same machine load. Both share the
ledger, so after each hooked commit (untimed) that burn's `burn log -n 1` catches the index
up: the next commit, whichever burn makes it, finds it as a user would after any command.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import ledger as ledger_bench  # noqa: E402  (bench/ledger.py: the 100k-record build)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    return run_cpu(cmd, cwd, env)[0]


def run_cpu(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms of the process and every descendant it waited for: RUSAGE_CHILDREN)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = (time.perf_counter() - t) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return took, cpu


def make_repo(path: Path, env: dict[str, str]) -> Path:
    path.mkdir()
    for cmd in (["init", "-q", "-b", "main"], ["config", "user.email", "b@example.com"],
                ["config", "user.name", "Bench"]):  # fmt: skip
        run(["git", *cmd], path, env)
    (path / "file.txt").write_text("0\n")
    run(["git", "add", "file.txt"], path, env)
    run(["git", "commit", "-q", "-m", "initial"], path, env)
    return path


def commit(repo: Path, n: int, env: dict[str, str]) -> tuple[float, float]:
    """Change a file and stage it (not timed), then time `git commit`: (wall ms, CPU ms)."""
    with (repo / "file.txt").open("a") as f:
        f.write(f"{n}\n")
    run(["git", "add", "file.txt"], repo, env)
    return run_cpu(["git", "commit", "-q", "-m", f"change {n}"], repo, env)


def drained(home: Path, since: float) -> float:
    """Wait until no attribution is queued for the background writer; ms after `since`."""
    queue = home / "pending-attributions"
    deadline = time.monotonic() + 30
    while queue.is_dir() and any(p.name.startswith("commit-") for p in queue.iterdir()):
        if time.monotonic() > deadline:
            sys.exit(f"the background writer left {sorted(p.name for p in queue.iterdir())}")
        time.sleep(0.002)
    return (time.perf_counter() - since) * 1000


def install(source: Path, venv: Path) -> str:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(source)], check=True)
    return str(venv / "bin" / "burn")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--baseline", type=Path, help="another burn source tree, measured in the same runs")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="burn-bench-hooks-") as tmp:
        work = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BURN", "GIT_"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python caches bytecode
        env.update(
            BURN_HOME=str(work / "home"),
            HOME=str(work),
            GIT_CONFIG_NOSYSTEM="1",
            CLAUDE_CONFIG_DIR=str(work / "claude"),
            CODEX_HOME=str(work / "codex"),
            OPENCODE_DATA_DIR=str(work / "opencode"),
        )
        print(f"building a {args.records:,}-record ledger (bench/ledger.py) ...", flush=True)
        os.environ.update(env)
        _lat, took = ledger_bench.build(args.records)
        print(f"  built in {took:.0f} s", flush=True)
        print("installing burn (non-editable) into a fresh venv ...", flush=True)
        burns = {"this tree": install(ROOT, work / "venv")}
        if args.baseline:
            burns["baseline"] = install(args.baseline.resolve(), work / "venv-baseline")
        plain = make_repo(work / "plain", env)
        hooked = {}
        for i, (name, burn) in enumerate(burns.items()):
            hooked[name] = make_repo(work / f"hooked-{i}", env)
            run([burn, "hooks", "install", "--repo", str(hooked[name])], hooked[name], env)
        print("warming up (index catch-up over the whole ledger, bytecode) ...", flush=True)
        commit(plain, 0, env)
        for name, burn in burns.items():
            run([burn, "log", "-n", "1"], hooked[name], env)
            run([burn, "launch", "reviewer", "--", "true"], hooked[name], env)
            commit(hooked[name], 0, env)
            drained(work / "home", time.perf_counter())
        home = work / "home"
        rows = []
        for case in ("attributed", "nothing to attribute"):
            without: list[float] = []
            wall: dict[str, list[float]] = {name: [] for name in burns}
            extra: dict[str, list[float]] = {name: [] for name in burns}
            cpu: dict[str, list[float]] = {name: [] for name in burns}
            landed: dict[str, list[float]] = {name: [] for name in burns}
            plain_cpu: list[float] = []
            for i in range(1, args.runs + 1):
                if case == "attributed":
                    for name, burn in burns.items():
                        run([burn, "launch", "reviewer", "--", "true"], hooked[name], env)
                w, c = commit(plain, i, env)
                without.append(w)
                plain_cpu.append(c)
                order = list(burns) if i % 2 else list(reversed(burns))
                for name in order:
                    w, c = commit(hooked[name], i, env)
                    landed[name].append(drained(home, time.perf_counter()))
                    if len(burns) > 1:  # an older burn's post-commit leaves the shared index behind
                        run([burns[name], "log", "-n", "1"], hooked[name], env)  # (see the docstring)
                    wall[name].append(w)
                    extra[name].append(w - without[-1])
                    cpu[name].append(c - plain_cpu[-1])
            for name in burns:
                msg = subprocess.run(["git", "log", "-1", "--format=%B"], cwd=hooked[name], env=env,
                                     capture_output=True, text=True).stdout  # fmt: skip
                assert ("Burn-Launch:" in msg) == (case == "attributed"), msg
                rows.append((case, name, statistics.median(without), statistics.median(wall[name]),
                             statistics.median(extra[name]), pct(extra[name], 99),
                             statistics.median(cpu[name]), statistics.median(landed[name])))  # fmt: skip
        print(f"\n{args.records:,}-record ledger, {args.runs} runs per case, load {os.getloadavg()[0]:.2f}")
        for case, name, plain_p50, hooked_p50, p50, p99, cpu_p50, landed_p50 in rows:
            print(
                f"{case} [{name}]: git commit {plain_p50:.1f} ms without hooks, {hooked_p50:.1f} ms with;"
                f" extra p50 {p50:.1f} ms ({'PASS' if p50 <= 100 else 'MISS'} <= 100),"
                f" p99 {p99:.1f} ms ({'PASS' if p99 <= 200 else 'MISS'} <= 200);"
                f" extra CPU p50 {cpu_p50:.1f} ms"
                + (f"; record in the ledger {landed_p50:.0f} ms after" if case == "attributed" else "")
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
