"""The ads-architecture task as a benchmark ``Problem`` on the built-in simulator.

Output = NE (minimized, NaN when the run diverged), cost = 1 / qps, cap = 1 / MIN_QPS, 60-day
runs whose daily NE curve is the evaluation's ``curve`` (step = day, cost = 1 / qps).
``optimum`` is the ceiling of a long local search on the default config (0.0365 in score
units) converted to NE; for other configs it is estimated by the best of a fixed random sample
of archs and their local refinements, so regret there is relative to a strong reference.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from carbs_lite.arch import ArchSpace
from carbs_lite.bench.problem import Evaluation, Problem
from carbs_lite.config import Direction
from carbs_lite.curves import ProgressPoint
from carbs_lite.spaces import Param
from carbs_lite.tasks.ads.simulator import ModelPerformanceAPI
from carbs_lite.tasks.ads.tuning import BASELINE_ARCH

DAYS = 60
DEFAULT_CEILING_SCORE = 0.0365
"""Best feasible noiseless score found by a long local search on the default config."""


class AdsArchProblem(Problem):
    """Tune ``arch`` on a simulator config (defaults plus ``overrides``)."""

    direction = Direction.MINIMIZE

    def __init__(self, overrides: dict[str, Any] | None = None, name: str = "ads-default") -> None:
        self.name = name
        self.overrides = dict(overrides or {})
        self.truth = ModelPerformanceAPI({**self.overrides, "GLOBAL_NOISE_SCALE": 0.0})
        self.max_cost = 1.0 / self.truth.config["MIN_QPS"]
        self.reference = self.truth.true_metrics(BASELINE_ARCH, DAYS).ne
        self.optimum = self._optimum()
        self._simulators: dict[int, ModelPerformanceAPI] = {}

    def _optimum(self) -> float:
        if not self.overrides:
            return self.reference * (1 - DEFAULT_CEILING_SCORE)
        return estimate_best_ne(self.truth, self.max_cost)

    def params(self) -> list[Param]:
        return [Param("arch", ArchSpace(), BASELINE_ARCH)]

    def evaluate(self, params: dict[str, Any], rng: np.random.Generator) -> Evaluation:
        config = {**self.overrides, "SEED": int(rng.integers(2**31))}
        ne, qps, curve = ModelPerformanceAPI(config).train_model(DAYS, params["arch"], True)
        true_ne = self.truth.true_metrics(params["arch"], DAYS).ne
        failed = math.isnan(ne)
        # the cost so far is 1/qps every day, as tune_arch reports it: training does not move it
        points = tuple(
            ProgressPoint(float(day), math.nan if v is None else float(v), 1.0 / qps)
            for day, v in enumerate(curve, 1)
        )
        true = math.nan if failed else true_ne
        return Evaluation(ne, 1.0 / qps, failed, true, {"qps": qps}, points)


def estimate_best_ne(truth: ModelPerformanceAPI, max_cost: float, samples: int = 3000) -> float:
    """Best feasible noiseless NE over a fixed random sample of archs refined by width moves."""
    rng = np.random.default_rng(12345)
    space = ArchSpace()
    lower, upper = space.basic_bounds(pad_integers=False)

    def value(row: np.ndarray) -> float:
        metrics = truth.true_metrics(space.from_basic(row), DAYS)
        return metrics.ne if 1.0 / metrics.qps < max_cost else math.inf

    rows = rng.uniform(lower, upper, (samples, space.dim))
    scores = np.array([value(r) for r in rows])
    best_rows = rows[np.argsort(scores)[:10]]
    best = float(scores.min())
    for row in best_rows:
        for _ in range(200):
            step = np.clip(row + 0.1 * rng.standard_normal(space.dim), lower, upper)
            if (score := value(step)) < value(row):
                row = step
                best = min(best, score)
    return best
