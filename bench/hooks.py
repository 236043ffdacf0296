"""What burn's git hooks add to a commit (DESIGN section 12: p50 <= 100 ms, p99 <= 200 ms).

    python bench/hooks.py                       # 100k-record ledger, 30 runs per case
    python bench/hooks.py --records 5000 --runs 10   # smoke run

A ledger of --records records is built exactly as bench/ledger.py builds it (its `build`),
then two repositories with the same content take a commit in turn: one without hooks, one
with `burn hooks install` (prepare-commit-msg + post-commit). burn runs from a fresh
non-editable install (`pip install .`), as a user has it. Two cases, interleaved runs:

- attributed: a `burn launch reviewer -- true` in the repository before each commit (not
  timed), so prepare-commit-msg finds it and adds trailers, and post-commit writes the note
  and the ledger's attribution record — the whole work of both hooks;
- nothing to attribute: no launch since the last commit (prepare-commit-msg looks and
  finds nothing; post-commit's shim exits without starting Python).

Printed: p50 and p99 of (commit with hooks - commit without), PASS/MISS against the target.
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
sys.path.insert(0, str(ROOT / "bench"))

import ledger as ledger_bench  # noqa: E402  (bench/ledger.py: the 100k-record build)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = (time.perf_counter() - t) * 1000
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return took


def make_repo(path: Path, env: dict[str, str]) -> Path:
    path.mkdir()
    for cmd in (["init", "-q", "-b", "main"], ["config", "user.email", "b@example.com"],
                ["config", "user.name", "Bench"]):  # fmt: skip
        run(["git", *cmd], path, env)
    (path / "file.txt").write_text("0\n")
    run(["git", "add", "file.txt"], path, env)
    run(["git", "commit", "-q", "-m", "initial"], path, env)
    return path


def commit(repo: Path, n: int, env: dict[str, str]) -> float:
    """Change a file and stage it (not timed), then time `git commit`."""
    with (repo / "file.txt").open("a") as f:
        f.write(f"{n}\n")
    run(["git", "add", "file.txt"], repo, env)
    return run(["git", "commit", "-q", "-m", f"change {n}"], repo, env)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=30)
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
        venv = work / "venv"
        print("installing burn (non-editable) into a fresh venv ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], check=True)
        burn = str(venv / "bin" / "burn")
        plain = make_repo(work / "plain", env)
        hooked = make_repo(work / "hooked", env)
        run([burn, "hooks", "install", "--repo", str(hooked)], hooked, env)
        print("warming up (index catch-up over the whole ledger, bytecode) ...", flush=True)
        run([burn, "log", "-n", "1"], hooked, env)
        run([burn, "launch", "reviewer", "--", "true"], hooked, env)
        commit(hooked, 0, env)
        commit(plain, 0, env)
        results = {}
        for case in ("attributed", "nothing to attribute"):
            extra, with_hooks, without = [], [], []
            for i in range(1, args.runs + 1):
                if case == "attributed":
                    run([burn, "launch", "reviewer", "--", "true"], hooked, env)
                without.append(commit(plain, i, env))
                with_hooks.append(commit(hooked, i, env))
                extra.append(with_hooks[-1] - without[-1])
            msg = subprocess.run(["git", "log", "-1", "--format=%B"], cwd=hooked, env=env,
                                 capture_output=True, text=True).stdout  # fmt: skip
            assert ("Burn-Launch:" in msg) == (case == "attributed"), msg
            results[case] = (statistics.median(without), statistics.median(with_hooks),
                             statistics.median(extra), pct(extra, 99))  # fmt: skip
        print(f"\n{args.records:,}-record ledger, {args.runs} runs per case, load {os.getloadavg()[0]:.2f}")
        for case, (plain_p50, hooked_p50, p50, p99) in results.items():
            print(
                f"{case}: git commit {plain_p50:.1f} ms without hooks, {hooked_p50:.1f} ms with;"
                f" extra p50 {p50:.1f} ms ({'PASS' if p50 <= 100 else 'MISS'} <= 100),"
                f" p99 {p99:.1f} ms ({'PASS' if p99 <= 200 else 'MISS'} <= 200)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
