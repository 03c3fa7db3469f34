"""The digits-mlp problem: cost formula, seeded runs, learning curves, validation, the cap."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (the test extra has it)")

from carbs_lite.bench.digits import (  # noqa: E402
    CENTER,
    TRUE_SEEDS,
    DigitsMLPProblem,
    parameter_count,
    train,
)
from carbs_lite.bench.suite import DEFAULT_SUITE, PROBLEMS, make_problem  # noqa: E402

TINY = {"lr": 1e-2, "width": 8, "depth": 1, "epochs": 2, "weight_decay": 1e-3}
"""610 weights, 2 epochs: 6 * 610 * 1200 * 2 = 8.784 MFLOPs."""


@pytest.fixture(scope="module")
def problem() -> DigitsMLPProblem:
    return DigitsMLPProblem()


def test_cost_is_six_flops_per_weight_and_sample(problem):
    # 64 -> 16 -> 16 -> 10: 64*16 + 16 + 16*16 + 16 + 16*10 + 10 weights and biases
    assert parameter_count(16, 2) == 1482
    assert problem.cost({**TINY, "width": 16, "depth": 2, "epochs": 3}) == pytest.approx(
        6 * 1482 * 1200 * 3 / 1e9
    )
    evaluation = problem.evaluate(TINY, np.random.default_rng(0))
    assert evaluation.cost == pytest.approx(6 * 610 * 1200 * 2 / 1e9)
    assert problem.cost(CENTER) == pytest.approx(6 * 4810 * 1200 * 10 / 1e9)


def test_same_seed_same_run_other_seed_other_run(problem):
    first = problem.evaluate(TINY, np.random.default_rng(3))
    again = problem.evaluate(TINY, np.random.default_rng(3))
    other = problem.evaluate(TINY, np.random.default_rng(4))
    assert first.output == again.output and first.extra["curve"] == again.extra["curve"]
    assert other.output != first.output
    # the true output does not depend on the run's seed
    assert first.true_output == other.true_output


def test_curve_has_one_value_per_epoch_and_ends_at_the_output(problem):
    evaluation = problem.evaluate({**TINY, "epochs": 5}, np.random.default_rng(0))
    assert len(evaluation.extra["curve"]) == 5
    assert evaluation.extra["curve"][-1] == evaluation.output
    assert not evaluation.is_failure and math.isfinite(evaluation.true_output)


def test_true_output_is_the_mean_over_the_fixed_seeds(problem):
    evaluation = problem.evaluate(TINY, np.random.default_rng(0))
    finals = [train(**TINY, seed=seed)[-1] for seed in TRUE_SEEDS]
    assert evaluation.true_output == pytest.approx(np.mean(finals))


@pytest.mark.parametrize(
    "change",
    [{"width": 0}, {"width": 300}, {"depth": 4}, {"lr": -1.0}, {"epochs": 2.5}, {"extra": 1}],
)
def test_bad_params_raise(problem, change):
    with pytest.raises(ValueError):
        problem.evaluate({**TINY, **change}, np.random.default_rng(0))


def test_missing_param_raises(problem):
    params = dict(TINY)
    del params["weight_decay"]
    with pytest.raises(ValueError, match="missing"):
        problem.evaluate(params, np.random.default_rng(0))


def test_a_diverged_run_is_nan_after_the_first_non_finite_epoch():
    curve = train(lr=1e12, width=16, depth=2, epochs=3, weight_decay=0.0, seed=0)
    assert len(curve) == 3 and not math.isfinite(curve[0]) and math.isnan(curve[-1])


def test_feasibility_respects_the_cap():
    problem = DigitsMLPProblem(max_cost=0.05)
    rng = np.random.default_rng(0)
    under = problem.evaluate(TINY, rng)  # 0.0088 GFLOPs
    over = problem.evaluate({**TINY, "width": 32, "epochs": 5}, rng)  # 0.0864 GFLOPs
    assert under.cost < 0.05 < over.cost
    assert problem.is_feasible(under) and not problem.is_feasible(over)


def test_registered_outside_the_default_suite(problem):
    assert "digits-mlp" in PROBLEMS and "digits-mlp" not in DEFAULT_SUITE
    built = make_problem("digits-mlp")
    assert built.reference == problem.reference
    # the center is cheap and under the cap; the optimum is estimated below its value
    assert problem.cost(CENTER) < problem.max_cost
    assert problem.optimum < problem.reference
    assert problem.normalized_regret(problem.reference) == pytest.approx(1.0)
