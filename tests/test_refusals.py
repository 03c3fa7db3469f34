"""Values and specs the API refuses at the call, naming the problem, with nothing recorded."""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction

import numpy as np
import pytest

from carbs_lite import (
    ArchSpace,
    CategoricalSpace,
    LinearSpace,
    LogSpace,
    Metrics,
    Param,
    PowerOfTwoSpace,
    StateFileError,
    Tuner,
    TunerConfig,
)

FAST = TunerConfig(direction="minimize", num_candidates_per_dim=10, fit_iterations=5)
POINT = {"lr": 1e-3, "width": 32}


@pytest.fixture(params=["memory", "journal"])
def study(request, tmp_path, params):
    """A study with one observation and one outstanding suggestion, in memory or a journal."""
    if request.param == "memory":
        study = Tuner(params, FAST)
    else:
        study = Tuner.open(tmp_path / "study.jsonl", params, FAST)
    study.observe(POINT, 1.0, 1.0)
    study.suggest()
    return study


@pytest.mark.parametrize(
    "bad",
    ["1.5", np.bool_(True), True, 10**400, None, [1.0]],
    ids=["str", "numpy-bool", "bool", "10**400", "None", "list"],
)
@pytest.mark.parametrize("field", ["output", "cost"])
def test_observe_refuses_what_is_not_a_real_number(study, field, bad):
    before = study.to_state()
    values = {"output": 1.0, "cost": 1.0, field: bad}
    with pytest.raises(ValueError, match=field):
        study.observe(study.outstanding[0], values["output"], values["cost"])
    assert study.to_state() == before


def test_observe_names_an_integer_too_large_for_a_float(study):
    with pytest.raises(
        ValueError, match="output is too large for a float: an integer of 1329 bits"
    ):
        study.observe(POINT, 10**400, 1.0)


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"curve": np.array([1.0])}, r"extra\['curve'\] is a numpy.ndarray, not JSON data"),
        ({"runs": [1, np.int64(2)]}, r"extra\['runs'\]\[1\] is a numpy.int64"),
        ({"seen": {1, 2}}, r"extra\['seen'\] is a set"),
        ({1: "a"}, "key 1 that is not a string"),
        (["curve"], "extra must be a dict, got list"),
    ],
)
def test_extra_that_is_not_json_data_is_refused(study, tmp_path, extra, message):
    before = study.to_state()
    with pytest.raises(TypeError, match=message):
        study.observe(study.outstanding[0], 1.0, 1.0, extra=extra)
    assert study.to_state() == before
    study.save(tmp_path / "after.json")  # a refused extra leaves nothing that breaks saving
    assert Tuner.load(tmp_path / "after.json").to_state() == before


