"""Pareto logic as pure functions over plain arrays, and the one place the front's switches apply.

Goodness is the output oriented so that larger is better. Observations with the same basic
input form a *group*; the front is built over groups sorted by cost. ``study_front`` and
``search_front`` apply ``Heuristics.low_cost_bucketing``, ``conservative_pareto`` and
``front_under_cap`` to a study's data; every other module asks them for a front.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import Heuristics
from carbs_lite.records import ParetoPoint, StudyData, StudyState
from carbs_lite.spaces import ParamSpace


@dataclass(frozen=True)
class Group:
    """Successful observations that share one input. ``members`` index the caller's arrays."""

    members: tuple[int, ...]
    mean_goodness: float
    max_goodness: float
    cost: float

    @property
    def count(self) -> int:
        return len(self.members)


def group_by_input(inputs: np.ndarray, goodness: np.ndarray, cost: np.ndarray) -> list[Group]:
    """Group rows of ``inputs`` (n, d) that are equal to 1e-9; cost of a group is its mean cost."""
    if len(inputs) == 0:
        return []
    keys = np.round(np.asarray(inputs, dtype=float), 9)
    _, first, labels = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    # members of each label in ascending order, found by one stable sort (not one scan each)
    order = np.argsort(labels.ravel(), kind="stable")
    bounds = np.searchsorted(labels.ravel()[order], np.arange(len(first) + 1))
    goodness, cost = np.asarray(goodness, dtype=float), np.asarray(cost, dtype=float)
    return [_group(order[bounds[k] : bounds[k + 1]], goodness, cost) for k in np.argsort(first)]


def _group(members: np.ndarray, goodness: np.ndarray, cost: np.ndarray) -> Group:
    if len(members) == 1:  # most groups: skip numpy's per-call overhead
        index = int(members[0])
        value = float(goodness[index])
        return Group((index,), value, value, float(cost[index]))
    return Group(
        members=tuple(members.tolist()),
        mean_goodness=float(np.mean(goodness[members])),
        max_goodness=float(np.max(goodness[members])),
        cost=float(np.mean(cost[members])),
    )


