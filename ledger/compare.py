"""The statistics of `burn diff`: per-side figures, the difference of means with a
confidence interval, and a verdict that refuses to call a difference from too little data.

Pure functions over lists of numbers; no I/O, no SQL. The rules, in one place:

- Quantiles interpolate linearly between closest ranks (Hyndman & Fan type 7, what
  `statistics.quantiles(method="inclusive")` and most spreadsheets use).
- The difference is `mean(B) - mean(A)`: negative means B is cheaper.
- Its 95 % interval is a percentile bootstrap (`RESAMPLES` resamples of each side with
  replacement, `random.Random(seed)`, default seed 0, so the same ledger always gives the
  same interval) while both sides together hold at most `BOOTSTRAP_MAX` launches. Above
  that the bootstrap distribution of a difference of means is normal to within its own
  resampling noise, and drawing it in Python would cost seconds, so the interval is the
  normal one it converges to: `d ± 1.96 · sqrt(var(A)/nA + var(B)/nB)` (Welch's standard
  error, sample variances). The answer names the method used.
- Verdict: fewer than `MIN_LAUNCHES` launches with a known cost on either side →
  "too few launches" (never a call). Otherwise, an interval entirely below 0 → "cheaper",
  entirely above 0 → "more expensive", else "no clear difference".
- "Needs about N more": launches per side for a two-sided 5 % test to find the observed
  difference with 80 % power, `n = (1.96 + 0.84)² · (var(A) + var(B)) / d²`, minus what
  each side has (and at least what `MIN_LAUNCHES` asks).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

MIN_LAUNCHES = 10  # per side, with a known cost, before any call is made
LEVEL = 0.95
Z = 1.959963984540054  # two-sided 95 %
Z_POWER = 0.8416212335729143  # 80 % power
RESAMPLES = 2000
BOOTSTRAP_MAX = 600  # launches on both sides together; above it, the normal interval
SEED = 0

CHEAPER = "cheaper"
DEARER = "more expensive"
NO_CLEAR = "no clear difference"
TOO_FEW = "too few launches"


def quantile(xs: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 ≤ q ≤ 1) of sorted `xs`, linear between closest ranks."""
    if not xs:
        return None
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


class Sample(NamedTuple):
    """What the statistics need of one side's values: their count, Σx and Σx² (exact for
    integers), median and p90, and the values themselves (sorted) when they are few enough
    to bootstrap. `burn diff` keeps these per version in the index, so a warm diff reads a
    few numbers instead of every launch's cost; `sample(values)` makes one from a list,
    and the kept ones are made by the same call, so both give the same answer."""

    n: int
    total: float
    squares: float
    median: float | None
    p90: float | None
    values: Sequence[float] | None  # sorted; None when more than BOOTSTRAP_MAX

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def variance(self) -> float:
        """Sample variance (n - 1); 0 for fewer than two values.

        (n·Σx² - (Σx)²) / (n·(n - 1)): exact for integers (micro-USD, milliseconds) up to
        the last division, and Σx² is a C-level sum in `sample`."""
        n = self.n
        if n < 2:
            return 0.0
        return max(0.0, (n * self.squares - self.total * self.total) / (n * (n - 1)))


def sample(values: Sequence[float] | Sample) -> Sample:
    if isinstance(values, Sample):
        return values
    xs = sorted(values)
    total, squares = sum(xs), sum(map(operator.mul, xs, xs))
    kept = xs if len(xs) <= BOOTSTRAP_MAX else None
    return Sample(len(xs), total, squares, quantile(xs, 0.5), quantile(xs, 0.9), kept)


class Spread(NamedTuple):  # named tuples: no dataclasses import on `burn diff`'s path
    n: int
    mean: float | None
    median: float | None
    p90: float | None
    stdev: float | None

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


def spread(values: Sequence[float] | Sample) -> Spread:
    """n, mean, median, p90 and standard deviation of `values` (any order)."""
    s = sample(values)
    if not s.n:
        return Spread(0, None, None, None, None)
    return Spread(s.n, s.mean, s.median, s.p90, math.sqrt(s.variance))


class Difference(NamedTuple):
    """mean(B) - mean(A), with its interval; `relative` is against mean(A)."""

    delta: float
    low: float
    high: float
    relative: float | None
    method: str  # "bootstrap" | "normal"
    level: float = LEVEL
    resamples: int | None = None
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


