"""Ray Tune searcher: trial bookkeeping without a cluster, then one real local experiment."""

from __future__ import annotations

import json
import math
import time

import pytest

pytest.importorskip("ray.tune", reason='ray[tune] is not installed (pip install "carbs_lite[ray]")')

import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.search import ConcurrencyLimiter  # noqa: E402

from carbs_lite import LinearSpace, Param, Tuner, TunerConfig  # noqa: E402
from carbs_lite.integrations.ray_tune import CarbsSearch  # noqa: E402

PARAMS = [Param("x", LinearSpace(min=-2.0, max=2.0), 0.5), Param("y", LinearSpace(0.0, 1.0), 0.5)]
CONFIG = TunerConfig(direction="minimize", num_candidates_per_dim=10, fit_iterations=5)


def _searcher(**kwargs) -> CarbsSearch:
    return CarbsSearch(Tuner(PARAMS, CONFIG), metric="loss", **kwargs)


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
    assert set(found) == set(configs) and searcher.tuner.outstanding == []
    assert (found["a"].output, found["a"].cost, found["a"].is_failure) == (0.5, 3.0, False)
    assert found["b"].is_failure and found["b"].cost > 0
    assert found["c"].is_failure and found["c"].cost == 2.0
    assert found["d"].output == 0.1 and found["d"].cost == pytest.approx(1e-6)
    assert all(found[t].params == configs[t] for t in configs)


def test_mode_follows_the_tuner_and_domains_are_refused():
    searcher = CarbsSearch(Tuner(PARAMS, CONFIG))
    assert searcher.mode == "min"
    with pytest.raises(ValueError, match="direction"):
        CarbsSearch(Tuner(PARAMS, CONFIG), metric="loss", mode="max")
    assert not searcher.set_search_properties("loss", "min", {"x": tune.uniform(0, 1)})
    assert searcher.set_search_properties("loss", "min", {"epochs": 3})
    assert searcher.metric == "loss"
    with pytest.raises(ValueError, match="direction"):
        searcher.set_search_properties("loss", "max", {})
    with pytest.raises(RuntimeError, match="metric"):
        CarbsSearch(Tuner(PARAMS, CONFIG)).suggest("t")


def test_save_restore_keeps_running_trials(tmp_path):
    searcher = _searcher()
    searcher.suggest("a")
    searcher.on_trial_complete("a", {"loss": 1.0, "time_total_s": 1.0})
    running = searcher.suggest("b")
    searcher.save(str(tmp_path / "searcher.json"))
    restored = CarbsSearch(Tuner(PARAMS, CONFIG))
    restored.restore(str(tmp_path / "searcher.json"))
    assert restored.metric == "loss" and restored.tuner.observations == searcher.tuner.observations
    assert [s.params for s in restored.tuner.outstanding] == [running]
    restored.on_trial_complete("b", {"loss": 0.5, "time_total_s": 1.0})
    assert len(restored.tuner.observations) == 2


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


@pytest.fixture
def local_ray(monkeypatch):
    monkeypatch.setenv("RAY_DEDUP_LOGS", "0")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("RAY_AIR_NEW_OUTPUT", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        yield
    finally:
        ray.shutdown()


def test_real_experiment_observes_every_trial_once_and_spreads_concurrent_ones(tmp_path, local_ray):
    def trainable(config: dict) -> None:  # local, so Ray workers get it by value
        time.sleep(0.5)
        tune.report({"loss": (config["x"] - 1.0) ** 2 + config["y"], "cost": 1.0 + config["y"]})

    searcher = _RecordingSearch(Tuner(PARAMS, CONFIG, seed=1), metric="loss", cost_metric="cost")
    searcher.events = []
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 0.5}),
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=4),
            metric="loss",
            mode="min",
            num_samples=8,  # twice the concurrency: finished trials make room for new ones
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="carbs", verbose=0),
    )
    results = tuner.fit()
    assert len(results) == 8 and not results.errors

    observations = searcher.tuner.observations
    trial_ids = [o.extra["trial_id"] for o in observations]
    assert sorted(trial_ids) == sorted(r.metrics["trial_id"] for r in results)
    assert len(set(trial_ids)) == 8 and not any(o.is_failure for o in observations)
    assert {o.output for o in observations} == {r.metrics["loss"] for r in results}

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
    assert math.isfinite(results.get_best_result().metrics["loss"])
