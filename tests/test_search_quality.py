"""Seeded runs with counts: the search stays out of regions its failure model rules out, closes
in on the edge of the safe region, and does not re-run points while untried ones remain."""

from __future__ import annotations

import dataclasses
import math

import pytest

from carbs_lite import (
    ArchSpace,
    FailureImputation,
    Heuristics,
    LinearSpace,
    Param,
    Tuner,
    TunerConfig,
)


def _failure_run(seed: int, dims: int, tries: int, **switches) -> list[tuple[float, bool]]:
    """Maximize sum(x) over [0, 1]^dims from the center 0.3; a run fails where sum(x) > 0.6 dims."""
    params = [Param(f"x{i}", LinearSpace(min=0.0, max=1.0), 0.3) for i in range(dims)]
    heuristics = dataclasses.replace(Heuristics(), **switches)
    tuner = Tuner(params, TunerConfig(direction="maximize"), heuristics, seed=seed)
    runs = []
    for _ in range(tries):
        suggestion = tuner.suggest()
        total = sum(suggestion.params.values())
        failed = total > 0.6 * dims
        tuner.observe(suggestion, math.nan if failed else total, 1.0, is_failure=failed)
        runs.append((total, failed))
    return runs


def _seeds(in_ci: int, missed: int | None = None, why: str = "") -> list:
    """Seeds 0-4, the first ``in_ci`` run in CI and the rest marked slow; seed ``missed`` a
    strict xfail (a known miss of the target, explained by ``why``)."""
    seeds = []
    for seed in range(5):
        marks = [] if seed < in_ci else [pytest.mark.slow]
        if seed == missed:
            marks.append(pytest.mark.xfail(strict=True, reason=why))
        seeds.append(pytest.param(seed, marks=marks))
    return seeds


CREEPS_TO_THE_EDGE = (
    "issue #14's 1-D target missed on seed 4: three random tries fail at 0.61-0.98, the output "
    "GP bends down towards their imputed worst value, and EI creeps up to them in steps of "
    "0.005-0.04, best 0.537"
)


@pytest.mark.parametrize("seed", _seeds(2, missed=4, why=CREEPS_TO_THE_EDGE))
def test_one_dimension_stays_safe_and_closes_in_on_the_edge(seed):
    # issue #14's target; measured 1, 2, 1, 1, 0 failures, best 0.585, 0.591, 0.574, 0.596,
    # 0.537 (with an exploration bias of 0.01, the defaults of 0e27a42: 0.590, 0.600,
    # 0.581, 0.590, 0.545; with CARBS's label regression as the success model 2, 3, 2, 2, 0
    # failures)
    runs = _failure_run(seed, dims=1, tries=20)
    assert sum(failed for _, failed in runs[10:]) <= 2
    best = max(x for x, failed in runs if not failed)
    assert best >= 0.6 - 0.05


@pytest.mark.parametrize("seed", _seeds(2))
def test_one_dimension_with_every_failure_imputed_stays_safe(seed):
    # measured 1, 1, 0, 2, 0 failures, best 0.585, 0.590, 0.574, 0.595, 0.537: every failure
    # painted at the worst value keeps it as safe as the default
    runs = _failure_run(seed, dims=1, tries=20, failure_imputation=FailureImputation.WORST)
    assert sum(failed for _, failed in runs[10:]) <= 2
    assert max(x for x, failed in runs if not failed) >= 0.5


@pytest.mark.parametrize("seed", _seeds(2))
def test_one_dimension_without_imputation_fails_less_than_before_the_success_mask(seed):
    # measured 5, 5, 5, 5, 5 of 10; issue #14 measured 9, 9, 8 (seeds 0-2) before the mask
    runs = _failure_run(seed, dims=1, tries=20, failure_imputation=FailureImputation.NONE)
    assert sum(failed for _, failed in runs[10:]) <= 7
    assert max(x for x, failed in runs if not failed) >= 0.6 - 0.05


@pytest.mark.parametrize("seed", _seeds(2))
def test_two_dimensions_fail_on_at_most_a_fifth_of_the_late_tries(seed):
    # issue #14's target (3 of tries 16-30); measured, seeds 0-4: 2, 3, 2, 1, 1; with an
    # exploration bias of 0.01 (the defaults of 0e27a42) 5, 3, 1, 1, 1, seed 0's compass
    # steps walking the diagonal edge; CARBS's label regression as the success model 5, 4, 4,
    # 4, 2 (issue #14 measured 11-15 before the success mask and the imputation)
    runs = _failure_run(seed, dims=2, tries=30)
    assert sum(failed for _, failed in runs[15:]) <= 3


@pytest.mark.parametrize("seed", _seeds(1))
def test_two_dimensions_with_every_failure_imputed_fail_on_at_most_a_fifth_of_the_late_tries(seed):
    # measured 2, 2, 0, 1, 1
    runs = _failure_run(seed, dims=2, tries=30, failure_imputation=FailureImputation.WORST)
    assert sum(failed for _, failed in runs[15:]) <= 3


def _distinct(params: list[Param], tries: int, seed: int, value) -> int:
    tuner = Tuner(params, TunerConfig(direction="minimize"), seed=seed)
    seen = []
    for _ in range(tries):
        suggestion = tuner.suggest()
        seen.append(repr(suggestion.params))
        tuner.observe(suggestion, value(suggestion.params), 1.0)
    return len(set(seen))


@pytest.mark.parametrize("count", [5, 12])
@pytest.mark.parametrize("seed", range(3))
def test_integer_values_are_not_rerun_while_untried_ones_remain(count, seed):
    params = [Param("n", LinearSpace(min=1, max=count, is_integer=True), (count + 1) // 2)]
    assert _distinct(params, count, seed, lambda p: float((p["n"] - count) ** 2)) == count


def test_arch_values_are_not_rerun_while_untried_ones_remain():
    # 1 sub-arch of 1 or 2 layers, widths 64 or 128: 2 + 4 = 6 archs in all
    space = ArchSpace(max_sub_arches=1, max_layers=2, min_size=64, max_size=128, rounding_factor=64)
    params = [Param("arch", space, [[64]])]
    for seed in range(3):
        assert _distinct(params, 6, seed, lambda p: -float(sum(map(sum, p["arch"])))) == 6