def test_extra_is_kept_as_it_reads_back(study, tmp_path):
    extra = {"curve": (1.0, np.float64(0.5), None), "note": "ok", "nested": {"n": [1, True]}}
    observation = study.observe(study.outstanding[0], 1.0, 1.0, extra=extra)
    assert observation.extra == {
        "curve": [1.0, 0.5, None],
        "note": "ok",
        "nested": {"n": [1, True]},
    }
    study.save(tmp_path / "saved.json")
    assert Tuner.load(tmp_path / "saved.json").observations == study.observations


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: LinearSpace(min=-1e308, max=1e308), r"spans inf basic units at scale 1.0"),
        (lambda: LinearSpace(min=0, max=1, scale=1e-200), "spans 1e.200 basic units"),
        (lambda: LinearSpace(min=0, max=1, is_integer="yes"), "is_integer must be True or False"),
        (lambda: LinearSpace(min="0", max=1), "min must be a real number, got '0'"),
        (lambda: LogSpace(min=1e-3, max=1, scale=True), "scale must be a real number"),
        (
            lambda: LinearSpace(min=0.2, max=0.8, is_integer=True),
            r"LinearSpace\(min=0.2, max=0.8, .*\) holds no value: no multiple of "
            r"rounding_factor 1 lies in \[0.2, 0.8\]",
        ),
        (
            lambda: LinearSpace(min=1, max=9, is_integer=True, rounding_factor=10),
            r"LinearSpace\(min=1, max=9, .*rounding_factor=10\) holds no value",
        ),
        (lambda: LogSpace(min=0, max=0.5, is_integer=True), r"lies in \[0, 0.5\] above 0.0"),
        (lambda: LinearSpace(min=0, max=10**400), "max 1000.*000 is too large"),
        (lambda: PowerOfTwoSpace(max=2**1100), "max .* is too large"),
        (
            lambda: LinearSpace(min=0, max=2**60, is_integer=True),
            r"max 1152921504606846976 is beyond 2\*\*53",
        ),
        (lambda: CategoricalSpace([10**400, 1]), r"an integer within \+-2\*\*53"),
        (lambda: CategoricalSpace([2**53, 2**53 + 1]), r"got 9007199254740993"),
        (lambda: ArchSpace(count_scale=math.inf), "count_scale must be finite and > 0"),
        (lambda: ArchSpace(width_scale="1"), "width_scale must be a number, got '1'"),
        (lambda: Metrics(output=5), "Metrics.output must be text, got 5"),
        (lambda: Metrics(task="bogus"), "unknown task 'bogus'"),
    ],
)
def test_spaces_that_cannot_work_are_refused_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_params_of_the_wrong_type_raise_a_type_error_naming_them():
    with pytest.raises(TypeError, match="param 'a': space must be a Space .* got str 'linear'"):
        Param("a", "linear", 0.5)
    param = Param("a", LinearSpace(min=0, max=1), 0.5)
    with pytest.raises(TypeError, match=r"got a dict; pass list\(params.values\(\)\)"):
        Tuner({"a": param})
    with pytest.raises(TypeError, match=r"params\[1\] must be a Param, got str 'b'"):
        Tuner([param, "b"])


@pytest.mark.parametrize(
    "space, center",
    [
        (LinearSpace(min=-1e308, max=1e308, scale=1e300), 0.0),
        (LinearSpace(min=0.2, max=1.2, is_integer=True), 1),
        (LogSpace(max=5, is_integer=True), 2),
        (PowerOfTwoSpace(min=1, max=2), 2),
    ],
)
def test_extreme_spaces_that_are_accepted_also_suggest(space, center):
    tuner = Tuner([Param("a", space, center)], FAST)
    for step in range(8):
        suggestion = tuner.suggest()
        assert space.validate(suggestion.params["a"]) == suggestion.params["a"]
        tuner.observe(suggestion, float(step % 3), 1.0)


def test_numpy_and_fraction_bounds_are_stored_as_plain_numbers(tmp_path):
    # a numpy int64 bound used to be accepted and then fail every save()
    space = LinearSpace(min=1, max=np.int64(64), is_integer=True)
    assert type(space.max) is int and space.max == 64
    assert type(LinearSpace(min=0, max=Fraction(1, 2)).max) is float
    tuner = Tuner([Param("n", space, 8)], FAST)
    tuner.observe(tuner.suggest(), 1.0, 1.0)
    tuner.save(tmp_path / "s.json")
    assert Tuner.load(tmp_path / "s.json").observations == tuner.observations


@pytest.mark.parametrize(
    "settings, error, message",
    [
        ({"num_random_samples": 2.5}, TypeError, "num_random_samples must be an integer"),
        ({"torch_threads": 1.5}, TypeError, "torch_threads must be an integer"),
        ({"fit_iterations": "5"}, TypeError, "fit_iterations must be an integer, got '5'"),
        ({"max_suggestion_cost": "10"}, TypeError, "max_suggestion_cost must be a number"),
        ({"initial_search_radius": math.inf}, ValueError, "initial_search_radius must be finite"),
        ({"exploration_bias": math.nan}, ValueError, "exploration_bias must be finite"),
        ({"duplicate_tolerance": -1}, ValueError, "duplicate_tolerance must be >= 0"),
        ({"max_suggestion_cost": 10**400}, ValueError, "max_suggestion_cost must be finite"),
    ],
)
def test_config_fields_of_the_wrong_type_or_not_finite_are_refused(settings, error, message):
    with pytest.raises(error, match=message):
        TunerConfig(**settings)


