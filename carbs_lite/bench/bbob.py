"""BBOB functions from COCO's ``cocoex`` (suites ``bbob`` and ``bbob-mixint``) with a cost.

COCO's functions have no cost, so each gets one extra parameter, a budget b in [1, 100]
(log scale), standing for how long the evaluation is allowed to run:

    output(x, b) = f(x) + S / b,   cost = b,   S = f(x_c) - f_opt,  x_c = the centre of the box

Spending more lowers the floor S / b, so the (cost, output) front is non-trivial; under the cap
C the optimum is f_opt + S / C (b just below C). f_opt = f(x_opt), with x_opt read from COCO.
Integer variables of ``bbob-mixint`` become integer ``LinearSpace``s.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from carbs_lite.bench.problem import Evaluation, Problem
from carbs_lite.config import Direction
from carbs_lite.spaces import LinearSpace, LogSpace, Param

BUDGET_CENTER = 5.0


def _optimal_solution(problem: Any) -> np.ndarray:
    """x_opt of a COCO problem (COCO writes it to a file in the working folder)."""
    import os

    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            problem._best_parameter("print")
            return np.loadtxt(Path(folder) / "._bbob_problem_best_parameter.txt", ndmin=1)
        finally:
            os.chdir(previous)


class BBOBProblem(Problem):
    """COCO function ``function`` in ``dimension`` dims (instance 1) plus a budget parameter."""

    direction = Direction.MINIMIZE

    def __init__(self, suite: str, function: int, dimension: int, max_cost: float = 50.0) -> None:
        import cocoex

        self.name = f"{suite}-f{function}-d{dimension}"
        self.suite_name, self.function, self.dimension = suite, function, dimension
        self.max_cost = float(max_cost)
        self._suite = cocoex.Suite(suite, "", "")
        self._problem = self._suite.get_problem_by_function_dimension_instance(
            function, dimension, 1
        )
        self.lower = np.asarray(self._problem.lower_bounds, dtype=float)
        self.upper = np.asarray(self._problem.upper_bounds, dtype=float)
        self.integers = int(self._problem.number_of_integer_variables)
        self.center = self._round(0.5 * (self.lower + self.upper))
        f_opt = float(self._problem(_optimal_solution(self._problem)))
        self.scale = float(self._problem(self.center)) - f_opt
        self.optimum = f_opt + self.scale / math.nextafter(self.max_cost, 0)
        self.reference = float(self._problem(self.center)) + self.scale / BUDGET_CENTER

    def _round(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float)
        x[: self.integers] = np.floor(x[: self.integers])
        return x

    def params(self) -> list[Param]:
        params = []
        for i, (low, high, mid) in enumerate(zip(self.lower, self.upper, self.center, strict=True)):
            integer = i < self.integers
            value = int(mid) if integer else float(mid)
            params.append(Param(f"x{i}", LinearSpace(min=low, max=high, is_integer=integer), value))
        return [*params, Param("budget", LogSpace(min=1.0, max=100.0), BUDGET_CENTER)]

    def evaluate(self, params: dict[str, Any], rng: np.random.Generator) -> Evaluation:
        x = np.array([params[f"x{i}"] for i in range(self.dimension)], dtype=float)
        value = float(self._problem(x)) + self.scale / params["budget"]
        return Evaluation(value, float(params["budget"]), False, value)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle by arguments: COCO objects cannot be pickled."""
        return {"args": (self.suite_name, self.function, self.dimension, self.max_cost)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(*state["args"])
