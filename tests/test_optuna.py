"""Optuna sampler: distributions, costs, failures and running trials, shared RDB storage,
Optuna's plots, and the same best region as the native tuner."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import subprocess
import sys
import textwrap

import pytest

optuna = pytest.importorskip(
    "optuna", reason='optuna is not installed (pip install "carbs_lite[optuna]")'
)

from optuna.distributions import (  # noqa: E402
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState  # noqa: E402

from carbs_lite import Tuner, TunerConfig  # noqa: E402
from carbs_lite.integrations.optuna import CarbsSampler, distribution_map  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

FAST = TunerConfig(num_candidates_per_dim=10, fit_iterations=5)
SPACE = {
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "width": IntDistribution(8, 512, log=True),
}
CAP = 10.0


def _loss_and_cost(params: dict) -> tuple[float, float]:
    """Loss best at lr = 10^-2.5 and falling with width; cost width / 8, so under the cap of
    10 the best region is lr near 10^-2.5 with width just under 80."""
    return (math.log10(params["lr"]) + 2.5) ** 2 + 4 / math.sqrt(params["width"]), params[
        "width"
    ] / 8


def _objective(trial: optuna.Trial) -> float:
    params = {name: _suggest(trial, name, d) for name, d in SPACE.items()}
    loss, cost = _loss_and_cost(params)
    trial.set_user_attr("cost", cost)
    return loss


def _suggest(trial: optuna.Trial, name: str, distribution) -> float:
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(name, distribution.low, distribution.high, log=distribution.log)
    return trial.suggest_float(name, distribution.low, distribution.high, log=distribution.log)


def _record(trial) -> dict | None:
    return trial.system_attrs.get("carbs_lite:suggestion")


def test_importing_carbs_lite_imports_neither_optuna_nor_ray():
    code = "import sys, carbs_lite; print(sorted({m.split('.')[0] for m in sys.modules} & {'optuna', 'ray'}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_every_distribution_kind_is_searched_and_its_values_used_as_sampled():
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 3.0)
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        dropout = trial.suggest_float("dropout", 0.0, 0.5, step=0.05)
        layers = trial.suggest_int("layers", 1, 8)
        width = trial.suggest_int("width", 16, 1024, log=True)
        batch = trial.suggest_int("batch", 32, 256, step=32)
        heads = trial.suggest_int("heads", 1, 9, step=2)
        activation = trial.suggest_categorical("activation", ["relu", "gelu", "tanh"])
        bias = trial.suggest_categorical("bias", [True, False])
        trial.set_user_attr("cost", width * layers / 100)
        penalty = (activation != "gelu") + bias
        return (x - 1) ** 2 + abs(math.log10(lr) + 3) + dropout + heads / batch + penalty

    study = optuna.create_study(sampler=CarbsSampler(FAST, seed=3))
    study.optimize(objective, n_trials=8)
    searched = [t for t in study.trials if _record(t)]
    assert len(searched) == 7  # every trial after the first, whose space is not known yet
    for trial in searched:
        assert _record(trial)["params"] == trial.params  # none fell back to independent sampling
    values = [t.params for t in study.trials]
    assert all(round(v["dropout"] / 0.05, 6).is_integer() for v in values)
    assert all(v["batch"] % 32 == 0 and v["heads"] % 2 == 1 for v in values)
    assert {v["activation"] for v in values} <= {"relu", "gelu", "tanh"}
    assert any(_record(t)["diagnostics"]["source"] == "search" for t in searched)


def test_grids_map_to_integer_spaces_and_back():
    offset = distribution_map("heads", IntDistribution(1, 9, step=2))
    assert offset.param.space.is_integer
    assert [offset.to_tool(k) for k in range(5)] == [1, 3, 5, 7, 9]
    assert offset.from_tool(7) == 3
    aligned = distribution_map("batch", IntDistribution(32, 256, step=32))
    assert aligned.param.space.rounding_factor == 32 and aligned.from_tool(64) == 64
    steps = distribution_map("dropout", FloatDistribution(0.0, 0.5, step=0.05))
    assert steps.to_tool(10) == pytest.approx(0.5) and steps.from_tool(0.15) == 3
    with pytest.raises(ValueError, match="'dropout'.*not on the grid"):
        steps.from_tool(0.12)
    choice = distribution_map("act", CategoricalDistribution(["relu", "gelu", 3]))
    assert choice.param.search_center == "relu" and choice.from_tool(3) == 3


def test_choices_without_a_carbs_lite_space_are_sampled_independently(caplog):
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        norm = trial.suggest_categorical("norm", [None, "layer"])
        trial.set_user_attr("cost", 1.0 + x)
        return x + (norm is None)

    sampler = CarbsSampler(FAST, seed=0)
    study = optuna.create_study(sampler=sampler)
    with caplog.at_level(logging.WARNING):
        study.optimize(objective, n_trials=3)
    assert "samples norm independently" in caplog.text and "None" in caplog.text
    assert [set(_record(t)["params"]) for t in study.trials[1:]] == [{"x"}, {"x"}]


def test_costs_failures_pruned_and_running_trials(caplog):
    sampler = CarbsSampler(dataclasses.replace(FAST, num_random_samples=2), seed=0)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    for loss, cost in [(0.5, 2.0), (0.3, 4.0), (0.9, 1.0)]:
        trial = study.ask(SPACE)
        trial.set_user_attr("cost", cost)
        study.tell(trial, loss)
    failed = study.ask(SPACE)  # a search step: its record carries a predicted cost
    study.tell(failed, state=TrialState.FAIL)
    pruned = study.ask(SPACE)
    pruned.set_user_attr("cost", 0.5)
    pruned.report(0.7, step=1)
    study.tell(pruned, state=TrialState.PRUNED)
    running = study.ask(SPACE)
    with pytest.raises(ValueError, match=r"trial 6 .*set_user_attr\('cost', cost\)"):
        study.tell(study.ask(SPACE), 0.1)  # completed without a cost
    assert study.trials[6].state is TrialState.COMPLETE  # stored all the same

    with caplog.at_level(logging.WARNING):
        tuner = sampler.to_tuner(study)
    found = {o.extra["trial_number"]: o for o in tuner.observations}
    assert sorted(found) == [0, 1, 2, 3, 4]
    assert [found[n].cost for n in (0, 1, 2)] == [2.0, 4.0, 1.0]
    assert found[1].output == 0.3 and not found[1].is_failure
    assert found[3].is_failure and found[3].extra["cost_estimated"]
    assert found[3].cost == pytest.approx(_record(study.trials[3])["diagnostics"]["predicted_cost"])
    assert found[4].is_failure and found[4].cost == 0.5 and found[4].extra["curve"] == [0.7]
    assert "trial 6" in caplog.text and "no cost" in caplog.text
    assert [s.params for s in tuner.outstanding] == [running.params]
    assert tuner.config.direction.value == "minimize" and tuner.config.max_suggestion_cost is None


def test_an_enqueued_trial_is_observed_as_a_point_the_user_chose():
    sampler = CarbsSampler(FAST, seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective, n_trials=2)
    study.enqueue_trial({"lr": 0.01, "width": 64})
    study.optimize(_objective, n_trials=1)
    observations = sampler.to_tuner(study).observations
    assert observations[1].diagnostics.source == "random"  # sampled by the carbs_lite tuner
    assert observations[2].params == {"lr": 0.01, "width": 64}
    assert observations[2].diagnostics is None and observations[2].suggestion_id is None


def test_cost_as_a_second_objective_and_a_pareto_plot():
    sampler = CarbsSampler(FAST, cost_attr=None, seed=1)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(lambda t: _loss_and_cost({n: _suggest(t, n, d) for n, d in SPACE.items()}), 6)
    tuner = sampler.to_tuner(study)
    assert [o.cost for o in tuner.observations] == [t.values[1] for t in study.trials]
    assert [o.output for o in tuner.observations] == [t.values[0] for t in study.trials]
    figure = optuna.visualization.plot_pareto_front(study)
    points = sorted((x, y) for d in figure.data for x, y in zip(d.x, d.y, strict=True))
    assert points == sorted(tuple(t.values) for t in study.trials)

    with pytest.raises(ValueError, match="second of two objectives, minimized"):
        optuna.create_study(directions=["minimize", "maximize"], sampler=sampler).optimize(
            lambda t: (t.suggest_float("x", 0, 1), 1.0), 1
        )
    with pytest.raises(ValueError, match="pass cost_attr=None"):
        optuna.create_study(directions=["minimize", "minimize"], sampler=CarbsSampler()).optimize(
            lambda t: (t.suggest_float("x", 0, 1), 1.0), 1
        )
    with pytest.raises(ValueError, match="cost_attr must be"):
        CarbsSampler(cost_attr="")


WORKER = textwrap.dedent(
    """
    import math, sys
    import optuna, torch
    from carbs_lite import TunerConfig
    from carbs_lite.integrations.optuna import CarbsSampler

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # one seed per process, as for Optuna's own samplers: two processes with one seed draw
    # the same random first trials before either has finished one
    sampler = CarbsSampler(
        TunerConfig(num_candidates_per_dim=10, fit_iterations=5), seed=int(sys.argv[3])
    )
    study = optuna.load_study(study_name="shared", storage=sys.argv[1], sampler=sampler)

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        width = trial.suggest_int("width", 8, 512, log=True)
        trial.set_user_attr("cost", width / 8)
        return (math.log10(lr) + 2.5) ** 2 + 4 / math.sqrt(width)

    study.optimize(objective, n_trials=int(sys.argv[2]))
    """
)


def test_two_processes_share_an_rdb_study_and_optuna_plots_it(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="shared", storage=storage)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, storage, "5", str(seed)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(2)
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=600)
        assert worker.returncode == 0, errors

    sampler = CarbsSampler(FAST, seed=0)
    study = optuna.load_study(study_name="shared", storage=storage, sampler=sampler)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 10
    assert len({(t.params["lr"], t.params["width"]) for t in trials}) == 10
    searched = [t for t in trials if _record(t)]
    assert len(searched) >= 8 and all(_record(t)["params"] == t.params for t in searched)
    tuner = sampler.to_tuner(study)
    assert sorted(o.extra["trial_number"] for o in tuner.observations) == list(range(10))

    # a trial that has set one param is outstanding, with its whole point, in another handle
    running = study.ask()
    running.suggest_float("lr", 1e-4, 1e-1, log=True)
    other = optuna.load_study(study_name="shared", storage=storage)
    (pending,) = CarbsSampler(FAST).to_tuner(other).outstanding
    assert pending.params == _record(other.trials[-1])["params"] and "width" in pending.params

    figure = optuna.visualization.plot_optimization_history(study)
    objective_values = next(d for d in figure.data if d.name == "Objective Value")
    assert list(objective_values.y) == [t.value for t in trials]


def test_same_capped_problem_same_best_region_as_the_native_tuner():
    config = TunerConfig(
        direction="minimize",
        num_candidates_per_dim=20,
        fit_iterations=10,
        max_suggestion_cost=CAP,
    )
    tuner = Tuner([distribution_map(n, d).param for n, d in SPACE.items()], config, seed=0)
    for _ in range(20):
        suggestion = tuner.suggest()
        tuner.observe(suggestion, *_loss_and_cost(suggestion.params))
    sampler = CarbsSampler(config, seed=0)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(_objective, n_trials=20)

    for best in (tuner.best(), sampler.to_tuner(study).best()):
        assert best.cost < CAP and 40 <= best.params["width"] < 80
        assert abs(math.log10(best.params["lr"]) + 2.5) < 0.4
        assert best.output < _loss_and_cost({"lr": 10**-2.5, "width": 79})[0] + 0.2
