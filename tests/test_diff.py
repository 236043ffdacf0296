"""`burn diff` and `burn persona log` over ledgers with known, seeded distributions.

Expected figures are computed here from the tokens written and the packaged price table
read as plain JSON (not through burn's pricing code), with the statistics module.
"""

from __future__ import annotations

import calendar
import json
import random
import statistics
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from burn.ledger import Ledger, make_body
from burn.ledger.compare import BOOTSTRAP_MAX
from burn.ledger.costdiff import diff
from burn.ledger.query import Query
from conftest import write

PRICES = json.loads((Path(__file__).parent.parent / "ledger/prices.json").read_text())
KINDS = {
    "input_tokens": "input",
    "output_tokens": "output",
    "cache_read_tokens": "cache_read",
    "cache_write_5m_tokens": "cache_write_5m",
    "cache_write_1h_tokens": "cache_write_1h",
}


def cost_of(model: str, usage: dict[str, int | None], prices: dict[str, Any] = PRICES) -> int:
    """Micro-USD of one usage row: $ per Mtok is µ$ per token; half-up to the micro."""
    rates = prices["models"][model]
    total = sum(Decimal(rates[k]) * (usage.get(u) or 0) for u, k in KINDS.items())
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def usage(rng: random.Random, scale: float, cache: bool = True) -> dict[str, int | None]:
    return {
        "input_tokens": int(rng.lognormvariate(7, 0.6) * scale),
        "output_tokens": int(rng.lognormvariate(6.5, 0.6) * scale),
        "cache_read_tokens": int(rng.lognormvariate(10, 0.5) * scale) if cache else None,
        "cache_write_5m_tokens": int(rng.lognormvariate(7, 0.5)) if cache else None,
        "cache_write_1h_tokens": 0 if cache else None,
        "reasoning_tokens": None,
    }


class Book:
    """A ledger written through the Python API, and what was written to it."""

    def __init__(self) -> None:
        self.led = Ledger.open()
        self.n = 0
        self.written: dict[str, list[dict[str, Any]]] = {}

    def version(self, spec: dict[str, Any]) -> str:
        return self.led.specs.put(spec, source="user")[0].id

    def add(
        self, persona: str, version: str, rows: list[tuple[str, dict[str, int | None]]], **kw: Any
    ) -> None:
        self.n += 1
        body = make_body(
            persona=persona,
            version=version,
            source="user",
            host=self.led.host,
            started_at=kw.pop("started_at", f"2026-11-{1 + self.n // 100:02d}T10:{self.n % 60:02d}:00Z"),
            by_model=[{"model": m, "usage": u, "granularity": "per-turn"} for m, u in rows],
            harness=kw.pop("harness", "claude"),
            kind=kw.pop("kind", "manual"),
            **kw,
        )
        self.led.append(body)
        self.written.setdefault(version, []).append(body)


@pytest.fixture
def book() -> Book:
    return Book()


def seeded(book: Book) -> tuple[str, str, dict[str, dict[str, Any]]]:
    """reviewer v1 (30 launches, 2 of unknown cost) and v2 (25, cheaper; one usage-only).
    Returns the versions and the figures expected for each."""
    v1 = book.version({"name": "reviewer", "model": "claude-sonnet-4-5", "prompt": "Read everything."})
    v2 = book.version({"name": "reviewer", "model": "claude-sonnet-4-5", "prompt": "Read the diff."})
    rng = random.Random(11)
    want: dict[str, dict[str, Any]] = {}
    for version, n, scale in ((v1, 30, 1.0), (v2, 25, 0.5)):
        w = want[version] = {"costs": [], "launches": 0, "unknown": 0, "low": 0, "errors": 0, "tokens": {}}
        w["durations"] = []
        for i in range(n):
            rows = [("claude-sonnet-4-5", usage(rng, scale))]
            if i % 3 == 0:
                rows.append(("claude-haiku-4-5", usage(rng, 0.3)))
            code = 1 if i % 7 == 3 else 0
            duration = int(rng.lognormvariate(11, 0.5))
            book.add("reviewer", version, rows, duration_ms=duration, exit_code=code)
            w["launches"] += 1
            w["costs"].append(sum(cost_of(m, u) for m, u in rows))
            w["durations"].append(duration)
            w["errors"] += code
            for _m, u in rows:
                for k, v in u.items():
                    if v is not None:
                        w["tokens"][k] = w["tokens"].get(k, 0) + v
    # unknown cost: counted as launches, never as $0
    for _ in range(2):
        u = usage(rng, 1.0)
        book.add("reviewer", v1, [("mystery-model-9", u)], duration_ms=1000, exit_code=0)
        want[v1]["launches"] += 1
        want[v1]["unknown"] += 1
        want[v1]["durations"].append(1000)
        for k, v in u.items():
            if v is not None:
                want[v1]["tokens"][k] += v
    # usage-only (no cache kinds reported): low fidelity, left out unless asked
    book.add(
        "reviewer", v2, [("claude-sonnet-4-5", usage(rng, 0.5, cache=False))], duration_ms=5, exit_code=0
    )
    want[v2]["low"] = 1
    return v1, v2, want


