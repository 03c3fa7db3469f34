"""Ray Tune searcher: Ray's generic searcher scenarios (ray/tune/tests/test_searchers.py) as
tests of CarbsSearch. The Searcher API is driven directly where that tests the same thing; one
real experiment, in a Ray session shared by the module, covers what only Tune itself does."""

from __future__ import annotations

import glob
import json
import math
import time

import pytest

pytest.importorskip("ray.tune", reason='ray[tune] is not installed (pip install "carbs_lite[ray]")')

import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.search import ConcurrencyLimiter, Repeater  # noqa: E402

from carbs_lite import LinearSpace, Param, Tuner, TunerConfig  # noqa: E402
from carbs_lite.integrations.ray_tune import CarbsSearch  # noqa: E402

PARAMS = [Param("x", LinearSpace(min=-2.0, max=2.0), 0.5), Param("y", LinearSpace(0.0, 1.0), 0.5)]
CONFIG = TunerConfig(direction="minimize", num_candidates_per_dim=10, fit_iterations=5)
FAST = TunerConfig(num_candidates_per_dim=10, fit_iterations=5)


def _searcher(**kwargs) -> CarbsSearch:
    return CarbsSearch(Tuner(PARAMS, CONFIG), metric="loss", **kwargs)


def _space_searcher(space: dict, mode: str = "max", **kwargs) -> CarbsSearch:
    """A searcher whose space comes from a param_space, as tune.Tuner hands it over."""
    searcher = CarbsSearch(metric="metric", config=FAST, **kwargs)
    assert searcher.set_search_properties("metric", mode, space)
    return searcher


def test_trials_map_to_suggestions_failures_and_costs():
    searcher = _searcher(cost_metric="flops")
    configs = {trial: searcher.suggest(trial) for trial in ("a", "b", "c", "d")}
    assert len(searcher.tuner.outstanding) == 4
    searcher.on_trial_complete("a", {"loss": 0.5, "flops": 3.0, "time_total_s": 9.0})
    searcher.on_trial_complete("b", None, error=True)
    searcher.on_trial_complete("c", {"time_total_s": 2.0})
    searcher.on_trial_complete("d", {"loss": 0.1, "flops": -1.0, "time_total_s": 0.0})
    searcher.on_trial_complete("a", {"loss": 0.5})  # a repeat is ignored
    found = {o.extra["trial_id"]: o for o in searcher.tuner.observations}
    # b, c and d never gave a valid flops and no model predicted their cost (initial design):
    # left out, not recorded at their seconds as if those were flops
    assert set(found) == {"a"} and searcher.tuner.outstanding == []
    assert (found["a"].output, found["a"].cost, found["a"].is_failure) == (0.5, 3.0, False)
    assert found["a"].params == configs["a"]


def test_a_trial_without_its_cost_metric_is_a_failure_at_its_predicted_cost():
    searcher = _searcher(cost_metric="flops")
    for trial in "abcd":
        searcher.suggest(trial)
        searcher.on_trial_complete(trial, {"loss": 0.5, "flops": 3.0, "time_total_s": 900.0})
    searcher.suggest("e")
    predicted = searcher.tuner.outstanding[0].diagnostics.predicted_cost
    searcher.on_trial_complete("e", {"loss": 0.01, "time_total_s": 900.0})
    last = searcher.tuner.observations[-1]
    assert last.is_failure and last.cost == predicted != 900.0
    assert last.extra["cost_estimated"] is True


def test_errored_trial_keeps_its_latest_cost_and_its_curve():
    searcher = _searcher(cost_metric="flops")
    searcher.suggest("t")
    searcher.on_trial_result(
        "t", {"loss": 0.9, "flops": 1.0, "time_total_s": 5.0, "training_iteration": 1}
    )
    searcher.on_trial_result(
        "t", {"loss": math.nan, "flops": 2.5, "time_total_s": 9.0, "training_iteration": 2}
    )
    searcher.on_trial_complete("t", None, error=True)
    (observation,) = searcher.tuner.observations
    assert observation.is_failure and observation.cost == 2.5
    assert [(p.step, p.cost) for p in observation.curve] == [(1.0, 1.0), (2.0, 2.5)]
    assert observation.curve[0].output == 0.9 and math.isnan(observation.curve[1].output)


