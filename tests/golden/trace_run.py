"""One golden trace: the params of every suggestion the default Tuner makes on a suite problem."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import torch

from carbs_lite import Tuner, TunerConfig
from carbs_lite.bench.suite import PROBLEMS, make_problem

SLOW_TO_EVALUATE = {"digits-mlp"}
"""Problems left out of the traces: each evaluation trains a network for seconds."""
PROBLEM_NAMES = sorted(set(PROBLEMS) - SLOW_TO_EVALUATE)
BATCH = 2
"""Suggestions made before observing, as two parallel workers would (exercises outstanding points)."""


def trace(problem_name: str, seed: int, tries: int) -> list[str]:
    """Each suggestion's params as canonical JSON text, in order."""
    torch.set_num_threads(1)
    problem = make_problem(problem_name)
    config = dataclasses.replace(
        TunerConfig(), direction=problem.direction, max_suggestion_cost=problem.max_cost
    )
    tuner = Tuner(problem.params(), config, seed=seed)
    rng = np.random.default_rng([seed, 7919])
    rows: list[str] = []
    while len(rows) < tries:
        batch = [tuner.suggest() for _ in range(min(BATCH, tries - len(rows)))]
        for suggestion in batch:
            rows.append(json.dumps(suggestion.params, sort_keys=True))
            evaluation = problem.evaluate(suggestion.params, rng)
            tuner.observe(suggestion, evaluation.output, evaluation.cost, evaluation.is_failure)
    return rows
