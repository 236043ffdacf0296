"""The statistics of `burn diff` against values computed here, independently (statistics
module and hand formulas), on seeded data; and the verdict at its documented thresholds."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from burn.ledger import compare
from burn.ledger.compare import (
    BOOTSTRAP_MAX,
    CHEAPER,
    DEARER,
    MIN_LAUNCHES,
    NO_CLEAR,
    TOO_FEW,
    difference,
    spread,
    verdict,
)


def lognormal(seed: int, n: int, mu: float, sigma: float = 0.5) -> list[int]:
    rng = random.Random(seed)
    return [round(rng.lognormvariate(mu, sigma) * 1000) for _ in range(n)]


def welch(a: list[int], b: list[int]) -> tuple[float, float, float]:
    """mean(b) - mean(a) and its 95 % normal interval, by the textbook formula."""
    d = statistics.fmean(b) - statistics.fmean(a)
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    z = statistics.NormalDist().inv_cdf(0.975)
    return d, d - z * se, d + z * se


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=2, max_size=300))
def test_spread_matches_the_statistics_module(xs: list[int]) -> None:
    s = spread(xs)
    cuts = statistics.quantiles(xs, n=10, method="inclusive")
    assert s.n == len(xs)
    assert s.mean == pytest.approx(statistics.fmean(xs), rel=1e-12, abs=1e-6)
    assert s.median == pytest.approx(statistics.median(xs), rel=1e-12, abs=1e-6)
    assert s.p90 == pytest.approx(cuts[8], rel=1e-12, abs=1e-6)
    assert s.stdev == pytest.approx(statistics.stdev(xs), rel=1e-9, abs=1e-6)


def test_spread_of_nothing_and_of_one() -> None:
    assert spread([]) == compare.Spread(0, None, None, None, None)
    one = spread([7])
    assert (one.n, one.mean, one.median, one.p90, one.stdev) == (1, 7, 7, 7, 0)


def test_large_samples_use_the_normal_interval_exactly() -> None:
    a, b = lognormal(1, 400, 4.0), lognormal(2, 401, 4.1)
    assert len(a) + len(b) > BOOTSTRAP_MAX
    d = difference(a, b)
    assert d is not None and d.method == "normal" and d.resamples is None
    want, low, high = welch(a, b)
    assert d.delta == pytest.approx(want, rel=1e-12)
    assert d.low == pytest.approx(low, rel=1e-9)
    assert d.high == pytest.approx(high, rel=1e-9)
    assert d.relative == pytest.approx(want / statistics.fmean(a), rel=1e-12)


def test_small_samples_use_a_seeded_bootstrap() -> None:
    a, b = lognormal(3, 40, 4.0), lognormal(4, 35, 4.6)
    d1, d2, other = difference(a, b, seed=0), difference(a, b, seed=0), difference(a, b, seed=1)
    assert d1 is not None and d2 is not None and other is not None
    assert d1.method == "bootstrap" and d1.resamples == compare.RESAMPLES and d1.seed == 0
    assert (d1.low, d1.high) == (d2.low, d2.high)  # same ledger, same seed: same answer
    assert (d1.low, d1.high) != (other.low, other.high)
    shuffled_a, shuffled_b = list(a), list(b)
    random.Random(5).shuffle(shuffled_a)
    random.Random(6).shuffle(shuffled_b)
    again = difference(shuffled_a, shuffled_b, seed=0)  # rows in another order: the same answer
    assert again is not None and (again.low, again.high) == (d1.low, d1.high)
    assert d1.delta == pytest.approx(statistics.fmean(b) - statistics.fmean(a))
    # An independent bootstrap (its own generator and index draws) lands close by, and so
    # does the normal interval the bootstrap converges to.
    rng = random.Random(99)
    deltas = sorted(
        statistics.fmean(b[rng.randrange(len(b))] for _ in b)
        - statistics.fmean(a[rng.randrange(len(a))] for _ in a)
        for _ in range(4000)
    )
    width = deltas[3900] - deltas[100]
    assert d1.low == pytest.approx(deltas[100], abs=0.1 * width)
    assert d1.high == pytest.approx(deltas[3900], abs=0.1 * width)
    _, low, high = welch(a, b)
    assert d1.low == pytest.approx(low, abs=0.15 * width) and d1.high == pytest.approx(high, abs=0.15 * width)


def test_bootstrap_method_switches_at_the_documented_size() -> None:
    at = difference(lognormal(5, BOOTSTRAP_MAX // 2, 4), lognormal(6, BOOTSTRAP_MAX // 2, 4))
    above = difference(lognormal(5, BOOTSTRAP_MAX // 2, 4), lognormal(6, BOOTSTRAP_MAX // 2 + 1, 4))
    assert at is not None and at.method == "bootstrap"
    assert above is not None and above.method == "normal"
    assert difference([1], [1, 2]) is None


def test_bootstrap_interval_covers_the_true_difference_most_of_the_time() -> None:
    # Two normal populations 100 apart: a 95 % interval should miss rarely (40 trials).
    hits = 0
    for trial in range(40):
        rng = random.Random(trial)
        a = [rng.gauss(1000, 200) for _ in range(30)]
        b = [rng.gauss(1100, 200) for _ in range(30)]
        d = difference(a, b, seed=trial)
        assert d is not None
        hits += d.low <= 100 <= d.high
    assert hits >= 34


def test_verdict_refuses_below_the_minimum_and_says_how_many_more() -> None:
    cheap, dear = [100] * 5 + [110] * 5, [1000] * 5 + [1100] * 5
    assert len(cheap) == MIN_LAUNCHES
    v = verdict(dear[:-1], cheap[:-1], difference(dear[:-1], cheap[:-1]))
    assert v.call == TOO_FEW
    assert (v.more_a, v.more_b) == (1, 1)  # one short of the minimum on each side
    v = verdict(dear, cheap[:-3], difference(dear, cheap[:-3]))
    assert v.call == TOO_FEW and (v.more_a, v.more_b) == (0, 3)
    assert verdict(dear, cheap, difference(dear, cheap)).call == CHEAPER
    assert verdict(cheap, dear, difference(cheap, dear)).call == DEARER
    assert verdict([], [], None).call == TOO_FEW


def test_verdict_flips_when_the_interval_stops_containing_zero() -> None:
    a = lognormal(7, 200, 4.0, 0.4)
    b = [x + 6 for x in lognormal(8, 200, 4.0, 0.4)]
    d = difference(a, b)
    assert d is not None and d.low < 0 < d.high
    v = verdict(a, b, d)
    assert v.call == NO_CLEAR
    # the estimate of launches needed, computed here from the textbook formula
    z = statistics.NormalDist().inv_cdf(0.975) + statistics.NormalDist().inv_cdf(0.8)
    need = math.ceil(z * z * (statistics.variance(a) + statistics.variance(b)) / d.delta**2)
    assert need > len(a)
    assert (v.more_a, v.more_b) == (need - len(a), need - len(b))
    # the same shift, far larger: the interval leaves 0 and the call is made
    b2 = [x + 20_000 for x in b]
    d2 = difference(a, b2)
    assert d2 is not None and d2.low > 0
    assert verdict(a, b2, d2).call == DEARER


def test_equal_samples_are_no_clear_difference_and_need_nothing_said() -> None:
    a = lognormal(9, 20, 4)
    v = verdict(a, list(a), difference(a, list(a)))
    assert v.call == NO_CLEAR and v.more_a is None and v.more_b is None