def test_results_with_a_step_are_progress_and_a_scheduler_stop_closes_the_curve():
    searcher = _searcher(cost_metric="flops", step_metric="epoch")
    searcher.suggest("t")
    for epoch, loss in ((1, 0.9), (2, 0.7), (2, 0.7)):  # a repeated step is kept once
        searcher.on_trial_result("t", {"loss": loss, "flops": float(epoch), "epoch": epoch})
    searcher.on_trial_result("t", {"loss": 0.6, "flops": 3.0})  # no step: not progress
    searcher.on_trial_result("t", {"flops": 4.0, "epoch": 4})  # no metric: not progress
    (pending,) = searcher.tuner.outstanding
    assert [(p.step, p.output, p.cost) for p in pending.progress] == [(1, 0.9, 1), (2, 0.7, 2)]
    # a scheduler (ASHA, median stopping) stops the trial: Ray completes it with the result
    # it stopped on, which the searcher did not see as an intermediate result
    searcher.on_trial_complete("t", {"loss": 0.5, "flops": 5.0, "epoch": 5, "done": True})
    (observation,) = searcher.tuner.observations
    assert (observation.output, observation.cost, observation.is_failure) == (0.5, 5.0, False)
    assert [p.step for p in observation.curve] == [1.0, 2.0] and not searcher.tuner.outstanding


def test_a_per_result_cost_metric_leaves_the_trial_out_naming_the_fix(caplog):
    # GPU hours of each epoch, not a running total: on_trial_complete raised out of the
    # searcher, Tune called every trial errored and each stayed outstanding in the study
    searcher = _searcher(cost_metric="gpu_hours")
    searcher.suggest("t")
    searcher.on_trial_result("t", {"loss": 1.2, "gpu_hours": 2.0, "training_iteration": 1})
    searcher.on_trial_result("t", {"loss": 1.0, "gpu_hours": 1.5, "training_iteration": 2})
    searcher.on_trial_complete("t", {"loss": 1.0, "gpu_hours": 1.5, "training_iteration": 2})
    assert not searcher.tuner.outstanding and not searcher.tuner.observations
    assert "trial t left out: cost 1.5 is below the 2" in caplog.text
    assert "'gpu_hours' as the cost spent so far; report a running total" in caplog.text
    searcher.suggest("u")  # the search goes on
    searcher.on_trial_complete("u", {"loss": 0.8, "gpu_hours": 3.0})
    assert [o.cost for o in searcher.tuner.observations] == [3.0]


def test_the_stopper_stops_hopeless_trials_and_they_are_recorded_as_stopped():
    import dataclasses

    from carbs_lite import Heuristics

    capped = dataclasses.replace(CONFIG, max_suggestion_cost=11.0)
    searcher = CarbsSearch(
        Tuner(PARAMS, capped, Heuristics(early_stopping=True)), metric="loss", cost_metric="flops"
    )
    stopper = searcher.stopper()
    searcher.suggest("cheap")
    searcher.suggest("dear")
    result = {"loss": 0.5, "flops": 1.0, "training_iteration": 1}
    assert not stopper("cheap", result)
    searcher.on_trial_result("cheap", result)  # Ray passes on a result it did not stop on
    assert not stopper("dear", {"loss": 0.5, "flops": 10.0, "training_iteration": 1})
    assert stopper("dear", {"loss": 0.4, "flops": 12.0, "training_iteration": 2})
    assert not stopper.stop_all()
    searcher.on_trial_complete("dear", {"loss": 0.4, "flops": 12.0, "training_iteration": 2})
    (observation,) = searcher.tuner.observations
    assert observation.is_failure and "against cost 11" in observation.stopped
    assert observation.extra == {"trial_id": "dear"}
    assert [p.step for p in observation.curve] == [1.0, 2.0]
    (running,) = searcher.tuner.outstanding
    assert len(running.progress) == 1


