"""The commands as a user runs them: real child processes, real ledger, real index."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from burn.cli.main import COMMANDS, run
from conftest import write


@pytest.fixture
def reviewer(tmp_path: Path, burn) -> tuple[str, str]:
    """Two versions of a reviewer added from a file edited in place; returns short ids."""
    f = write(tmp_path / "src/reviewer.toml", 'model = "claude-sonnet-4-5"\nprompt = "Review."\n')
    v1 = burn("persona", "add", str(f), "--format", "json")
    assert v1.code == 0, v1
    write(f, 'model = "claude-sonnet-4-5"\nprompt = "Review.\\nBe brief."\n')
    v2 = burn("persona", "add", str(f), "--format", "json")
    return json.loads(v1.out)["version_short"], json.loads(v2.out)["version_short"]


def records(burn, *args: str) -> list[dict]:
    r = burn("log", *args, "--format", "json")
    assert r.code == 0, r
    data = json.loads(r.out)
    assert data["schema"] == 1
    return data["records"]


def test_persona_add_prints_version_and_is_idempotent(tmp_path: Path, burn) -> None:
    f = write(tmp_path / "src/x.toml", 'prompt = "p"\n')
    first = burn("persona", "add", str(f))
    assert first.code == 0
    assert re.match(r"x@[0-9a-f]{12}  b3:[0-9a-f]{64}  \(new version, ", first.out)
    again = burn("persona", "add", str(f))
    assert "(unchanged, " in again.out
    assert (tmp_path / "burn/personas/x.json").exists()


def test_record_log_show_round_trip(reviewer, burn) -> None:
    _, v2 = reviewer
    r = burn(
        "record",
        "reviewer",
        "--model",
        "claude-sonnet-4-5",
        "--input-tokens",
        "1200",
        "--output-tokens",
        "800",
        "--cost",
        "0.42",
        "--tag",
        "ticket=ABC-12",
        "--duration-ms",
        "81234",
        "--exit-code",
        "0",
        "--harness",
        "claude",
        "--session",
        "s-1",
        "--format",
        "json",
    )
    assert r.code == 0, r
    rec = json.loads(r.out)
    assert rec["version_short"] == v2 and rec["cost_micros"] == 420000 and rec["cost_usd"] == 0.42
    assert rec["usage"]["input_tokens"] == 1200 and rec["usage"]["cache_read_tokens"] is None
    [listed] = records(burn)
    for key in (
        "id",
        "persona",
        "version",
        "version_short",
        "source",
        "harness",
        "host",
        "started_at",
        "ended_at",
        "duration_ms",
        "exit_code",
        "parent",
        "sessions",
        "models",
        "usage",
        "by_model",
        "cost_micros",
        "cost_usd",
        "pricing",
        "fidelity",
        "tags",
        "commit",
    ):
        assert listed[key] == rec[key], key
    shown = json.loads(burn("show", rec["id"][:8], "--format", "json").out)
    assert shown.pop("cost_now_micros") == 420_000  # a reported cost stays as reported
    assert shown == rec
    text = burn("show", rec["id"][:8]).out
    assert "reviewer@" + v2 in text and "$0.42" in text and "ticket=ABC-12" in text
    assert re.search(r"claude-sonnet-4-5\s+base\s+1,200\s+800\s+—", text)


def test_unknown_cost_is_null_and_dash_never_zero(reviewer, burn) -> None:
    burn("record", "reviewer", "--model", "m", "--input-tokens", "5")
    [rec] = records(burn)
    assert rec["cost_micros"] is None and rec["cost_usd"] is None
    assert rec["usage"]["output_tokens"] is None
    line = burn("log").out.splitlines()[1]
    assert "—" in line and "$0.00" not in line


def test_filters_or_and_not(reviewer, burn) -> None:
    v1, v2 = reviewer
    write(Path("planner.toml"), 'prompt = "plan"\n')
    burn("persona", "add", "planner.toml")
    burn("record", "reviewer@" + v1, "--cost", "1", "--model", "a", "--tag", "team=x")
    burn("record", "reviewer", "--cost", "2", "--model", "b", "--tag", "team=y")
    burn("record", "planner", "--cost", "3", "--model", "a", "--tag", "team=x")

    def costs(*f: str) -> list[int]:
        return sorted(r["cost_micros"] // 1_000_000 for r in records(burn, *f))

    assert costs() == [1, 2, 3]
    assert costs("persona=reviewer") == [1, 2]
    assert costs("persona=reviewer", "persona=planner") == [1, 2, 3]  # same key: OR
    assert costs("persona=reviewer", "model=a") == [1]  # different keys: AND
    assert costs("persona!=reviewer") == [3]
    assert costs("model!=a", "model!=b") == []
    assert costs("team=x") == [1, 3]  # a tag key
    assert costs("tag.team=y") == [2]
    assert costs(f"version={v1}") == [1]
    assert costs(f"persona=reviewer@{v2}") == [2]
    assert costs("persona=rev*") == [1, 2]
    assert costs("-n", "1") == [3]  # newest first


def test_version_filter_accepts_sha256_prefix(reviewer, burn) -> None:
    burn("record", "reviewer", "--cost", "1")
    sha = json.loads(burn("persona", "show", "reviewer", "--format", "json").out)["sha256"]
    assert len(records(burn, f"version=sha256:{sha[7:17]}")) == 1
    assert len(records(burn, f"version={sha[7:17]}")) == 1


def test_since_until(reviewer, burn) -> None:
    burn("record", "reviewer", "--cost", "1", "--started-at", "2026-01-05T10:00:00Z")
    burn("record", "reviewer", "--cost", "2", "--started-at", "2026-03-05T10:00:00Z")
    burn("record", "reviewer", "--cost", "3")
    assert [r["cost_micros"] for r in records(burn, "--since", "2026-02-01", "--until", "2026-04-01")] == [
        2_000_000
    ]
    assert [r["cost_micros"] for r in records(burn, "--since", "1d")] == [3_000_000]
    assert len(records(burn, "--until", "2026-02-01")) == 1


def test_oneline_jsonl_csv(reviewer, burn) -> None:
    burn(
        "record",
        "reviewer",
        "--cost",
        "0.5",
        "--model",
        "m",
        "--input-tokens",
        "10",
        "--output-tokens",
        "2",
    )
    one = burn("log", "--oneline").out
    assert re.fullmatch(r"[0-9a-f]{10} reviewer@[0-9a-f]{12} \$0\.50 12 tokens \S+ \S+\n", one)
    jl = burn("log", "--format", "jsonl").out.splitlines()
    assert json.loads(jl[0])["cost_micros"] == 500000
    csv_text = burn("log", "--format", "csv").out.splitlines()
    header = csv_text[0].split(",")
    row = dict(zip(header, csv_text[1].split(","), strict=False))
    assert row["persona"] == "reviewer" and row["input_tokens"] == "10" and row["cost_usd"] == "0.5"


def test_log_table_snapshot(reviewer, burn, snapshot) -> None:
    burn(
        "record",
        "reviewer",
        "--cost",
        "0.42",
        "--model",
        "claude-sonnet-4-5",
        "--input-tokens",
        "1200",
        "--output-tokens",
        "800",
        "--duration-ms",
        "81234",
        "--exit-code",
        "0",
        "--harness",
        "claude",
        "--started-at",
        "2026-11-20T10:00:00Z",
    )
    burn("record", "none", "--cost", "0.0012", "--started-at", "2026-11-21T09:30:00Z")
    out = burn("log").out
    out = re.sub(r"^[0-9a-f]{10}\b", "R" * 10, out, flags=re.M)  # same widths, so alignment shows
    out = re.sub(r"@[0-9a-f]{12}", "@" + "V" * 12, out)
    snapshot.assert_match(out, "log_table.txt")


def test_persona_log_shows_spend_per_version(reviewer, burn) -> None:
    v1, v2 = reviewer
    burn("record", f"reviewer@{v1}", "--cost", "1")
    burn("record", f"reviewer@{v1}", "--cost", "2")
    burn("record", "reviewer", "--cost", "0.5")
    burn("record", "reviewer", "--model", "m", "--input-tokens", "1")  # unpriced
    rows = json.loads(burn("persona", "log", "reviewer", "--format", "json").out)["versions"]
    assert [r["version_short"] for r in rows] == [v2, v1]
    assert rows[0]["launches"] == 2 and rows[0]["cost_micros"] == 500000 and rows[0]["unpriced_launches"] == 1
    assert rows[1]["launches"] == 2 and rows[1]["mean_cost_micros"] == 1_500_000
    assert rows[0]["current"] and not rows[1]["current"]
    table = burn("persona", "log", "reviewer").out
    assert re.search(rf"\*\s+{v2}.*\$0\.50", table)


def test_persona_diff_shows_prompt_as_unified_diff(reviewer, burn) -> None:
    v1, v2 = reviewer
    out = burn("persona", "diff", f"reviewer@{v1}", f"reviewer@{v2}").out
    assert f"--- reviewer@{v1}" in out and f"+++ reviewer@{v2}" in out
    assert "~ prompt:" in out and "+Be brief." in out
    data = json.loads(burn("persona", "diff", "reviewer", "--format", "json").out)
    assert [c["field"] for c in data["changes"]] == ["prompt"]
    assert (data["a"]["version_short"], data["b"]["version_short"]) == (v1, v2)


def test_persona_list_and_show(reviewer, burn, tmp_path: Path) -> None:
    write(tmp_path / "burn/personas/broken.toml", "tools = 5\n")
    r = burn("persona", "list", "--format", "json")
    rows = {p["name"]: p for p in json.loads(r.out)["personas"]}
    assert rows["reviewer"]["source"] == "user" and rows["planner"]["source"] == "library"
    assert "broken" not in rows
    assert "broken.toml: field 'tools'" in r.err
    shown = json.loads(burn("persona", "show", "reviewer", "--format", "json").out)
    assert shown["spec"]["prompt"] == "Review.\nBe brief."
    assert shown["sha256"].startswith("sha256:")


def test_ambiguous_and_unknown_errors_exit_1(reviewer, burn) -> None:
    r = burn("persona", "show", "reviewer@000000")
    assert r.code == 1 and "no stored version of 'reviewer' matches '000000'" in r.err
    r = burn("show", "ffff")
    assert r.code == 1 and "no record 'ffff'" in r.err
    r = burn("record", "nobody", "--cost", "1")
    assert r.code == 1 and "no persona named 'nobody'" in r.err


def test_usage_errors_exit_2(burn) -> None:
    assert burn("log", "persona").code == 2
    assert burn("log", "--since", "last tuesday").code == 2
    assert burn("record", "none").code == 2
    assert burn("nosuchcommand").code == 2
    r = burn("log", "persna=reviewer")
    assert r.code == 2 and "unknown filter key 'persna'" in r.err


def test_unexpected_error_exits_3_with_traceback_logged(burn_home: Path, capsys) -> None:
    @click.group()
    def cli() -> None: ...

    @cli.command()
    def boom() -> None:
        raise RuntimeError("kaboom")

    @cli.command()
    def interrupted() -> None:
        raise KeyboardInterrupt

    assert run(cli, ["boom"]) == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaboom" in err
    log = (burn_home / "logs/burn.log").read_text()
    assert "Traceback" in log and "kaboom" in log
    assert run(cli, ["interrupted"]) == 130


def test_version_and_help(burn) -> None:
    r = burn("--version")
    assert r.code == 0 and re.fullmatch(r"burn \d+\.\d+\.\d+\n", r.out)
    top = burn("--help")
    for name in COMMANDS:
        assert name in top.out


def test_every_command_has_help_with_an_example_and_is_documented(burn) -> None:
    docs = (Path(__file__).parent.parent / "docs/cli.md").read_text()
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    names = [*COMMANDS, *(f"persona {s}" for s in ("add", "list", "show", "log", "diff", "import"))]
    names += ["pricing show", "pricing update"]
    for name in names:
        r = burn(*name.split(), "--help")
        assert r.code == 0, name
        assert "Example" in r.out, f"`burn {name} --help` has no example"
        assert f"burn {name}" in docs or f"burn {name}" in readme, f"burn {name} is not documented"


def test_persona_import_claude_agent_edited_in_place(tmp_path: Path, burn) -> None:
    agent = write(
        tmp_path / "proj/.claude/agents/code-critic.md",
        "---\nname: code-critic\ndescription: Critiques code\ntools: Read, Grep\nmodel: sonnet\n"
        "color: red\n---\nCritique the change.\n",
    )
    first = json.loads(
        burn("persona", "import", "--from", "claude", str(tmp_path / "proj"), "--format", "json").out
    )
    [row] = first["personas"]
    assert row["status"] == "new" and row["name"] == "code-critic"
    again = json.loads(burn("persona", "import", "--from", "claude", str(agent), "--format", "json").out)
    assert again["personas"][0]["status"] == "unchanged"
    assert again["personas"][0]["version"] == row["version"]
    write(agent, agent.read_text().replace("Critique the change.", "Critique the change briefly."))
    edited = json.loads(burn("persona", "import", "--from", "claude", str(agent), "--format", "json").out)
    assert edited["personas"][0]["status"] == "new"
    # No file defines code-critic in any layer: the name resolves to the newest import.
    shown = json.loads(burn("persona", "show", "code-critic", "--format", "json").out)
    assert shown["version"] == edited["personas"][0]["version"]
    assert shown["source"] == "import:claude" and shown["spec"]["color"] == "red"
    diff = burn("persona", "diff", "code-critic").out
    assert "-Critique the change." in diff and "+Critique the change briefly." in diff
    r = burn("record", "code-critic", "--cost", "0.1")
    assert r.code == 0
    assert len(json.loads(burn("persona", "log", "code-critic", "--format", "json").out)["versions"]) == 2


def test_persona_import_reports_broken_files_and_exits_1(tmp_path: Path, burn) -> None:
    write(tmp_path / "p/.claude/agents/good.md", "---\nname: good\n---\nBe good.\n")
    write(tmp_path / "p/.claude/agents/bad.md", "---\nname: bad\ntools: 5\n---\nx\n")
    r = burn("persona", "import", "--from", "claude", str(tmp_path / "p"))
    assert r.code == 1
    assert "good" in r.out and "bad.md" in r.err and "tools" in r.err


@pytest.mark.parametrize(
    ("cost", "duration"),
    [
        ("0.004999", 59_949),
        ("0.125", 59_950),
        ("1234.565", 3_599_999),
        ("0", 0),
        (None, None),
        ("0.00005", 250),
    ],
)
def test_sql_formatted_table_matches_the_python_formatters(burn, cost, duration) -> None:
    """`burn log` formats cells in SQL for speed; its text must equal the shared renderer's."""
    import io

    from burn.cli.log import LOG_COLUMNS
    from burn.cli.render import emit
    from burn.ledger import Ledger
    from burn.ledger.query import Query

    args = ["record", "none", "--harness", "claude"]
    args += ["--model", "m", "--input-tokens", "1234567"] if cost != "0" else []  # "0": tokens unknown
    if cost is not None:
        args += ["--cost", cost]
    if duration is not None:
        args += ["--duration-ms", str(duration), "--exit-code", "7"]
    assert burn(*args).code == 0
    buf = io.StringIO()
    emit(Ledger.open().log(Query()), LOG_COLUMNS, "table", out=buf)
    assert burn("log").out == buf.getvalue()


@pytest.mark.parametrize(
    ("micros", "text"),
    [(None, "—"), (0, "$0.00"), (4_200, "$0.0042"), (420_000, "$0.42"), (1_234_567_890, "$1,234.57"),
     (-1_800_000, "-$1.80"), (-4_200, "-$0.0042")],
)  # fmt: skip
def test_money_is_rendered_with_its_sign_before_the_dollar(micros: int | None, text: str) -> None:
    from burn.cli.render import usd

    assert usd(micros) == text
