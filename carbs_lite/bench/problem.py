"""The benchmark problem contract: a tiny class with params, a cost cap and one evaluate method."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from carbs_lite.config import Direction
from carbs_lite.curves import ProgressPoint
from carbs_lite.records import is_feasible
from carbs_lite.spaces import Param


@dataclass(frozen=True)
class Evaluation:
    """One run: the observed (possibly noisy) output and cost, and the noiseless true output.

    ``true_output`` is what regret is measured on; it is NaN when the run failed. ``curve``:
    the run's learning curve, its intermediate results in step order, each with the cost
    spent so far (what ``Study.observe_progress`` takes; empty when the problem has none).
    """

    output: float
    cost: float
    is_failure: bool = False
    true_output: float = math.nan
    extra: dict[str, Any] = field(default_factory=dict)
    curve: tuple[ProgressPoint, ...] = ()


class Problem(ABC):
    """A black box to tune. ``optimum`` is the best true output among points under the cap.

    ``reference`` is the true output at the search center; normalized regret is
    (optimum - best) / (optimum - reference) in the better direction.
    """

    name: str
    direction: Direction
    max_cost: float | None
    optimum: float
    reference: float

    @abstractmethod
    def params(self) -> list[Param]:
        """The search space, with search centers."""

    @abstractmethod
    def evaluate(self, params: dict[str, Any], rng: np.random.Generator) -> Evaluation:
        """Run once; all noise comes from ``rng``."""

    def is_feasible(self, evaluation: Evaluation) -> bool:
        """A run counts if it did not fail and its cost is under the cap (``is_feasible``)."""
        return is_feasible(evaluation.is_failure, evaluation.cost, self.max_cost)

    def normalized_regret(self, best_true_output: float) -> float:
        """0 at the optimum, 1 at the search center's value; NaN-safe (NaN -> 1)."""
        sign = 1.0 if self.direction is Direction.MAXIMIZE else -1.0
        span = sign * (self.optimum - self.reference)
        if math.isnan(best_true_output) or span <= 0:
            return 1.0
        return sign * (self.optimum - best_true_output) / span
