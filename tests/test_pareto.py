"""Pareto logic: grouping runs of the same params, the cost/goodness front, envelopes, isotonic
fits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbs_lite.pareto import (
    Group,
    group_runs,
    isotonic_increasing,
    pareto_front,
    running_best,
    sorted_quantile,
)

FAST = settings(max_examples=100, deadline=None)


def group(goodness: list[float], cost: float, first: int = 0) -> Group:
    """A hand-built group of ``len(goodness)`` runs of the same params."""
    return Group(
        members=tuple(range(first, first + len(goodness))),
        mean_goodness=float(np.mean(goodness)),
        max_goodness=float(np.max(goodness)),
        cost=cost,
    )


# --- group_runs -----------------------------------------------------------------------------


def test_group_runs_pools_repeats_in_order_of_first_appearance():
    keys = [("a", 1), ("b", 2), ("a", 1), ("c", 3), ("b", 2), ("a", 1)]
    goodness = [1.0, 10.0, 3.0, 7.0, 20.0, 8.0]
    cost = [2.0, 5.0, 4.0, 1.0, 7.0, 6.0]
    groups = group_runs(keys, goodness, cost)
    assert [g.members for g in groups] == [(0, 2, 5), (1, 4), (3,)]
    assert [g.count for g in groups] == [3, 2, 1]
    assert [g.mean_goodness for g in groups] == pytest.approx([4.0, 15.0, 7.0])
    assert [g.max_goodness for g in groups] == pytest.approx([8.0, 20.0, 7.0])
    assert [g.cost for g in groups] == pytest.approx([4.0, 6.0, 1.0])


def test_group_runs_of_nothing_is_empty_and_lengths_must_agree():
    assert group_runs([], [], []) == []
    with pytest.raises(ValueError, match="2 keys for 3 goodness"):
        group_runs([1, 2], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0])


# --- pareto_front ---------------------------------------------------------------------------


def test_plain_front_keeps_groups_that_beat_every_cheaper_one():
    groups = [
        group([1.0], 1.0),
        group([0.5], 2.0),  # worse than a cheaper group: off
        group([2.0], 3.0),
        group([2.0], 4.0),  # ties the last front group: off (strictly increasing)
        group([3.0], 5.0),
    ]
    front = pareto_front(groups[::-1], bucket_fraction=0.0, conservative=False)
    assert [g.cost for g in front] == [1.0, 3.0, 5.0]
    assert [g.mean_goodness for g in front] == [1.0, 2.0, 3.0]


def test_front_is_cheapest_first_and_strictly_improving():
    rng = np.random.default_rng(1)
    groups = [group(list(rng.normal(size=rng.integers(1, 4))), float(c)) for c in rng.random(40)]
    for conservative in (False, True):
        front = pareto_front(groups, bucket_fraction=0.2, conservative=conservative)
        costs = [g.cost for g in front]
        goodness = [g.mean_goodness for g in front]
        assert costs == sorted(costs)
        assert all(b > a for a, b in zip(goodness, goodness[1:], strict=False))


def test_bucketing_keeps_only_the_best_of_the_cheapest_fraction():
    groups = [
        group([1.0], 1.0),
        group([3.0], 2.0),  # best of the cheap bucket
        group([2.0], 3.0),
        group([2.5], 6.0),  # beats 2.0 but not the bucket's best 3.0
        group([4.0], 7.0),
        group([5.0], 10.0),
    ]
    # costs [1, 2, 3, 6, 7, 10]: the 0.5 quantile is 4.5, so the three cheapest are bucketed
    front = pareto_front(groups, bucket_fraction=0.5, conservative=False)
    assert [g.cost for g in front] == [2.0, 7.0, 10.0]
    # without bucketing the cheapest group starts the front and the others climb from it
    front = pareto_front(groups, bucket_fraction=0.0, conservative=False)
    assert [g.cost for g in front] == [1.0, 2.0, 7.0, 10.0]


def test_bucket_fraction_zero_buckets_only_the_cheapest_cost():
    groups = [group([1.0], 1.0), group([2.0], 1.0, first=1), group([1.5], 2.0, first=2)]
    front = pareto_front(groups, bucket_fraction=0.0, conservative=False)
    # both cost-1 groups are the bucket; only its best (2.0) is on the front, and 1.5 loses
    assert [(g.cost, g.mean_goodness) for g in front] == [(1.0, 2.0)]


def test_bucket_fraction_one_leaves_only_the_overall_best():
    groups = [group([float(i)], float(10 - i), first=i) for i in range(5)]
    front = pareto_front(groups, bucket_fraction=1.0, conservative=False)
    assert [g.mean_goodness for g in front] == [4.0]


def test_conservative_front_needs_a_single_sample_to_beat_the_previous_max():
    noisy = group([0.0, 1.0], 1.0)  # mean 0.5, max 1.0
    lucky = group([0.8], 2.0, first=2)  # beats the mean but not the max
    groups = [noisy, lucky]
    assert pareto_front(groups, 0.0, conservative=False) == [noisy, lucky]
    assert pareto_front(groups, 0.0, conservative=True) == [noisy]
    # a single sample above the previous max joins either way
    sure = group([1.2], 2.0, first=2)
    assert pareto_front([noisy, sure], 0.0, conservative=True) == [noisy, sure]


def test_conservative_front_judges_repeated_groups_by_their_mean():
    noisy = group([0.0, 1.0], 1.0)
    repeated = group([0.7, 0.9], 2.0, first=2)  # mean 0.8 > 0.5, max 0.9 < 1.0
    assert pareto_front([noisy, repeated], 0.0, conservative=True) == [noisy, repeated]


def test_conservative_front_equals_the_plain_front_when_every_group_has_one_sample():
    rng = np.random.default_rng(2)
    groups = [group([float(v)], float(c), first=i) for i, (v, c) in enumerate(rng.random((30, 2)))]
    plain = pareto_front(groups, 0.0, conservative=False)
    assert pareto_front(groups, 0.0, conservative=True) == plain


@pytest.mark.parametrize("conservative", [False, True])
@pytest.mark.parametrize("fraction", [0.0, 0.2, 1.0])
def test_degenerate_inputs_give_a_non_empty_front(fraction, conservative):
    # a single group
    assert pareto_front([group([1.0], 3.0)], fraction, conservative) == [group([1.0], 3.0)]
    # every group at the same cost: the best one is the front
    same_cost = [group([float(v)], 2.0, first=i) for i, v in enumerate([3.0, 5.0, 4.0])]
    front = pareto_front(same_cost, fraction, conservative)
    assert [g.mean_goodness for g in front] == [5.0]
    # runs of the same params at different costs form one group at the mean cost
    groups = group_runs([(0.0, 0.0)] * 3, [1.0, 2.0, 3.0], [1.0, 2.0, 6.0])
    front = pareto_front(groups, fraction, conservative)
    assert len(front) == 1 and front[0].cost == pytest.approx(3.0)
    assert front[0].mean_goodness == pytest.approx(2.0) and front[0].count == 3
    # identical goodness everywhere
    flat = [group([1.0], float(c), first=c) for c in range(4)]
    assert len(pareto_front(flat, fraction, conservative)) == 1


def test_no_groups_no_front():
    assert pareto_front([], 0.2, conservative=True) == []


@FAST
@given(
    st.lists(
        st.tuples(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=3), st.floats(0.0, 1e3)),
        min_size=1,
        max_size=20,
    ),
    st.floats(0.0, 1.0),
    st.booleans(),
)
def test_front_members_are_never_beaten_by_a_cheaper_group_mean(spec, fraction, conservative):
    groups = [group(values, cost, first=10 * i) for i, (values, cost) in enumerate(spec)]
    front = pareto_front(groups, fraction, conservative)
    assert front and all(g in groups for g in front)
    if not conservative:
        # the best mean is always reached: nothing on or after the front can beat it
        assert front[-1].mean_goodness == max(g.mean_goodness for g in groups)
    for member in front[1:]:
        cheaper = [g for g in groups if g.cost < member.cost]
        if conservative:
            # a lucky single sample may block later groups without being beaten by them
            cheaper = [g for g in cheaper if g.count > 1 or g in front]
        assert all(member.mean_goodness > g.mean_goodness for g in cheaper)


# --- running_best ---------------------------------------------------------------------------


def test_running_best_is_the_best_goodness_at_that_cost_or_cheaper():
    cost = np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    goodness = np.array([0.5, 0.2, 0.1, 0.4, 0.9])
    sorted_cost, best = running_best(cost, goodness)
    assert sorted_cost.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert best.tolist() == [0.2, 0.2, 0.5, 0.9, 0.9]


def test_running_best_gives_tied_costs_the_best_of_the_tie():
    cost = np.array([2.0, 1.0, 1.0, 2.0])
    goodness = np.array([0.3, 5.0, 0.0, 7.0])
    sorted_cost, best = running_best(cost, goodness)
    assert sorted_cost.tolist() == [1.0, 1.0, 2.0, 2.0]
    assert best.tolist() == [5.0, 5.0, 7.0, 7.0]


@FAST
@given(
    st.lists(st.floats(1e-300, 1e300), min_size=1, max_size=40),
    st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0])),
)
def test_sorted_quantile_is_numpys_default_quantile_to_the_bit(values, q):
    # the front's bucketing threshold; golden traces depend on every bit of it
    ascending = sorted(values)
    assert sorted_quantile(ascending, q) == float(np.quantile(ascending, q))


@FAST
@given(st.lists(st.tuples(st.integers(0, 10), st.floats(-1e6, 1e6)), min_size=1, max_size=30))
def test_running_best_matches_its_definition(pairs):
    cost = np.array([float(c) for c, _ in pairs])
    goodness = np.array([g for _, g in pairs])
    sorted_cost, best = running_best(cost, goodness)
    assert np.all(np.diff(sorted_cost) >= 0) and np.all(np.diff(best) >= 0)
    for c, b in zip(sorted_cost, best, strict=True):
        assert b == goodness[cost <= c].max()


# --- isotonic_increasing --------------------------------------------------------------------


@pytest.mark.parametrize(
    "y, weights, expected",
    [
        ([1.0, 2.0, 3.0], None, [1.0, 2.0, 3.0]),
        ([3.0, 2.0, 1.0], None, [2.0, 2.0, 2.0]),
        ([1.0, 3.0, 2.0, 4.0], None, [1.0, 2.5, 2.5, 4.0]),
        ([1.0, 4.0, 2.0, 0.0, 5.0], None, [1.0, 2.0, 2.0, 2.0, 5.0]),
        ([5.0, 1.0, 2.0, 6.0, 3.0], None, [8 / 3, 8 / 3, 8 / 3, 4.5, 4.5]),
        ([2.0, 0.0], [3.0, 1.0], [1.5, 1.5]),
        ([1.0, 3.0, 0.0], [1.0, 1.0, 2.0], [1.0, 1.0, 1.0]),
        ([7.0], None, [7.0]),
    ],
)
def test_isotonic_fit_matches_hand_computed_values(y, weights, expected):
    fitted = isotonic_increasing(np.array(y), None if weights is None else np.array(weights))
    assert fitted.tolist() == pytest.approx(expected)


def test_isotonic_fit_of_nothing_is_empty():
    assert len(isotonic_increasing(np.array([]))) == 0


def test_isotonic_rejects_mismatched_weights():
    with pytest.raises(ValueError):
        isotonic_increasing(np.array([1.0, 2.0]), np.array([1.0]))


@FAST
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40))
def test_isotonic_fit_is_non_decreasing_and_keeps_the_mean(values):
    y = np.array(values)
    fitted = isotonic_increasing(y)
    assert fitted.shape == y.shape
    assert np.all(np.diff(fitted) >= -1e-9)
    assert fitted.mean() == pytest.approx(y.mean(), abs=1e-6)
    # a sorted input is its own fit
    assert isotonic_increasing(np.sort(y)).tolist() == pytest.approx(np.sort(y).tolist())


@FAST
@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(0.1, 10.0)), min_size=1, max_size=30))
def test_weighted_isotonic_fit_keeps_the_weighted_mean_and_is_no_worse_than_a_constant(pairs):
    y = np.array([v for v, _ in pairs])
    w = np.array([wt for _, wt in pairs])
    fitted = isotonic_increasing(y, w)
    assert np.all(np.diff(fitted) >= -1e-9)
    assert np.average(fitted, weights=w) == pytest.approx(np.average(y, weights=w), abs=1e-6)
    constant = np.average(y, weights=w)
    error = np.sum(w * (fitted - y) ** 2)
    assert error <= np.sum(w * (constant - y) ** 2) + 1e-6 * (1 + error)


def test_front_improvements_mark_runs_that_joined_the_front_when_observed():
    from carbs_lite.pareto import front_improvements

    cost = np.array([1.0, 2.0, 1.0, 3.0, 2.0, 0.5, 3.0])
    goodness = np.array([1.0, 0.5, 2.0, 1.5, 3.0, 0.1, np.nan])
    failed = np.array([False, False, False, False, False, False, True])
    # 0.5 at cost 2 loses to 1.0 at cost 1; 1.5 at cost 3 loses to 2.0 at cost 1
    expected = [True, False, True, False, True, True, False]
    assert front_improvements(cost, goodness, failed).tolist() == expected


def test_groups_of_records_are_the_groups_of_the_search_data():
    """``record_groups`` (status, observe, the report) and ``data_groups`` (the search) group
    the same runs alike: repeats pooled, failures left out, goodness oriented."""
    from conftest import study_data

    from carbs_lite import ArchSpace, CategoricalSpace, LinearSpace, Observation, Param, TunerConfig
    from carbs_lite.pareto import data_groups, record_groups
    from carbs_lite.spaces import ParamSpace

    space = ParamSpace(
        [
            Param("x", LinearSpace(min=0, max=10, is_integer=True), 5),
            Param("opt", CategoricalSpace(["adam", 1, True]), "adam"),
            Param("arch", ArchSpace(), [[64]]),
        ]
    )
    config = TunerConfig(direction="minimize")
    runs = [
        ({"x": 3, "opt": 1, "arch": [[64]]}, 0.5, 1.0, False),
        ({"x": 4, "opt": "adam", "arch": [[64]]}, 0.2, 2.0, False),
        ({"x": 3.0, "opt": 1.0, "arch": [(64,)]}, 0.7, 3.0, False),  # the first run again
        ({"x": 3, "opt": True, "arch": [[64]]}, 0.1, 1.0, False),  # True is not the choice 1
        ({"x": 5, "opt": 1, "arch": [[64]]}, 9.0, 1.0, True),
    ]
    observations = [Observation(*run) for run in runs]
    from_records = record_groups(observations, [space.key(o.params) for o in observations], -1.0)
    data = study_data(space, config, observations)
    assert from_records == data_groups(data)
    assert [(g.members, g.mean_goodness, g.cost) for g in from_records] == [
        ((0, 2), -0.6, 2.0),
        ((1,), -0.2, 2.0),
        ((3,), -0.1, 1.0),
    ]
    with pytest.raises(ValueError, match="0 keys for 5 observations"):
        data_groups(dataclasses.replace(data, keys=()))
