"""Tuner API: suggest/observe/forget/best/pareto_front, degenerate data, threads."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from conftest import objective, run

from carbs_lite import LinearSpace, Param, Tuner, TunerConfig


def test_suggest_returns_valid_params_with_id_and_diagnostics(params, minimize):
    tuner = run(Tuner(params, minimize, seed=1), 8)
    suggestion = tuner.suggest()
    tuner.param_space.validate(suggestion.params)
    assert suggestion.id and suggestion.id in {s.id for s in tuner.outstanding}
    assert suggestion.diagnostics.source in {"search", "resample"}
    sources = [o.diagnostics.source for o in tuner.observations]
    assert sources[:4] == ["center"] + ["random"] * 3 and "search" in sources
    assert tuner.observations[0].params == {"lr": 1e-3, "width": 32}


def test_search_diagnostics_are_finite_probabilities(params, minimize):
    tuner = run(Tuner(params, minimize, seed=2), 6)
    searched = [o.diagnostics for o in tuner.observations if o.diagnostics.source == "search"]
    assert searched
    for diag in searched:
        assert 0 < diag.p_search <= 1 and diag.p_success == 1.0
        assert diag.expected_improvement > 0 and diag.predicted_cost > 0
        assert diag.acquisition == pytest.approx(diag.expected_improvement * diag.p_search)
        assert math.isfinite(diag.predicted_output)


def test_tuner_improves_on_random_phase(params, minimize):
    tuner = run(Tuner(params, minimize, seed=3), 25)
    random_best = min(o.output for o in tuner.observations[:4])
    assert tuner.best().output < random_best


def test_nan_and_inf_outputs_are_failures(params):
    tuner = Tuner(params)
    first = tuner.observe({"lr": 1e-3, "width": 32}, math.nan, 1.0)
    second = tuner.observe({"lr": 1e-3, "width": 32}, math.inf, 1.0)
    assert first.is_failure and second.is_failure and math.isnan(second.output)
    assert tuner.best() is None and tuner.pareto_front() == []


def test_a_minimized_output_of_zero_is_zero_on_the_front(params, minimize):
    # the front negates the goodness back into an output, which turned 0 into -0.0
    tuner = Tuner(params, minimize)
    tuner.observe({"lr": 1e-3, "width": 32}, 0.0, 1.0)
    (point,) = tuner.pareto_front()
    assert math.copysign(1.0, point.output) == 1.0


@pytest.mark.parametrize("cost", [0.0, -1.0, math.nan, math.inf, "cheap"])
def test_bad_cost_is_rejected_and_nothing_recorded(params, cost):
    tuner = Tuner(params)
    tuner.observe({"lr": 1e-3, "width": 32}, 1.0, 1.0)
    with pytest.raises(ValueError, match="cost"):
        tuner.observe({"lr": 1e-3, "width": 32}, 1.0, cost)
    assert len(tuner.observations) == 1


def test_unknown_or_missing_names_are_rejected(params):
    tuner = Tuner(params)
    with pytest.raises(ValueError, match=r"unknown \['depth'\]"):
        tuner.observe({"lr": 1e-3, "width": 32, "depth": 2}, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"missing \['width'\]"):
        tuner.observe({"lr": 1e-3}, 1.0, 1.0)
    assert tuner.observations == []


def test_observe_by_params_matches_outstanding_suggestion(params):
    tuner = Tuner(params)
    suggestion = tuner.suggest()
    observation = tuner.observe(dict(suggestion.params), 1.0, 1.0)
    assert observation.suggestion_id == suggestion.id and tuner.outstanding == []
    with pytest.raises(ValueError, match="already observed"):
        tuner.observe(suggestion, 1.0, 1.0)


def test_forget_removes_outstanding_and_rejects_unknown_ids(params):
    tuner = Tuner(params)
    suggestion = tuner.suggest()
    tuner.forget(suggestion.id)
    assert tuner.outstanding == []
    with pytest.raises(ValueError, match="no outstanding suggestion"):
        tuner.forget(suggestion.id)


def test_best_respects_direction_and_cost_cap(params):
    tuner = Tuner(params, TunerConfig(direction="maximize", max_suggestion_cost=2.0))
    tuner.observe({"lr": 1e-3, "width": 32}, 5.0, 1.0)
    tuner.observe({"lr": 1e-2, "width": 32}, 9.0, 3.0)
    tuner.observe({"lr": 1e-4, "width": 32}, 1.0, 0.5)
    assert tuner.best().output == 5.0


@pytest.mark.parametrize(
    "history",
    [
        "single",
        "same_cost",
        "same_point_many_costs",
        "only_failures",
        "constant_outputs",
        "tiny_and_huge_costs",
    ],
)
def test_degenerate_histories_never_crash(params, history):
    tuner = Tuner(params, TunerConfig(num_random_samples=0, num_candidates_per_dim=30), seed=4)
    point = {"lr": 1e-3, "width": 32}
    rng = np.random.default_rng(0)
    for i in range(6 if history != "single" else 1):
        other = {"lr": float(10 ** rng.uniform(-5, 0)), "width": int(rng.integers(8, 512))}
        if history == "same_cost":
            tuner.observe(other, float(rng.normal()), 1.0)
        elif history == "same_point_many_costs":
            tuner.observe(point, float(rng.normal()), 1.0 + i)
        elif history == "only_failures":
            tuner.observe(other, math.nan, 1.0, is_failure=True)
        elif history == "constant_outputs":
            tuner.observe(other, 3.0, 1.0 + i)
        elif history == "tiny_and_huge_costs":
            tuner.observe(other, float(rng.normal()), 10.0 ** (-12 + 5 * i))
        else:
            tuner.observe(point, 1.0, 1.0)
    for _ in range(3):
        suggestion = tuner.suggest()
        tuner.param_space.validate(suggestion.params)
        assert all(np.isfinite(v) for v in suggestion.params.values())


def test_parallel_workers_get_different_points(params, minimize):
    tuner = run(Tuner(params, minimize, seed=5), 6)
    pending = [tuner.suggest() for _ in range(4)]
    keys = {tuple(sorted(s.params.items())) for s in pending}
    assert len(keys) == 4


def test_small_scale_integer_still_moves():
    space = LinearSpace(min=1, max=10, is_integer=True, scale=0.01)
    tuner = Tuner([Param("n", space, 5)], TunerConfig(num_random_samples=20))
    values = {tuner.suggest().params["n"] for _ in range(20)}
    assert len(values) >= 3


def test_threads_calling_suggest_and_observe_lose_nothing(params, minimize):
    tuner = run(Tuner(params, minimize, seed=6), 4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(3):
                suggestion = tuner.suggest()
                tuner.observe(suggestion, *objective(suggestion.params))
        except BaseException as error:  # re-raised in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(tuner.observations) == 16 and tuner.outstanding == []
    ids = [o.suggestion_id for o in tuner.observations]
    assert len(set(ids)) == 16


def test_same_seed_same_suggestions(params, minimize):
    first = run(Tuner(params, minimize, seed=7), 7)
    second = run(Tuner(params, minimize, seed=7), 7)
    assert [o.params for o in first.observations] == [o.params for o in second.observations]
    third = run(Tuner(params, minimize, seed=8), 7)
    assert [o.params for o in third.observations] != [o.params for o in first.observations]


def test_another_random_stream_gives_another_point_reproducibly(params, minimize):
    study = run(Tuner(params, minimize, seed=7), 6)
    state = study.to_state()
    own = Tuner.from_state(state).suggest()
    assert Tuner.from_state(state).suggest(stream=0).params == own.params
    other = Tuner.from_state(state).suggest(stream=12345)
    assert other.params != own.params
    assert Tuner.from_state(state).suggest(stream=12345).params == other.params
    with pytest.raises(ValueError, match="stream must be an int >= 0"):
        Tuner.from_state(state).suggest(stream=-1)


def test_cost_cap_keeps_searched_suggestions_under_predicted_cap(params):
    config = TunerConfig(direction="minimize", max_suggestion_cost=1.0, num_candidates_per_dim=50)
    tuner = run(Tuner(params, config, seed=9), 12)
    searched = [o for o in tuner.observations if o.diagnostics.source == "search"]
    assert searched and all(o.diagnostics.predicted_cost < 1.0 for o in searched)


def test_numerical_failure_falls_back_to_sampling_around_the_front(
    params, minimize, monkeypatch, caplog
):
    import torch

    import carbs_lite.search as search_module

    tuner = run(Tuner(params, minimize, seed=10), 5)

    def failing_fit(*args, **kwargs):
        raise torch.linalg.LinAlgError("cholesky failed")

    monkeypatch.setattr(search_module, "fit_gp", failing_fit)
    suggestion = tuner.suggest()
    assert suggestion.diagnostics.source == "fallback"
    tuner.param_space.validate(suggestion.params)
    assert "surrogate search failed (cholesky failed)" in caplog.text


@pytest.mark.parametrize("design, count", [("space_filling", 8), ("around_center", 5)])
def test_parallel_workers_in_the_random_phase_get_different_points(design, count):
    from carbs_lite import Heuristics

    params = [Param("n", LinearSpace(min=0, max=20, is_integer=True), 10)]
    tuner = Tuner(
        params, TunerConfig(num_random_samples=8), Heuristics.from_json({"initial_design": design})
    )
    values = [tuner.suggest().params["n"] for _ in range(count)]
    assert len(set(values)) == count  # around the center: std 1, so 5 values within +-2


@pytest.mark.parametrize("journal", [False, True])
def test_dicts_handed_out_are_the_callers_to_change(tmp_path, params, journal):
    # adding fixed settings to a suggestion's params used to make every later suggest() and
    # the saved file fail: the study shared its own dicts with the caller
    tuner = Tuner.open(tmp_path / "j.jsonl", params) if journal else Tuner(params)
    suggestion = tuner.suggest()
    recorded = dict(suggestion.params)
    suggestion.params["batch_size"] = 32
    observation = tuner.observe(suggestion, 1.0, 1.0, extra={"note": "a"})
    observation.params["other"] = 1
    observation.extra["note"] = {1, 2}
    tuner.observations[0].params.clear()
    tuner.best().params["x"] = 0
    tuner.observe(tuner.suggest(), 2.0, 1.0)
    tuner.save(tmp_path / "copy.json")
    restored = Tuner.load(tmp_path / "copy.json").observations
    assert restored[0].params == recorded
    assert restored[0].extra == {"note": "a"}
