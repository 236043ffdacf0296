"""`burn ingest` against a generated ground truth: exact totals, incrementally, after a lost
index and from the ledger alone.

The trees come from `bench/gen_logs.py` (seeded, realistic Claude Code, Codex and OpenCode
logs with every quirk the readers handle; see its docstring). Its truth is computed from what
it wrote, never by reading the logs back, so a reader that miscounts anything (a partial
streamed line, a sidechain replay, a Codex fork's replayed history, a message in both OpenCode
stores, ...) shows up here as a difference in some harness, model, session or persona.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import gen_logs

LINES = 3000  # Claude lines; Codex gets a quarter as many, OpenCode one message per 40
# Each has every quirk and a cut with every kind of half-written log. In 1 and 5 an OpenCode
# message in progress at the cut later crosses the long-context threshold (its price tier
# changes as it grows); 8 has no such message.
SEEDS = (1, 5, 8)
KINDS = gen_logs.KINDS


def add(a: dict[str, int | None] | None, b: dict[str, int | None]) -> dict[str, int | None]:
    """Sum per kind; a kind no row knew stays None (burn's rule, and the truth's)."""
    if a is None:
        return dict(b)
    out: dict[str, int | None] = {}
    for k in KINDS:
        x, y = a.get(k), b.get(k)
        out[k] = x if y is None else y if x is None else x + y
    return out


def burn_totals(burn: Callable[..., Any]) -> dict[str, Any]:
    """What `burn summary` says, in the truth's shape."""
    r = burn("summary", "--by", "harness", "--format", "json")
    assert r.code == 0, r
    totals = {row["harness"]: row["usage"] for row in json.loads(r.out)["rows"]}
    r = burn("summary", "--by", "harness,session,model,persona", "--format", "json")
    assert r.code == 0, r
    got: dict[str, Any] = {"totals": totals, "by_model": {}, "by_session": {}, "by_persona": {}}
    sessions: dict[str, set[str]] = {}
    for row in json.loads(r.out)["rows"]:
        for key, by in (("by_model", "model"), ("by_session", "session"), ("by_persona", "persona")):
            got[key][row[by]] = add(got[key].get(row[by]), row["usage"])
        sessions.setdefault(row["harness"], set()).add(row["session"])
    got["sessions"] = {h: len(s) for h, s in sessions.items()}
    return got


def responses(burn_home: Path) -> dict[str, int]:
    """Responses the index knows (one per response key), per harness."""
    conn = sqlite3.connect(burn_home / "index.sqlite")
    try:
        counts: dict[str, int] = {}
        for harness, data in conn.execute("SELECT harness, data FROM responses"):
            counts[harness] = counts.get(harness, 0) + len(json.loads(data))
        return counts
    finally:
        conn.close()


def assert_matches(burn: Callable[..., Any], truth: dict[str, Any]) -> None:
    got = burn_totals(burn)
    for key in ("totals", "sessions", "by_model", "by_persona", "by_session"):
        want = truth[key]
        diff = {
            k: (got[key].get(k), want.get(k))
            for k in set(got[key]) | set(want)
            if got[key].get(k) != want.get(k)
        }
        assert not diff, f"{key}: {len(diff)} differ (burn, truth): {dict(sorted(diff.items())[:5])}"


def ingest(burn: Callable[..., Any]) -> dict[str, Any]:
    r = burn("ingest", "--format", "json")
    assert r.code == 0, r
    report: dict[str, Any] = json.loads(r.out)
    return report


