"""Learning curves: a try's intermediate results (``ProgressPoint``), the check that a new
one may follow the last, a finished try's curve as every reader sees it, and the study's curve
points as arrays (``CurvePoints``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from carbs_lite.records import Observation, Suggestion
else:
    from carbs_lite.deferred import numpy as np


@dataclass(frozen=True)
class ProgressPoint:
    """One intermediate result of a running try: its output after ``step`` steps (epochs,
    training days; any increasing, finite unit) and the ``cost`` spent so far (> 0, in the
    study's cost unit). ``output`` is NaN where the run had no finite result (e.g. it diverged).
    """

    step: float
    output: float
    cost: float

    def to_json(self) -> dict[str, Any]:
        """``{"step", "output", "cost"}``; a NaN output becomes None (standard JSON)."""
        output = None if math.isnan(self.output) else self.output
        return {"step": self.step, "output": output, "cost": self.cost}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProgressPoint:
        output = data["output"]
        return cls(
            float(data["step"]), math.nan if output is None else float(output), float(data["cost"])
        )


def check_progress(suggestion: Suggestion, point: ProgressPoint) -> None:
    """ValueError naming what makes ``point`` no valid next intermediate result of
    ``suggestion``: a step that is not a finite number >= 0 or not above the last one, a cost
    that is not finite and > 0 or is below the last one."""
    last = suggestion.progress[-1] if suggestion.progress else None
    check_next_point(f"suggestion {suggestion.id!r}", last, point)


def check_next_point(where: str, last: ProgressPoint | None, point: ProgressPoint) -> None:
    """``check_progress``'s rule for ``point`` after ``last`` (None: the first point), its
    ValueErrors starting with ``where``."""
    if not (math.isfinite(point.step) and point.step >= 0):
        # a step counts training done (steps, epochs, days): a curve's progress is its
        # step over the last step, which a negative step would turn into nonsense
        raise ValueError(f"{where}: step must be a finite number >= 0, got {point.step}")
    if not (math.isfinite(point.cost) and point.cost > 0):
        raise ValueError(f"{where}: cost must be finite and > 0, got {point.cost}")
    if last is not None:
        if point.step <= last.step:
            raise ValueError(
                f"{where}: step {point.step:g} does not come after its last step {last.step:g}"
            )
        if point.cost < last.cost:
            raise ValueError(
                f"{where}: cost {point.cost:g} is below the {last.cost:g} spent by step "
                f"{last.step:g}; give the cost spent so far, which cannot decrease"
            )


def check_final_cost(curve: tuple[ProgressPoint, ...], cost: float) -> None:
    """ValueError if a try's final ``cost`` is below what its learning ``curve`` had already
    spent: costs are the spend so far, so they cannot decrease."""
    # a relative 1e-9 of slack: a simulator that sums per-step costs may end a hair below
    # its own running total through float rounding
    if curve and cost < curve[-1].cost * (1.0 - 1e-9):
        last = curve[-1]
        raise ValueError(
            f"cost {cost:g} is below the {last.cost:g} its learning curve had spent by step "
            f"{last.step:g}; give the whole run's cost, which cannot decrease"
        )


def stopped_unbroken(observation: Observation) -> bool:
    """Whether ``observation`` is a try stopped early (``Observation.stopped``) whose last
    result was finite: a failure for the front, the best pick and the output model, but not
    for the success model (``StudyData.failures``) or the adaptive search radius, since it
    was stopped as not worth finishing, not because it broke."""
    return observation.stopped is not None and math.isfinite(observation.output)


def stopped_while_spending(observation: Observation) -> bool:
    """Whether ``observation`` is a try stopped early (``Observation.stopped``) whose cost
    still grew along its learning curve, so that its cost is what it spent until the stop,
    not what a run of its config costs. A cost that stays put along the curve (a serving
    cost, such as the ads task's 1/QPS) is the run's own, stopped or not."""
    if observation.stopped is None:
        return False
    costs = [p.cost for p in learning_curve(observation) if math.isfinite(p.cost)]
    return len(costs) > 1 and costs[-1] > costs[0]


def learning_curve(observation: Observation) -> list[ProgressPoint]:
    """The try's learning curve: ``Observation.curve``, else a list of outputs the user kept
    in ``extra["curve"]`` (as the ads task, the Ray and Optuna integrations did before
    ``observe_progress``) read as steps 1, 2, ... at an unknown (NaN) cost; [] if neither."""
    if observation.curve:
        return list(observation.curve)
    values = observation.extra.get("curve")
    if not isinstance(values, list):
        return []
    return [
        ProgressPoint(float(step), _finite_or_nan(value), math.nan)
        for step, value in enumerate(values, 1)
    ]


def _finite_or_nan(value: Any) -> float:
    """A curve value read from user data: the number, or NaN for None and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


@dataclass(frozen=True)
class CurvePoints:
    """The intermediate results of a study's tries as arrays of k points, in try and step order.

    ``run`` (k,) int: the index of the point's try among the study's observations (rows of
    ``StudyData``); ``progress`` (k,) in (0, 1]: the point's step over its full run's last
    step; ``goodness`` (k,) = sign * output, finite; ``cost`` (k,) > 0: the cost spent so far.
    """

    run: np.ndarray
    progress: np.ndarray
    goodness: np.ndarray
    cost: np.ndarray

    def subset(self, rows: np.ndarray) -> CurvePoints:
        """The points at indices ``rows`` (j,)."""
        return CurvePoints(
            self.run[rows], self.progress[rows], self.goodness[rows], self.cost[rows]
        )


def curve_points(observations: list[Observation], sign: float) -> CurvePoints | None:
    """The points of ``observations``' learning curves that a model of finished runs may learn
    from, None if there is none. A finished try (a success) gives every finite point before
    its last one (the last stands for the try itself, already a row of its own), at progress
    step / its last step. A try stopped early with a finite result (``stopped_unbroken``)
    gives every finite point, at progress step / the median last step of the finished tries'
    curves (capped at 1), or none while no finished try has a curve. Other failures give
    none. A point without a cost (an ``extra["curve"]`` list) is given the try's final cost x
    step / last step, the cost of training in proportion to the steps."""
    curves = [learning_curve(o) for o in observations]
    finished = [
        c[-1].step for o, c in zip(observations, curves, strict=True) if c and not o.is_failure
    ]
    full_run = float(np.median(finished)) if finished else math.nan
    rows: list[tuple[int, float, float, float]] = []
    for index, (observation, curve) in enumerate(zip(observations, curves, strict=True)):
        if not curve:
            continue
        last = curve[-1].step
        if not observation.is_failure:
            points, full = curve[:-1], last
        elif stopped_unbroken(observation) and math.isfinite(full_run):
            points, full = curve, full_run
        else:
            continue
        for p in points:
            if not math.isfinite(p.output) or full <= 0 or p.step <= 0:
                continue
            cost = p.cost if math.isfinite(p.cost) else observation.cost * p.step / last
            rows.append((index, min(p.step / full, 1.0), sign * p.output, cost))
    if not rows:
        return None
    run, progress, goodness, cost = (np.array(column) for column in zip(*rows, strict=True))
    return CurvePoints(run.astype(int), progress, goodness, cost)