def test_each_side_matches_what_was_written(book: Book) -> None:
    v1, v2, want = seeded(book)
    data = diff(book.led, f"reviewer@{v1[3:11]}", f"reviewer@{v2[3:11]}")
    assert data["schema"] == 1 and data["a"]["version"] == v1 and data["b"]["version"] == v2
    [g] = data["groups"]
    for side, version in (("a", v1), ("b", v2)):
        got, w = g[side], want[version]
        costs = w["costs"]
        assert got["launches"] == w["launches"]
        assert got["priced"] == len(costs)
        assert got["unknown_cost"] == w["unknown"]
        assert got["low_fidelity_left_out"] == w["low"]
        assert got["total_cost_micros"] == sum(costs)
        assert got["cost_micros"]["mean"] == round(statistics.fmean(costs))
        assert got["cost_micros"]["median"] == round(statistics.median(costs))
        assert got["cost_micros"]["p90"] == round(statistics.quantiles(costs, n=10, method="inclusive")[8])
        assert got["cost_micros"]["stdev"] == round(statistics.stdev(costs))
        assert got["duration_ms"]["median"] == round(statistics.median(w["durations"]))
        assert got["errors"]["nonzero"] == w["errors"]
        assert got["errors"]["rate"] == pytest.approx(w["errors"] / w["launches"])
        tokens = w["tokens"]
        assert {k: v for k, v in got["tokens"].items() if v is not None} == tokens
        assert got["tokens"]["reasoning_tokens"] is None  # never reported: unknown, not 0
        prompt = sum(tokens[k] for k in ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens"))
        assert got["cache_hit_ratio"] == pytest.approx(tokens["cache_read_tokens"] / prompt)
    assert g["a"]["models"] == {"claude-sonnet-4-5": 30, "claude-haiku-4-5": 10, "mystery-model-9": 2}
    d = g["difference"]
    delta = statistics.fmean(want[v2]["costs"]) - statistics.fmean(want[v1]["costs"])
    assert d["method"] == "bootstrap" and d["delta"] == round(delta)
    assert d["low"] < delta < d["high"] < 0
    assert g["verdict"]["call"] == "cheaper"
    assert [c["field"] for c in data["spec"]["changes"]] == ["prompt"]


def test_include_partial_brings_low_fidelity_launches_in(book: Book) -> None:
    v1, v2, want = seeded(book)
    [g] = diff(book.led, f"reviewer@{v1[3:11]}", f"reviewer@{v2[3:11]}", include_partial=True)["groups"]
    assert g["b"]["launches"] == want[v2]["launches"] + 1
    assert g["b"]["low_fidelity_left_out"] == 0
    assert g["b"]["priced"] == len(want[v2]["costs"]) + 1


def test_filters_and_the_kept_launches_agree_with_reading_the_records(book: Book) -> None:
    v1, v2, _ = seeded(book)
    kept = diff(book.led, f"reviewer@{v1[3:11]}", f"reviewer@{v2[3:11]}")
    direct = diff(book.led, f"reviewer@{v1[3:11]}", f"reviewer@{v2[3:11]}", direct=True)
    assert kept == direct
    for by in ("harness", None):
        for partial in (True, False):
            args = (book.led, v1[3:11], v2[3:11], None, by, partial)
            assert diff(*args) == diff(*args, direct=True), (by, partial)
    # new records are seen by the kept table, and so is a new price table
    full = {"input_tokens": 1000, "output_tokens": 10, "cache_read_tokens": 0, "cache_write_5m_tokens": 0}
    book.add("reviewer", v2, [("claude-sonnet-4-5", full)])
    again = diff(book.led, f"reviewer@{v1[3:11]}", f"reviewer@{v2[3:11]}")
    assert again["groups"][0]["b"]["launches"] == kept["groups"][0]["b"]["launches"] + 1
    assert again == diff(book.led, f"reviewer@{v1[3:11]}", f"reviewer@{v2[3:11]}", direct=True)
    # --since after every launch: nothing left to compare, and no call made
    late = diff(book.led, v1[3:11], v2[3:11], Query(since=calendar.timegm((2026, 12, 1, 0, 0, 0))))
    assert (
        late["groups"][0]["a"]["launches"] == 0 and late["groups"][0]["verdict"]["call"] == "too few launches"
    )


def test_kept_figures_equal_the_records_above_the_bootstrap_size(book: Book) -> None:
    """Past BOOTSTRAP_MAX launches the kept per-version figures (count, sums, quantiles;
    no values) must give what reading every launch gives: the normal interval, per
    harness too."""
    v1 = book.version({"name": "reviewer", "prompt": "Read everything."})
    v2 = book.version({"name": "reviewer", "prompt": "Read the diff."})
    rng = random.Random(5)
    for version, n, scale in ((v1, 420, 1.0), (v2, 380, 0.8)):
        for i in range(n):
            harness = "codex" if i % 6 == 0 else "claude"  # claude's launches: normal; codex's: bootstrap
            duration = int(rng.lognormvariate(11, 0.5))
            book.add("reviewer", version, [("claude-sonnet-4-5", usage(rng, scale))], harness=harness,
                     duration_ms=duration, exit_code=int(i % 9 == 0))  # fmt: skip
    assert BOOTSTRAP_MAX < 350 + 316
    for by in (None, "harness"):
        kept = diff(book.led, v1[3:11], v2[3:11], None, by)
        assert kept == diff(book.led, v1[3:11], v2[3:11], None, by, direct=True), by
        methods = {g["difference"]["method"] for g in kept["groups"]}
        assert methods == ({"normal"} if by is None else {"normal", "bootstrap"}), by
    whole = diff(book.led, v1[3:11], v2[3:11])["groups"][0]
    assert whole["a"]["launches"] == 420 and whole["b"]["priced"] == 380


def test_a_new_price_table_reprices_every_launch(book: Book, tmp_path: Path, burn) -> None:
    v1, v2, want = seeded(book)
    before = diff(book.led, v1[3:11], v2[3:11])["groups"][0]["a"]["total_cost_micros"]
    assert before == sum(want[v1]["costs"])
    table = json.loads(json.dumps(PRICES))
    table["models"]["claude-sonnet-4-5"]["output"] = "30"
    table["models"]["mystery-model-9"] = dict(table["models"]["claude-haiku-4-5"])
    write(tmp_path / "p.json", json.dumps(table))
    assert burn("pricing", "update", str(tmp_path / "p.json")).code == 0
    after = diff(book.led, v1[3:11], v2[3:11])["groups"][0]["a"]
    assert after["unknown_cost"] == 0 and after["priced"] == want[v1]["launches"]
    written = [(r["model"], r["usage"]) for b in book.written[v1] for r in b["by_model"]]
    assert after["total_cost_micros"] == sum(cost_of(m, u, table) for m, u in written)


def test_by_model_and_by_harness_split_the_comparison(book: Book) -> None:
    v1, v2, _ = seeded(book)
    data = diff(book.led, v1[3:11], v2[3:11], by="model")
    groups = {g["split"]: g for g in data["groups"]}
    assert set(groups) == {"claude-sonnet-4-5", "claude-haiku-4-5", "mystery-model-9"}
    haiku = groups["claude-haiku-4-5"]
    haiku_a = [cost_of(r["model"], r["usage"]) for b in book.written[v1] for r in b["by_model"]
               if r["model"] == "claude-haiku-4-5"]  # fmt: skip
    assert haiku["a"]["launches"] == 10 and haiku["a"]["total_cost_micros"] == sum(haiku_a)
    assert groups["mystery-model-9"]["a"]["unknown_cost"] == 2
    by_harness = diff(book.led, v1[3:11], v2[3:11], by="harness")
    [claude] = by_harness["groups"]
    assert claude["split"] == "claude"
    assert claude["a"] == diff(book.led, v1[3:11], v2[3:11])["groups"][0]["a"]


def test_a_launch_with_later_growth_and_an_ingested_session_are_one_launch_each(book: Book) -> None:
    v1 = book.version({"name": "critic", "prompt": "one"})
    v2 = book.version({"name": "critic", "prompt": "two"})
    u = {"input_tokens": 1000, "output_tokens": 100, "cache_read_tokens": 0, "cache_write_5m_tokens": 0,
         "cache_write_1h_tokens": 0}  # fmt: skip
    model = "claude-sonnet-4-5"
    book.add("critic", v1, [(model, u)], kind="launch", launch_id="L1", duration_ms=9000, exit_code=2)
    book.add("critic", v1, [(model, u)], kind="ingest", launch_id="L1", sessions=["s-1"])
    book.add("critic", v2, [(model, u)], kind="ingest", sessions=["s-2"], agent="critic")
    book.add("critic", v2, [(model, u)], kind="ingest", sessions=["s-2"], agent="critic")
    book.add("critic", v2, [(model, u)], kind="ingest", sessions=["s-3"], agent="critic")
    data = diff(book.led, "critic", None)
    a, b = data["groups"][0]["a"], data["groups"][0]["b"]
    assert a["launches"] == 1 and a["total_cost_micros"] == 2 * cost_of(model, u)
    assert a["errors"] == {"known": 1, "nonzero": 1, "rate": 1.0}
    assert b["launches"] == 2 and b["cost_micros"]["median"] == round(1.5 * cost_of(model, u))


def test_cli_formats_prefixes_and_errors(book: Book, burn) -> None:
    v1, v2, _ = seeded(book)
    planner = book.version({"name": "planner", "prompt": "plan"})
    book.add("planner", planner, [("claude-sonnet-4-5", usage(random.Random(1), 1.0))])
    book.version({"name": "reviewer", "prompt": "never launched"})  # newest, but no launches
    whole = json.loads(burn("diff", "reviewer", "--format", "json").out)
    assert (whole["a"]["version"], whole["b"]["version"]) == (v1, v2)
    sha = whole["a"]["sha256"].removeprefix("sha256:")
    by_sha = json.loads(burn("diff", f"reviewer@sha256:{sha[:10]}", v2[3:12], "--format", "json").out)
    assert by_sha["groups"] == whole["groups"]
    table = burn("diff", f"reviewer@{v1[3:9]}", f"reviewer@{v2[3:9]}").out
    assert f"A: reviewer@{v1[3:15]}" in table and "verdict: B is cheaper" in table
    assert "~ prompt:" in table and "-Read everything." in table and "+Read the diff." in table
    assert "1 launch(es) of reviewer@" in table and "--include-partial" in table
    assert "2 launch(es) of reviewer@" in table and "never taken as $0" in table
    md = burn("diff", "reviewer", "--format", "markdown").out
    assert md.startswith(f"### Cost: `reviewer@{v1[3:15]}` → `reviewer@{v2[3:15]}`")
    assert "**Verdict: B is cheaper**" in md and "| launches | 32 | 25 |" in md
    assert "```diff\n--- a/prompt\n+++ b/prompt\n" in md
    two = json.loads(burn("diff", "reviewer", "planner", "--format", "json").out)
    assert two["b"]["name"] == "planner" and two["groups"][0]["verdict"]["call"] == "too few launches"
    assert two["groups"][0]["verdict"]["more_launches"] == {"a": 0, "b": 9}
    r = burn("diff", "reviewer@000000", "reviewer")
    assert r.code == 1 and "no stored version of 'reviewer' matches '000000'" in r.err
    r = burn("diff", "planner")
    assert r.code == 1 and "a diff needs two" in r.err
    assert burn("diff", "reviewer", "reviewer").code == 2  # the same version twice
    assert burn("diff", "reviewer", "--by", "day").code == 2
    tagged = json.loads(burn("diff", "reviewer", "exit=1", "--format", "json").out)
    assert tagged["groups"][0]["a"]["errors"]["rate"] == 1.0 == tagged["groups"][0]["b"]["errors"]["rate"]


def test_claude_agent_file_edited_in_place_and_reimported(tmp_path: Path, burn, book: Book) -> None:
    agent = write(
        tmp_path / "proj/.claude/agents/code-critic.md",
        "---\nname: code-critic\ndescription: Critiques code\ntools: Read, Grep\nmodel: sonnet\n---\n"
        "Critique the change.\nList every problem.\n",
    )
    out = json.loads(burn("persona", "import", "--from", "claude", str(agent), "--format", "json").out)
    old = out["personas"][0]["version"]
    write(agent, agent.read_text().replace("List every problem.", "List the three worst problems.")
          .replace("tools: Read, Grep", "tools: Read"))  # fmt: skip
    out = json.loads(burn("persona", "import", "--from", "claude", str(agent), "--format", "json").out)
    new = out["personas"][0]["version"]
    assert new != old
    for version, scale in ((old, 2.0), (new, 1.0)):
        for i in range(12):
            rng = random.Random(i)
            book.add("code-critic", version, [("claude-sonnet-4-5", usage(rng, scale))])
    r = burn("diff", "code-critic")
    assert r.code == 0, r
    assert f"A: code-critic@{old[3:15]}  (import:claude)" in r.out
    assert "-List every problem.\n" in r.out and "+List the three worst problems.\n" in r.out
    assert "~ tools: " in r.out
    assert "verdict: B is cheaper" in r.out
    md = burn("diff", "code-critic", "--format", "markdown").out
    assert "-List every problem.\n+List the three worst problems.\n" in md
    assert "- `tools`: " in md
    log = json.loads(burn("persona", "log", "code-critic", "--format", "json").out)["versions"]
    assert [v["version"] for v in log] == [new, old] and [v["launches"] for v in log] == [12, 12]
    assert [v["source"] for v in log] == ["import:claude", "import:claude"]


def test_persona_log_counts_launches_reprices_and_takes_git_ids(book: Book, burn) -> None:
    v1, v2, want = seeded(book)
    rows = json.loads(burn("persona", "log", "reviewer", "--format", "json").out)["versions"]
    assert [r["version"] for r in rows] == [v2, v1]
    assert rows[0]["launches"] == want[v2]["launches"] + 1  # the usage-only one counts in a total
    assert rows[1]["launches"] == want[v1]["launches"]
    assert rows[1]["unpriced_launches"] == 2 and rows[1]["cost_micros"] == sum(want[v1]["costs"])
    assert rows[1]["mean_cost_micros"] == round(statistics.fmean(want[v1]["costs"]))
    table = burn("persona", "log", "reviewer").out
    assert "+2 unpriced" in table
    sha = rows[1]["sha256"].removeprefix("sha256:")
    for ref in (f"reviewer@{v1[3:10]}", v1[3:10], f"sha256:{sha[:8]}", f"reviewer@{sha[:8]}"):
        only = json.loads(burn("persona", "log", ref, "--format", "json").out)["versions"]
        assert [r["version"] for r in only] == [v1], ref
    assert burn("persona", "log", "nobody").code == 1


def test_a_warm_diff_and_persona_log_load_neither_rich_nor_dulwich(book: Book, burn) -> None:
    seeded(book)
    assert burn("diff", "reviewer").code == 0  # the first keeps the priced launches and the specs
    code = (
        "import sys; from burn.cli.main import build, run; run(build(), {args!r});"
        " bad = [m for m in sys.modules if m.split('.')[0] in ('rich', 'dulwich')]; print('LOADED', bad)"
    )
    for args in (["diff", "reviewer"], ["persona", "log", "reviewer"]):
        out = subprocess.run(
            [sys.executable, "-c", code.format(args=args)], capture_output=True, text=True, check=True
        ).stdout
        assert "LOADED []" in out, args
        assert "verdict" in out or "version" in out


def test_the_kept_launches_follow_the_price_file_pricing_loads(tmp_path: Path, burn) -> None:
    from burn.ledger.launches import price_fingerprint
    from burn.ledger.pricing import load_table

    before = price_fingerprint()
    assert before.split(":")[0] == load_table().origin
    write(tmp_path / "p.json", json.dumps(PRICES))
    assert burn("pricing", "update", str(tmp_path / "p.json")).code == 0
    after = price_fingerprint()
    assert after != before and after.split(":")[0] == load_table().origin