def bootstrap_interval(
    a: Sequence[float], b: Sequence[float], seed: int = SEED, resamples: int = RESAMPLES, level: float = LEVEL
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(b) - mean(a): each side resampled with
    replacement on its own, `resamples` times, from one seeded generator."""
    import random  # only here: a large diff never bootstraps, and start-up time counts

    rng = random.Random(seed)
    na, nb = len(a), len(b)
    fa, fb = sorted(map(float, a)), sorted(map(float, b))  # the answer must not hang on row order
    deltas = sorted(
        sum(rng.choices(fb, k=nb)) / nb - sum(rng.choices(fa, k=na)) / na for _ in range(resamples)
    )
    tail = (1 - level) / 2
    low, high = quantile(deltas, tail), quantile(deltas, 1 - tail)
    assert low is not None and high is not None
    return low, high


def normal_interval(a: Sequence[float] | Sample, b: Sequence[float] | Sample) -> tuple[float, float]:
    """mean(b) - mean(a) ± Z · Welch's standard error."""
    sa, sb = sample(a), sample(b)
    ma, mb = sa.mean, sb.mean
    se = math.sqrt(sa.variance / sa.n + sb.variance / sb.n)
    return mb - ma - Z * se, mb - ma + Z * se


def difference(
    a: Sequence[float] | Sample, b: Sequence[float] | Sample, seed: int = SEED
) -> Difference | None:
    """The difference of means with its interval, or None when a side has under 2 values."""
    sa, sb = sample(a), sample(b)
    if sa.n < 2 or sb.n < 2:
        return None
    ma, mb = sa.mean, sb.mean
    if sa.n + sb.n <= BOOTSTRAP_MAX:
        assert sa.values is not None and sb.values is not None  # kept up to BOOTSTRAP_MAX
        low, high = bootstrap_interval(sa.values, sb.values, seed)
        method, resamples, used_seed = "bootstrap", RESAMPLES, seed
    else:
        low, high = normal_interval(sa, sb)
        method, resamples, used_seed = "normal", None, None
    relative = (mb - ma) / ma if ma else None
    return Difference(mb - ma, low, high, relative, method, LEVEL, resamples, used_seed)


def launches_needed(a: Sequence[float] | Sample, b: Sequence[float] | Sample, delta: float) -> int | None:
    """Launches per side to find a difference of `delta` (5 % two-sided, 80 % power);
    None when the difference is 0 or nothing varies."""
    sa, sb = sample(a), sample(b)
    if sa.n < 2 or sb.n < 2 or delta == 0:
        return None
    var = sa.variance + sb.variance
    if var == 0:
        return None
    return math.ceil((Z + Z_POWER) ** 2 * var / delta**2)


class Verdict(NamedTuple):
    call: str  # CHEAPER | DEARER | NO_CLEAR | TOO_FEW
    reason: str
    more_a: int | None  # launches more that each side would need, when that can be said
    more_b: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "reason": self.reason,
            "more_launches": {"a": self.more_a, "b": self.more_b},
        }


def verdict(a: Sequence[float] | Sample, b: Sequence[float] | Sample, diff: Difference | None) -> Verdict:
    """Is B cheaper than A? See the module's rules."""
    sa, sb = sample(a), sample(b)
    na, nb = sa.n, sb.n
    need = launches_needed(sa, sb, diff.delta) if diff is not None else None
    if na < MIN_LAUNCHES or nb < MIN_LAUNCHES:
        more_a = max(MIN_LAUNCHES - na, (need or 0) - na, 0)
        more_b = max(MIN_LAUNCHES - nb, (need or 0) - nb, 0)
        return Verdict(
            TOO_FEW,
            f"a call needs at least {MIN_LAUNCHES} launches with a known cost on each side"
            f" (A has {na}, B has {nb})",
            more_a,
            more_b,
        )
    assert diff is not None
    pct = f"{LEVEL:.0%}"
    if diff.high < 0:
        return Verdict(CHEAPER, f"the {pct} interval of the difference is entirely below 0", 0, 0)
    if diff.low > 0:
        return Verdict(DEARER, f"the {pct} interval of the difference is entirely above 0", 0, 0)
    if need is None:
        return Verdict(NO_CLEAR, f"the {pct} interval contains 0 and the means are equal", None, None)
    # at least one more on each side: this data could not tell, whatever the formula says
    return Verdict(
        NO_CLEAR,
        f"the {pct} interval of the difference contains 0",
        max(need - na, 1),
        max(need - nb, 1),
    )
