"""Early stopping on the ads task: ``tune_arch`` and `carbs-lite run` feed each run's daily
curve to the study and stop runs the rule gives up on, only with the switch on."""

from __future__ import annotations

import pytest
import torch

from carbs_lite import Heuristics, Tuner, TunerConfig, tune_arch
from carbs_lite.cli import main
from carbs_lite.tasks.ads.simulator import ModelPerformanceAPI

FAST = TunerConfig(num_candidates_per_dim=10, fit_iterations=5)


def _tune(early_stopping: bool | None):
    torch.set_num_threads(1)
    heuristics = None if early_stopping is None else Heuristics(early_stopping=early_stopping)
    api = ModelPerformanceAPI({"SEED": 0})
    return tune_arch(api, tries=5, training_days=20, config=FAST, heuristics=heuristics)


def test_the_switch_stops_runs_and_spends_fewer_training_days():
    off, on = _tune(None), _tune(True)
    assert off.tuner.heuristics.early_stopping is False  # off by default
    assert [t.days for t in off.tries] == [20] * 5 and off.days_trained == 100
    assert all(t.stopped is None for t in off.tries)
    assert all(len(o.curve) == 20 for o in off.tuner.observations)  # fed day by day

    stopped = [t for t in on.tries if t.stopped]
    assert stopped and on.days_trained < off.days_trained
    assert any("cost cap" in t.stopped for t in stopped)
    for result, observation in zip(on.tries, on.tuner.observations, strict=True):
        assert observation.stopped == result.stopped and len(observation.curve) == result.days
        if result.stopped:
            assert observation.is_failure and not result.feasible
    # the runs before the first stop are the same: the switch only acts through stops
    first = next(t.index for t in stopped)
    assert [t.arch for t in on.tries[: first + 1]] == [t.arch for t in off.tries[: first + 1]]


@pytest.mark.slow
def test_run_command_stops_runs_with_the_switch(tmp_path, capsys):
    study = tmp_path / "study.json"
    argv = ["run", "--tries", "3", "--days", "20", "--study", str(study)]
    assert main([*argv, "--out", str(tmp_path / "r.html"), "--switch", "early_stopping=on"]) == 0
    out = capsys.readouterr().out
    assert "stopped on day 1" in out and "1 run(s) stopped early, saving 19" in out
    assert Tuner.load(study).observations[1].stopped.startswith("at training day 1")
