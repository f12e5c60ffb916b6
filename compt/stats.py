"""Paired tests, Holm's correction and power: what a comparison of seeds can and cannot say.

``compt compare`` and ``compt table --baseline`` test per seed first: each seed's run
average over the matched tasks is one pair, because the tasks of one run share its seed,
data sample and training and so are not independent pairs. The paired t-test is the
primary test: with the 3-10 seeds of a study the exact Wilcoxon signed-rank test cannot
reach p < 0.05 below six pairs (its exact two-sided p is at least 2 / 2**n), whereas the t-test
on averages over several tasks is close to its assumptions. Power comes from the
noncentral t distribution (scipy), not a normal approximation, which is optimistic for
few seeds. How to read the numbers: docs/reports.md#reading-the-statistics.

scipy is imported inside the functions: ``compt table`` without ``--baseline`` never pays
for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

ALPHA = 0.05
POWER = 0.8
DEFAULT_EFFECT = 3.0  # points: the effect whose seed count ``compt compare`` reports
MOST_SEEDS = 100_000  # seeds_needed gives up beyond this


@dataclass(frozen=True)
class PairedTest:
    """A paired t-test and Wilcoxon signed-rank test over differences (``None``: undefined)."""

    n: int
    mean: float
    sd: float | None  # sample sd of the differences (ddof = 1)
    t_stat: float | None
    t_p: float | None
    w_stat: float | None
    w_p: float | None

    @property
    def wilcoxon_floor(self) -> float:
        """The smallest two-sided p the exact Wilcoxon test can give with ``n`` pairs."""
        return min(1.0, 2.0 / 2**self.n)


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def paired_test(diffs: Sequence[float]) -> PairedTest:
    """Both tests of H0 "mean difference 0"; a test is ``None`` where it is undefined
    (one pair, or differences that do not vary / are all zero)."""
    from scipy import stats

    diffs = [float(d) for d in diffs]
    if not diffs:
        raise ValueError("paired_test needs at least one difference")
    n = len(diffs)
    mean = math.fsum(diffs) / n
    sd = math.sqrt(math.fsum((d - mean) ** 2 for d in diffs) / (n - 1)) if n > 1 else None
    t_stat = t_p = w_stat = w_p = None
    if n > 1 and any(d != diffs[0] for d in diffs):
        result = stats.ttest_1samp(diffs, 0.0)
        t_stat, t_p = _finite(result.statistic), _finite(result.pvalue)
    if any(diffs):
        result = stats.wilcoxon(diffs)
        w_stat, w_p = _finite(result.statistic), _finite(result.pvalue)
    return PairedTest(n, mean, sd, t_stat, t_p, w_stat, w_p)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values, in the input order (``None`` stays ``None`` and
    does not count as a test). Controls the family-wise error rate with no assumption on
    how the tests depend on each other, which comparisons sharing a baseline do."""
    present = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    m = len(present)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def power(effect: float, sd: float, n: int, alpha: float = ALPHA) -> float:
    """The chance that a two-sided paired t-test on ``n`` pairs rejects at ``alpha`` when
    the true mean difference is ``effect`` and the differences' sd is ``sd``."""
    from scipy import stats

    if n < 2 or sd <= 0:
        raise ValueError("power needs n >= 2 pairs and sd > 0")
    df = n - 1
    critical = float(stats.t.ppf(1 - alpha / 2, df))
    shift = effect / sd * math.sqrt(n)
    chance = float(stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift))
    return chance if math.isfinite(chance) else _power_by_integral(critical, df, shift)


def _power_by_integral(critical: float, df: int, shift: float) -> float:
    """The same chance from the noncentral t's definition, T = (Z + shift) / sqrt(V / df)
    with V ~ chi2(df), integrated over V: scipy's ``nct`` returns NaN for some tails
    (e.g. df = 1, shift = 8), this never does (but is ~100 times slower)."""
    from scipy import integrate, stats

    def rejects(v: float) -> float:
        bound = critical * math.sqrt(v / df)
        return float((stats.norm.sf(bound - shift) + stats.norm.cdf(-bound - shift))
                     * stats.chi2.pdf(v, df))

    # over where V's mass is: quad over (0, inf) misses the narrow peak of a large df
    low, high = stats.chi2.ppf(1e-15, df), stats.chi2.isf(1e-15, df)
    return float(integrate.quad(rejects, low, high, limit=200)[0])


def detectable_effect(n: int, sd: float | None, alpha: float = ALPHA,
                      target: float = POWER) -> float | None:
    """The smallest true mean difference (in the units of ``sd``) that ``n`` pairs detect
    with probability ``target``; ``None`` where it cannot be told (n < 2, sd 0 or unknown)."""
    if n < 2 or not sd or sd <= 0:
        return None
    return sd * _unit_effect(n, alpha, target)


@lru_cache(maxsize=4096)
def _unit_effect(n: int, alpha: float, target: float) -> float:
    """The detectable effect in sd units: it depends on ``n`` alone, so a table of many
    comparisons solves it once per seed count (a solve costs ~30 noncentral-t calls)."""
    from scipy.optimize import brentq

    high = 1.0
    while power(high, 1.0, n, alpha) < target:
        high *= 2
    return float(brentq(lambda d: power(d, 1.0, n, alpha) - target, 0.0, high, xtol=1e-12))


def seeds_needed(effect: float, sd: float | None, alpha: float = ALPHA,
                 target: float = POWER) -> int | None:
    """How many pairs (seeds) a true mean difference ``effect`` needs to be detected with
    probability ``target``, at the differences' sd ``sd``; ``None`` where it cannot be told
    (sd 0 or unknown, no effect) or beyond ``MOST_SEEDS``. Power grows with ``n``, so this
    is the smallest ``n`` whose detectable effect is at most ``effect``."""
    if not sd or sd <= 0 or effect == 0:
        return None
    ratio = abs(effect) / sd
    if _unit_effect(MOST_SEEDS, alpha, target) > ratio:
        return None
    low, high = 1, 2  # unit_effect(low) > ratio >= unit_effect(high): double, then bisect
    while _unit_effect(high, alpha, target) > ratio:
        low, high = high, min(2 * high, MOST_SEEDS)
    while high - low > 1:
        middle = (low + high) // 2
        if _unit_effect(middle, alpha, target) > ratio:
            low = middle
        else:
            high = middle
    return high
