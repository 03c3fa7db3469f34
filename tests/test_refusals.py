"""Values and specs the API refuses at the call, naming the problem, with nothing recorded."""

from __future__ import annotations

import numpy as np
import pytest

from carbs_lite import LinearSpace, LogSpace, Param, PowerOfTwoSpace, Tuner, TunerConfig

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
