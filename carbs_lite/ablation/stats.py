"""Paired statistics for ablations: Wilcoxon signed-rank and bootstrap CIs from ``scipy.stats``,
Holm's correction, verdicts, and the sweep size a verdict needs.

All functions take paired differences d_i = variant_i - baseline_i of a lower-is-better
metric, so a negative median difference means the variant helps.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 2000


def wilcoxon_signed_rank(differences: np.ndarray) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test, zero differences dropped.

    Exact (the null distribution of W+ over all 2^n sign patterns) when the |d_i| have no
    ties; with ties, the normal approximation with tie correction, as ``scipy.stats.wilcoxon``
    chooses itself (its exact distribution assumes distinct ranks).
    """
    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if len(d) == 0:
        return 1.0
    method = "exact" if len(np.unique(np.abs(d))) == len(d) else "approx"
    return float(stats.wilcoxon(d, zero_method="wilcox", method=method).pvalue)


def bootstrap_median_ci(
    differences: np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap CI of the median difference (``scipy.stats.bootstrap``, seeded, so
    reproducible); a single difference is its own interval."""
    d = np.asarray(differences, dtype=float)
    if len(d) < 2:
        return float(d[0]), float(d[0])
    interval = stats.bootstrap(
        (d,),
        np.median,
        n_resamples=resamples,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    ).confidence_interval
    return float(interval.low), float(interval.high)


def holm(p_values: list[float]) -> list[float]:
    """Holm step-down adjusted p-values: max over j <= i of min(1, (m - j) p_(j)), in input order."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(len(p))
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (len(p) - position) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def signed_rank_sum(differences: np.ndarray) -> float:
    """W+ - W-: ranks of |d_i| summed with the signs of d_i (zeros dropped); the statistic
    the Wilcoxon test is about, so its sign says which way a significant effect goes."""
    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if len(d) == 0:
        return 0.0
    return float((np.sign(d) * stats.rankdata(np.abs(d))).sum())


TOO_FEW = "too few seeds"
"""The verdict of a comparison with fewer pairs than any verdict needs (``pairs_needed``)."""


def verdict(
    differences: np.ndarray, adjusted_p: float, comparisons: int = 1, alpha: float = ALPHA
) -> str:
    """ "helps" / "hurts" when significant after Holm over ``comparisons``, by the sign of
    ``signed_rank_sum``; ``TOO_FEW`` when the pairs that differ from 0 (all pairs, when none
    does) are too few for any verdict there (``pairs_needed``), so that silence is not read
    as evidence of no effect.

    The sign comes from the signed ranks, not the median: when most pairs tie (the switch
    rarely changes a run) the median is 0 while the changed pairs can still agree.
    """
    # pairs_needed assumes the exact test; with tied |d| the normal approximation can go
    # lower, and a significant p is a verdict whatever the count. The test drops the pairs
    # that tie at 0 (scipy's zero_method "wilcox"), so only the others count, unless none
    # differs: a switch that changed no run is judged on how many runs it left unchanged
    counted = int(np.count_nonzero(differences)) or len(differences)
    if adjusted_p >= alpha and counted < pairs_needed(comparisons, alpha):
        return TOO_FEW
    direction = signed_rank_sum(differences)
    if adjusted_p >= alpha or direction == 0:
        return "no detectable effect"
    return "helps" if direction < 0 else "hurts"


def pairs_needed(comparisons: int, alpha: float = ALPHA) -> int:
    """The fewest pairs for which a verdict is possible at all after Holm over ``comparisons``.

    With n pairs the smallest exact two-sided p is 2 / 2^n (every pair the same sign), and
    Holm multiplies the smallest p by the number of comparisons, so n must satisfy
    comparisons * 2^(1 - n) < alpha.
    """
    return math.floor(1 + math.log2(comparisons / alpha)) + 1
