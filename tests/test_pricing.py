"""The price table: exact integer money, long-context tiers, unknown never $0, user overrides.

Expected costs are worked out by hand in the comments. Rates are USD per million tokens,
which is the same number as micro-USD per token; the code keeps pico-USD per token
(rate * 10**6) and divides the sum by 10**6 once, rounding half-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from burn.ledger.pricing import (
    PRICE_KINDS,
    PriceTable,
    install,
    load_table,
    packaged_path,
    per_mtok,
    validate,
)
from burn.store.errors import BurnError


@pytest.fixture
def table() -> PriceTable:
    return load_table()


def minimal(**models: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "id": "mine-1",
        "currency": "USD",
        "unit": "per_million_tokens",
        "models": models or {"m": {"input": "1", "output": "2", "source": "https://example.test/p"}},
        "aliases": {},
    }


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


# -- arithmetic -------------------------------------------------------------------------------


def test_one_million_sonnet_input_tokens_cost_three_dollars(table: PriceTable) -> None:
    # 1,000,000 tokens * $3 / 1M = $3 = 3,000,000 µ$
    cost = table.price("claude-sonnet-4-5", {"input_tokens": 1_000_000})
    assert cost == 3_000_000
    assert type(cost) is int


def test_every_kind_is_billed_at_its_own_rate(table: PriceTable) -> None:
    usage = {
        "input_tokens": 1_000,  # 1,000 * 3       = 3,000 µ$
        "output_tokens": 500,  # 500 * 15       = 7,500 µ$
        "cache_read_tokens": 20_000,  # 20,000 * 0.30 = 6,000 µ$
        "cache_write_5m_tokens": 2_000,  # 2,000 * 3.75  = 7,500 µ$
        "cache_write_1h_tokens": 1_000,  # 1,000 * 6     = 6,000 µ$
    }
    # total 30,000 µ$ = $0.03
    assert table.price("claude-sonnet-4-5", usage) == 30_000


def test_reasoning_tokens_are_inside_output_and_not_added(table: PriceTable) -> None:
    # Codex-style row: input already excludes cached input.
    # 10,000 * 1.25 = 12,500; 90,000 * 0.125 = 11,250; 2,000 * 10 = 20,000 -> 43,750 µ$
    usage = {"input_tokens": 10_000, "cache_read_tokens": 90_000, "output_tokens": 2_000}
    assert table.price("gpt-5", usage) == 43_750
    assert table.price("gpt-5", {**usage, "reasoning_tokens": 1_500}) == 43_750


def test_opus_4_1_is_the_old_fifteen_dollar_tier(table: PriceTable) -> None:
    # 100,000 * 15 = 1,500,000; 10,000 * 75 = 750,000; 100,000 * 1.50 = 150,000 -> 2,400,000 µ$
    usage = {"input_tokens": 100_000, "output_tokens": 10_000, "cache_read_tokens": 100_000}
    assert table.price("claude-opus-4-1", usage) == 2_400_000
    # Opus 4.5 is a third of that: 500,000 + 250,000 + 50,000 = 800,000 µ$
    assert table.price("claude-opus-4-5", usage) == 800_000


def test_rounding_is_half_up_and_happens_once(table: PriceTable) -> None:
    # Haiku 4.5 cache read is $0.10/M = 0.1 µ$ per token.
    assert table.price("claude-haiku-4-5", {"cache_read_tokens": 4}) == 0  # 0.4 µ$ -> 0
    assert table.price("claude-haiku-4-5", {"cache_read_tokens": 5}) == 1  # 0.5 µ$ -> 1 (half up)
    assert table.price("claude-haiku-4-5", {"cache_read_tokens": 25}) == 3  # 2.5 -> 3, not banker's 2
    # gpt-5-nano: input $0.05/M, cache read $0.005/M.
    # 8 * 0.05 = 0.4 µ$ and 80 * 0.005 = 0.4 µ$: each alone rounds to 0, together 0.8 -> 1.
    assert table.price("gpt-5-nano", {"input_tokens": 8}) == 0
    assert table.price("gpt-5-nano", {"cache_read_tokens": 80}) == 0
    assert table.price("gpt-5-nano", {"input_tokens": 8, "cache_read_tokens": 80}) == 1
    # 10 * 0.05 = 0.5 and 100 * 0.005 = 0.5: rounding each would give 2; once gives 1.
    assert table.price("gpt-5-nano", {"input_tokens": 10, "cache_read_tokens": 100}) == 1


def test_large_counts_stay_exact(table: PriceTable) -> None:
    # 123,456,789 * 0.30 = 37,037,036.7 µ$ -> 37,037,037 (a float sum would not be trusted here)
    assert table.price("claude-sonnet-4-5", {"cache_read_tokens": 123_456_789}) == 37_037_037


# -- unknown is never zero ------------------------------------------------------------------------


def test_unknown_model_is_none_never_zero(table: PriceTable) -> None:
    assert table.lookup("made-up-model-9") is None
    assert table.price("made-up-model-9", {"input_tokens": 1_000}) is None
    assert table.price("made-up-model-9", {"input_tokens": 0, "output_tokens": 0}) is None
    assert table.tier_for("made-up-model-9", {"input_tokens": 10**9}) == "base"


def test_tokens_of_an_unpriced_kind_make_the_cost_unknown(table: PriceTable) -> None:
    # Gemini 2.5 Pro has no cache-write price in the table.
    mp = table.lookup("gemini-2.5-pro")
    assert mp is not None and mp.base.cache_write_5m is None
    assert table.price("gemini-2.5-pro", {"input_tokens": 1_000, "cache_write_5m_tokens": 10}) is None


def test_zero_or_unreported_tokens_of_an_unpriced_kind_are_still_priced(table: PriceTable) -> None:
    # 1,000 * 1.25 = 1,250 µ$
    assert table.price("gemini-2.5-pro", {"input_tokens": 1_000, "cache_write_5m_tokens": 0}) == 1_250
    assert table.price("gemini-2.5-pro", {"input_tokens": 1_000, "cache_write_1h_tokens": None}) == 1_250


def test_openai_cache_writes_are_a_real_zero_price(table: PriceTable) -> None:
    mp = table.lookup("gpt-5")
    assert mp is not None and mp.base.cache_write_5m == 0 and mp.base.cache_write_1h == 0
    # 1,000 * 1.25 = 1,250 µ$; the 500 cache-write tokens cost nothing (and are not unknown)
    assert table.price("gpt-5", {"input_tokens": 1_000, "cache_write_5m_tokens": 500}) == 1_250


def test_bad_token_counts_and_tiers_are_errors(table: PriceTable) -> None:
    with pytest.raises(ValueError, match="input_tokens"):
        table.price("gpt-5", {"input_tokens": -1})
    with pytest.raises(ValueError, match="tier"):
        table.price("gpt-5", {"input_tokens": 1}, tier="huge")


# -- long context ---------------------------------------------------------------------------------


def test_long_context_switches_one_token_above_the_threshold(table: PriceTable) -> None:
    at = {"input_tokens": 150_000, "cache_read_tokens": 50_000, "output_tokens": 1_000}  # prompt 200,000
    above = {**at, "cache_read_tokens": 50_001}  # prompt 200,001
    assert table.tier_for("claude-sonnet-4-5", at) == "base"
    assert table.tier_for("claude-sonnet-4-5", above) == "long"
    # base: 150,000 * 3 = 450,000; 50,000 * 0.30 = 15,000; 1,000 * 15 = 15,000 -> 480,000 µ$
    assert table.price("claude-sonnet-4-5", at, table.tier_for("claude-sonnet-4-5", at)) == 480_000
    # long, whole request: 150,000 * 6 = 900,000; 50,001 * 0.60 = 30,000.6; 1,000 * 22.50 = 22,500
    # -> 952,500.6 µ$ -> 952,501
    assert table.price("claude-sonnet-4-5", above, "long") == 952_501


def test_cache_writes_count_toward_the_threshold_output_does_not(table: PriceTable) -> None:
    assert (
        table.tier_for("claude-sonnet-4", {"input_tokens": 199_000, "cache_write_5m_tokens": 1_000}) == "base"
    )
    assert (
        table.tier_for("claude-sonnet-4", {"input_tokens": 199_000, "cache_write_1h_tokens": 1_001}) == "long"
    )
    assert table.tier_for("claude-sonnet-4", {"input_tokens": 10, "output_tokens": 500_000}) == "base"


def test_long_tier_prices_cache_writes_at_the_long_rates(table: PriceTable) -> None:
    # 1,000 * 7.50 = 7,500; 1,000 * 12 = 12,000 -> 19,500 µ$
    usage = {"cache_write_5m_tokens": 1_000, "cache_write_1h_tokens": 1_000}
    assert table.price("claude-sonnet-4-5", usage, "long") == 19_500


def test_long_tier_falls_back_to_base_only_without_a_long_tier(table: PriceTable) -> None:
    usage = {"input_tokens": 300_000, "output_tokens": 1_000}
    assert table.tier_for("claude-opus-4-6", usage) == "base"  # no long tier at all
    assert table.price("claude-opus-4-6", usage, "long") == table.price("claude-opus-4-6", usage, "base")
    # Gemini's long tier has no cache-write price: it does not borrow the base one.
    assert (
        table.price("gemini-2.5-pro", {"input_tokens": 300_000, "cache_write_5m_tokens": 1}, "long") is None
    )


def test_openai_long_context_threshold_is_272k(table: PriceTable) -> None:
    assert table.tier_for("gpt-5.4", {"input_tokens": 272_000}) == "base"
    assert table.tier_for("gpt-5.4", {"input_tokens": 200_000, "cache_read_tokens": 72_001}) == "long"
    # long: 200,000 * 5 = 1,000,000; 72,001 * 0.50 = 36,000.5 -> 1,036,000.5 -> 1,036,001 µ$
    assert table.price("gpt-5.4", {"input_tokens": 200_000, "cache_read_tokens": 72_001}, "long") == 1_036_001


# -- lookup ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),  # alias
        ("claude-opus-4-1-20991231", "claude-opus-4-1"),  # unknown date: suffix stripped
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("Claude-Sonnet-4-5", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),  # OpenRouter-style dotted id
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),  # Vertex AI
        ("claude-opus-4-6[1m]", "claude-opus-4-6"),
        ("openai/gpt-5", "gpt-5"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("gpt-4.1-mini-2030-01-01", "gpt-4.1-mini"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("google/gemini-2.5-pro", "gemini-2.5-pro"),
    ],
)
def test_lookup_normalises_ids(table: PriceTable, name: str, canonical: str) -> None:
    mp = table.lookup(name)
    assert mp is not None and mp.model == canonical


def test_lookup_does_not_guess_across_models(table: PriceTable) -> None:
    assert table.lookup("claude-sonnet") is None
    assert table.lookup("gpt-5-turbo-ultra") is None
    assert table.lookup("mystery/claude-sonnet-4-5") is None  # not a known provider prefix
    assert table.lookup("") is None


# -- the shipped table ----------------------------------------------------------------------------


def reject_float(literal: str) -> Any:
    raise AssertionError(f"float {literal} in the shipped price table")


def test_shipped_table_has_no_floats_and_validates() -> None:
    text = packaged_path().read_text()
    data = json.loads(text, parse_float=reject_float)
    validate(data, str(packaged_path()))
    assert data["id"] == "burn-2026-11-23"


def test_every_shipped_entry_cites_a_source_and_prices_are_strings() -> None:
    data = json.loads(packaged_path().read_text())
    for model, entry in data["models"].items():
        assert "https://" in entry["source"], model
        tiers = [entry, entry.get("long_context", {})]
        for tier in tiers:
            for kind in PRICE_KINDS:
                if kind in tier:
                    assert isinstance(tier[kind], str), (model, kind)
                    assert Decimal(tier[kind]) >= 0


def test_shipped_table_covers_the_harness_models(table: PriceTable) -> None:
    wanted = [
        "claude-opus-4", "claude-opus-4-1", "claude-opus-4-5", "claude-sonnet-4", "claude-sonnet-4-5",
        "claude-haiku-4-5", "claude-3-7-sonnet", "claude-3-5-sonnet", "claude-3-5-haiku",
        "gpt-5", "gpt-5-codex", "gpt-5-mini", "gpt-5-nano", "gpt-5.1", "gpt-5.1-codex", "gpt-5.1-codex-mini",
        "o3", "o4-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gemini-2.5-pro", "gemini-2.5-flash",
    ]  # fmt: skip
    missing = [m for m in wanted if table.lookup(m) is None]
    assert missing == []
    for name in ("claude-sonnet-4", "claude-sonnet-4-5"):
        mp = table.lookup(name)
        assert mp is not None and mp.long_threshold == 200_000


def test_per_mtok_gives_back_the_table_strings() -> None:
    data = json.loads(packaged_path().read_text())
    table = load_table()
    for model, entry in data["models"].items():
        mp = table.models[model]
        for kind in PRICE_KINDS:
            expected = Decimal(entry[kind]) if kind in entry else None
            got = per_mtok(mp.base.of(kind))
            assert (Decimal(got) if got is not None else None) == expected, (model, kind)
    assert per_mtok(3_750_000) == "3.75"
    assert per_mtok(5_000) == "0.005"
    assert per_mtok(15_000_000) == "15"
    assert per_mtok(None) is None


def test_importing_pricing_pulls_in_no_cli_libraries() -> None:
    code = "import sys, burn.ledger.pricing; print(sorted(m for m in ('click', 'rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- the user's table -----------------------------------------------------------------------------


def test_user_override_wins(burn_home: Path) -> None:
    assert load_table().id == "burn-2026-11-23"
    write_json(burn_home / "prices.json", minimal())
    table = load_table()
    assert table.id == "mine-1"
    assert table.origin == str(burn_home / "prices.json")
    assert table.lookup("claude-sonnet-4-5") is None  # the override replaces, it does not merge
    # 1,000,000 * 1 + 1,000,000 * 2 = 3,000,000 µ$
    assert table.price("m", {"input_tokens": 1_000_000, "output_tokens": 1_000_000}) == 3_000_000


def test_install_validates_then_writes_the_override(burn_home: Path, tmp_path: Path) -> None:
    src = write_json(tmp_path / "new.json", minimal())
    table = install(src)
    assert table.id == "mine-1"
    assert (burn_home / "prices.json").read_text() == src.read_text()
    assert load_table().id == "mine-1"
    bad = write_json(tmp_path / "bad.json", minimal(m={"input": 1.5, "output": "2", "source": "x"}))
    with pytest.raises(BurnError):
        install(bad)
    assert load_table().id == "mine-1"  # a bad table never replaces a good one


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ({"input": 3.0, "output": "15", "source": "s"}, "models.m.input", "floats are not allowed"),
        ({"input": 3, "output": "15", "source": "s"}, "models.m.input", "decimal string"),
        ({"input": "-1", "output": "15", "source": "s"}, "models.m.input", "negative"),
        ({"input": "abc", "output": "15", "source": "s"}, "models.m.input", "not a decimal"),
        ({"input": "0.0000001", "output": "15", "source": "s"}, "models.m.input", "six decimal places"),
        (
            {"input": "3", "output": "15", "cache_write": "1", "source": "s"},
            "models.m.cache_write",
            "unknown price kind",
        ),
        ({"input": "3", "output": "15"}, "models.m.source", "source"),
        ({"input": "3", "source": "s"}, "models.m.output", "missing"),
        (
            {"input": "3", "output": "15", "source": "s", "long_context": {"input": "6"}},
            "models.m.long_context.threshold_input_tokens",
            "positive integer",
        ),
        (
            {"input": "3", "output": "15", "source": "s",
             "long_context": {"threshold_input_tokens": 200000, "output": 22.5}},
            "models.m.long_context.output",
            "floats are not allowed",
        ),
    ],
)  # fmt: skip
def test_malformed_override_names_file_model_and_field(
    burn_home: Path, entry: dict[str, Any], field: str, words: str
) -> None:
    path = write_json(burn_home / "prices.json", minimal(m=entry))
    with pytest.raises(BurnError) as info:
        load_table()
    err = info.value
    assert err.path == str(path)
    assert err.field == field
    assert words in str(err)
    assert str(path) in str(err) and field in str(err)


def test_malformed_json_and_bad_aliases_are_reported(burn_home: Path) -> None:
    path = burn_home / "prices.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"schema": 1,')
    with pytest.raises(BurnError, match="not valid JSON") as info:
        load_table()
    assert str(path) in str(info.value)
    data = minimal()
    data["aliases"] = {"mm": "nope"}
    write_json(path, data)
    with pytest.raises(BurnError, match="not in models") as info:
        load_table()
    assert info.value.field == "aliases.mm"
    write_json(path, {**minimal(), "schema": 2})
    with pytest.raises(BurnError, match="schema"):
        load_table()


def test_explicit_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BurnError, match="not found") as info:
        load_table(tmp_path / "nope.json")
    assert "nope.json" in str(info.value)


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=8), st.booleans())
def test_a_plain_price_is_read_exactly_as_decimal_reads_it(micros: int, places: int, padded: bool) -> None:
    """Prices are read without Decimal when plain ("3.75"): the same integer, and anything
    past six places still refused by the checks that name the field."""
    from burn.ledger import pricing

    text = f"{Decimal(micros) / 10**places:.{places}f}"
    text = f" {text} " if padded else text
    if places <= 6:
        assert pricing._plain_pico(text) == int(Decimal(text.strip()) * pricing.PICO_PER_MICRO)
    else:
        assert pricing._plain_pico(text) is None
    try:
        got = pricing._pico(text, "models.m.input", BurnError)
    except BurnError as e:
        assert "six decimal places" in str(e) and places > 6
    else:
        assert got == Decimal(text.strip()) * pricing.PICO_PER_MICRO