def test_config_keeps_numpy_numbers_as_plain_ones():
    config = TunerConfig(num_random_samples=np.int64(3), max_suggestion_cost=np.float32(2))
    assert type(config.num_random_samples) is int and type(config.max_suggestion_cost) is float


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"seed": -1}, ValueError, "seed must be an integer >= 0, got -1"),
        ({"seed": 1.7}, TypeError, "seed must be an integer >= 0, got 1.7"),
        ({"seed": "5"}, TypeError, "seed must be an integer >= 0, got '5'"),
        ({"config": {"direction": "minimize"}}, TypeError, "config must be a TunerConfig"),
        ({"metrics": "NE"}, TypeError, "metrics must be a Metrics or None, got str"),
    ],
)
def test_tuner_arguments_of_the_wrong_type_are_refused(params, kwargs, error, message):
    with pytest.raises(error, match=message):
        Tuner(params, **kwargs)


def test_a_final_cost_below_the_cost_its_curve_spent_is_refused(params):
    tuner = Tuner(params, FAST)
    suggestion = tuner.suggest()
    tuner.observe_progress(suggestion, 1, 0.5, 2.0)
    with pytest.raises(ValueError, match="cost 0.1 is below the 2 its learning curve had spent"):
        tuner.observe(suggestion, 0.3, 0.1)
    assert tuner.observations == [] and len(tuner.outstanding) == 1


def _edited(base: dict, path: tuple, value) -> dict:
    data = json.loads(json.dumps(base))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("observations", 0, "output"), "abc", "output has the wrong type"),
        (("observations", 0, "extra"), [1], "extra has the wrong type"),
        (("observations", 0, "is_failure"), "false", "is_failure has the wrong type"),
        (("observations", 0, "output"), None, "a null output is a failure"),
        (("observations", 0, "curve", 0, "cost"), 0, "cost must be finite and > 0"),
        (("seed",), -3, "seed must be an integer >= 0"),
        (("suggestion_count",), -5, "suggestion_count must be an integer >= 0"),
        (("search_radius",), -1, "search_radius must be finite and > 0"),
    ],
)
def test_a_hand_edited_study_file_is_refused_at_load(tmp_path, params, path, value, message):
    # each of these used to load and fail only later, in suggest() or save()
    tuner = Tuner(params, FAST)
    suggestion = tuner.suggest()
    tuner.observe_progress(suggestion, 1, 0.5, 1.0)
    tuner.observe(suggestion, 1.0, 2.0)
    tuner.suggest()
    tuner.save(tmp_path / "base.json")
    base = json.loads((tmp_path / "base.json").read_text())
    (tmp_path / "edited.json").write_text(json.dumps(_edited(base, path, value)))
    with pytest.raises(StateFileError, match=message):
        Tuner.load(tmp_path / "edited.json")


def test_two_outstanding_suggestions_with_one_id_are_refused_at_load(tmp_path, params):
    tuner = Tuner(params, FAST)
    tuner.suggest()
    data = tuner.to_state().to_json()
    data["outstanding"].append(data["outstanding"][0])
    (tmp_path / "s.json").write_text(json.dumps(data))
    with pytest.raises(StateFileError, match="appears twice"):
        Tuner.load(tmp_path / "s.json")


