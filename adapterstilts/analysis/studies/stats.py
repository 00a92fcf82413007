"""The statistics of the study reports, on scipy (``scipy.stats``), imported where used.

Every function takes plain sequences and returns a small dataclass, so a report can print it and a
test can check it against a hand computation on a tiny table.

- :func:`mean_std`: mean and sample standard deviation (ddof 1) over seeds.
- :func:`bootstrap_ci`: percentile bootstrap CI of a mean (``scipy.stats.bootstrap``).
- :func:`paired_bootstrap`: CI of the mean difference a - b over paired units (the same seed and
  language under two conditions), resampling the pairs (``scipy.stats.bootstrap(paired=True)``), and
  a two-sided bootstrap p-value (the share of resampled means on the other side of zero, doubled).
- :func:`correlation`: Spearman or Pearson r with scipy's p-value and a paired percentile bootstrap CI.
- :func:`partial_correlation`: r of x and y controlling for z: the correlation of the residuals of x
  and y after a least-squares fit on z (ranks first for Spearman), with a bootstrap CI.
- :func:`slope_per_doubling`: least-squares slope of score on log2(size) (``scipy.stats.linregress``):
  points gained per doubling of the data, with its 95% t interval.
- :func:`crossover`: the smallest size where one curve reaches another, interpolated in log2(size).

Bootstrap CIs are percentile intervals with a fixed seed (default 0) and 10,000 resamples; with fewer
than 3 units no interval is given (None): three seeds make a weak interval, and the report says n.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

RESAMPLES = 10_000
LEVEL = 0.95
MIN_UNITS = 3


@dataclass
class MeanStd:
    mean: float
    std: float | None  # sample standard deviation (None with one value)
    n: int

    def text(self, digits: int = 1) -> str:
        if self.std is None:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


@dataclass
class Interval:
    estimate: float
    low: float | None
    high: float | None
    n: int
    p_value: float | None = None

    def text(self, digits: int = 2) -> str:
        ci = "" if self.low is None else f" [{self.low:.{digits}f}, {self.high:.{digits}f}]"
        p = "" if self.p_value is None else f" (p={self.p_value:.3g})"
        return f"{self.estimate:.{digits}f}{ci}{p}"

    @property
    def excludes_zero(self) -> bool:
        return self.low is not None and (self.low > 0 or self.high < 0)


def _array(values: Sequence[float]):
    import numpy as np

    return np.asarray(list(values), dtype=float)


def mean_std(values: Sequence[float]) -> MeanStd:
    import numpy as np

    arr = _array(values)
    if arr.size == 0:
        raise ValueError("mean_std of no values")
    return MeanStd(float(arr.mean()), float(np.std(arr, ddof=1)) if arr.size > 1 else None, int(arr.size))


def _bootstrap(data: tuple, statistic: Callable, *, paired: bool, seed: int, resamples: int, vectorized: bool):
    from scipy import stats

    return stats.bootstrap(data, statistic, paired=paired, vectorized=vectorized, n_resamples=resamples,
                           confidence_level=LEVEL, method="percentile", rng=seed)


def bootstrap_ci(values: Sequence[float], *, seed: int = 0, resamples: int = RESAMPLES) -> Interval:
    """The mean with a percentile bootstrap CI (None below ``MIN_UNITS`` values or when all are equal)."""
    import numpy as np

    arr = _array(values)
    estimate = float(arr.mean())
    if arr.size < MIN_UNITS:
        return Interval(estimate, None, None, int(arr.size))
    if np.all(arr == arr[0]):
        return Interval(estimate, estimate, estimate, int(arr.size))
    res = _bootstrap((arr,), lambda x, axis: np.mean(x, axis=axis), paired=False, seed=seed, resamples=resamples,
                     vectorized=True)
    return Interval(estimate, float(res.confidence_interval.low), float(res.confidence_interval.high), int(arr.size))


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, seed: int = 0,
                     resamples: int = RESAMPLES) -> Interval:
    """Mean of a - b over paired units with a percentile bootstrap CI (pairs resampled together) and a
    two-sided bootstrap p-value: 2 x the share of resampled mean differences on the far side of 0."""
    import numpy as np

    x, y = _array(a), _array(b)
    if x.shape != y.shape:
        raise ValueError(f"paired_bootstrap needs pairs: {x.size} vs {y.size} values")
    diff = x - y
    estimate = float(diff.mean())
    if diff.size < MIN_UNITS:
        return Interval(estimate, None, None, int(diff.size))
    if np.all(diff == diff[0]):
        return Interval(estimate, estimate, estimate, int(diff.size), 0.0 if estimate != 0 else 1.0)
    res = _bootstrap((x, y), lambda u, v, axis: np.mean(u - v, axis=axis), paired=True, seed=seed,
                     resamples=resamples, vectorized=True)
    dist = np.asarray(res.bootstrap_distribution)
    p = min(1.0, 2 * min(float(np.mean(dist <= 0)), float(np.mean(dist >= 0))))
    return Interval(estimate, float(res.confidence_interval.low), float(res.confidence_interval.high), int(diff.size),
                    p)


def _r(kind: str, x, y) -> float:
    from scipy import stats

    if kind == "spearman":
        return float(stats.spearmanr(x, y).statistic)
    if kind == "pearson":
        return float(stats.pearsonr(x, y).statistic)
    raise ValueError(f"unknown correlation {kind!r}; use spearman or pearson")


def _p(kind: str, x, y) -> float:
    from scipy import stats

    return float((stats.spearmanr if kind == "spearman" else stats.pearsonr)(x, y).pvalue)


def _corr_ci(stat: Callable, data: tuple, seed: int, resamples: int) -> tuple[float | None, float | None]:
    import numpy as np

    with np.errstate(all="ignore"):
        res = _bootstrap(data, stat, paired=True, seed=seed, resamples=resamples, vectorized=False)
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isnan(low) or math.isnan(high):  # resamples with a constant column: no interval
        return None, None
    return low, high


def correlation(x: Sequence[float], y: Sequence[float], kind: str = "spearman", *, seed: int = 0,
                resamples: int = RESAMPLES) -> Interval:
    """Spearman / Pearson r (scipy), its p-value, and a paired percentile bootstrap CI (None below 4 points)."""
    import warnings

    import numpy as np

    u, v = _array(x), _array(y)
    if u.size != v.size or u.size < 3:
        raise ValueError(f"correlation needs at least 3 paired values, got {u.size} and {v.size}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r, p = _r(kind, u, v), _p(kind, u, v)
        low = high = None
        if u.size >= 4 and np.ptp(u) > 0 and np.ptp(v) > 0:
            low, high = _corr_ci(lambda a, b: _r(kind, a, b), (u, v), seed, resamples)
    return Interval(r, low, high, int(u.size), p)


def residuals(y, z):
    """y minus its least-squares fit a + b z."""
    import numpy as np

    design = np.column_stack([np.ones(len(z)), z])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return y - design @ coef


def _partial_r(kind: str, x, y, z) -> float:
    from scipy import stats

    if kind == "spearman":
        x, y, z = stats.rankdata(x), stats.rankdata(y), stats.rankdata(z)
    return float(stats.pearsonr(residuals(x, z), residuals(y, z)).statistic)


def partial_correlation(x: Sequence[float], y: Sequence[float], z: Sequence[float], kind: str = "spearman", *,
                        seed: int = 0, resamples: int = RESAMPLES) -> Interval:
    """r of x and y controlling for z (residuals of a linear fit on z; on ranks for Spearman) with a
    paired bootstrap CI. Its p-value is the t test of a partial r with n - 3 degrees of freedom."""
    import warnings

    import numpy as np
    from scipy import stats

    u, v, w = _array(x), _array(y), _array(z)
    if not (u.size == v.size == w.size) or u.size < 4:
        raise ValueError("partial_correlation needs at least 4 triples of equal length")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = _partial_r(kind, u, v, w)
        dof = u.size - 3
        p = float(2 * stats.t.sf(abs(r) * math.sqrt(dof / max(1e-12, 1 - r * r)), dof)) if abs(r) < 1 else 0.0
        low = high = None
        if u.size >= 5 and np.ptp(u) > 0 and np.ptp(v) > 0 and np.ptp(w) > 0:
            low, high = _corr_ci(lambda a, b, c: _partial_r(kind, a, b, c), (u, v, w), seed, resamples)
    return Interval(r, low, high, int(u.size), p)


@dataclass
class Slope:
    slope: float  # points per doubling of the data
    low: float | None
    high: float | None
    intercept: float  # the fitted score at size 1 (log2 size 0)
    r: float
    n: int

    def text(self, digits: int = 2) -> str:
        ci = "" if self.low is None else f" [{self.low:.{digits}f}, {self.high:.{digits}f}]"
        return f"{self.slope:+.{digits}f}{ci} per doubling"


def slope_per_doubling(sizes: Sequence[float], scores: Sequence[float]) -> Slope:
    """Least-squares fit score = a + b log2(size) (scipy.stats.linregress): b is the gain per doubling,
    with its 95% t interval (n - 2 degrees of freedom; none with two points)."""
    import numpy as np
    from scipy import stats

    s, y = _array(sizes), _array(scores)
    if s.size < 2 or len(set(s.tolist())) < 2:
        raise ValueError("slope_per_doubling needs at least two distinct sizes")
    fit = stats.linregress(np.log2(s), y)
    low = high = None
    if s.size > 2:
        half = float(stats.t.ppf(0.5 + LEVEL / 2, s.size - 2)) * float(fit.stderr)
        low, high = float(fit.slope) - half, float(fit.slope) + half
    return Slope(float(fit.slope), low, high, float(fit.intercept), float(fit.rvalue), int(s.size))


def crossover(sizes: Sequence[float], curve: Sequence[float], reference: Sequence[float]) -> float | None:
    """The smallest size where ``curve`` reaches ``reference`` (both given at ``sizes``, ascending),
    linearly interpolated in log2(size) between the two sizes around the crossing; the first size when
    it is already at or above; None when it never reaches it."""
    s, c, r = _array(sizes), _array(curve), _array(reference)
    gap = c - r
    if gap[0] >= 0:
        return float(s[0])
    for i in range(1, len(s)):
        if gap[i] >= 0:
            t = -gap[i - 1] / (gap[i] - gap[i - 1])
            return float(2 ** (math.log2(s[i - 1]) + t * (math.log2(s[i]) - math.log2(s[i - 1]))))
    return None
