"""Paired statistics for ablations: Wilcoxon signed-rank, bootstrap CI, Holm, verdicts.

All functions take paired differences d_i = variant_i - baseline_i of a lower-is-better
metric, so a negative median difference means the variant helps.
"""

from __future__ import annotations

import numpy as np

ALPHA = 0.05


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values`` with ties given their average rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def wilcoxon_signed_rank(differences: np.ndarray) -> float:
    """Two-sided exact p-value of W+ = sum of ranks of |d_i| over d_i > 0 (zeros dropped).

    The null distribution is enumerated over all 2^n sign patterns of the observed ranks (by
    dynamic programming on doubled ranks, so tied half-ranks stay integers).
    """
    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if len(d) == 0:
        return 1.0
    doubled = np.rint(2 * _average_ranks(np.abs(d))).astype(int)
    counts = np.zeros(doubled.sum() + 1)
    counts[0] = 1.0
    for rank in doubled:
        counts[rank:] = counts[rank:] + counts[: len(counts) - rank].copy()
    probabilities = counts / counts.sum()
    observed = int(doubled[d > 0].sum())
    lower = probabilities[: observed + 1].sum()
    upper = probabilities[observed:].sum()
    return float(min(1.0, 2 * min(lower, upper)))


def bootstrap_median_ci(
    differences: np.ndarray, resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of the median difference (seeded, so reproducible)."""
    d = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(seed)
    medians = np.median(d[rng.integers(len(d), size=(resamples, len(d)))], axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(medians, tail)), float(np.quantile(medians, 1 - tail))


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
    return float((np.sign(d) * _average_ranks(np.abs(d))).sum())


def verdict(differences: np.ndarray, adjusted_p: float, alpha: float = ALPHA) -> str:
    """ "helps" / "hurts" when significant after Holm, by the sign of ``signed_rank_sum``.

    The sign comes from the signed ranks, not the median: when most pairs tie (the switch
    rarely changes a run) the median is 0 while the changed pairs can still agree.
    """
    direction = signed_rank_sum(differences)
    if adjusted_p >= alpha or direction == 0:
        return "no detectable effect"
    return "helps" if direction < 0 else "hurts"