@pytest.mark.parametrize(
    "flag, bad",
    [("is_failure", "no"), ("is_failure", math.nan), ("counts_as_try", "no")],
)
def test_flags_that_are_not_booleans_are_refused(study, flag, bad):
    # "no" and NaN used to count as True
    before = study.to_state()
    with pytest.raises(ValueError, match=f"{flag} must be True or False"):
        study.observe(POINT, 1.0, 1.0, **{flag: bad})
    assert study.to_state() == before


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"loss": math.nan}, r"extra\['loss'\] is nan: JSON has no NaN"),
        ({"n": 10**5000}, r"extra\['n'\] is an integer of 16610 bits, too long to write"),
    ],
)
def test_extra_a_study_file_could_not_hold_is_refused(study, extra, message):
    before = study.to_state()
    with pytest.raises(TypeError, match=message):
        study.observe(study.outstanding[0], 1.0, 1.0, extra=extra)
    assert study.to_state() == before


def test_extra_nested_too_deeply_is_a_type_error(study):
    nested: dict = {}
    inner = nested
    for _ in range(5000):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(TypeError, match="nested too deeply"):
        study.observe(study.outstanding[0], 1.0, 1.0, extra=nested)


def test_a_suggestion_is_observed_or_forgotten_by_object_or_id(study):
    first = study.outstanding[0]
    assert study.observe(first.id, 2.0, 1.0).suggestion_id == first.id
    second = study.suggest()
    study.forget(second)
    assert study.outstanding == []
    with pytest.raises(ValueError, match="forgotten, or made by another study"):
        study.observe(second.id, 1.0, 1.0)
    # the Suggestion itself still records the run it names, should it come back after all
    assert study.observe(second, 1.0, 1.0).suggestion_id == second.id


def test_a_suggestion_of_another_study_with_the_same_id_is_refused(params):
    # studies with one seed number their suggestions alike: another study's suggestion can
    # carry the id of one of ours, with other params
    ours = Tuner(params, FAST, seed=0)
    mine = ours.suggest()
    foreign = dataclasses.replace(mine, params={"lr": 0.05, "width": 64})
    with pytest.raises(ValueError, match="other params .* is it from another study"):
        ours.observe(foreign, 1.0, 1.0)
    assert ours.outstanding == [mine]
    extended = dataclasses.replace(mine, params={**mine.params, "batch_size": 32})
    assert ours.observe(extended, 1.0, 1.0).params == mine.params


def test_a_study_never_hands_out_an_id_it_has_recorded_from_another_study(params):
    # the other study's second suggestion, observed first, holds the id this study would give
    # its own second suggestion; two runs under one id made retract pick one of them silently
    other = Tuner(params, FAST, seed=0)
    other.suggest()
    foreign = other.suggest()
    ours = Tuner(params, FAST, seed=0)
    ours.observe(foreign, 1.0, 1.0)
    for _ in range(2):
        ours.observe(ours.suggest(), 1.0, 1.0)
    ids = [o.suggestion_id for o in ours.observations]
    assert ids[0] == foreign.id and ids[2].startswith("00001-")
    assert len(set(ids)) == 3


def test_a_rate_shown_inverted_may_end_below_its_curve_and_still_loads(tmp_path, params):
    # 1/QPS is no spend: observe took a final rate below the curve's, but loading the saved
    # file refused it, so the study could not be opened again
    metrics = Metrics(cost="serving cost", cost_inverse="QPS")
    tuner = Tuner(params, FAST, metrics=metrics)
    suggestion = tuner.suggest()
    tuner.observe_progress(suggestion, 1, 0.5, 1 / 4000)
    tuner.observe(suggestion, 0.4, 1 / 4100)
    tuner.save(tmp_path / "s.json")
    assert Tuner.load(tmp_path / "s.json").observations == tuner.observations
    spend = Tuner(params, FAST)
    spend.observe({"lr": 1e-3, "width": 32}, 1.0, 1.0)
    data = spend.to_state().to_json()
    data["observations"][0]["curve"] = [{"step": 1, "output": 0.5, "cost": 2.0}]
    (tmp_path / "spend.json").write_text(json.dumps(data))
    with pytest.raises(StateFileError, match="below the 2 its learning curve had spent"):
        Tuner.load(tmp_path / "spend.json")