def test_a_stopper_serves_the_searcher_ray_restores_not_a_stale_copy(tmp_path):
    # after tune.Tuner.restore the stopper (pickled apart from the searcher) used to stop
    # trials of a stale copy, which the restored searcher then recorded as finished runs
    import dataclasses
    import pickle

    from carbs_lite import Heuristics

    capped = dataclasses.replace(CONFIG, max_suggestion_cost=11.0)
    searcher = CarbsSearch(
        Tuner(PARAMS, capped, Heuristics(early_stopping=True)), metric="loss", cost_metric="flops"
    )
    searcher.suggest("dear")
    searcher.save(str(tmp_path / "searcher.json"))
    stopper = pickle.loads(pickle.dumps(searcher.stopper()))
    restored = pickle.loads(pickle.dumps(searcher))  # the object Ray restores into
    restored.restore(str(tmp_path / "searcher.json"))
    assert stopper.search is restored
    assert stopper("dear", {"loss": 0.4, "flops": 12.0, "training_iteration": 2})
    restored.on_trial_complete("dear", {"loss": 0.4, "flops": 12.0})
    (observation,) = restored.tuner.observations
    assert observation.stopped is not None and observation.is_failure


def test_a_result_after_completion_is_ignored():
    # Ray's testOptunaReportTooOften: results and completions after the trial completed
    searcher = _space_searcher({"report": tune.uniform(0.0, 5.0)})
    searcher.suggest("trial_1")
    searcher.on_trial_result("trial_1", {"training_iteration": 1, "metric": 1})
    searcher.on_trial_complete("trial_1", {"training_iteration": 2, "metric": 1})
    searcher.on_trial_result("trial_1", {"training_iteration": 3, "metric": 1})
    searcher.on_trial_complete("trial_1", {"training_iteration": 4, "metric": 1})
    assert [o.output for o in searcher.tuner.observations] == [1.0]


def test_mode_follows_the_tuner_and_a_second_space_is_refused():
    searcher = CarbsSearch(Tuner(PARAMS, CONFIG))
    assert searcher.mode == "min"
    with pytest.raises(ValueError, match="direction"):
        CarbsSearch(Tuner(PARAMS, CONFIG), metric="loss", mode="max")
    with pytest.raises(ValueError, match=r"search domains \['z'\].*\['x', 'y'\].*one place"):
        searcher.set_search_properties("loss", "min", {"z": tune.uniform(0, 1)})
    assert searcher.set_search_properties("loss", "min", {"epochs": 3})
    assert searcher.metric == "loss"
    with pytest.raises(ValueError, match="direction"):
        searcher.set_search_properties("loss", "max", {})
    with pytest.raises(RuntimeError, match="metric"):
        CarbsSearch(Tuner(PARAMS, CONFIG)).suggest("t")
    with pytest.raises(RuntimeError, match="no search space.*tune.uniform"):
        CarbsSearch(metric="loss").suggest("t")
    with pytest.raises(ValueError, match="to the Tuner"):
        CarbsSearch(Tuner(PARAMS, CONFIG), config=FAST)


def test_param_space_in_tune_syntax_becomes_the_search_space():
    space = {
        "lr": tune.loguniform(1e-4, 1e-1),
        "momentum": tune.uniform(0.5, 0.99),
        "dropout": tune.quniform(0.0, 0.5, 0.05),
        "layers": tune.randint(1, 4),
        "width": tune.lograndint(16, 1024),
        "batch": tune.qrandint(32, 256, 32),
        "model": {"activation": tune.choice(["relu", "gelu"]), "depth": 3},
        "epochs": 10,
    }
    searcher = _space_searcher(space, mode="min", cost_metric="cost")
    names = searcher.tuner.param_space.names
    assert names == ["lr", "momentum", "dropout", "layers", "width", "batch", "model/activation"]
    configs = [searcher.suggest(str(i)) for i in range(12)]
    for config in configs:
        assert set(config) == set(space) - {"epochs"} and set(config["model"]) == {"activation"}
        assert 1e-4 <= config["lr"] <= 1e-1 and 0.5 <= config["momentum"] <= 0.99
        assert round(config["dropout"] / 0.05, 6).is_integer() and 0 <= config["dropout"] <= 0.5
        assert config["layers"] in (1, 2, 3) and 16 <= config["width"] <= 1023
        assert config["batch"] in range(32, 257, 32)
    for i, config in enumerate(configs):
        loss = config["lr"] * 100 + (config["model"]["activation"] == "relu")
        searcher.on_trial_complete(str(i), {"metric": loss, "cost": config["width"]})
    observations = searcher.tuner.observations
    assert [o.cost for o in observations] == [c["width"] for c in configs]
    assert [o.params["model/activation"] for o in observations] == [
        c["model"]["activation"] for c in configs
    ]
    assert searcher.tuner.config.direction.value == "minimize"
    assert searcher.suggest("next")["model"]["activation"] in ("relu", "gelu")


