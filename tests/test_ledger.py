"""The ledger as a library: record bodies, commits git can read, the index, time filters."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burn.ledger import Ledger, RecordError, make_body, public, usd_to_micros
from burn.ledger.record import commit_message, parse_message
from burn.ledger.timeparse import parse_when
from burn.store import UsageError


def git(home: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(home / "ledger.git"), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def led(burn_home: Path) -> Ledger:
    return Ledger.open(burn_home)


def test_record_is_a_commit_plain_git_reads(led: Ledger, burn_home: Path) -> None:
    spec = {"name": "reviewer", "prompt": "p"}
    v, _ = led.specs.put(spec, source="user")
    rec = led.record(
        "reviewer",
        version=v.id,
        by_model=[{"model": "m", "usage": {"input_tokens": 10, "output_tokens": 5}}],
        cost_micros=420_000,
        tags={"ticket": "A-1"},
    )
    ref = f"refs/burn/records/{led.host}"
    assert git(burn_home, "rev-parse", ref).strip() == rec["id"]
    assert json.loads(git(burn_home, "show", f"{rec['id']}:persona.json")) == spec
    message = git(burn_home, "log", "-1", "--format=%B", ref)
    assert message.startswith(f"reviewer@{v.short} $0.42 15 tokens")
    trailers = git(burn_home, "log", "-1", "--format=%(trailers)", ref)
    assert (
        f"Burn-Persona: reviewer\nBurn-Version: {v.id}\nBurn-Cost-Micros: 420000\nBurn-Tokens: 15" in trailers
    )
    body = json.loads(message.split("\n\n")[1])
    assert body["tags"] == {"ticket": "A-1"} and "id" not in body
    subprocess.run(
        ["git", "--git-dir", str(burn_home / "ledger.git"), "fsck", "--full", "--strict"], check=True
    )


def test_records_of_one_version_share_one_tree(led: Ledger, burn_home: Path) -> None:
    v, _ = led.specs.put({"name": "x"})
    a = led.record("x", version=v.id, cost_micros=1)
    b = led.record("x", version=v.id, cost_micros=2)
    assert git(burn_home, "rev-parse", f"{a['id']}^{{tree}}") == git(
        burn_home, "rev-parse", f"{b['id']}^{{tree}}"
    )
    assert git(burn_home, "rev-parse", f"{b['id']}^").strip() == a["id"]  # one chain


def test_append_refuses_a_version_whose_spec_is_not_stored(led: Ledger) -> None:
    with pytest.raises(Exception, match="not in the persona store"):
        led.record("x", version="b3:" + "0" * 64, cost_micros=1)


def test_append_with_spec_stores_it_and_checks_the_version(led: Ledger) -> None:
    body = make_body(
        persona="x", version=None, source="cwd", host=led.host, started_at="2026-11-23T10:00:00Z"
    )
    rec = led.append(body, spec={"name": "x", "prompt": "p"})
    assert rec["version"] == led.specs.history("x")[0].version.id
    wrong = {**body, "version": "b3:" + "1" * 64}
    with pytest.raises(RecordError, match="spec hashes to"):
        led.append(wrong, spec={"name": "x", "prompt": "p"})


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cost_micros": -1}, "cost_micros"),
        ({"cost_micros": 0.5}, "cost_micros"),
        ({"started_at": "2026-11-23 10:00"}, "started_at"),
        ({"by_model": [{"model": "m", "usage": {"input_tokens": -3}}]}, "by_model[0].usage"),
        ({"by_model": [{"model": "m", "usage": {"bogus_tokens": 3}}]}, "by_model[0].usage"),
        ({"by_model": [{"usage": {}}]}, "by_model[0].model"),
        ({"duration_ms": -1}, "duration_ms"),
        ({"tags": {"k": 1}}, "tags"),
    ],
)
def test_bad_bodies_name_the_field(fields: dict, field: str) -> None:
    base = {"persona": "x", "version": None, "source": "s", "host": "h", "started_at": "2026-11-23T10:00:00Z"}
    with pytest.raises(RecordError) as e:
        make_body(**{**base, **fields})
    assert e.value.field == field


@pytest.mark.parametrize(
    ("text", "micros"), [("0.42", 420_000), ("$1.5", 1_500_000), ("0", 0), ("0.000001", 1), (3, 3_000_000)]
)
def test_usd_to_micros_is_exact(text: str, micros: int) -> None:
    assert usd_to_micros(text) == micros


@pytest.mark.parametrize("bad", ["-1", "abc", "0.0000001", "nan"])
def test_usd_to_micros_rejects(bad: str) -> None:
    with pytest.raises(RecordError):
        usd_to_micros(bad)


usage_values = st.one_of(st.none(), st.integers(min_value=0, max_value=10**12))


@settings(max_examples=60)
@given(
    persona=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    usage=st.fixed_dictionaries(
        {k: usage_values for k in ("input_tokens", "output_tokens", "cache_read_tokens", "reasoning_tokens")}
    ),
    cost=st.one_of(st.none(), st.integers(min_value=0, max_value=10**12)),
    tags=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=3),
)
def test_record_message_round_trips(persona: str, usage: dict, cost: int | None, tags: dict) -> None:
    body = make_body(
        persona=persona,
        version=None,
        source="s",
        host="h",
        started_at="2026-11-23T10:00:00Z",
        by_model=[{"model": "m", "usage": usage}],
        cost_micros=cost,
        tags=tags,
    )
    assert parse_message(commit_message(body)) == body
    rec = public(body, "a" * 40)
    for kind, value in usage.items():
        assert rec["usage"][kind] == value  # unknown stays None, never 0
    assert rec["cost_usd"] == (None if cost is None else cost / 1_000_000)


def test_parse_when() -> None:
    now = 1_795_000_000.0
    assert parse_when("7d", now) == now - 7 * 86400
    assert parse_when("12h", now) == now - 12 * 3600
    assert parse_when("2026-11-01T00:00:00Z") == 1_793_491_200
    with pytest.raises(UsageError, match="cannot read the time"):
        parse_when("last tuesday")


def test_index_catches_up_from_another_writer(led: Ledger, burn_home: Path) -> None:
    v, _ = led.specs.put({"name": "x"})
    led.record("x", version=v.id, cost_micros=1)
    assert led.index.conn().execute("SELECT count(*) FROM records").fetchone()[0] == 1
    other = Ledger.open(burn_home)
    other.record("x", version=v.id, cost_micros=2)
    assert led.index.conn().execute("SELECT sum(cost_micros) FROM records").fetchone()[0] == 3


@pytest.mark.parametrize("walker", ["git", "dulwich"])
def test_chain_walkers_agree_and_detect_rewrites(
    led: Ledger, burn_home: Path, monkeypatch, walker: str
) -> None:
    from burn.store.gitrepo import walk_first_parent

    if walker == "dulwich":
        monkeypatch.setenv("BURN_GIT", "dulwich")
    v, _ = led.specs.put({"name": "x"})
    ids = [led.record("x", version=v.id, cost_micros=i)["id"] for i in range(5)]
    led.index.conn()  # the index has now seen the tip ids[4]
    repo = burn_home / "ledger.git"
    chain = walk_first_parent(repo, ids[-1], None)
    assert chain is not None and [c[0] for c in chain] == ids
    assert parse_message(chain[0][2])["cost_micros"] == 0
    after = walk_first_parent(repo, ids[-1], ids[1])
    assert after is not None and [c[0] for c in after] == ids[2:]
    # A "last seen" tip that is not on the chain means history was rewritten.
    side = Ledger.open(burn_home)
    git(burn_home, "update-ref", f"refs/burn/records/{led.host}", ids[2])
    other = side.record("x", version=v.id, cost_micros=99)["id"]
    assert walk_first_parent(repo, other, ids[4]) is None
    # The index notices too and rebuilds from what the refs now hold.
    rows = led.index.read(lambda c: [r[0] for r in c.execute("SELECT id FROM records ORDER BY seq")])
    assert rows == [*ids[:3], other]
    assert led.index.rebuilt_because == f"refs/burn/records/{led.host} was rewritten"


@given(st.integers(min_value=0, max_value=253402300799), st.sampled_from(["", ".5", ".123456"]))
def test_a_record_time_converts_to_the_unix_seconds_timegm_gives(seconds: int, fraction: str) -> None:
    """iso_to_epoch counts each month's first day once and keeps it (a cache that must
    never give one month another's days)."""
    import calendar
    import time

    from burn.ledger.record import iso_to_epoch

    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + fraction + "Z"
    assert iso_to_epoch(text) == seconds == calendar.timegm(time.gmtime(seconds))
    assert iso_to_epoch(text) == seconds  # (again, from the cache)


