"""Warm starts: earlier results in one call, re-centering, the random phase they skip, the
journal records that carry them, and `carbs-lite init --from`."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from carbs_lite import LinearSpace, Observation, Param, Tuner, TunerConfig
from carbs_lite.cli import main

ISSUE_PARAMS = [Param("x", LinearSpace(min=0, max=100), 50)]
ISSUE_RESULTS = [Observation({"x": 5}, 1.0, 1.0), Observation({"x": 60}, 3.0, 1.0)]
MINIMIZE = TunerConfig(direction="minimize", num_candidates_per_dim=50)


def _next_x(study, count: int) -> list[float]:
    """The x of the next ``count`` suggestions, each observed with a loss of |x - 5|."""
    xs = []
    for _ in range(count):
        suggestion = study.suggest()
        xs.append(suggestion.params["x"])
        study.observe(suggestion, 1.0 + abs(suggestion.params["x"] - 5) / 10, 1.0)
    return xs


def test_the_issue_example_suggests_near_the_best_prior_point():
    # x = 5 (best) and x = 60 on [0, 100], search center 50
    tuner = Tuner(ISSUE_PARAMS, MINIMIZE, seed=0)
    recorded = tuner.warm_start(ISSUE_RESULTS)
    assert [o.params for o in recorded] == [{"x": 5}, {"x": 60}]
    assert tuner.to_state().search_center == {"x": 5}
    assert all(abs(x - 5) < 5 for x in _next_x(tuner, 2))

    plain = Tuner(ISSUE_PARAMS, MINIMIZE, seed=0)
    plain.warm_start(ISSUE_RESULTS, recenter=False)
    assert plain.to_state().search_center is None
    assert all(abs(x - 5) > 20 for x in _next_x(plain, 2))  # the space-filling random phase


def test_prior_results_count_toward_the_random_phase():
    config = TunerConfig(direction="minimize", num_random_samples=3, num_candidates_per_dim=20)
    few = Tuner(ISSUE_PARAMS, config)
    few.warm_start(ISSUE_RESULTS, recenter=False)
    assert few.suggest().diagnostics.source == "random"  # 2 results < 3
    enough = Tuner(ISSUE_PARAMS, config)
    enough.warm_start([*ISSUE_RESULTS, Observation({"x": 30}, 2.0, 1.0)], recenter=False)
    assert enough.suggest().diagnostics.source == "search"
    failed = Tuner(ISSUE_PARAMS, config)
    failed.set_search_center({"x": 5})
    failed.observe({"x": 5}, float("nan"), 1.0)
    assert failed.suggest().diagnostics.source == "random"  # re-centered, but no success yet


def test_a_bad_batch_records_nothing_and_names_the_result():
    tuner = Tuner(ISSUE_PARAMS, MINIMIZE)
    bad = [ISSUE_RESULTS[0], Observation({"x": 150}, 1.0, 1.0)]
    with pytest.raises(ValueError, match=r"result 1: param 'x': .*150"):
        tuner.warm_start(bad)
    with pytest.raises(ValueError, match="result 1: cost must be finite and > 0"):
        tuner.warm_start([ISSUE_RESULTS[0], Observation({"x": 7}, 1.0, 0.0)])
    with pytest.raises(TypeError, match="result 0: expected an Observation, got dict"):
        tuner.warm_start([{"params": {"x": 5}, "output": 1.0, "cost": 1.0}])
    failures = [Observation({"x": 5}, float("nan"), 1.0, is_failure=True)]
    with pytest.raises(ValueError, match="none of the 1 results succeeded.*recenter=False"):
        tuner.warm_start(failures)
    assert tuner.observations == [] and tuner.to_state().search_center is None
    assert len(tuner.warm_start(failures, recenter=False)) == 1


def test_set_search_center_moves_a_running_search():
    params = [
        Param("x", LinearSpace(min=0, max=100, scale=10), 50),
        Param("y", LinearSpace(min=0, max=1), 0.5),
    ]
    # a loss falling with x, explored on [10, 30]; x = 70 is far from every front point, and
    # nothing run so far rules it out (a region the results show to be poor may not be picked,
    # as the docstring says: candidates near the new center compete like any other)
    slope = [(x, 1 - x / 100) for x in (10, 15, 20, 25, 30)]
    earlier = [Observation({"x": x, "y": 0.5}, loss, 1.0) for x, loss in slope]
    tuner = Tuner(params, MINIMIZE, seed=0)
    tuner.warm_start(earlier, recenter=False)
    control = Tuner.from_state(tuner.to_state())
    assert all(control.suggest().params["x"] < 45 for _ in range(3))
    with pytest.raises(ValueError, match="param 'x'"):
        tuner.set_search_center({"x": 101, "y": 0.5})
    tuner.set_search_center({"x": 70, "y": 0.5})
    assert all(abs(tuner.suggest().params["x"] - 70) < 10 for _ in range(2))


def test_the_center_survives_save_and_load(tmp_path):
    tuner = Tuner(ISSUE_PARAMS, MINIMIZE, seed=2)
    tuner.warm_start(ISSUE_RESULTS)
    tuner.save(tmp_path / "s.json")
    loaded = Tuner.load(tmp_path / "s.json")
    assert loaded.to_state().search_center == {"x": 5}
    assert loaded.suggest().params == tuner.suggest().params


def test_journal_records_warm_start_and_recenter_for_every_process(tmp_path):
    path = tmp_path / "study.jsonl"
    first = Tuner.open(path, ISSUE_PARAMS, MINIMIZE, seed=1)
    second = Tuner.open(path)
    first.warm_start(ISSUE_RESULTS)
    assert second.to_state().search_center == {"x": 5} and len(second.observations) == 2
    second.set_search_center({"x": 70})
    assert first.to_state().search_center == {"x": 70}
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["header", "warm_start", "recenter"]

    memory = Tuner(ISSUE_PARAMS, MINIMIZE, seed=1)
    memory.warm_start(ISSUE_RESULTS)
    memory.set_search_center({"x": 70})
    assert first.suggest().params == memory.suggest().params  # replay = the same study
    with pytest.raises(ValueError, match="result 0"):
        first.warm_start([Observation({"x": -1}, 1.0, 1.0)])
    first.close()
    second.close()
    with Tuner.open(path, ISSUE_PARAMS, MINIMIZE, seed=1) as reopened:  # same identity
        assert reopened.to_state().search_center == {"x": 70}
        assert len(reopened.observations) == 2


SPACE = '[x]\nkind = "linear"\nmin = 0\nmax = 100\ncenter = 50\n'


def test_cli_init_from_copies_results_and_recenters(tmp_path, capsys):
    (tmp_path / "space.toml").write_text(SPACE)
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    init = ["--space", str(tmp_path / "space.toml"), "--direction", "minimize"]
    assert main(["init", str(old), *init]) == 0
    for x, loss in [(5, 1.0), (60, 3.0), (30, 0.5)]:
        params = json.dumps({"x": x})
        assert (
            main(["observe", str(old), "--params", params, "--output", str(loss), "--cost", "1"])
            == 0
        )
    assert main(["retract", str(old), "#3", "--why", "mistyped"]) == 0
    capsys.readouterr()
    assert main(["init", str(new), *init, "--from", str(old)]) == 0
    out = capsys.readouterr().out
    assert "copied 2 result(s) from" in out and 're-centered on {"x": 5.0}' in out
    state = Tuner.load(new).to_state()
    assert [o.params for o in state.observations] == [{"x": 5}, {"x": 60}]
    assert state.search_center == {"x": 5} and state.tries_used == 0

    (tmp_path / "other.toml").write_text(SPACE.replace("max = 100", "max = 200"))
    other = ["--space", str(tmp_path / "other.toml"), "--direction", "minimize"]
    code = main(["init", str(tmp_path / "bad.json"), *other, "--from", str(old)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "its params differ from the new study's (x)" in err
    assert not (tmp_path / "bad.json").exists()


def test_stopped_tries_and_learning_curves_carry_over(tmp_path):
    from carbs_lite.curves import ProgressPoint

    source = Tuner(ISSUE_PARAMS, MINIMIZE, seed=0)
    finished, stopped = source.suggest(), source.suggest()
    source.observe_progress(finished, 1, 2.0, 0.5)
    source.observe(finished, 1.5, 1.0)
    source.observe_progress(stopped, 1, 4.0, 0.5)
    source.stop(stopped, "hopeless")

    copy = Tuner(ISSUE_PARAMS, MINIMIZE, seed=1)
    recorded = copy.warm_start(source.observations, recenter=False)
    assert [o.stopped for o in recorded] == [None, "hopeless"]
    assert [o.curve for o in recorded] == [o.curve for o in source.observations]
    assert recorded[1].is_failure and copy.best().output == 1.5

    point = ProgressPoint(1.0, 2.0, 1.0)
    bad = {
        "does not come after": Observation({"x": 1}, 1.0, 1.0, curve=(point, point)),
        "not a ProgressPoint": Observation({"x": 1}, 1.0, 1.0, curve=(1.0,)),
        "output must be a real number": Observation(
            {"x": 1}, 1.0, 1.0, curve=(ProgressPoint(1.0, None, 1.0),)
        ),
        "is a failure": Observation({"x": 1}, 2.0, 1.0, curve=(point,), stopped="slow"),
        "reason it was stopped": Observation({"x": 1}, 2.0, 1.0, True, curve=(point,), stopped=""),
        "last point": Observation({"x": 1}, 2.0, 1.0, True, stopped="no curve"),
        "extra.* not JSON data": Observation({"x": 1}, 1.0, 1.0, extra={"a": {1, 2}}),
    }
    for message, result in bad.items():
        with pytest.raises((TypeError, ValueError), match=f"result 1: .*{message}"):
            copy.warm_start([ISSUE_RESULTS[0], result], recenter=False)
    assert len(copy.observations) == 2  # nothing from the refused batches

    # points convert as observe_progress converts them: floats, a non-finite output as NaN
    odd = (ProgressPoint(np.int64(1), np.float32(0.5), 1), ProgressPoint(2.0, np.inf, 2.0))
    (kept,) = copy.warm_start([Observation({"x": 1}, 1.0, 2.0, curve=odd)], recenter=False)
    assert [type(v) for v in dataclasses.astuple(kept.curve[0])] == [float] * 3
    assert math.isnan(kept.curve[1].output)
    copy.save(tmp_path / "study.json")
    assert Tuner.load(tmp_path / "study.json").observations[-1].curve == kept.curve


def test_a_journal_warm_start_keeps_stopped_tries(tmp_path):
    source = Tuner(ISSUE_PARAMS, MINIMIZE, seed=0)
    running = source.suggest()
    source.observe_progress(running, 1, 4.0, 0.5)
    source.stop(running, "hopeless")
    path = tmp_path / "study.journal"
    with Tuner.open(path, ISSUE_PARAMS, MINIMIZE) as journal:
        journal.warm_start(source.observations, recenter=False)
    (replayed,) = Tuner.load(path).observations
    assert replayed.stopped == "hopeless" and replayed.curve == source.observations[0].curve


def test_a_warm_start_from_another_study_leaves_its_retracted_results_out():
    # a retracted typo (0.031 for 0.31) became the new study's best and search center
    old = Tuner(ISSUE_PARAMS, MINIMIZE)
    old.observe({"x": 10}, 0.31, 1.0)
    old.observe({"x": 20}, 0.031, 1.0)
    old.retract(1, "typed 0.031 for 0.31")
    assert len(old.observations) == 2
    new = Tuner(ISSUE_PARAMS, MINIMIZE)
    new.warm_start(old.active_observations)
    assert [o.params for o in new.observations] == [{"x": 10.0}]
    assert new.best().output == 0.31 and new.to_state().search_center == {"x": 10.0}