SUPPORTED = "supports tune.uniform, tune.loguniform, tune.quniform, tune.randint"


@pytest.mark.parametrize(
    "space, message",
    [
        ({"a": tune.grid_search([1, 2])}, f"'a'.*grid_search.*tune.choice.*{SUPPORTED}"),
        ({"a": tune.randn(0, 1)}, f"'a'.*Float domain sampled Normal; it {SUPPORTED}"),
        ({"a": tune.qloguniform(5, 100, 5)}, f"'a'.*LogUniform quantized; it {SUPPORTED}"),
        ({"a": tune.sample_from(lambda _: 1)}, f"'a'.*Function domain.*; it {SUPPORTED}"),
        ({"a": [tune.uniform(0, 1)]}, r"\['a', 0\].*in nested dicts only, not inside lists"),
        ({"a": tune.choice([None, 1])}, "'a'.*a string, a finite number .*or a boolean"),
    ],
)
def test_unsupported_domains_are_refused_saying_what_is_supported(space, message):
    searcher = CarbsSearch(metric="metric", mode="max")
    with pytest.raises(ValueError, match=message):
        searcher.set_search_properties("metric", "max", space)


def test_a_metric_list_is_refused_as_multi_objective():
    with pytest.raises(ValueError, match="one metric.*multi-objective search is not supported"):
        CarbsSearch(metric=["a", "b"], mode=["max", "min"])
    searcher = CarbsSearch(metric="a", mode="max", config=FAST)
    with pytest.raises(ValueError, match="multi-objective"):
        searcher.set_search_properties(["a", "b"], ["max", "min"], {"x": tune.uniform(0, 1)})


def test_save_restore_keeps_running_trials_and_needs_no_search_properties(tmp_path):
    # Ray's SaveRestoreCheckpointTest, through a ConcurrencyLimiter as Tune would wrap it
    path = str(tmp_path / "checkpoint.json")
    searcher = ConcurrencyLimiter(_space_searcher({"a": tune.uniform(0.0, 5.0)}), 4)
    for trial_id in ("1", "2", "not_completed"):
        searcher.suggest(trial_id)
    result = {"training_iteration": 1, "metric": 1, "config/a": 1.0, "time_total_s": 1}
    searcher.on_trial_result("1", result)
    searcher.on_trial_complete("1", result)
    searcher.save(path)

    restored = CarbsSearch()
    restored.restore(path)
    assert restored.metric == "metric" and restored.mode == "max"
    restored.on_trial_result("2", result)
    restored.on_trial_complete("2", result)
    assert "a" in restored.suggest("3")
    restored.on_trial_complete("3", result)
    assert len(restored.tuner.observations) == 3
    (running,) = restored.tuner.outstanding
    assert running.params == searcher.searcher.tuner.outstanding[-1].params  # not_completed
    restored.on_trial_complete("not_completed", result)
    assert restored.tuner.outstanding == []


def test_points_to_evaluate_run_first_and_stay_outstanding_while_running():
    points = [{"model": {"lr": 0.01}, "batch": 64}, {"model/lr": 0.001, "batch": 96}]
    space = {"model": {"lr": tune.loguniform(1e-4, 1e-1)}, "batch": tune.qrandint(32, 256, 32)}
    searcher = _space_searcher(space, points_to_evaluate=points)
    assert searcher.suggest("p1") == {"model": {"lr": 0.01}, "batch": 64}
    assert searcher.suggest("p2") == {"model": {"lr": 0.001}, "batch": 96}
    assert sorted(s.id for s in searcher.tuner.outstanding) == ["chosen-p1", "chosen-p2"]
    searcher.suggest("s1")
    searcher.on_trial_complete("p1", {"metric": 0.7, "time_total_s": 3.0})
    (chosen,) = searcher.tuner.observations
    assert chosen.params == {"model/lr": 0.01, "batch": 64} and chosen.cost == 3.0
    assert chosen.diagnostics.source == "chosen" and len(searcher.tuner.outstanding) == 2
    with pytest.raises(ValueError, match="'batch'.*multiple"):
        _space_searcher(space, points_to_evaluate=[{"model": {"lr": 0.01}, "batch": 50}])