def test_billed_tokens_of_a_body_is_the_total_of_its_summed_usage() -> None:
    from burn.ledger.record import billed_tokens, usage_of
    from burn.ledger.usage import total_tokens

    rows = [
        {"usage": {"input_tokens": 3, "output_tokens": None, "reasoning_tokens": 9}},
        {"usage": {"input_tokens": None, "output_tokens": 4, "cache_write_1h_tokens": 5}},
    ]
    assert billed_tokens(rows) == total_tokens(usage_of(rows)) == 12  # (reasoning is in output)
    unknown = [{"usage": {"input_tokens": None, "reasoning_tokens": 7}}]
    assert billed_tokens(unknown) is None is total_tokens(usage_of(unknown))
    assert billed_tokens([]) is None


_KINDS = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "reasoning_tokens"]
_SCALARS = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _bodies(draw: st.DrawFn) -> dict:
    rows = []
    for _ in range(draw(st.integers(0, 3))):
        row = {
            "model": draw(st.sampled_from(["claude-sonnet-4-5", "gpt-5", "m"])),
            "tier": draw(st.sampled_from(["base", "long"])),
            "granularity": draw(st.sampled_from(["per-message", "per-turn", "per-session-aggregate"])),
            "usage": draw(
                st.dictionaries(st.sampled_from(_KINDS), st.none() | st.integers(0, 10**9), max_size=5)
            ),
        }
        if draw(st.booleans()):
            row["session"], row["agent"] = (
                draw(st.text(min_size=1, max_size=6)),
                draw(st.none() | st.text(max_size=6)),
            )
        rows.append(row)
    extra = draw(
        st.dictionaries(
            st.sampled_from(["agent", "cwd", "launch_id", "argv0", "launches", "zz"]), _JSON, max_size=4
        )
    )
    return make_body(
        persona=draw(st.text(min_size=1, max_size=8)),
        version=draw(st.none() | st.just("b3:" + "ab" * 32)),
        source="ingest",
        host="h-1",
        started_at=f"2026-11-{draw(st.integers(1, 28)):02d}T10:00:00Z",
        ended_at=draw(st.none() | st.just("2026-11-29T00:00:01Z")),
        by_model=rows,
        cost_micros=draw(st.none() | st.integers(0, 10**9)),
        tags=draw(st.dictionaries(st.text(min_size=1, max_size=4), st.text(max_size=4), max_size=3)),
        kind=draw(st.sampled_from(["ingest", "launch"])),
        **extra,
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(_bodies(), min_size=1, max_size=6), st.booleans())
def test_index_rows_made_from_the_bodies_equal_those_read_back_from_their_commits(
    bodies: list[dict], touched: bool
) -> None:
    """An append indexes a batch from the bodies it made (no parsing back): the same rows,
    byte for byte, that a rebuild makes from the commits, whatever the order of a body's
    keys (one given a key after make_body, nested objects in any order, tuples)."""
    from burn.ledger.index import record_rows
    from burn.ledger.record import iso_to_epoch

    if touched:
        bodies[0]["added_later"] = {"z": (1, 2), "a": None}
        bodies[0]["by_model"] = list(reversed(bodies[0]["by_model"]))
    chain = [
        (f"{i:040x}", iso_to_epoch(b["started_at"]), commit_message(b, fast_json=True))
        for i, b in enumerate(bodies)
    ]
    assert record_rows("refs/burn/records/h-1", chain, bodies) == record_rows("refs/burn/records/h-1", chain)
    for b, (_sha, _when, message) in zip(bodies, chain, strict=True):  # (the body's key order kept)
        assert list(json.loads(message.split(b"\n\n")[1])) == list(b)
