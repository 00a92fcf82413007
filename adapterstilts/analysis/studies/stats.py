"""The statistics of the study reports, on scipy (``scipy.stats``), imported where used.

Every function takes plain sequences and returns a small dataclass, so a report can print it and a
test can check it against a hand computation on a tiny table.

- :func:`mean_std`: mean and sample standard deviation (ddof 1) over seeds.
- :func:`bootstrap_ci`: percentile bootstrap CI of a mean (``scipy.stats.bootstrap``).
- :func:`paired_bootstrap`: CI of the mean difference a - b over paired units (the same seed and
  language under two conditions), resampling the pairs (``scipy.stats.bootstrap(paired=True)``), and
  a two-sided bootstrap p-value (the share of resampled means on the other side of zero, doubled).
- :func:`correlation`: Spearman or Pearson r with scipy's p-value and a paired percentile bootstrap CI
  (resamples where r is undefined, a constant column, are left out).
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
        if math.isnan(self.estimate):
            return "undefined (constant values)"
        ci = "" if self.low is None else f" [{self.low:.{digits}f}, {self.high:.{digits}f}]"
        p = "" if self.p_value is None or math.isnan(self.p_value) else f" (p={self.p_value:.3g})"
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


def _pearson_along(x, y, axis=-1):
    """Pearson r along ``axis`` (vectorized over bootstrap resamples); nan where a column is constant."""
    import numpy as np

    dx = x - x.mean(axis=axis, keepdims=True)
    dy = y - y.mean(axis=axis, keepdims=True)
    with np.errstate(all="ignore"):
        return (dx * dy).sum(axis=axis) / np.sqrt((dx * dx).sum(axis=axis) * (dy * dy).sum(axis=axis))


def _ranks(x, axis=-1):
    from scipy import stats

    return stats.rankdata(x, axis=axis)


def _residual_along(y, z, axis=-1):
    """y minus its least-squares line on z, along ``axis``."""
    import numpy as np

    dz = z - z.mean(axis=axis, keepdims=True)
    dy = y - y.mean(axis=axis, keepdims=True)
    with np.errstate(all="ignore"):
        beta = (dy * dz).sum(axis=axis, keepdims=True) / (dz * dz).sum(axis=axis, keepdims=True)
    return dy - beta * dz


def _vector_stat(kind: str, partial: bool):
    def stat(*cols, axis=-1):
        if kind == "spearman":
            cols = tuple(_ranks(c, axis) for c in cols)
        if partial:
            x, y, z = cols
            return _pearson_along(_residual_along(x, z, axis), _residual_along(y, z, axis), axis)
        return _pearson_along(*cols, axis=axis)

    return stat


def _corr_ci(kind: str, data: tuple, seed: int, resamples: int, partial: bool = False
             ) -> tuple[float | None, float | None]:
    """Percentile CI of r from a paired bootstrap over the points (scipy.stats.bootstrap draws the
    resamples); resamples where r is undefined (a constant column) are left out."""
    import numpy as np

    res = _bootstrap(data, _vector_stat(kind, partial), paired=True, seed=seed, resamples=resamples, vectorized=True)
    dist = np.asarray(res.bootstrap_distribution, dtype=float)
    dist = dist[np.isfinite(dist)]
    if dist.size < resamples // 2:
        return None, None
    low, high = np.percentile(dist, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    return float(low), float(high)


def correlation(x: Sequence[float], y: Sequence[float], kind: str = "spearman", *, seed: int = 0,
                resamples: int = RESAMPLES) -> Interval:
    """Spearman / Pearson r (scipy), its p-value, and a paired percentile bootstrap CI (None below 4 points)."""
    import warnings

    import numpy as np

    u, v = _array(x), _array(y)
    if u.size != v.size or u.size < 3:
        raise ValueError(f"correlation needs at least 3 paired values, got {u.size} and {v.size}")
    if np.ptp(u) == 0 or np.ptp(v) == 0:  # r is undefined for a constant column
        return Interval(math.nan, None, None, int(u.size), math.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r, p = _r(kind, u, v), _p(kind, u, v)
        low = high = None
        if u.size >= 4 and np.ptp(u) > 0 and np.ptp(v) > 0:
            low, high = _corr_ci(kind, (u, v), seed, resamples)
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
    rx, ry = residuals(x, z), residuals(y, z)
    scale = max(1.0, float(max(abs(x).max(), abs(y).max())))
    if max(abs(rx).max(), abs(ry).max()) < 1e-9 * scale:  # x or y is a linear function of z: undefined
        return math.nan
    return float(stats.pearsonr(rx, ry).statistic)


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
    if np.ptp(u) == 0 or np.ptp(v) == 0 or np.ptp(w) == 0:  # undefined for a constant column
        return Interval(math.nan, None, None, int(u.size), math.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = _partial_r(kind, u, v, w)
        dof = u.size - 3
        if math.isnan(r):
            return Interval(math.nan, None, None, int(u.size), math.nan)
        p = float(2 * stats.t.sf(abs(r) * math.sqrt(dof / max(1e-12, 1 - r * r)), dof)) if abs(r) < 1 else 0.0
        low = high = None
        if u.size >= 5 and np.ptp(u) > 0 and np.ptp(v) > 0 and np.ptp(w) > 0:
            low, high = _corr_ci(kind, (u, v, w), seed, resamples, partial=True)
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
        ci = "" if self.low is None or math.isnan(self.low) else f" [{self.low:.{digits}f}, {self.high:.{digits}f}]"
        flat = " (constant scores)" if math.isnan(self.r) else ""
        return f"{self.slope:+.{digits}f}{ci} per doubling{flat}"


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