def sorted_quantile(ascending: list[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1) of ascending values, by numpy's default method ("linear",
    Hyndman and Fan's type 7) in numpy's own arithmetic, so it equals ``np.quantile`` to the
    bit. Written out because ``np.quantile`` imports ``numpy.ma`` on first use, 20-30 ms of
    every ``carbs-lite status`` and ``observe``."""
    n = len(ascending)
    position = (n - 1) * q  # numpy's virtual index for this method
    if position >= n - 1:
        return float(ascending[-1])
    if position < 0:
        return float(ascending[0])
    low = math.floor(position)
    weight = position - low
    a, b = ascending[low], ascending[low + 1]
    # numpy's lerp: from the nearer end, so that weight 1 gives b exactly
    return float(b - (b - a) * (1 - weight) if weight >= 0.5 else a + (b - a) * weight)


def bucket_threshold(groups: list[Group], fraction: float) -> float:
    """The cost at or below which groups are bucketed: the ``fraction`` quantile of their
    costs (``sorted_quantile``)."""
    return sorted_quantile(sorted(g.cost for g in groups), fraction)


def bucketing_fraction(config: TunerConfig, heuristics: Heuristics) -> float:
    """The quantile of group costs bucketed together: ``config.min_pareto_cost_fraction``, or
    0 (only the cheapest cost) with ``heuristics.low_cost_bucketing`` off."""
    return config.min_pareto_cost_fraction if heuristics.low_cost_bucketing else 0.0


def pareto_front(groups: list[Group], bucket_fraction: float, conservative: bool) -> list[Group]:
    """Groups on the cost/goodness front, cheapest first, goodness strictly increasing.

    Groups whose cost is at most the ``bucket_fraction`` quantile of group costs are bucketed:
    only the best of them is a front candidate. A later group joins if its mean goodness beats
    the last front group's mean; when ``conservative``, a single-sample group must beat that
    group's max instead.
    """
    if not groups:
        return []
    by_cost = sorted(groups, key=lambda g: (g.cost, -g.mean_goodness))
    threshold = bucket_threshold(by_cost, bucket_fraction)
    bucket = [g for g in by_cost if g.cost <= threshold]
    front = [max(bucket, key=lambda g: g.mean_goodness)]
    for group in by_cost[len(bucket) :]:
        last = front[-1]
        bar = last.max_goodness if conservative and group.count == 1 else last.mean_goodness
        if group.mean_goodness > bar:
            front.append(group)
    return front


def study_front(
    data: StudyData, config: TunerConfig, heuristics: Heuristics, cap: float | None = None
) -> list[Group]:
    """Front groups over the successes of ``data`` (``members`` index the successes), cheapest
    first; with ``cap``, only groups cheaper than it while any is. Applies the bucketing and
    conservative-group switches: bucketing fraction ``config.min_pareto_cost_fraction`` unless
    ``heuristics.low_cost_bucketing`` is off."""
    ok = data.successes
    groups = group_by_input(data.inputs[ok], data.goodness[ok], data.cost[ok])
    if cap is not None:
        groups = [g for g in groups if g.cost < cap] or groups
    fraction = bucketing_fraction(config, heuristics)
    return pareto_front(groups, fraction, heuristics.conservative_pareto)


def state_front(state: StudyState) -> list[Group]:
    """``study_front`` of a study's observations that are not retracted
    (``StudyState.active_observations``); ``members`` index the successes among them."""
    data = StudyData.from_records(
        ParamSpace(state.params), state.config, state.active_observations, []
    )
    return study_front(data, state.config, state.heuristics)


def search_front(data: StudyData, config: TunerConfig, heuristics: Heuristics) -> list[Group]:
    """The front the search starts from: ``study_front``, under the cost cap when
    ``heuristics.front_under_cap`` is on."""
    cap = config.max_suggestion_cost if heuristics.front_under_cap else None
    return study_front(data, config, heuristics, cap)


def front_points(groups: list[Group], params: list[dict], config: TunerConfig) -> list[ParetoPoint]:
    """Front groups as ``ParetoPoint``s; ``params`` (one dict per success, in the order the
    groups' members index) names each group by its first member."""
    return [
        ParetoPoint(params[g.members[0]], config.sign * g.mean_goodness, g.cost, g.count)
        for g in groups
    ]


def running_best(cost: np.ndarray, goodness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper envelope: sorted costs and the best goodness at that cost or cheaper."""
    order = np.argsort(cost, kind="stable")
    sorted_cost = cost[order]
    best = np.maximum.accumulate(goodness[order])
    # tied costs all get the best of the tie, not just the ones sorted after it
    last_of_tie = np.searchsorted(sorted_cost, sorted_cost, side="right") - 1
    return sorted_cost, best[last_of_tie]


def front_improvements(cost: np.ndarray, goodness: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """(n,) bool: whether each observation, taken in order, beat every earlier success that
    cost as much or less, i.e. joined the Pareto front when it was observed. Failures never
    do. O(n log n): prefix maxima over cost ranks in a Fenwick tree."""
    ranks = np.searchsorted(np.unique(cost), cost) + 1
    tree = np.full(len(np.unique(cost)) + 1, -np.inf)
    improved = np.zeros(len(cost), dtype=bool)
    for i, (rank, value) in enumerate(zip(ranks.tolist(), goodness.tolist(), strict=True)):
        if failed[i]:
            continue
        best, j = -np.inf, rank
        while j > 0:
            best, j = max(best, tree[j]), j - (j & -j)
        improved[i] = value > best
        while rank < len(tree):
            tree[rank], rank = max(tree[rank], value), rank + (rank & -rank)
    return improved


def isotonic_increasing(y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares non-decreasing fit to ``y`` (pool adjacent violators)."""
    weights = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    values: list[float] = []
    sizes: list[float] = []
    counts: list[int] = []
    for value, weight in zip(np.asarray(y, dtype=float), weights, strict=True):
        values.append(value)
        sizes.append(weight)
        counts.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            total = sizes[-2] + sizes[-1]
            merged = (values[-2] * sizes[-2] + values[-1] * sizes[-1]) / total
            count = counts[-2] + counts[-1]
            del values[-1], sizes[-1], counts[-1]
            values[-1], sizes[-1], counts[-1] = merged, total, count
    return np.repeat(values, counts)
