"""Learning curves: a try's intermediate results (``ProgressPoint``), the check that a new
one may follow the last, and a finished try's curve as every reader sees it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carbs_lite.records import Observation, Suggestion


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
    ``suggestion``: a step that is not finite or not above the last one, a cost that is not
    finite and > 0 or is below the last one."""
    where = f"suggestion {suggestion.id!r}"
    if not math.isfinite(point.step):
        raise ValueError(f"{where}: step must be a finite number, got {point.step}")
    if not (math.isfinite(point.cost) and point.cost > 0):
        raise ValueError(f"{where}: cost must be finite and > 0, got {point.cost}")
    if suggestion.progress:
        last = suggestion.progress[-1]
        if point.step <= last.step:
            raise ValueError(
                f"{where}: step {point.step:g} does not come after its last step {last.step:g}"
            )
        if point.cost < last.cost:
            raise ValueError(
                f"{where}: cost {point.cost:g} is below the {last.cost:g} spent by step "
                f"{last.step:g}; give the cost spent so far, which cannot decrease"
            )


def stopped_unbroken(observation: Observation) -> bool:
    """Whether ``observation`` is a try stopped early (``Observation.stopped``) whose last
    result was finite: a failure for the front, the best pick and the output model, but not
    for the success model (``StudyData.failures``) or the adaptive search radius, since it
    was stopped as not worth finishing, not because it broke."""
    return observation.stopped is not None and math.isfinite(observation.output)


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
