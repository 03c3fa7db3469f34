"""`carbs-lite run`: the study is kept on disk as it goes; Ctrl-C loses at most one run."""

from __future__ import annotations

import json
import shlex

import pytest

from carbs_lite import Tuner
from carbs_lite.cli import main
from carbs_lite.tasks.ads.simulator import ModelPerformanceAPI


def _interrupt_run(monkeypatch, run: int) -> list:
    """Make the simulator's ``run``-th training a Ctrl-C; returns the archs it is asked for."""
    train = ModelPerformanceAPI.train_model
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(kwargs["arch"])
        if len(calls) == run:
            raise KeyboardInterrupt
        return train(self, *args, **kwargs)

    monkeypatch.setattr(ModelPerformanceAPI, "train_model", interrupted)
    return calls


def test_interrupted_run_keeps_its_tries_and_resumes(tmp_path, capsys, monkeypatch):
    study, report = tmp_path / "study.json", tmp_path / "report.html"
    argv = ["run", "--tries", "4", "--study", str(study), "--out", str(report)]
    train = ModelPerformanceAPI.train_model
    calls = _interrupt_run(monkeypatch, 3)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted: 2 finished tries are kept" in err and "Traceback" not in err
    state = Tuner.load(study).to_state()
    assert len(state.observations) == 2 and [s.params["arch"] for s in state.outstanding] == [
        calls[2]
    ]
    assert not report.exists()

    monkeypatch.setattr(ModelPerformanceAPI, "train_model", train)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and "2 of 4 tries done" in out
    state = Tuner.load(study).to_state()
    assert len(state.observations) == 4 and not state.outstanding
    assert state.observations[2].params["arch"] == calls[2]  # the interrupted run, trained first
    assert report.exists()


def test_run_refuses_a_study_made_with_other_settings(tmp_path, capsys):
    study = tmp_path / "study.json"
    main(["init", str(study), "--problem", "ads-arch", "--seed", "3"])
    assert main(["run", "--tries", "2", "--study", str(study)]) == 2
    assert "holds a study with another seed" in capsys.readouterr().err


@pytest.mark.parametrize("tries", ["0", "-2", "x"])
def test_bad_tries_is_a_usage_error(capsys, tries):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--tries", tries])
    assert exit_.value.code == 2 and capsys.readouterr().err.count("\n") == 1


def test_run_resumes_a_study_made_before_a_default_changed(tmp_path, capsys):
    study = tmp_path / "study.json"
    argv = ["run", "--tries", "2", "--study", str(study), "--out", str(tmp_path / "r.html")]
    assert main(argv) == 0
    saved = json.loads(study.read_text())
    saved["heuristics"]["failure_imputation"] = False  # the former bool, off by default
    saved["config"]["exploration_bias"] = 1.0  # the former default magnitude
    study.write_text(json.dumps(saved))
    capsys.readouterr()
    assert main(argv) == 0
    assert "resuming" in (out := capsys.readouterr().out)
    assert "(its heuristics: failure_imputation=none)" in out
    assert Tuner.load(study).heuristics.failure_imputation.value == "none"
    assert Tuner.load(study).config.exploration_bias == 1.0
    assert main([*argv, "--switch", "failure_imputation=worst"]) == 2
    assert "holds a study with failure_imputation=none" in capsys.readouterr().err
    assert main([*argv, "--min-qps", "4000"]) == 2
    assert "holds a study with another --min-qps" in capsys.readouterr().err
    assert main([*argv, "--switch", "cost_cap_confidence=0.5"]) == 2
    assert "holds a study with cost_cap_confidence=0.7;" in capsys.readouterr().err


def test_interrupted_run_names_the_command_that_resumes_it(tmp_path, capsys, monkeypatch):
    study, report = tmp_path / "study.json", tmp_path / "report.html"
    argv = ["run", "--tries", "3", "--days", "5", "--seed", "2", "--study", str(study)]
    argv += ["--out", str(report), "--switch", "search_space_probability=density"]
    train = ModelPerformanceAPI.train_model
    _interrupt_run(monkeypatch, 2)
    assert main(argv) == 130
    hint = capsys.readouterr().err.split("`")[1]
    assert hint.startswith("carbs-lite run ")
    monkeypatch.setattr(ModelPerformanceAPI, "train_model", train)
    assert main(shlex.split(hint)[1:]) == 0  # the hint as the user would paste it
    assert "1 of 3 tries done" in capsys.readouterr().out
    assert len(Tuner.load(study).to_state().observations) == 3


def test_a_run_interrupted_before_any_try_finished_says_nothing_was_kept(
    tmp_path, capsys, monkeypatch
):
    # a Ctrl-C in the first suggestion, before the study was first saved
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    study = tmp_path / "study.json"
    monkeypatch.setattr(Tuner, "suggest", interrupted)
    assert main(["run", "--tries", "2", "--study", str(study), "--out", str(tmp_path / "r")]) == 130
    assert "before any try finished; nothing was kept" in capsys.readouterr().err
    assert not study.exists()


def test_run_does_not_take_a_journal_study(tmp_path, capsys):
    study = tmp_path / "study.json"
    assert main(["init", str(study), "--problem", "ads-arch", "--journal"]) == 0
    before = study.read_bytes()
    capsys.readouterr()
    assert main(["run", "--tries", "1", "--study", str(study), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "is a study journal; run keeps its study in a snapshot file" in err
    assert err.count("\n") == 1 and study.read_bytes() == before


@pytest.mark.parametrize(
    ("option", "value", "recorded"),
    [("--days", "7", "--days 5"), ("--noise-scale", "0.5", "--noise-scale 1")],
)
def test_run_refuses_to_mix_runs_of_another_simulator_setting(
    tmp_path, capsys, option, value, recorded
):
    study = tmp_path / "study.json"
    argv = ["run", "--tries", "1", "--study", str(study), "--out", str(tmp_path / "r.html")]
    assert main([*argv, "--days", "5"]) == 0
    saved = study.read_bytes()
    capsys.readouterr()
    days = [] if option == "--days" else ["--days", "5"]
    assert main([*argv, *days, option, value]) == 2
    err = capsys.readouterr().err
    assert f"holds runs trained with {recorded};" in err and err.count("\n") == 1
    assert study.read_bytes() == saved


@pytest.mark.parametrize("scale", ["nan", "inf", "-1", "x"])
def test_bad_noise_scale_is_a_usage_error(capsys, scale):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--noise-scale", scale])
    assert exit_.value.code == 2 and capsys.readouterr().err.count("\n") == 1


def test_study_in_a_missing_folder_is_refused_before_any_run(tmp_path, capsys):
    missing = tmp_path / "nowhere" / "study.json"
    assert (
        main(["run", "--tries", "1", "--study", str(missing), "--out", str(tmp_path / "r.html")])
        == 2
    )
    err = capsys.readouterr().err
    assert "--study" in err and "does not exist" in err and err.count("\n") == 1
    assert not missing.parent.exists()
