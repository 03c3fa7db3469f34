"""Median ``suggest()`` wall time at 10, 100 and 1000 observations in 10 dimensions, and
suggestion quality of the fast fit versus a long fit (the peer), measured in one run.

    python benchmarks/suggest_latency.py [--repeats 5] [--quality-seeds 5] [--quality-steps 50]
                                         [--failures] [--switch NAME=VALUE ...]

Problem: ``QuadraticCostProblem(dim=9)`` (9 coordinates + 1 cost parameter = 10 dimensions).
Fast: L-BFGS for 20 iterations on at most 128 points (the defaults). Long: L-BFGS for 300
iterations on every point. One torch thread. The first fit in the process (warm-up) is
reported separately. ``--failures`` fails the observations with x0 > 0.5 (a quarter of the
box), so that every suggestion also fits the success model. ``--switch`` adds a column: the
fast fit with those ``Heuristics`` fields, on tuners holding the same observations, its calls
alternating with the defaults' calls.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from carbs_lite import Heuristics, Tuner, TunerConfig
from carbs_lite.bench.synthetic import QuadraticCostProblem
from carbs_lite.config import heuristics_from_switches

PROBLEM = QuadraticCostProblem(dim=9)
FAST = {"fit_iterations": 20, "max_fit_points": 128}
LONG = {"fit_iterations": 300, "max_fit_points": 100_000}


def _config(fit: dict, resample_frequency: int = 5) -> TunerConfig:
    return TunerConfig(
        direction="minimize",
        max_suggestion_cost=PROBLEM.max_cost,
        resample_frequency=resample_frequency,
        **fit,
    )


def _filled_tuner(
    count: int,
    fit: dict,
    seed: int = 0,
    failures: bool = False,
    heuristics: Heuristics | None = None,
) -> Tuner:
    """A tuner holding ``count`` observations at random points (those with x0 > 0.5 failed if
    ``failures``); it never re-runs a front point, so every timed ``suggest()`` is a full
    model fit and search."""
    config = _config(fit, resample_frequency=0)
    tuner = Tuner(PROBLEM.params(), config, heuristics, seed=seed)
    rng = np.random.default_rng(seed)
    lower, upper = tuner.param_space.basic_bounds(pad_integers=False)
    for row in rng.uniform(lower, upper, (count, len(lower))):
        params = tuner.param_space.from_basic(row)
        evaluation = PROBLEM.evaluate(params, rng)
        failed = failures and params["x0"] > 0.5
        tuner.observe(params, evaluation.output, evaluation.cost, is_failure=failed)
    return tuner


def median_latency(count: int, fit: dict, repeats: int, failures: bool = False) -> float:
    """Median seconds of one search ``suggest()`` with ``count`` observations."""
    return median_suggest_seconds(_filled_tuner(count, fit, failures=failures), repeats)


def median_suggest_seconds(tuner: Tuner, repeats: int) -> float:
    """Median seconds of ``repeats`` ``suggest()`` calls on ``tuner``, each forgotten again."""
    return alternating_medians([tuner], repeats)[0]


def alternating_medians(tuners: list[Tuner], repeats: int) -> list[float]:
    """Median seconds of ``repeats`` ``suggest()`` calls on each of ``tuners``, each forgotten
    again, the tuners taking turns call by call, so that a drift of the machine's speed or of
    the process's state (allocator, caches) over the run weighs on all of them alike."""
    times: list[list[float]] = [[] for _ in tuners]
    for _ in range(repeats):
        for tuner, spent in zip(tuners, times, strict=True):
            start = time.perf_counter()
            suggestion = tuner.suggest()
            spent.append(time.perf_counter() - start)
            tuner.forget(suggestion.id)
    return [statistics.median(spent) for spent in times]


def best_after(steps: int, fit: dict, seed: int) -> float:
    """Best true output under the cost cap after ``steps`` suggest/observe rounds."""
    tuner = Tuner(PROBLEM.params(), _config(fit), seed=seed)
    rng = np.random.default_rng(seed)
    best = float("inf")
    for _ in range(steps):
        suggestion = tuner.suggest()
        evaluation = PROBLEM.evaluate(suggestion.params, rng)
        tuner.observe(suggestion, evaluation.output, evaluation.cost)
        if PROBLEM.is_feasible(evaluation):
            best = min(best, evaluation.true_output)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quality-seeds", type=int, default=5, help="0 skips the quality runs")
    parser.add_argument("--quality-steps", type=int, default=50)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--failures", action="store_true", help="fail observations with x0 > 0.5")
    parser.add_argument("--switch", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    try:
        switched = heuristics_from_switches(args.switch) if args.switch else None
    except ValueError as error:
        parser.error(f"--switch: {error}")
    torch.set_num_threads(1)

    start = time.perf_counter()
    median_latency(10, FAST, 1)
    print(f"warm-up (first suggest in the process): {time.perf_counter() - start:.2f} s")
    extra = f" {' '.join(args.switch)} median s | / fast |" if switched else ""
    print("| observations | fast median s | long median s | long / fast |" + extra)
    print("|---|---|---|---|" + ("---|---|" if switched else ""))
    for count in args.sizes:
        tuners = [_filled_tuner(count, FAST, failures=args.failures)]
        if switched:
            tuners.append(_filled_tuner(count, FAST, failures=args.failures, heuristics=switched))
        fast, *other = alternating_medians(tuners, args.repeats)
        long = None
        if count <= 100:
            long = median_latency(count, LONG, max(1, args.repeats // 2), args.failures)
        ratio = f"{long / fast:.1f}x" if long else "n/a"
        long_text = f"{long:.3f}" if long else "not run"
        row = f"| {count} | {fast:.3f} | {long_text} | {ratio} |"
        if switched:
            row += f" {other[0]:.3f} | {other[0] / fast:.2f}x |"
        print(row)

    if args.quality_seeds < 1:
        return
    print(
        f"\nbest true output after {args.quality_steps} suggestions (lower is better; optimum {PROBLEM.optimum:.4f})"
    )
    print("| seed | fast | long |")
    print("|---|---|---|")
    fast_all, long_all = [], []
    for seed in range(args.quality_seeds):
        fast_all.append(best_after(args.quality_steps, FAST, seed))
        long_all.append(best_after(args.quality_steps, LONG, seed))
        print(f"| {seed} | {fast_all[-1]:.4f} | {long_all[-1]:.4f} |")
    print(f"| median | {statistics.median(fast_all):.4f} | {statistics.median(long_all):.4f} |")


if __name__ == "__main__":
    main()
