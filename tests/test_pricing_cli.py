"""Ingested usage is priced offline, and an updated table re-prices history in queries."""

from __future__ import annotations

import json
import os
from pathlib import Path

from test_ingest_claude import SESSION, assistant, line

from burn.ledger.pricing import packaged_path


def test_ingest_prices_and_an_update_reprices_history(burn, tmp_path: Path) -> None:
    path = Path(os.environ["CLAUDE_CONFIG_DIR"]) / "projects" / "p" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    # m1, base tier (prompt 150k <= 200k): 1e5 * $3/M + 1e4 * $15/M + 5e4 * $0.30/M = $0.465
    # m2, long tier (prompt 3M > 200k, the whole request): 1e6 * $6/M + 1e5 * $22.50/M
    #     + 2e6 * $0.60/M = $9.45
    path.write_text(
        line(assistant("m1", "r1", 10_000, inp=100_000, read=50_000))
        + line(assistant("m2", "r2", 100_000, inp=1_000_000, read=2_000_000))
    )
    assert burn("ingest").code == 0
    [rec] = json.loads(burn("log", "--format", "json").out)["records"]
    assert rec["cost_micros"] == 465_000 + 9_450_000 and rec["pricing"] == "burn-2026-11-23"
    assert {r["tier"] for r in rec["by_model"]} == {"base", "long"}
    rows = json.loads(burn("summary", "--format", "json").out)["rows"]
    assert rows[0]["cost_micros"] == 9_915_000
    table = json.loads(packaged_path().read_text())
    table["id"] = "corrected"
    table["models"]["claude-sonnet-4-5"]["long_context"]["input"] = "7"
    corrected = tmp_path / "prices.json"
    corrected.write_text(json.dumps(table))
    r = burn("pricing", "update", str(corrected))
    assert r.code == 0 and "corrected" in r.out
    rows = json.loads(burn("summary", "--format", "json").out)["rows"]
    assert rows[0]["cost_micros"] == 10_915_000  # the stored usage priced with the new table: +$1


def test_bad_table_update_is_refused_with_the_field(burn, tmp_path: Path) -> None:
    table = json.loads(packaged_path().read_text())
    table["models"]["claude-sonnet-4-5"]["input"] = 3.0
    bad = tmp_path / "prices.json"
    bad.write_text(json.dumps(table))
    r = burn("pricing", "update", str(bad))
    assert r.code == 1 and "claude-sonnet-4-5" in r.err and "input" in r.err
    assert (
        burn("pricing", "show", "claude-sonnet-4-5", "--format", "json").code == 0
    )  # old table still in force
