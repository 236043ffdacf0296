"""`burn summary`: grouped totals that never turn an unknown cost into $0."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write


def rows(burn, *args: str) -> list[dict]:
    r = burn("summary", *args, "--format", "json")
    assert r.code == 0, r
    data = json.loads(r.out)
    assert data["schema"] == 1
    return data["rows"]


def setup(burn, tmp_path: Path) -> None:
    write(tmp_path / "p/planner.toml", 'prompt = "plan"\n')
    assert burn("persona", "add", str(tmp_path / "p/planner.toml")).code == 0
    tokens = ["--model", "m1", "--input-tokens", "100", "--output-tokens", "10"]
    burn(
        "record",
        "reviewer",
        "--cost",
        "1.25",
        *tokens,
        "--tag",
        "ticket=A",
        "--started-at",
        "2026-11-01T10:00",
    )
    tokens = ["--model", "m1", "--input-tokens", "50", "--output-tokens", "5"]
    burn(
        "record",
        "reviewer",
        "--cost",
        "0.75",
        *tokens,
        "--tag",
        "ticket=B",
        "--started-at",
        "2026-11-02T10:00",
    )
    burn("record", "planner", "--model", "mystery-model-x", "--input-tokens", "7", "--output-tokens", "3",
         "--tag", "ticket=A", "--started-at", "2026-11-02T11:00:00Z")  # fmt: skip


def test_by_persona_sums_and_counts(burn, tmp_path: Path) -> None:
    setup(burn, tmp_path)
    by = {r["persona"]: r for r in rows(burn, "--by", "persona")}
    assert by["reviewer"]["cost_micros"] == 2_000_000 and by["reviewer"]["records"] == 2
    assert (
        by["reviewer"]["usage"]["input_tokens"] == 150
        and by["reviewer"]["usage"]["cache_read_tokens"] is None
    )
    # an unpriced model: its cost is unknown and counted apart, never $0
    assert by["planner"]["cost_micros"] is None and by["planner"]["unpriced_records"] == 1
    assert by["planner"]["complete"] is False
    table = burn("summary", "--by", "persona").out
    planner_line = next(line for line in table.splitlines() if line.startswith("planner"))
    assert "—" in planner_line and "$0.00" not in planner_line


def test_by_day_and_tag_and_filters(burn, tmp_path: Path) -> None:
    setup(burn, tmp_path)
    days = {r["day"]: r["records"] for r in rows(burn, "--by", "day")}
    assert days == {"2026-11-01": 1, "2026-11-02": 2}
    tagged = {
        (r["persona"], r["tag:ticket"]): r["records"]
        for r in rows(burn, "--by", "persona", "--group-by-tag", "ticket")
    }
    assert tagged == {("reviewer", "A"): 1, ("reviewer", "B"): 1, ("planner", "A"): 1}
    only_a = rows(burn, "--by", "persona", "--tag", "ticket=A")
    assert sorted(r["persona"] for r in only_a) == ["planner", "reviewer"]
    since = rows(burn, "--by", "persona", "--since", "2026-11-02")
    assert {r["persona"]: r["records"] for r in since} == {"reviewer": 1, "planner": 1}


def test_by_model_never_splits_a_reported_cost(burn) -> None:
    burn("record", "none", "--cost", "3", "--model", "m1", "--input-tokens", "1")
    by = {r["model"]: r for r in rows(burn, "--by", "model")}
    assert by["m1"]["cost_micros"] == 3_000_000


def test_bad_group_is_a_usage_error(burn) -> None:
    r = burn("summary", "--by", "colour")
    assert r.code == 2 and "cannot group by 'colour'" in r.err
