"""A mixed problem: one clearly best choice among four, crossed with two continuous params.

An optimizer choice k in {sgd, momentum, rmsprop, adam} and x, y in [-1, 1] (minimized):

    loss = OFFSET[k] + (x - X[k])^2 + (y - Y[k])^2,   cost = 1

OFFSET is 0 for adam and at least 0.5 for the others, and each choice has its own best (x, y),
so the continuous params must be searched per choice. The optimum is 0 (adam at (X, Y)); the
search center (sgd at the origin) scores ``reference``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from carbs_lite.bench.problem import Evaluation, Problem
from carbs_lite.categorical import CategoricalSpace
from carbs_lite.config import Direction
from carbs_lite.spaces import LinearSpace, Param

OFFSET = {"sgd": 0.5, "momentum": 0.7, "rmsprop": 0.6, "adam": 0.0}
BEST_X = {"sgd": -0.4, "momentum": 0.5, "rmsprop": 0.2, "adam": 0.3}
BEST_Y = {"sgd": 0.6, "momentum": -0.3, "rmsprop": -0.5, "adam": -0.2}
BEST_CHOICE = "adam"
CENTER = {"optimizer": "sgd", "x": 0.0, "y": 0.0}


def choice_loss(optimizer: str, x: float, y: float) -> float:
    """Noiseless loss of the categorical problem."""
    return OFFSET[optimizer] + (x - BEST_X[optimizer]) ** 2 + (y - BEST_Y[optimizer]) ** 2


class CategoricalProblem(Problem):
    """The optimizer-choice problem; Gaussian output noise of std ``noise``, no cost cap."""

    direction = Direction.MINIMIZE
    max_cost = None
    optimum = 0.0

    def __init__(self, noise: float = 0.0) -> None:
        self.noise = float(noise)
        self.name = "categorical-4x2d" if noise == 0 else f"categorical-4x2d-noisy{noise:g}"
        self.reference = choice_loss(**CENTER)

    def params(self) -> list[Param]:
        return [
            Param("optimizer", CategoricalSpace(list(OFFSET)), CENTER["optimizer"]),
            Param("x", LinearSpace(min=-1.0, max=1.0), CENTER["x"]),
            Param("y", LinearSpace(min=-1.0, max=1.0), CENTER["y"]),
        ]

    def evaluate(self, params: dict[str, Any], rng: np.random.Generator) -> Evaluation:
        true = choice_loss(params["optimizer"], params["x"], params["y"])
        observed = true + self.noise * float(rng.standard_normal())
        return Evaluation(observed, 1.0, False, true)
