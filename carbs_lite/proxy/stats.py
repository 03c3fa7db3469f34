"""Rank correlations between proxy and full runs with paired bootstrap CIs, and the variance
check's noise share.

Point estimates are ``scipy.stats.kendalltau`` (tau-b) and ``scipy.stats.spearmanr``; the CIs
are ``scipy.stats.bootstrap`` percentile intervals over configs resampled in pairs. The
resampled statistics are computed by the batched versions below (the same formulas over a
batch axis), since calling scipy once per resample takes seconds per interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_PAIRS = 5
"""A correlation needs this many pairs where both runs gave an output..."""
MIN_VALID_SHARE = 0.7
"""...and at least this share of the candidates (both as Vertex AI NAS's proxy-task tool
requires before it scores a proxy: 5 pairs, 7 of 10 models)."""


@dataclass(frozen=True)
class RankCorrelation:
    """A rank correlation over the candidates where both runs gave a value: ``value``, its
    bootstrap CI [``low``, ``high``], and the number of ``pairs``. The three numbers are NaN
    when there are too few pairs (``MIN_PAIRS``, ``MIN_VALID_SHARE``) or one side is constant.
    """

    value: float
    low: float
    high: float
    pairs: int

    @property
    def defined(self) -> bool:
        """Whether there were enough pairs for a value."""
        return math.isfinite(self.value)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / sqrt(denominator), 0 where the denominator is 0: a resample in which one
    side is constant orders nothing, and counts as no agreement (this only happens with very
    few pairs: n**(1 - n) of the resamples)."""
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / np.sqrt(safe), 0.0)


def batched_kendall(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Kendall's tau-b along ``axis``: sum_ij sign(x_i - x_j) sign(y_i - y_j) over
    sqrt(pairs untied in x * pairs untied in y) (Kendall 1945; ties as in scipy's tau-b)."""
    x, y = np.moveaxis(np.asarray(x, float), axis, -1), np.moveaxis(np.asarray(y, float), axis, -1)
    sx = np.sign(x[..., :, None] - x[..., None, :])
    sy = np.sign(y[..., :, None] - y[..., None, :])
    return _ratio((sx * sy).sum((-1, -2)), (sx * sx).sum((-1, -2)) * (sy * sy).sum((-1, -2)))


def batched_spearman(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's rho along ``axis``: the Pearson correlation of average ranks, as scipy's."""
    rx = stats.rankdata(x, axis=axis)
    ry = stats.rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    return _ratio((rx * ry).sum(axis), (rx * rx).sum(axis) * (ry * ry).sum(axis))


def _both(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.stack([batched_kendall(x, y, axis), batched_spearman(x, y, axis)])


def rank_correlations(
    proxy: list[float],
    full: list[float],
    resamples: int,
    confidence: float,
    rng: np.random.Generator,
) -> tuple[RankCorrelation, RankCorrelation]:
    """(Kendall's tau, Spearman's rho) of ``proxy`` against ``full`` (same length, one value
    per candidate; NaN or inf where a run failed, and such pairs are left out), with CIs from
    one paired bootstrap: both statistics see the same resampled configs."""
    x, y = np.asarray(proxy, float), np.asarray(full, float)
    valid = np.isfinite(x) & np.isfinite(y)
    x, y, pairs = x[valid], y[valid], int(valid.sum())
    undefined = RankCorrelation(math.nan, math.nan, math.nan, pairs)
    if pairs < MIN_PAIRS or pairs < MIN_VALID_SHARE * len(valid):
        return undefined, undefined
    tau = float(stats.kendalltau(x, y).statistic)
    rho = float(stats.spearmanr(x, y).statistic)
    if not (math.isfinite(tau) and math.isfinite(rho)):
        return undefined, undefined
    interval = stats.bootstrap(
        (x, y),
        _both,
        paired=True,
        vectorized=True,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        rng=rng,
    ).confidence_interval
    low, high = np.asarray(interval.low), np.asarray(interval.high)
    return (
        RankCorrelation(tau, float(low[0]), float(high[0]), pairs),
        RankCorrelation(rho, float(low[1]), float(high[1]), pairs),
    )


def noise_share(repeated: list[list[float]], outputs: list[float]) -> float:
    """Run-to-run noise as a share of the spread between configs: the pooled within-config
    standard deviation of the ``repeated`` runs (one list of outputs per repeated config;
    failed runs left out), sqrt(sum_c sum_r (y_cr - mean_c)^2 / sum_c (n_c - 1)), over the
    standard deviation (ddof 1) of the candidates' ``outputs``. NaN when either is undefined.
    """
    squares, dof = 0.0, 0
    for runs in repeated:
        values = np.asarray(runs, float)
        values = values[np.isfinite(values)]
        if len(values) >= 2:
            squares += float(((values - values.mean()) ** 2).sum())
            dof += len(values) - 1
    spread_values = np.asarray(outputs, float)
    spread_values = spread_values[np.isfinite(spread_values)]
    if dof == 0 or len(spread_values) < 2:
        return math.nan
    spread = float(spread_values.std(ddof=1))
    return math.sqrt(squares / dof) / spread if spread > 0 else math.nan
