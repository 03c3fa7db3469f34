"""Pareto logic as pure functions over plain sequences and arrays, and the one place the
front's switches apply.

Goodness is the output oriented so that larger is better. Successful runs of the same params
form a *group*; the front is built over groups sorted by cost. ``study_front`` and
``search_front`` apply ``Heuristics.low_cost_bucketing``, ``conservative_pareto`` and
``front_under_cap`` to a study's data; every other module asks them for a front.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import Heuristics
from carbs_lite.records import Observation, ParetoPoint, StudyState
from carbs_lite.spaces import ParamSpace
from carbs_lite.study_data import StudyData

if TYPE_CHECKING:
    import numpy as np
else:
    from carbs_lite.deferred import numpy as np


@dataclass(frozen=True)
class Group:
    """Successful runs of the same params (``ParamSpace.key``). ``members`` index the caller's
    sequences of successes."""

    members: tuple[int, ...]
    mean_goodness: float
    max_goodness: float
    cost: float

    @property
    def count(self) -> int:
        return len(self.members)


def group_runs(
    keys: Sequence[Hashable], goodness: Sequence[float], cost: Sequence[float]
) -> list[Group]:
    """Group the runs (n of each) with equal ``keys``, in order of first appearance; a group's
    cost is its runs' mean cost. ValueError if the lengths differ."""
    if not len(keys) == len(goodness) == len(cost):
        raise ValueError(f"{len(keys)} keys for {len(goodness)} goodness and {len(cost)} costs")
    members: dict[Hashable, list[int]] = {}
    for index, key in enumerate(keys):
        members.setdefault(key, []).append(index)
    groups = []
    for rows in members.values():
        values = [float(goodness[i]) for i in rows]
        mean_cost = _mean([float(cost[i]) for i in rows])
        groups.append(Group(tuple(rows), _mean(values), max(values), mean_cost))
    return groups


def _mean(values: list[float]) -> float:
    """The mean, summed left to right: the same bits on every Python (3.12's ``sum`` of floats
    compensates its rounding, 3.11's does not)."""
    total = 0.0
    for value in values:
        total += value
    return total / len(values)


def data_groups(data: StudyData) -> list[Group]:
    """``group_runs`` of the successes of ``data`` by its ``keys``; ValueError if ``data``
    has no key per observation (built without ``StudyData.from_rows``)."""
    if len(data.keys) != len(data.cost):
        raise ValueError(
            f"StudyData has {len(data.keys)} keys for {len(data.cost)} observations; "
            "build it with StudyData.from_rows"
        )
    ok = data.successes
    keys = [key for key, success in zip(data.keys, ok.tolist(), strict=True) if success]
    return group_runs(keys, data.goodness[ok].tolist(), data.cost[ok].tolist())


def record_groups(
    observations: Sequence[Observation], keys: Sequence[Hashable], sign: float
) -> list[Group]:
    """``group_runs`` of the successful ``observations`` by their ``keys`` (one each), at
    goodness ``sign`` x output: the groups ``data_groups`` makes of the same runs, without
    building arrays."""
    successes = [(key, o) for key, o in zip(keys, observations, strict=True) if not o.is_failure]
    return group_runs(
        [key for key, _ in successes],
        [sign * o.output for _, o in successes],
        [o.cost for _, o in successes],
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
    groups: list[Group], config: TunerConfig, heuristics: Heuristics, cap: float | None = None
) -> list[Group]:
    """The front of a study's success ``groups`` (``data_groups`` or ``record_groups``),
    cheapest first; with ``cap``, only groups cheaper than it while any is. Applies the
    bucketing and conservative-group switches: bucketing fraction
    ``config.min_pareto_cost_fraction`` unless ``heuristics.low_cost_bucketing`` is off."""
    if cap is not None:
        groups = [g for g in groups if g.cost < cap] or groups
    fraction = bucketing_fraction(config, heuristics)
    return pareto_front(groups, fraction, heuristics.conservative_pareto)


def state_groups(state: StudyState) -> list[Group]:
    """``record_groups`` of a study's observations that are not retracted
    (``StudyState.active_observations``); ``members`` index the successes among them."""
    observations = state.active_observations
    space = ParamSpace(state.params)
    return record_groups(
        observations, [space.key(o.params) for o in observations], state.config.sign
    )


def state_front(state: StudyState) -> list[Group]:
    """``study_front`` of ``state_groups``: the front of a study's observations that are not
    retracted; ``members`` index the successes among them."""
    return study_front(state_groups(state), state.config, state.heuristics)


def search_front(data: StudyData, config: TunerConfig, heuristics: Heuristics) -> list[Group]:
    """The front the search starts from: ``study_front`` of ``data``, under the cost cap when
    ``heuristics.front_under_cap`` is on."""
    cap = config.max_suggestion_cost if heuristics.front_under_cap else None
    return study_front(data_groups(data), config, heuristics, cap)


def front_points(groups: list[Group], params: list[dict], config: TunerConfig) -> list[ParetoPoint]:
    """Front groups as ``ParetoPoint``s; ``params`` (one dict per success, in the order the
    groups' members index) names each group by its first member."""
    # + 0.0: a minimized output of 0 comes back as 0.0, not the sign flip's -0.0
    return [
        ParetoPoint(params[g.members[0]], config.sign * g.mean_goodness + 0.0, g.cost, g.count)
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
