"""Large studies: beyond ``max_condition_points`` runs the GPs' hyperparameters are refit on a
schedule (``TunerConfig.refit_growth``) and reused in between, deterministically."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from carbs_lite import LinearSpace, Observation, Param, Tuner, TunerConfig
from carbs_lite.records import StudyData
from carbs_lite.search import Search, refit_size

PARAMS = [Param("x", LinearSpace(min=-2, max=2), 0.0), Param("y", LinearSpace(min=-2, max=2), 0.0)]
SMALL = TunerConfig(
    direction="minimize",
    num_candidates_per_dim=10,
    fit_iterations=5,
    resample_frequency=0,
    max_condition_points=20,
    refit_growth=0.25,
)


def _output(params: dict) -> float:
    return (params["x"] - 0.5) ** 2 + (params["y"] + 0.3) ** 2


def _study(count: int, config: TunerConfig = SMALL, seed: int = 0) -> Tuner:
    """A study of ``count`` runs at random points, some of them failures."""
    rng = np.random.default_rng(seed)
    runs = []
    for x, y in rng.uniform(-2, 2, (count, 2)):
        params = {"x": float(x), "y": float(y)}
        failed = bool(x > 1.5)
        runs.append(Observation(params, _output(params), 1.0 + abs(x), failed))
    empty = Tuner(PARAMS, config, seed=seed)
    return Tuner.from_state(dataclasses.replace(empty.to_state(), observations=runs))


def _search(tuner: Tuner) -> Search:
    return Search(tuner.param_space, tuner.config, tuner.heuristics)


def _data(tuner: Tuner) -> StudyData:
    observations = tuner.to_state().active_observations
    return StudyData.from_records(tuner.param_space, tuner.config, observations, [])


def _scheduled(tuner: Tuner, search: Search | None = None):
    return (search or _search(tuner)).scheduled_hyperparameters(_data(tuner))


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_refit_sizes_grow_geometrically_from_the_limit():
    # 1001, ceil(1001 x 1.05) = 1052, ceil(1052 x 1.05) = 1105, ...
    assert [refit_size(n, 1000, 0.05) for n in (1001, 1051, 1052, 1104, 1105)] == [
        1001,
        1001,
        1052,
        1052,
        1105,
    ]
    assert refit_size(10_000, 1000, 0.05) < 10_000 <= refit_size(10_000, 1000, 0.05) * 1.05 + 1
    assert [refit_size(n, 3, 0.1) for n in (4, 5, 6)] == [4, 5, 6]  # always at least one more


def test_small_studies_and_growth_zero_fit_at_every_step():
    assert _scheduled(_study(20)) is None
    assert _scheduled(_study(30, dataclasses.replace(SMALL, refit_growth=0.0))) is None


def test_hyperparameters_are_kept_between_refit_sizes_and_refit_past_them():
    # refit sizes 21, 27, 34, ...: 21 to 26 runs share the fit on the first 21
    tuner = _study(21)
    first = _scheduled(tuner)
    assert first.success is not None
    for n in (22, 26):
        grown = _scheduled(_study(n))
        assert all(_same(a, b) for a, b in zip(first, grown, strict=True))
    refit = _scheduled(_study(27))
    assert not _same(first.output, refit.output)


def test_each_step_uses_the_scheduled_hyperparameters():
    tuner = _study(23)
    search = _search(tuner)
    scheduled = _scheduled(tuner, search)
    models = search.score(
        _data(tuner), np.random.default_rng(1), SMALL.initial_search_radius
    ).models
    assert _same(models.output.hyperparameters, scheduled.output)
    assert _same(models.cost.hyperparameters, scheduled.cost)
    assert _same(models.success.hyperparameters, scheduled.success)


def test_a_retraction_among_the_fitted_runs_refits():
    tuner = _study(23)
    search = _search(tuner)
    before = _scheduled(tuner, search)
    tuner.retract(3, "mistyped")
    after = _scheduled(tuner, search)
    assert not _same(before.output, after.output)
    assert _same(after.output, _scheduled(tuner).output)  # as a fresh search fits them


def test_a_restored_study_suggests_what_the_live_one_does_across_refits():
    """Across the refit at 27 runs, a tuner restored from the live one's state (which fits
    the scheduled hyperparameters afresh) makes the same next suggestion."""
    tuner = _study(24)
    for _ in range(5):
        restored = Tuner.from_state(tuner.to_state())
        suggestion = tuner.suggest()
        assert restored.suggest().params == suggestion.params
        tuner.observe(suggestion, _output(suggestion.params), 1.0)
    assert len(tuner.observations) == 29


def test_refit_growth_must_be_a_non_negative_number():
    with pytest.raises(ValueError, match="refit_growth"):
        TunerConfig(refit_growth=-0.1)
    with pytest.raises(TypeError, match="refit_growth"):
        TunerConfig(refit_growth="0.1")
