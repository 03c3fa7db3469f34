"""Retracting an observation and the tries budget, through the public API of both studies."""

from __future__ import annotations

import json

import pytest

from carbs_lite import LinearSpace, Param, StudyState, Tuner, TunerConfig


def _params() -> list[Param]:
    return [Param("x", LinearSpace(min=0.0, max=1.0), 0.5)]


def _config() -> TunerConfig:
    return TunerConfig(direction="minimize", max_suggestion_cost=10.0)


@pytest.fixture(params=["memory", "journal"])
def study(request, tmp_path):
    if request.param == "memory":
        yield Tuner(_params(), _config(), tries=3)
    else:
        state = Tuner(_params(), _config(), tries=3).to_state()
        from carbs_lite.journal import create_journal

        with create_journal(tmp_path / "s.jsonl", state, Tuner) as journal:
            yield journal


def test_a_retracted_observation_leaves_the_front_and_the_best_pick(study):
    study.observe({"x": 0.2}, 0.5, 1.0)
    typo = study.observe({"x": 0.4}, 0.05, 1.0)  # a mistyped 0.5
    assert study.best() == typo and [p.output for p in study.pareto_front()] == [0.05]
    study.retract(1, "typed 0.05 for 0.5")
    assert study.best().output == 0.5
    assert [p.output for p in study.pareto_front()] == [0.5]
    state = study.to_state()
    assert len(state.observations) == 2 and state.retracted == {1: "typed 0.05 for 0.5"}
    assert state.active_observations == state.observations[:1]
    with pytest.raises(ValueError, match="already retracted"):
        study.retract(1, "again")
    with pytest.raises(ValueError, match="no observation 5"):
        study.retract(5, "nothing there")


def test_the_search_sees_only_what_is_not_retracted():
    tuner = Tuner(_params(), _config())
    tuner.observe({"x": 0.2}, 0.5, 1.0)
    tuner.observe({"x": 0.9}, 0.01, 1.0)
    tuner.retract(1, "bad run")
    data = tuner._data()
    assert data.inputs.ravel().tolist() == [0.2] and data.goodness.tolist() == [-0.5]


def test_tries_used_counts_suggestions_and_chosen_points_that_count(study):
    first = study.suggest()
    study.observe(first, 0.3, 1.0)
    study.suggest()
    study.observe({"x": 0.1}, 0.4, 1.0)  # the baseline, run before the study
    assert study.to_state().tries_used == 2
    study.observe({"x": 0.7}, 0.4, 1.0, counts_as_try=True)
    state = study.to_state()
    assert state.tries == 3 and state.tries_used == 3


def test_journal_appends_a_retract_record_and_keeps_the_observation(tmp_path):
    path = tmp_path / "s.jsonl"
    with Tuner.open(path, _params(), _config()) as journal:
        journal.observe({"x": 0.2}, 0.5, 1.0)
        before = path.read_bytes()
        journal.retract(0, "wrong units")
    after = path.read_bytes()
    assert after.startswith(before)
    record = json.loads(after.splitlines()[-1])
    assert record["kind"] == "retract" and record["why"] == "wrong units"
    loaded = Tuner.load(path)
    assert loaded.to_state().retracted == {0: "wrong units"} and loaded.best() is None


def test_a_file_without_the_new_fields_still_loads(tmp_path):
    tuner = Tuner(_params(), _config())
    tuner.observe({"x": 0.2}, 0.5, 1.0)
    data = tuner.to_state().to_json()
    del data["tries"], data["retracted"]
    for observation in data["observations"]:
        del observation["counts_as_try"]
    state = StudyState.from_json(data)
    assert state.tries is None and state.retracted == {} and state.tries_used == 0


@pytest.mark.parametrize("tries", [0, -1, 2.5, True])
def test_a_bad_budget_is_refused(tries):
    with pytest.raises(ValueError, match="tries must be an integer"):
        Tuner(_params(), tries=tries)