def test_the_generated_tree_has_every_quirk() -> None:
    for seed in SEEDS:
        plan = gen_logs.plan(seed, LINES)
        quirks = {k for k, v in plan.quirks.items() if v}
        wanted = {
            "claude_streamed_responses",
            "claude_sidechain_replays",
            "claude_subagent_transcripts",
            "claude_inline_sidechain_tasks",
            "claude_task_calls_without_subagent_type",
            "claude_sessions_1.0.x_no_cache_split",
            "claude_synthetic_lines",
            "claude_torn_lines",
            "codex_forks",
            "codex_spawned_subagents",
            "codex_threads_replaying_parent_history",
            "codex_counter_restarts",
            "codex_stale_snapshots",
            "codex_repeated_totals",
            "codex_rate_limit_only_token_counts",
            "codex_archived_rollouts",
            "codex_torn_lines",
            "opencode_messages_in_both_stores",
            "opencode_legacy_only_messages",
            "opencode_db_only_messages",
            "opencode_multi_step_messages",
            "opencode_messages_without_step_parts",
            "opencode_child_sessions",
            "opencode_messages_named_by_mode_only",
        }
        assert wanted <= quirks, (seed, wanted - quirks)
        truth = plan.truth(plan.end)
        assert truth["long_context_responses"].get("claude-sonnet-4-5-20250929", 0) > 0
        cut = plan.truth(plan.cut(), plan.cut())["in_progress_at_until"]
        assert all(cut.values()), (seed, cut)


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a = gen_logs.generate(tmp_path / "a", 3, 600)
    b = gen_logs.generate(tmp_path / "b", 3, 600)
    assert a == b
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    for rel in files:
        if rel.suffix != ".db":  # sqlite pages may differ; its rows are in the truth
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


@pytest.mark.parametrize("seed", SEEDS)
def test_cold_ingest_equals_the_ground_truth(seed: int, logs: Path, burn: Any, burn_home: Path) -> None:
    truth = gen_logs.generate(logs, seed, LINES)
    report = ingest(burn)
    assert report["files"] == sum(truth["files"].values())
    assert report["lines"] == sum(truth["lines"].values())
    assert report["events"] == sum(truth["events"].values())
    skipped: dict[str, int] = {}
    for per in truth["skipped"].values():
        for reason, n in per.items():
            skipped[reason] = skipped.get(reason, 0) + n
    assert report["skipped"] == skipped
    assert_matches(burn, truth)
    assert responses(burn_home) == truth["responses"]


@pytest.mark.parametrize("seed", SEEDS)
def test_growth_lost_index_and_reindex_keep_the_ground_truth(
    seed: int, logs: Path, burn: Any, burn_home: Path
) -> None:
    plan = gen_logs.plan(seed, LINES)
    cut = plan.cut()
    # the logs as they were at `cut`: a Claude response half streamed, a Codex rollout and
    # an OpenCode message half written, a rollout not yet archived
    early = plan.write(logs, until=cut)
    assert all(early["in_progress_at_until"].values())
    ingest(burn)
    assert_matches(burn, early)
    assert responses(burn_home) == early["responses"]
    # the logs grow (appended in place, messages rewritten, a rollout moved, db rows added)
    full = plan.write(logs)
    assert full["totals"] != early["totals"]
    grown = ingest(burn)
    # torn lines written since, and those of a rollout read again under its archived name
    torn = sum(t >= cut or f.path_at(cut) != f.path_at(plan.end) for f in plan.files for t in f.malformed)
    assert grown["records"] > 0 and grown["skipped"] == ({"malformed JSON": torn} if torn else {})
    assert_matches(burn, full)
    assert responses(burn_home) == full["responses"]
    # nothing new: nothing recorded
    again = ingest(burn)
    assert again["records"] == 0
    # an index of an older layout is rebuilt without its ingest state (cursors carried
    # without the responses they read would lose growth): the logs are read again
    conn = sqlite3.connect(burn_home / "index.sqlite")
    conn.execute("ALTER TABLE responses RENAME TO seen")
    conn.execute("PRAGMA user_version = 9")
    conn.commit()
    conn.close()
    older = ingest(burn)
    assert older["records"] == 0 and older["files_read"] == older["files"]
    assert_matches(burn, full)
    assert responses(burn_home) == full["responses"]
    # a lost index: the logs are read again, and nothing is counted twice
    (burn_home / "index.sqlite").unlink()
    relost = ingest(burn)
    assert relost["records"] == 0 and relost["files_read"] == relost["files"]
    assert_matches(burn, full)
    # the logs are gone: the ledger alone answers
    shutil.rmtree(logs)
    r = burn("reindex")
    assert r.code == 0, r
    assert_matches(burn, full)
    assert not os.path.exists(logs)
