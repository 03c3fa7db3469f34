"""COCO BBOB functions with a budget parameter: known optimum, cost, integer variables."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

cocoex = pytest.importorskip(
    "cocoex", reason="coco-experiment is not installed (the test extra has it)"
)

from carbs_lite.bench.bbob import BBOBProblem  # noqa: E402


def test_continuous_function_with_budget():
    problem = BBOBProblem("bbob", 8, 5)
    rng = np.random.default_rng(0)
    center = {p.name: p.search_center for p in problem.params()}
    cheap = problem.evaluate(center, rng)
    rich = problem.evaluate({**center, "budget": 40.0}, rng)
    assert cheap.cost == 5.0 and rich.cost == 40.0 and rich.output < cheap.output
    assert cheap.output == pytest.approx(problem.reference)
    # the optimum (f_opt at the cap) is below anything the center reaches
    assert problem.optimum < rich.output
    assert problem.normalized_regret(problem.optimum) == pytest.approx(0.0)


def test_mixint_has_integer_params_and_survives_pickling():
    problem = BBOBProblem("bbob-mixint", 1, 5)
    params = problem.params()
    assert sum(getattr(p.space, "is_integer", False) for p in params) == 4
    clone = pickle.loads(pickle.dumps(problem))
    assert clone.optimum == problem.optimum and math.isfinite(clone.optimum)
