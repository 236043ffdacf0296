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


def cost_cells(burn) -> list[str]:
    header, *rows = burn("log").out.splitlines()
    return [row.split()[header.split().index("cost")] for row in rows]  # the date is two words too


def test_burn_log_shows_costs_of_the_table_in_force_and_the_record_keeps_its_own(
    burn, tmp_path: Path
) -> None:
    path = Path(os.environ["CLAUDE_CONFIG_DIR"]) / "projects" / "p" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(line(assistant("m2", "r2", 100_000, inp=1_000_000, read=2_000_000)))  # $9.45, long tier
    assert burn("ingest").code == 0
    assert cost_cells(burn) == ["$9.45"]
    table = json.loads(packaged_path().read_text())
    table["id"] = "corrected"
    table["models"]["claude-sonnet-4-5"]["long_context"]["input"] = "7"  # +$1 on 1M input
    corrected = tmp_path / "prices.json"
    corrected.write_text(json.dumps(table))
    assert burn("pricing", "update", str(corrected)).code == 0
    assert cost_cells(burn) == ["$10.45"]
    [rec] = json.loads(burn("log", "--format", "json").out)["records"]
    assert rec["cost_micros"] == 9_450_000 and rec["pricing"] == "burn-2026-11-23"  # the ledger's fact
    shown = json.loads(burn("show", rec["id"][:8], "--format", "json").out)
    assert (shown["cost_micros"], shown["cost_now_micros"]) == (9_450_000, 10_450_000)
    assert (
        "$10.45 at today's prices ($9.45 as recorded, pricing: burn-2026-11-23)"
        in burn("show", rec["id"]).out
    )
    # the session grows: a record priced by the new table, at its own figures
    with path.open("a") as f:
        f.write(line(assistant("m3", "r3", 100_000, inp=1_000_000, read=2_000_000)))
    assert burn("ingest").code == 0
    assert cost_cells(burn) == ["$10.45", "$10.45"]
    # the same table edited in place, id unchanged: its file changed, so every record re-prices
    home_table = Path(os.environ["BURN_HOME"]) / "prices.json"
    table["models"]["claude-sonnet-4-5"]["long_context"]["input"] = "8"
    home_table.write_text(json.dumps(table))
    assert cost_cells(burn) == ["$11.45", "$11.45"]
    # a rebuilt index starts from the recorded costs and re-prices what another table priced
    assert burn("reindex").code == 0
    assert cost_cells(burn)[1] == "$11.45"
    # a model the table does not price: unknown, never $0
    del table["models"]["claude-sonnet-4-5"]
    table["aliases"] = {k: v for k, v in table.get("aliases", {}).items() if v != "claude-sonnet-4-5"}
    home_table.write_text(json.dumps(table))
    assert cost_cells(burn) == ["—", "—"]


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
