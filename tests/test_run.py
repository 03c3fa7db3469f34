"""`carbs-lite run`: the study is kept on disk as it goes; Ctrl-C loses at most one run."""

from __future__ import annotations

import json

import pytest

from carbs_lite import Tuner
from carbs_lite.cli import main
from carbs_lite.tasks.ads.simulator import ModelPerformanceAPI


def test_interrupted_run_keeps_its_tries_and_resumes(tmp_path, capsys, monkeypatch):
    study, report = tmp_path / "study.json", tmp_path / "report.html"
    argv = ["run", "--tries", "4", "--study", str(study), "--out", str(report)]
    train = ModelPerformanceAPI.train_model
    calls = []

    def interrupted_on_the_third_run(self, *args, **kwargs):
        calls.append(kwargs["arch"])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return train(self, *args, **kwargs)

    monkeypatch.setattr(ModelPerformanceAPI, "train_model", interrupted_on_the_third_run)
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
