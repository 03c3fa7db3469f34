"""Versioned JSON state: round trip, same next suggestion, clear errors, no overwrite."""

from __future__ import annotations

import fcntl
import json
import os
import time

import pytest
from conftest import run

from carbs_lite import ArchSpace, Heuristics, Param, PowerOfTwoSpace, StateFileError, Tuner
from carbs_lite.heuristics import ParetoModel
from carbs_lite.records import STATE_VERSION as VERSION


def test_save_load_round_trip_and_same_next_suggestion(tmp_path, params, minimize):
    tuner = run(Tuner(params, minimize, Heuristics(pareto_model=ParetoModel.ISOTONIC), seed=3), 9)
    pending = tuner.suggest()
    path = tmp_path / "study.json"
    tuner.save(path)
    loaded = Tuner.load(path)
    assert loaded.observations == tuner.observations
    assert [s.id for s in loaded.outstanding] == [pending.id]
    assert loaded.config == tuner.config and loaded.heuristics == tuner.heuristics
    assert loaded.suggest().params == tuner.suggest().params
    data = json.loads(path.read_text())
    assert data["version"] == VERSION and data["format"] == "carbs_lite.tuner"


def test_arch_and_power_of_two_params_round_trip(tmp_path):
    params = [
        Param("arch", ArchSpace(), [[64, 64]]),
        Param("batch", PowerOfTwoSpace(min=8, max=1024), 64),
    ]
    tuner = Tuner(params)
    tuner.observe({"arch": [[128], [64, 64]], "batch": 256}, 0.5, 2.0)
    tuner.save(tmp_path / "s.json")
    loaded = Tuner.load(tmp_path / "s.json")
    assert loaded.observations[0].params == {"arch": [[128], [64, 64]], "batch": 256}
    assert isinstance(loaded.suggest().params["arch"], list)


def test_newer_version_is_refused_and_file_untouched(tmp_path, params):
    path = tmp_path / "study.json"
    Tuner(params).save(path)
    data = json.loads(path.read_text())
    data["version"] = VERSION + 1
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(StateFileError, match="newer"):
        Tuner.load(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", ["{not json", '{"format": "other"}', "[]"])
def test_corrupted_file_raises_clear_error(tmp_path, content):
    path = tmp_path / "study.json"
    path.write_text(content)
    with pytest.raises(StateFileError):
        Tuner.load(path)
    assert path.read_text() == content


def test_truncated_observation_record_raises(tmp_path, params):
    path = tmp_path / "study.json"
    tuner = Tuner(params)
    tuner.observe({"lr": 1e-3, "width": 32}, 1.0, 1.0)
    tuner.save(path)
    data = json.loads(path.read_text())
    del data["observations"][0]["cost"]
    path.write_text(json.dumps(data))
    with pytest.raises(StateFileError, match="corrupted"):
        Tuner.load(path)


def test_save_is_atomic_no_temp_files_left(tmp_path, params):
    path = tmp_path / "study.json"
    tuner = Tuner(params)
    for i in range(3):
        tuner.observe({"lr": 1e-3, "width": 32 + i}, 1.0, 1.0)
        tuner.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["study.json"]


@pytest.mark.parametrize(
    "field, key, value, message",
    [
        ("outstanding", "params", {"lr": 1e-3, "width": 10_000}, "outstanding suggestion '0"),
        ("observations", "params", {"lr": 5.0, "width": 32}, r"observation 0 \(suggestion None\)"),
        ("observations", "cost", -1.0, r"observation 0 \(suggestion None\): cost must be a finite"),
    ],
)
def test_records_that_do_not_fit_the_study_are_refused_at_load(
    tmp_path, params, field, key, value, message
):
    path = tmp_path / "study.json"
    tuner = Tuner(params)
    tuner.observe({"lr": 1e-3, "width": 32}, 1.0, 1.0)
    tuner.suggest()
    tuner.save(path)
    data = json.loads(path.read_text())
    data[field][0][key] = value
    path.write_text(json.dumps(data))
    with pytest.raises(StateFileError, match=f"{path}: {message}"):
        Tuner.load(path)


def test_a_save_removes_the_temp_files_of_dead_saves_only(tmp_path, params):
    path = tmp_path / "study.json"
    dead, young, live = (
        tmp_path / f".study.json.{name}" for name in ("k1lled_9", "y0ung123", "l1ve4567")
    )
    others = [tmp_path / name for name in (".study.json.bak", ".other.json.abcdefgh", "x.json")]
    for file in (dead, young, live, *others):
        file.write_text("{")
    an_hour_ago = time.time() - 3600
    for file in (dead, live, *others):
        os.utime(file, (an_hour_ago, an_hour_ago))
    with open(live) as saver:  # a save of the same file still running elsewhere
        fcntl.flock(saver, fcntl.LOCK_EX)
        Tuner(params).save(path)
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"study.json", young.name, live.name, *(p.name for p in others)}


def test_a_report_or_a_save_never_replaces_a_journal(tmp_path, params):
    # a snapshot saved over a journal left its live handles appending to the replaced file
    path = tmp_path / "study.jsonl"
    worker = Tuner.open(path, params)
    worker.observe(worker.suggest(), 1.0, 1.0)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="journal"):
        Tuner.load(path).save(path)
    with pytest.raises(ValueError, match="holds a carbs_lite study"):
        worker.report(path)
    assert path.read_bytes() == before
    worker.observe(worker.suggest(), 2.0, 1.0)
    assert len(Tuner.load(path).observations) == 2


def test_a_report_never_replaces_a_saved_study(tmp_path, params):
    tuner = run(Tuner(params), 2)
    path = tmp_path / "study.json"
    tuner.save(path)
    with pytest.raises(ValueError, match="holds a carbs_lite study"):
        tuner.report(path)
    assert len(Tuner.load(path).observations) == 2
    tuner.save(path)  # saving over its own snapshot stays the normal way to checkpoint
