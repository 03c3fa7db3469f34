"""Sample efficiency on the ads-architecture task: carbs_lite vs random search, Optuna TPE and GP.

    python benchmarks/ads_tries.py [--seeds 20] [--tries 10 30] [--methods carbs random tpe gp]
                                   [--switch NAME=VALUE ...]

For each seed every method gets a simulator seeded alike (SEED = seed) and ``tries`` training
runs of 60 days, starting from the baseline ``[[64, 64]]``. A method's pick is its best
*observed* feasible try (qps > 3500, not diverged); it is scored by the simulator's noiseless
score of that arch. Regret = CEILING - true score. ``--switch`` sets a ``Heuristics`` field
for carbs_lite (e.g. ``search_space_probability=density``). Needs the ``bench`` extra (optuna).
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from carbs_lite import Heuristics, tune_arch
from carbs_lite.config import heuristics_from_switches
from carbs_lite.tasks.ads.simulator import ModelPerformanceAPI, get_default_model_config_dict
from carbs_lite.tasks.ads.tuning import BASELINE_ARCH

CEILING = 0.0365
DAYS, MIN_QPS = 60, 3500.0
Arch = list[list[int]]


def _api(seed: int, overrides: dict[str, Any]) -> ModelPerformanceAPI:
    config = get_default_model_config_dict()
    config.update(overrides)
    config["SEED"] = seed
    return ModelPerformanceAPI(config)


def _true_score(api: ModelPerformanceAPI, arch: Arch | None) -> float:
    """Noiseless score of ``arch`` (NaN-safe: None scores as the baseline, 0)."""
    if arch is None:
        return 0.0
    return api.get_score(api.true_metrics(arch, DAYS).ne)


def _run_tries(
    api: ModelPerformanceAPI, archs: Callable[[], Arch], tries: int
) -> tuple[Arch | None, int]:
    """Train ``tries`` archs from ``archs()``; the best observed feasible one and #feasible."""
    best, best_ne, feasible = None, math.inf, 0
    for _ in range(tries):
        arch = archs()
        ne, qps, _ = api.train_model(training_days=DAYS, arch=arch, ignore_budget=True)
        if not math.isnan(ne) and qps > MIN_QPS:
            feasible += 1
            if ne < best_ne:
                best, best_ne = arch, ne
    return best, feasible


def random_arch(rng: np.random.Generator) -> Arch:
    """Uniform number of sub-arches and layers (1..5), log-uniform integer widths in 64..2048."""
    return [
        [int(round(2 ** rng.uniform(6, 11))) for _ in range(rng.integers(1, 6))]
        for _ in range(rng.integers(1, 6))
    ]


def run_random(seed: int, tries: int, overrides: dict[str, Any]) -> tuple[float, float]:
    api, rng = _api(seed, overrides), np.random.default_rng(10_000 + seed)
    queue = [BASELINE_ARCH]
    best, feasible = _run_tries(api, lambda: queue.pop() if queue else random_arch(rng), tries)
    return _true_score(api, best), feasible / tries


def _run_optuna(
    seed: int, tries: int, overrides: dict[str, Any], sampler_name: str
) -> tuple[float, float]:
    """An Optuna study over the arch encoded as sub_arches, depth_i, w_i_j (log int widths).

    An infeasible try (diverged or QPS at most 3500) scores 0, no better than the baseline;
    GP also gets it as a violated constraint (``constraints_func``), as Optuna documents for
    constrained problems."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Optuna 5 deprecates constraints_func for Trial.set_constraint; older versions lack that
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    api = _api(seed, overrides)
    best: dict[str, Any] = {"arch": None, "ne": math.inf, "feasible": 0}

    def objective(trial: optuna.Trial) -> float:
        arch = []
        for i in range(trial.suggest_int("sub_arches", 1, 5)):
            depth = trial.suggest_int(f"depth_{i}", 1, 5)
            arch.append([trial.suggest_int(f"w_{i}_{j}", 64, 2048, log=True) for j in range(depth)])
        ne, qps, _ = api.train_model(training_days=DAYS, arch=arch, ignore_budget=True)
        feasible = not math.isnan(ne) and qps > MIN_QPS
        trial.set_user_attr("constraint", 0.0 if feasible else 1.0)
        if not feasible:
            return 0.0
        best["feasible"] += 1
        if ne < best["ne"]:
            best.update(arch=arch, ne=ne)
        return api.get_score(ne)

    def constraints(trial: optuna.trial.FrozenTrial) -> list[float]:
        return [trial.user_attrs["constraint"]]

    if sampler_name == "gp":
        sampler = optuna.samplers.GPSampler(
            seed=seed,
            n_startup_trials=4,
            constraints_func=constraints,
            warn_independent_sampling=False,  # an arch's extra layers are always independent
        )
    else:
        sampler = optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, n_startup_trials=4
        )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial({"sub_arches": 1, "depth_0": 2, "w_0_0": 64, "w_0_1": 64})
    study.optimize(objective, n_trials=tries)
    return _true_score(api, best["arch"]), best["feasible"] / tries


def run_carbs(
    seed: int, tries: int, overrides: dict[str, Any], heuristics: Heuristics | None = None
) -> tuple[float, float]:
    api = _api(seed, overrides)
    result = tune_arch(
        api, tries=tries, training_days=DAYS, min_qps=MIN_QPS, seed=seed, heuristics=heuristics
    )
    best = result.best
    feasible = sum(t.feasible for t in result.tries)
    return _true_score(api, best.arch if best else None), feasible / tries


METHODS: dict[str, Callable[..., tuple[float, float]]] = {
    "carbs": run_carbs,
    "random": run_random,
    "tpe": functools.partial(_run_optuna, sampler_name="tpe"),
    "gp": functools.partial(_run_optuna, sampler_name="gp"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--tries", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--switch", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    try:
        heuristics = heuristics_from_switches(args.switch)
    except ValueError as error:
        parser.error(f"--switch: {error}")
    methods = {**METHODS, "carbs": functools.partial(run_carbs, heuristics=heuristics)}
    torch.set_num_threads(1)
    for tries in args.tries:
        scores: dict[str, list[float]] = {m: [] for m in args.methods}
        feasible: dict[str, list[float]] = {m: [] for m in args.methods}
        seconds: dict[str, float] = dict.fromkeys(args.methods, 0.0)
        for seed in range(args.seeds):
            for method in args.methods:
                start = time.perf_counter()
                score, fraction = methods[method](seed, tries, {})
                seconds[method] += time.perf_counter() - start
                scores[method].append(score)
                feasible[method].append(fraction)
        print(f"\n{tries} tries, {args.seeds} seeds (ceiling {CEILING})")
        print(
            "| method | median true score | median regret | mean feasible tries "
            "| carbs wins/losses vs it (paired) | seconds |"
        )
        print("|---|---|---|---|---|---|")
        for method in args.methods:
            median = statistics.median(scores[method])
            wins = "-"
            if "carbs" in scores and method != "carbs":
                pairs = list(zip(scores["carbs"], scores[method], strict=True))
                wins = f"{sum(a > b for a, b in pairs)}/{sum(a < b for a, b in pairs)}"
            print(
                f"| {method} | {median:.5f} | {CEILING - median:.5f} | "
                f"{statistics.mean(feasible[method]):.0%} | {wins} | {seconds[method]:.0f} |"
            )


if __name__ == "__main__":
    main()