def test_evaluated_rewards_warm_start_the_study():
    points = [{"x": 1.0, "y": 0.2}, {"x": -1.0, "y": 0.9}]
    rewards = [{"loss": 0.3, "cost": 2.0}, {"loss": 0.8, "cost": 5.0}]
    with pytest.raises(ValueError, match="needs the cost 'cost'"):  # no seconds in its place
        _searcher(
            cost_metric="cost",
            points_to_evaluate=points,
            evaluated_rewards=[rewards[0], {"loss": 0.8, "time_total_s": 5.0}],
        )
    searcher = _searcher(cost_metric="cost", points_to_evaluate=points, evaluated_rewards=rewards)
    assert [(o.params, o.output, o.cost) for o in searcher.tuner.observations] == [
        (points[0], 0.3, 2.0),
        (points[1], 0.8, 5.0),
    ]
    assert searcher.tuner.to_state().search_center == points[0]  # the best one, as CARBS does
    assert searcher.suggest("t") not in points  # no point is run again
    # with the space from a param_space, the rewards wait for it
    reward = {"metric": 1.0, "time_total_s": 1.0}
    later = CarbsSearch(
        metric="metric", config=FAST, points_to_evaluate=[{"a": 1.0}], evaluated_rewards=[reward]
    )
    later.set_search_properties("metric", "max", {"a": tune.uniform(0.0, 5.0)})
    assert [o.output for o in later.tuner.observations] == [1.0]
    with pytest.raises(ValueError, match="needs the cost.*'loss': 0.3, 'time_total_s': 2.0"):
        _searcher(points_to_evaluate=points, evaluated_rewards=[0.3, 0.8])
    with pytest.raises(ValueError, match="1 entries for 2 points_to_evaluate"):
        _searcher(points_to_evaluate=points, evaluated_rewards=[0.3])


def test_add_evaluated_point_observes_successes_errors_and_pruned_points():
    # Ray's AddEvaluatedPointTest: one point per call, failures for error and pruned
    searcher = ConcurrencyLimiter(_space_searcher({"report": tune.uniform(0.0, 5.0)}), 2)
    result = {"metric": 1.0, "time_total_s": 2.0}
    searcher.add_evaluated_point({"report": 1.0}, result, intermediate_values=[0.8, 0.9])
    searcher.add_evaluated_point({"report": 2.0}, result, error=True)
    searcher.add_evaluated_point({"report": 3.0}, result, pruned=True)
    observations = searcher.searcher.tuner.observations
    assert [(o.output, o.is_failure) for o in observations][0] == (1.0, False)
    assert [o.is_failure for o in observations[1:]] == [True, True]
    assert observations[0].extra["curve"] == [0.8, 0.9] and observations[0].cost == 2.0
    assert "report" in searcher.suggest("1")
    with pytest.raises(ValueError, match="needs the cost"):
        searcher.add_evaluated_point({"report": 1.0}, 1.0)
    with pytest.raises(ValueError, match="'report'.*outside"):
        searcher.add_evaluated_point({"report": 7.0}, result)
    with pytest.raises(RuntimeError, match="no search space"):
        CarbsSearch(metric="metric").add_evaluated_point({"report": 1.0}, result)


def test_concurrency_limiter_holds_back_and_batches_completions():
    limiter = ConcurrencyLimiter(_searcher(), max_concurrent=2, batch=True)
    assert limiter.suggest("a") and limiter.suggest("b")
    assert limiter.suggest("c") is None  # the limit
    limiter.on_trial_complete("a", {"loss": 1.0, "time_total_s": 1.0})
    assert limiter.searcher.tuner.observations == []  # held until the batch is done
    assert len(limiter.searcher.tuner.outstanding) == 2
    limiter.on_trial_complete("b", {"loss": 2.0, "time_total_s": 1.0})
    assert [o.output for o in limiter.searcher.tuner.observations] == [1.0, 2.0]
    assert limiter.suggest("c") is not None


