"""Categorical params: the one-hot encoding, errors, round trips and the search finding the best
choice."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from carbs_lite import CategoricalSpace, LinearSpace, Param, Tuner, TunerConfig
from carbs_lite.bench.categorical import BEST_CHOICE, CategoricalProblem
from carbs_lite.bench.suite import make_problem
from carbs_lite.cli import main
from carbs_lite.records import space_from_json
from carbs_lite.report import study as rs
from carbs_lite.space_file import SpaceFileError, params_from_toml

CHOICES = ["adam", 3, 0.5, True]


def test_one_hot_encoding_and_argmax_read_out():
    space = CategoricalSpace(CHOICES)
    assert space.dim == 4
    assert space.to_basic(0.5).tolist() == [0, 0, 1, 0]
    assert space.from_basic(np.array([0.2, 0.9, -1.0, 0.4])) == 3
    rows = np.array([[0.1, 0.3, 0.2, 0.0], [-2.0, -1.0, -3.0, 1.5]])
    assert space.round_basic(rows).tolist() == [[0, 1, 0, 0], [0, 0, 0, 1]]
    lower, upper = space.basic_bounds(pad_integers=True)
    assert lower.tolist() == [0] * 4 and upper.tolist() == [1] * 4
    for choice in CHOICES:
        assert space.from_basic(space.to_basic(choice)) == choice


def test_validate_matches_by_type_and_returns_the_choice():
    space = CategoricalSpace([1, 2, False])
    assert space.validate(np.int64(2)) == 2 and type(space.validate(np.int64(2))) is int
    assert space.validate(1.0) == 1
    assert space.validate(np.bool_(False)) is False
    with pytest.raises(ValueError, match=r"True is not one of the choices \[1, 2, False\]"):
        space.validate(True)  # True == 1 in Python, but it is not the choice 1
    with pytest.raises(ValueError, match="0 is not one of"):
        space.validate(0)  # nor is 0 the choice False
    assert CategoricalSpace([1, "a"]) == CategoricalSpace([1.0, "a"])
    assert CategoricalSpace([1, "a"]) != CategoricalSpace([True, "a"])
    assert CategoricalSpace([1, "a"]) != CategoricalSpace(["a", 1])


@pytest.mark.parametrize(
    "choices, message",
    [
        (["adam"], "needs at least 2 choices"),
        ([], "needs at least 2 choices"),
        (["a", "b", "a"], "choice 'a' appears twice"),
        ([1, 1.0], "choice 1.0 appears twice"),
        (["a", None], "must be a string, a finite number .* or a boolean, got None"),
        (["a", float("nan")], "got nan"),
        (["a", ["b"]], r"got \['b'\]"),
        ("ab", "choices must be a list of values, got 'ab'"),
    ],
)
def test_construction_errors_name_the_problem(choices, message):
    with pytest.raises(ValueError, match=message):
        CategoricalSpace(choices)


def test_observe_refuses_an_unknown_choice_naming_param_and_choices():
    params = [
        Param("optimizer", CategoricalSpace(["adam", "sgd"]), "adam"),
        Param("x", LinearSpace(min=0, max=1), 0.5),
    ]
    tuner = Tuner(params)
    message = r"param 'optimizer': 'lion' is not one of the choices \['adam', 'sgd'\]"
    with pytest.raises(ValueError, match=message):
        tuner.observe({"optimizer": "lion", "x": 0.1}, 1.0, 1.0)
    assert tuner.observations == []
    with pytest.raises(ValueError, match="param 'optimizer': search_center invalid"):
        Param("optimizer", CategoricalSpace(["adam", "sgd"]), "lion")


def test_a_run_answers_a_suggestion_only_with_the_same_choice():
    """True and 1 are different choices: a run with True does not use up the outstanding
    suggestion of 1, and a suggestion whose 1 was changed to True is refused."""
    params = [
        Param("o", CategoricalSpace([1, True]), 1),
        Param("x", LinearSpace(min=0, max=1), 0.5),
    ]
    tuner = Tuner(params)
    suggestion = tuner.suggest()
    assert suggestion.params == {"o": 1, "x": 0.5}
    other = tuner.observe({"o": True, "x": 0.5}, 0.9, 1.0)
    assert other.suggestion_id is None and [s.id for s in tuner.outstanding] == [suggestion.id]
    changed = suggestion.copy()
    changed.params["o"] = True
    with pytest.raises(ValueError, match="has other params \\('o': True\\)"):
        tuner.observe(changed, 0.8, 1.0)
    assert tuner.observe(suggestion, 0.8, 1.0).params == {"o": 1, "x": 0.5}


def test_state_and_journal_round_trip(tmp_path):
    params = [
        Param("act", CategoricalSpace(CHOICES), True),
        Param("x", LinearSpace(min=0, max=1), 0.5),
    ]
    assert space_from_json(params[0].space.to_json()) == params[0].space
    tuner = Tuner(params, seed=1)
    for _ in range(5):
        suggestion = tuner.suggest()
        tuner.observe(suggestion, float(suggestion.params["x"]), 1.0)
    tuner.observe({"act": 0.5, "x": 0.2}, 0.3, 2.0)
    tuner.save(tmp_path / "s.json")
    loaded = Tuner.load(tmp_path / "s.json")
    assert loaded.observations == tuner.observations
    assert loaded.suggest().params == tuner.suggest().params

    journal = Tuner.open(tmp_path / "s.jsonl", params, seed=1)
    journal.observe({"act": "adam", "x": 0.7}, 0.1, 1.0)
    journal.close()
    with Tuner.open(tmp_path / "s.jsonl", params, seed=1) as reopened:
        assert reopened.observations[0].params == {"act": "adam", "x": 0.7}
        assert reopened.suggest().params["act"] in CHOICES


def test_space_file_categorical_kind():
    text = '[opt]\nkind = "categorical"\nchoices = ["adam", "sgd", 0.1, false]\n'
    (param,) = params_from_toml(text)
    assert param.space == CategoricalSpace(["adam", "sgd", 0.1, False])
    assert param.search_center == "adam"  # the first choice by default
    (param,) = params_from_toml(text + 'center = "sgd"\n')
    assert param.search_center == "sgd"


@pytest.mark.parametrize(
    "text, message",
    [
        ('[opt]\nkind = "categorical"', "param 'opt': field 'choices' is missing"),
        ('[opt]\nkind = "categorical"\nchoices = ["a"]', "field 'choices': needs at least 2"),
        ('[opt]\nkind = "categorical"\nchoices = "ab"', "field 'choices': choices must be a list"),
        ('[opt]\nkind = "categorical"\nchoices = ["a", "a"]', "field 'choices': choice 'a'"),
        ('[opt]\nkind = "categorical"\nchoices = ["a", "b"]\nmin = 1', "unknown field 'min'"),
        ('[opt]\nkind = "categorical"\nchoices = ["a", "b"]\ncenter = "c"', "field 'center'"),
    ],
)
def test_space_file_errors_name_the_param_and_field(text, message):
    with pytest.raises(SpaceFileError, match=message):
        params_from_toml(text)


def test_report_shows_the_choices(tmp_path):
    tuner = Tuner([Param("act", CategoricalSpace(CHOICES), "adam")], TunerConfig("minimize"))
    for choice, output in [("adam", 0.3), (True, 0.2), (0.5, 0.1)]:
        tuner.observe({"act": choice}, output, 1.0)
    features = rs.param_features(tuner.to_state())
    assert features["act"] == (["adam", "true", "0.5"], "category")
    assert 'params {"act": 0.5}' in rs.summary_info(tuner.to_state()).lines[0]
    assert tuner.report(tmp_path / "report.html").stat().st_size > 0


@functools.cache
def _seeds_ending_on_the_best_choice() -> int:
    """The issue's problem: one clearly best choice of 4 crossed with 2 continuous params; of 10
    seeds, those whose best of 20 tries uses it."""
    problem = make_problem("categorical-4x2d")
    assert isinstance(problem, CategoricalProblem)
    found = 0
    for seed in range(10):
        config = TunerConfig(direction="minimize", num_candidates_per_dim=50)
        tuner = Tuner(problem.params(), config, seed=seed)
        rng = np.random.default_rng(seed)
        for _ in range(20):
            suggestion = tuner.suggest()
            evaluation = problem.evaluate(suggestion.params, rng)
            tuner.observe(suggestion, evaluation.output, evaluation.cost)
        found += tuner.best().params["optimizer"] == BEST_CHOICE
    return found


def test_search_finds_the_best_choice_in_nine_of_ten_seeds():
    # the target; measured 10 of 10 (7 before the Matern 5/2 kernel and the wider
    # noise prior, 10 with CARBS's acquisition)
    assert _seeds_ending_on_the_best_choice() >= 9


def test_cli_back_and_forth_with_a_categorical_param(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text('[act]\nkind = "categorical"\nchoices = ["relu", "gelu", true]\n')
    study = str(tmp_path / "study.json")
    assert main(["init", study, "--space", str(space), "--direction", "minimize"]) == 0
    capsys.readouterr()
    assert main(["suggest", study, "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["params"] == {"act": "relu"}  # the default center: the first choice
    assert main(["observe", study, line["id"], "--output", "0.3", "--cost", "1"]) == 0
    bad = ["observe", study, "--params", '{"act": "tanh"}', "--output", "1", "--cost", "1"]
    assert main(bad) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "param 'act': 'tanh' is not one of the choices ['relu', 'gelu', True]" in err
    assert (
        main(["observe", study, "--params", '{"act": true}', "--output", "1", "--cost", "1"]) == 0
    )
    assert [o.params["act"] for o in Tuner.load(study).observations] == ["relu", True]
