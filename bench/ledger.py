"""Ledger benchmark: build N records, then time append, `burn log`, reindex and gc.

    python bench/ledger.py [--records N] [--runs R] [--keep DIR]

Checks the DESIGN section 12 targets on a throw-away BURN_HOME (see bench/README.md).
Stdlib and the burn package only.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
PERSONAS = ("reviewer", "planner", "implementer", "tester", "docs-writer")
MAIN_MODELS = "claude-sonnet-4-5 claude-opus-4-1 claude-sonnet-4-5 gpt-5-codex claude-haiku-4-5"
# model -> $ per million tokens (= micro-USD per token): input, output, cache read, 5m, 1h
PRICES = {
    "claude-sonnet-4-5": (3.0, 15.0, 0.30, 3.75, 6.0),
    "claude-opus-4-1": (15.0, 75.0, 1.50, 18.75, 30.0),
    "claude-haiku-4-5": (1.0, 5.0, 0.10, 1.25, 2.0),
    "gpt-5-codex": (1.25, 10.0, 0.125, 0.0, 0.0),
}
KINDS = "input_tokens output_tokens cache_read_tokens cache_write_5m_tokens cache_write_1h_tokens"
BURN = Path(sys.executable).with_name("burn")
Times = list[float]


def pct(xs: Times, p: int) -> float:
    """The p-th percentile (statistics.quantiles, inclusive), in the units given."""
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def disk(path: Path) -> tuple[int, int, int]:
    """(apparent bytes, allocated bytes, file count) of a file or tree."""
    files = [path] if path.is_file() else [Path(d, f) for d, _, fs in os.walk(path) for f in fs]
    stats = [f.stat() for f in files]
    return sum(s.st_size for s in stats), sum(s.st_blocks * 512 for s in stats), len(stats)


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def usage(rng: random.Random, model: str) -> dict[str, int]:
    big = model != "claude-haiku-4-5"
    cw5m = int(rng.lognormvariate(7.5, 1.2)) if not model.startswith("gpt") else 0
    return {
        "input_tokens": int(rng.lognormvariate(8.0 if big else 7.0, 1.0)),
        "output_tokens": int(rng.lognormvariate(7.0, 1.0)),
        "cache_read_tokens": int(rng.lognormvariate(11.0 if big else 9.5, 1.0)),
        "cache_write_5m_tokens": cw5m,
        "cache_write_1h_tokens": int(rng.lognormvariate(7.0, 1.0)) if rng.random() < 0.1 else 0,
    }


def cost_micros(model: str, u: dict[str, int]) -> int:
    return round(sum(u[k] * p for k, p in zip(KINDS.split(), PRICES[model], strict=True)))


def build(n: int, seed: int = 1) -> tuple[Times, float]:
    """Store 5 personas x 2 versions and append n records; (append latencies, total s)."""
    from burn.ledger import Ledger, make_body

    rng = random.Random(seed)
    t0 = time.perf_counter()
    led = Ledger.open()
    main_model = dict(zip(PERSONAS, MAIN_MODELS.split(), strict=True))
    versions: dict[str, list[str]] = {}
    for p in PERSONAS:
        for v in (1, 2):
            spec = {"name": p, "model": main_model[p], "prompt": f"You are the {p}, take {v}."}
            versions.setdefault(p, []).append(led.specs.put(spec, source="user")[0].id)
    # Start times spread over the last 90 days, appended in time order; version 2 of each
    # persona takes over half-way through, with some overlap.
    offsets = sorted((rng.uniform(0, 90 * 86400) for _ in range(n)), reverse=True)
    lat: Times = []
    for i, off in enumerate(offsets):
        persona = rng.choices(PERSONAS, weights=(5, 2, 4, 3, 1))[0]
        model = main_model[persona]
        used = [(model, usage(rng, model))]
        if model.startswith("claude") and rng.random() < 0.3:  # a haiku sub-agent
            used.append(("claude-haiku-4-5", usage(rng, "claude-haiku-4-5")))
        rows = [{"model": m, "usage": u, "granularity": "per-turn"} for m, u in used]
        start = NOW - timedelta(seconds=off)
        body = make_body(
            persona=persona,
            version=versions[persona][int(off < 45 * 86400 + rng.gauss(0, 5 * 86400))],
            source=rng.choice(("user", "cwd", "user")),
            host=led.host,
            started_at=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            by_model=rows,
            cost_micros=sum(cost_micros(m, u) for m, u in used),
            harness="codex" if model.startswith("gpt") else "claude",
            duration_ms=int(rng.lognormvariate(11.5, 1.0)),
            exit_code=0 if rng.random() < 0.95 else 1,
            sessions=[f"sess-{seed}-{i}"],
            tags={"ticket": f"ABC-{rng.randint(1, 400)}"},
        )
        a = time.perf_counter()
        led.append(body)
        lat.append(time.perf_counter() - a)
        if (i + 1) % max(1, n // 10) == 0:
            print(f"  appended {i + 1}/{n}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return lat, time.perf_counter() - t0


def run(argv: list[str], runs: int = 1, before: Callable[[], None] | None = None) -> Times:
    """Wall time of a whole process, `runs` times (stdout discarded, failure fatal)."""
    out: Times = []
    for _ in range(runs):
        if before:
            before()
        a = time.perf_counter()
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        out.append(time.perf_counter() - a)
        if p.returncode:
            sys.exit(f"{' '.join(argv)} exited {p.returncode}: {p.stderr.decode()[-2000:]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000, help="records to append (100000)")
    ap.add_argument("--runs", type=int, default=20, help="runs per process timing (20)")
    ap.add_argument("--keep", type=Path, help="build the home in DIR (new) and keep it")
    args = ap.parse_args()
    if args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            sys.exit(f"{args.keep} is not empty")
        home = args.keep.resolve()
        home.mkdir(parents=True, exist_ok=True)
    else:
        home = Path(tempfile.mkdtemp(prefix="burn-bench-"))
    os.environ["BURN_HOME"] = str(home)
    # Time processes as an installed burn runs: with cached bytecode (written outside the
    # source tree), even where the environment sets PYTHONDONTWRITEBYTECODE.
    pyc = tempfile.mkdtemp(prefix="burn-bench-pyc-")
    os.environ["PYTHONPYCACHEPREFIX"] = pyc
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        bench(args.records, args.runs, home)
    finally:
        shutil.rmtree(pyc, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def bench(n: int, runs: int, home: Path) -> None:
    burn = str(BURN) if BURN.exists() else shutil.which("burn") or "burn"
    repo, index = home / "ledger.git", home / "index.sqlite"
    log = [burn, "log", "persona=reviewer"]
    print(f"BURN_HOME={home}  records={n}  runs={runs}  cpus={os.cpu_count()}  burn={burn}")
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    run([sys.executable, "-c", "import dulwich.repo, burn.cli.log, burn.ledger.maintenance"])
    run([burn, "log", "persona=nobody"])  # warm the bytecode cache (nothing stored yet)
    lat, total = build(n)
    rows: list[tuple[str, str, str]] = []  # (figure, measured, target and verdict)

    def add(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        rows.append((label, value, f"{target} {verdict}".strip()))

    def proc(label: str, argv: list[str], target: str = "", limit: float = 0) -> None:
        t = run(argv, runs)
        p50 = statistics.median(t)
        add(f"{label} p50", ms(p50), target, p50 <= limit if limit else None)
        add(f"{label} p99", ms(pct(t, 99)))

    def drop_index() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{index}{suffix}").unlink(missing_ok=True)

    def after(tag: str) -> None:
        print(f"timing burn log and reindex [{tag}] ...", flush=True)
        proc(f"burn log persona=reviewer [{tag}]", log, "≤ 150 ms", 0.150)
        proc(f"  -n 20 [{tag}]", [*log, "-n", "20"])
        proc(f"  --format json [{tag}]", [*log, "--format", "json"])
        t = statistics.median(run([burn, "reindex"], 3))
        add(f"burn reindex, cold, median of 3 [{tag}]", ms(t), "≤ 10 s", t <= 10)
        add(f"first burn log after rm index.sqlite [{tag}]", ms(run(log, before=drop_index)[0]))
        size, blocks, files = disk(repo)
        add(f"ledger.git size [{tag}]", f"{mb(size)} ({mb(blocks)} on disk, {files} files)")

    add("append, in-process, p50", ms(pct(lat, 50)), "≤ 2 ms", pct(lat, 50) <= 0.002)
    add("append, in-process, p99", ms(pct(lat, 99)))
    add("append p50, last 10% of records", ms(statistics.median(lat[-max(1, n // 10) :])))
    add(f"build: {n} records + 10 specs, in-process", ms(total))
    add("first burn log after build (index catch-up)", ms(run(log)[0]))
    for label, code in (("interpreter floor", "pass"), ("CLI floor", "import burn.cli.main")):
        t = statistics.median(run([sys.executable, "-c", code], runs))
        add(f"python -c {code!r} p50 ({label})", ms(t))
    proc("burn --version", [burn, "--version"], "hook ≤ 100 ms", 0.100)
    after("loose")
    add("index.sqlite size", mb(disk(index)[0]))
    add("burn gc", ms(run([burn, "gc"])[0]))
    after("packed")
    print(f"load average {os.getloadavg()[0]:.2f}")
    w0, w1 = (max(len(r[i]) for r in rows) for i in (0, 1))
    print(f"\n{'figure'.ljust(w0)}  {'measured'.ljust(w1)}  target")
    for label, value, target in rows:
        print(f"{label.ljust(w0)}  {value.ljust(w1)}  {target}".rstrip())


if __name__ == "__main__":
    main()