def test_repeater_runs_each_suggestion_several_times_and_observes_the_mean():
    repeater = Repeater(_searcher(), repeat=3)
    configs = [repeater.suggest(str(i)) for i in range(6)]
    assert [c["__trial_index__"] for c in configs] == [0, 1, 2, 0, 1, 2]
    assert configs[0]["x"] == configs[2]["x"] != configs[3]["x"]
    assert len(repeater.searcher.tuner.outstanding) == 2
    for i, loss in enumerate([1.0, 2.0, 3.0, 4.0, None, 6.0]):
        repeater.on_trial_complete(str(i), {"loss": loss} if loss else None)
    assert [o.output for o in repeater.searcher.tuner.observations] == [2.0, 5.0]
    assert all(o.cost > 0 for o in repeater.searcher.tuner.observations)  # wall time


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray session for the module's real experiments."""
    env = {"RAY_DEDUP_LOGS": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AIR_NEW_OUTPUT": "0"}
    patch = pytest.MonkeyPatch()
    for key, value in env.items():
        patch.setenv(key, value)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        yield
    finally:
        ray.shutdown()
        patch.undo()


@pytest.fixture(scope="module")
def experiment(ray_session, tmp_path_factory):
    """One real experiment of Ray's InvalidValuesTest: a param_space in Tune's syntax with
    constants, metric values inf, -inf and NaN above report = 2, a ConcurrencyLimiter."""
    storage = tmp_path_factory.mktemp("ray")

    def invalid_objective(config: dict) -> None:  # local, so Ray workers get it by value
        time.sleep(0.3)  # so that trials overlap
        report = config["report"]
        value = math.inf if report > 4 else -math.inf if report > 3 else math.nan
        tune.report({"_metric": report or 0.1 if report <= 2 else value, "cost": 1.0 + report})

    searcher = _RecordingSearch(config=FAST, cost_metric="cost", seed=1)
    searcher.events = []
    space = {"report": tune.uniform(0.0, 5.0), "list": [1, 2, 3], "num": 4}
    tuner = tune.Tuner(
        tune.with_resources(invalid_objective, {"cpu": 0.5}),
        param_space=space,
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=4),
            metric="_metric",
            mode="max",
            num_samples=12,
            reuse_actors=True,  # one actor runs trial after trial, not one actor per trial
        ),
        run_config=tune.RunConfig(storage_path=str(storage), name="carbs", verbose=0),
    )
    return searcher, tuner.fit(), storage / "carbs"


class _RecordingSearch(CarbsSearch):
    """Logs suggest/complete events in order, to check what ran concurrently."""

    events: list[tuple[str, str, dict | None]]

    def suggest(self, trial_id: str) -> dict:
        config = super().suggest(trial_id)
        self.events.append(("suggest", trial_id, config))
        return config

    def on_trial_complete(self, trial_id, result=None, error=False) -> None:
        self.events.append(("complete", trial_id, None))
        super().on_trial_complete(trial_id, result, error)


def _failed(report: float) -> bool:
    return report > 2


def test_real_experiment_observes_each_trial_once_with_invalid_values_as_failures(experiment):
    searcher, results, _ = experiment
    assert len(results) == 12 and not results.errors
    observations = {o.extra["trial_id"]: o for o in searcher.tuner.observations}
    assert sorted(observations) == sorted(r.metrics["trial_id"] for r in results)
    for result in results:
        observation = observations[result.metrics["trial_id"]]
        assert observation.params == {"report": result.config["report"]}
        assert observation.is_failure == _failed(result.config["report"])
        assert observation.cost == pytest.approx(1.0 + result.config["report"])
        assert result.config["list"] == [1, 2, 3] and result.config["num"] == 4
    best = results.get_best_result(filter_nan_and_inf=True)
    assert best.config["report"] <= 2.0
    assert best.metrics["_metric"] == max(
        o.output for o in observations.values() if not o.is_failure
    )


