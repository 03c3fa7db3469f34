"""Curve observations (``Heuristics.curve_observations``): the output and cost models learn
from learning-curve points, which never reach the front or the best pick."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import objective, study_data

from carbs_lite import Heuristics, Tuner, TunerConfig
from carbs_lite.search import CURVE_POINTS_PER_TRY, Search
from carbs_lite.study_data import StudyData
from carbs_lite.surrogate import AtFullProgress, FittedGP

EPOCHS = 6


def _with_curves(params, steps: int = 8, on: bool = True, dip: bool = False) -> Tuner:
    """A tuner after ``steps`` tries on ``objective``, each reporting a learning curve that
    falls to its final loss over ``EPOCHS`` epochs at a cost growing with the epochs; with
    ``dip``, the first try's curve passes far below every final loss on epoch 2."""
    config = TunerConfig(direction="minimize", num_candidates_per_dim=50)
    tuner = Tuner(params, config, Heuristics(curve_observations=on), seed=3)
    for i in range(steps):
        suggestion = tuner.suggest()
        loss, cost = objective(suggestion.params)
        for epoch in range(1, EPOCHS + 1):
            point = loss + 1.0 / epoch - 1.0 / EPOCHS
            if dip and i == 0 and epoch == 2:
                point = -100.0
            tuner.observe_progress(suggestion, epoch, point, cost * epoch / EPOCHS)
        tuner.observe(suggestion, loss, cost)
    return tuner


def _data(tuner: Tuner) -> StudyData:
    state = tuner.to_state()
    return study_data(tuner.param_space, tuner.config, state.observations)


def _switched(tuner: Tuner, on: bool) -> Tuner:
    """The same study with ``curve_observations`` set to ``on``."""
    heuristics = dataclasses.replace(tuner.heuristics, curve_observations=on)
    return Tuner.from_state(dataclasses.replace(tuner.to_state(), heuristics=heuristics))


def test_study_data_holds_each_finished_trys_points_before_its_last(params):
    tuner = _with_curves(params, steps=3)
    curves = _data(tuner).curves
    assert curves is not None
    assert np.array_equal(np.bincount(curves.run), [EPOCHS - 1] * 3)
    first = curves.subset(curves.run == 0)
    observation = tuner.observations[0]
    assert np.allclose(first.progress, np.arange(1, EPOCHS) / EPOCHS)
    assert np.allclose(first.cost, observation.cost * np.arange(1, EPOCHS) / EPOCHS)
    # minimized: goodness = -output
    assert first.goodness[-1] == pytest.approx(
        -(observation.output + 1.0 / (EPOCHS - 1) - 1.0 / EPOCHS)
    )


def test_old_curve_lists_get_costs_in_proportion_to_steps_and_failures_give_none(params):
    tuner = Tuner(params, TunerConfig(direction="minimize"))
    tuner.observe({"lr": 1e-3, "width": 32}, 0.5, 2.0, extra={"curve": [0.9, None, 0.6, 0.5]})
    tuner.observe({"lr": 1e-2, "width": 64}, math.nan, 1.0, extra={"curve": [0.9, 0.8]})
    curves = _data(tuner).curves
    assert curves.run.tolist() == [0, 0]  # the None and the last point are left out
    assert np.allclose(curves.cost, [2.0 * 1 / 4, 2.0 * 3 / 4])
    assert np.allclose(curves.progress, [0.25, 0.75])


def test_a_stopped_try_gives_its_points_at_the_finished_runs_length(params):
    tuner = _with_curves(params, steps=2)
    suggestion = tuner.suggest()
    tuner.observe_progress(suggestion, 1, 0.9, 0.1)
    tuner.observe_progress(suggestion, 3, 0.8, 0.3)
    tuner.stop(suggestion, "not worth finishing")
    curves = _data(tuner).curves
    stopped = curves.subset(curves.run == 2)
    assert np.allclose(stopped.progress, [1 / EPOCHS, 3 / EPOCHS])
    assert np.allclose(stopped.cost, [0.1, 0.3])


def test_the_switch_adds_curve_rows_to_the_output_and_cost_models_only_when_on(params):
    on = _with_curves(params)
    data = _data(on)
    successes = int(data.successes.sum())
    models = Search(on.param_space, on.config, on.heuristics).fit(data, np.random.default_rng(0))
    added = successes * min(CURVE_POINTS_PER_TRY, EPOCHS - 1)
    for model in (models.output, models.cost):
        assert isinstance(model, AtFullProgress)
        assert model.model.model.X.shape == (successes + added, on.param_space.dim + 1)
        assert model.lengthscale.shape == (on.param_space.dim,)
    off = _switched(on, False)
    models = Search(off.param_space, off.config, off.heuristics).fit(data, np.random.default_rng(0))
    for model in (models.output, models.cost):
        assert isinstance(model, FittedGP)
        assert model.model.X.shape == (successes, off.param_space.dim)


def test_curve_rows_respect_the_conditioning_limit(params):
    tuner = _with_curves(params)
    config = dataclasses.replace(tuner.config, max_condition_points=10)
    data = _data(tuner)
    rows = Search(tuner.param_space, config, tuner.heuristics).curve_rows(data, np.arange(8))
    assert len(rows.run) == 2  # 10 conditioning points less the 8 runs


def test_curve_points_never_join_the_front_or_the_best_pick(params):
    tuner = _with_curves(params, dip=True)
    assert tuner.best().output > -100.0
    assert all(p.output > -100.0 for p in tuner.pareto_front())
    tuner.suggest()  # the search runs with the dip in its models


def test_the_switch_changes_suggestions_on_a_study_with_curves(params):
    on = _with_curves(params)
    off = _switched(on, False)
    assert on.suggest().params != off.suggest().params


def test_ads_problems_return_the_daily_curve_at_the_serving_cost():
    from carbs_lite.bench.suite import make_problem

    problem = make_problem("ads-default")
    center = {"arch": problem.params()[0].search_center}
    evaluation = problem.evaluate(center, np.random.default_rng(0))
    assert [p.step for p in evaluation.curve] == list(range(1, 61))
    assert all(p.cost == evaluation.cost for p in evaluation.curve)
    assert evaluation.curve[-1].output == evaluation.output


def test_digits_returns_the_validation_loss_after_each_epoch_at_the_flops_so_far():
    from carbs_lite.bench.digits import DigitsMLPProblem

    problem = DigitsMLPProblem()
    params = {"lr": 1e-2, "width": 8, "depth": 1, "epochs": 3, "weight_decay": 1e-3}
    evaluation = problem.evaluate(params, np.random.default_rng(0))
    assert [p.step for p in evaluation.curve] == [1.0, 2.0, 3.0]
    assert np.allclose([p.cost for p in evaluation.curve], evaluation.cost * np.arange(1, 4) / 3)
    assert evaluation.curve[-1].output == evaluation.output
