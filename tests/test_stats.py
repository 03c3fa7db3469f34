"""Paired statistics against hand-computed values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from carbs_lite.ablation.stats import (
    bootstrap_median_ci,
    holm,
    pairs_needed,
    signed_rank_sum,
    verdict,
    wilcoxon_signed_rank,
)


def _brute_force_p(differences: list[float]) -> float:
    """Two-sided p by enumerating every sign pattern (distinct |d|, no zeros)."""
    ranks = np.argsort(np.argsort(np.abs(differences))) + 1
    observed = ranks[np.array(differences) > 0].sum()
    sums = [
        sum(r for r, s in zip(ranks, signs, strict=True) if s)
        for signs in itertools.product([0, 1], repeat=len(ranks))
    ]
    lower = np.mean([s <= observed for s in sums])
    upper = np.mean([s >= observed for s in sums])
    return min(1.0, 2 * min(lower, upper))


def test_wilcoxon_small_examples():
    # all 5 positive: W+ = 15 is the single most extreme of 32 patterns -> p = 2/32
    assert wilcoxon_signed_rank(np.array([1.0, 2, 3, 4, 5])) == pytest.approx(0.0625)
    # W+ = 2 + 4 + 5 = 11; 7 of 32 patterns have W+ >= 11 -> p = 14/32
    assert wilcoxon_signed_rank(np.array([-1.0, 2, -3, 4, 5])) == pytest.approx(0.4375)
    assert wilcoxon_signed_rank(np.array([0.0, 0.0])) == 1.0


def test_wilcoxon_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        d = rng.normal(0.3, 1.0, size=8).tolist()
        assert wilcoxon_signed_rank(np.array(d)) == pytest.approx(_brute_force_p(d))


def test_wilcoxon_handles_ties_and_zeros():
    p = wilcoxon_signed_rank(np.array([0.0, 1.0, 1.0, -1.0, 2.0, 2.0, 3.0]))
    assert 0 < p <= 1


def test_holm_known_list():
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([0.9, 0.9]) == [1.0, 1.0]


def test_bootstrap_ci_contains_the_median_and_is_seeded():
    d = np.random.default_rng(1).normal(-0.2, 0.1, 30)
    low, high = bootstrap_median_ci(d)
    assert low <= np.median(d) <= high and high < 0
    assert bootstrap_median_ci(d) == (low, high)


def test_verdicts():
    better = np.array([-0.1, -0.2, 0.05, -0.3, -0.1, -0.2])
    assert verdict(better, 0.01) == "helps"
    assert verdict(-better, 0.01) == "hurts"
    assert verdict(better, 0.2) == "no detectable effect"
    assert verdict(np.zeros(6), 0.001) == "no detectable effect"


def test_too_few_pairs_for_any_verdict_say_so_not_no_effect():
    # 3 pairs can never reach p < 0.05 (the smallest exact p is 0.25): their silence is not
    # evidence; with Holm over 10 comparisons 9 pairs are needed
    assert verdict(np.array([-0.1, -0.2, -0.05]), 0.25) == "too few seeds"
    assert pairs_needed(1) == 6 and pairs_needed(10) == 9
    assert verdict(np.full(8, -0.1), 0.08, comparisons=10) == "too few seeds"
    assert verdict(np.full(9, -0.1), 0.04, comparisons=10) == "helps"
    # a significant p (tied |d| under the normal approximation) is a verdict at any count
    assert verdict(np.array([-1.0] * 5), 0.025) == "helps"
    # 6 pairs, one tied at 0, which the test drops: the 5 others all one way give p = 0.0625,
    # the smallest 5 pairs can give, so it read "no detectable effect" where it never could
    # have read anything else
    tied = np.array([0.00294, 0.00467, 0.0000128, 0.0, 0.0225, 0.00158])
    assert wilcoxon_signed_rank(tied) == 0.0625
    assert verdict(tied, 0.0625) == "too few seeds"


def test_verdict_follows_the_changed_pairs_when_most_pairs_tie():
    # 20 ties, 9 better, 1 slightly worse: the median difference is 0, the effect is not
    differences = np.array([0.0] * 20 + [-0.03] * 9 + [0.01])
    assert np.median(differences) == 0.0
    p = wilcoxon_signed_rank(differences)
    assert p < 0.05
    assert signed_rank_sum(differences) == -9 * 6.0 + 1.0  # ranks: the 0.01 is 1, the rest 6
    assert verdict(differences, p) == "helps"


def test_pairs_needed_is_the_first_size_whose_smallest_holm_p_is_below_alpha():
    from carbs_lite.ablation.stats import pairs_needed

    for comparisons in (1, 3, 12, 175):
        n = pairs_needed(comparisons)
        assert comparisons * 2 ** (1 - n) < 0.05 <= comparisons * 2 ** (2 - n)
        # every pair one way: exactly the smallest p the test can give
        assert comparisons * wilcoxon_signed_rank(-np.arange(1.0, n + 1)) < 0.05
    assert pairs_needed(1) == 6


def test_bootstrap_of_one_difference_is_that_difference():
    assert bootstrap_median_ci(np.array([0.3])) == (0.3, 0.3)


def test_the_committed_sweep_reads_the_same_as_with_the_hand_written_statistics():
    """tests/fixtures/ablation-sweep.jsonl: 140 runs of `carbs-lite ablate` (4 switches,
    scaling and quadratic-cost-4d, 10 seeds, 12 tries) made on 61b422b; its summary, written
    there by the hand-written Wilcoxon and bootstrap, is ablation-sweep-summary.md. scipy.stats
    gives the same p, Holm p, confidence interval and verdict on every row (six verdicts
    since read "too few seeds": the pair count for a verdict now leaves out the pairs that tie,
    as the test does)."""
    import json
    from pathlib import Path

    from carbs_lite.ablation.summary import effects, markdown_table

    fixtures = Path(__file__).parent / "fixtures"
    lines = (fixtures / "ablation-sweep.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    summary = (fixtures / "ablation-sweep-summary.md").read_text()
    table = summary[summary.index("| switch") :].strip()
    assert markdown_table(effects(records)) == table