def test_real_experiment_spreads_concurrent_trials(experiment):
    searcher, _, _ = experiment
    running: dict[str, dict] = {}
    most_running = 0
    for event, trial_id, config in searcher.events:
        if event == "complete":
            running.pop(trial_id)
            continue
        key = json.dumps(config, sort_keys=True)
        assert key not in {json.dumps(c, sort_keys=True) for c in running.values()}
        running[trial_id] = config
        most_running = max(most_running, len(running))
    assert most_running == 4


def test_tune_checkpoints_the_searcher_and_it_restores(experiment):
    searcher, _, folder = experiment
    (checkpoint,) = glob.glob(str(folder / "searcher-state-*.pkl"))
    restored = CarbsSearch()
    restored.restore(checkpoint)
    assert restored.tuner.observations == searcher.tuner.observations
    assert restored.suggest("next")["report"] <= 5.0


def test_add_evaluated_trials_warm_starts_from_an_earlier_experiment(experiment):
    # Ray's run_add_evaluated_trials: a ResultGrid, an ExperimentAnalysis's trials, one trial
    _, results, folder = experiment
    trials = tune.ExperimentAnalysis(str(folder)).trials
    for source, count in [(results, 12), (trials, 12), (trials[0], 1)]:
        searcher = _space_searcher({"report": tune.uniform(0.0, 5.0)}, cost_metric="cost")
        searcher.add_evaluated_trials(source, "_metric")
        observations = searcher.tuner.observations
        assert len(observations) == count
        assert [o.is_failure for o in observations] == [
            _failed(o.params["report"]) for o in observations
        ]
        assert all(o.cost == pytest.approx(1.0 + o.params["report"]) for o in observations)
        successes = [o for o in observations if not o.is_failure]
        best = max(successes, key=lambda o: o.output).params if successes else None
        assert searcher.tuner.to_state().search_center == best  # re-centered, as CARBS does
        assert searcher.suggest("1")["report"] <= 5.0
    with pytest.raises(TypeError, match="ResultGrid, an ExperimentAnalysis"):
        searcher.add_evaluated_trials({"report": 1.0}, "_metric")


def test_real_experiment_with_the_stopper_stops_diverging_trials(ray_session, tmp_path):
    from carbs_lite import Heuristics

    def diverging_objective(config: dict) -> None:  # local, so Ray workers get it by value
        for day in range(1, 4):
            time.sleep(0.05)
            loss = math.nan if config["report"] > 3 else config["report"] / day
            tune.report({"loss": loss, "cost": float(day)})

    study = Tuner(
        [Param("report", LinearSpace(min=0.0, max=5.0), 4.5)],
        TunerConfig(direction="minimize", num_candidates_per_dim=10, fit_iterations=5),
        Heuristics(early_stopping=True),
        seed=2,
    )
    searcher = CarbsSearch(study, metric="loss", cost_metric="cost")
    results = tune.Tuner(
        tune.with_resources(diverging_objective, {"cpu": 0.5}),
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=2), num_samples=6
        ),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), name="stops", stop=searcher.stopper(), verbose=0
        ),
    ).fit()
    assert len(results) == 6 and not results.errors
    observations = searcher.tuner.observations  # in the order the trials completed
    assert len(observations) == 6 and not searcher.tuner.outstanding
    for observation in observations:
        diverging = observation.params["report"] > 3
        assert (observation.stopped is not None) == diverging
        assert len(observation.curve) == (1 if diverging else 3)  # stopped at its first NaN
        assert observation.extra["trial_id"] in {r.metrics["trial_id"] for r in results}
    (center,) = [o for o in observations if o.params == {"report": 4.5}]  # the first try
    assert "diverged" in center.stopped
    assert {o.stopped is None for o in observations} == {True, False}  # both kinds ran


def test_an_intermediate_result_without_the_cost_metric_is_not_progress_and_not_an_error():
    # a trainable may report its cost only at the end: its earlier results used to raise
    searcher = _searcher(cost_metric="flops")
    searcher.suggest("t")
    searcher.on_trial_result("t", {"loss": 0.9, "training_iteration": 1})
    assert searcher.stopper()("t", {"loss": 0.8, "training_iteration": 2}) is False
    (pending,) = searcher.tuner.outstanding
    assert pending.progress == ()
    searcher.on_trial_complete("t", {"loss": 0.7, "flops": 3.0})
    assert searcher.tuner.observations[0].cost == 3.0
