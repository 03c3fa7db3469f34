"""Training cost spent to reach a regret on the ads task, with and without early stopping.

    python benchmarks/early_stopping.py [--seeds 10] [--tries 20] [--regrets 0.004 ...] [--at 10]
                                        [--problem ads-default|ads-shallow|ads-input-heavy]

For each seed both variants (``Heuristics.early_stopping`` off, on) run ``tune_arch`` for
``tries`` 60-day tries on a simulator seeded alike, paired by seed. After every try the pick is
the best observed feasible try (qps > 3500, not diverged, not stopped), scored by the
simulator's noiseless score of its arch; regret = ceiling - that score, the ceiling being the
score of the problem's optimum (``AdsArchProblem.optimum``; 0.0365 on the default config). The
cost of a try is its GPU-days, ``days (1 + 0.5 P_total / 1e6)`` for the days it was trained
(the simulator's formula, used here only for accounting: the tuner never sees it). The table
gives, per regret threshold, the GPU-days spent until the pick's regret first fell to it (inf:
not within ``tries``), and the regret and GPU-days after ``--at`` tries and after all. One
process, one torch thread.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from dataclasses import dataclass

import torch

from carbs_lite import ArchTry, Heuristics, tune_arch
from carbs_lite.bench.suite import make_problem
from carbs_lite.tasks.ads.problem import AdsArchProblem
from carbs_lite.tasks.ads.simulator import ModelPerformanceAPI, get_default_model_config_dict

DAYS, MIN_QPS = 60, 3500.0


@dataclass
class Trace:
    """After each try: cumulative GPU-days and the regret of the pick so far."""

    gpu_days: list[float]
    regret: list[float]
    stopped: int
    reasons: dict[str, int]
    """Stopped tries by the rule that stopped them: diverged, cost cap, front."""
    regretted: int
    """Stopped tries whose arch, trained to the end, would have improved the pick (judged
    noiselessly: feasible and a better true score than the pick's when it was stopped)."""


def run(seed: int, tries: int, early_stopping: bool, problem: AdsArchProblem) -> Trace:
    config = {**get_default_model_config_dict(), **problem.overrides, "SEED": seed}
    api = ModelPerformanceAPI(config)
    ceiling = api.get_score(problem.optimum)
    spent, best_ne, best_score = 0.0, math.inf, 0.0
    trace = Trace([], [], 0, {"diverged": 0, "cost cap": 0, "front": 0}, 0)

    def on_try(result: ArchTry) -> None:
        nonlocal spent, best_ne, best_score
        spent += api.true_metrics(result.arch, max(result.days, 1)).gpu_days
        if result.stopped is not None:
            kind = next((k for k in ("diverged", "cost cap") if k in result.stopped), "front")
            trace.reasons[kind] += 1
            truth = api.true_metrics(result.arch, DAYS)
            better = api.get_score(truth.ne) > best_score and truth.qps > MIN_QPS
            trace.regretted += kind == "front" and better
        if result.feasible and result.ne < best_ne:
            best_ne = result.ne
            best_score = api.get_score(api.true_metrics(result.arch, DAYS).ne)
        trace.gpu_days.append(spent)
        trace.regret.append(ceiling - best_score)
        trace.stopped += result.stopped is not None

    heuristics = Heuristics(early_stopping=early_stopping)
    tune_arch(api, tries=tries, training_days=DAYS, seed=seed, heuristics=heuristics, on_try=on_try)
    return trace


def cost_to_reach(trace: Trace, regret: float) -> float:
    """GPU-days spent when the pick's regret first fell to ``regret`` (inf if never)."""
    return next(
        (g for g, r in zip(trace.gpu_days, trace.regret, strict=True) if r <= regret), math.inf
    )


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test of ``wins`` against ``losses`` (ties dropped): the chance of
    a split at least this uneven if either variant were as likely to be cheaper."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--regrets", type=float, nargs="+", default=[0.004, 0.003, 0.002, 0.001])
    parser.add_argument("--at", type=int, default=10, help="also compare after this many tries")
    parser.add_argument("--problem", default="ads-default", help="an ads problem of the suite")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.time()
    problem = make_problem(args.problem)
    traces = {
        (seed, on): run(seed, args.tries, on, problem)
        for seed in range(args.seeds)
        for on in (False, True)
    }
    elapsed = time.time() - started
    print(f"{args.problem}: {args.seeds} seeds x {args.tries} tries, {elapsed:.0f} s\n")
    print(
        "| regret <= | GPU-days off (median) | on (median) | on cheaper / equal / dearer "
        "| sign test p | reached off / on |"
    )
    print("|---|---|---|---|---|---|")
    seeds = range(args.seeds)
    for regret in args.regrets:
        off = [cost_to_reach(traces[s, False], regret) for s in seeds]
        on = [cost_to_reach(traces[s, True], regret) for s in seeds]
        cheaper = sum(b < a for a, b in zip(off, on, strict=True))
        equal = sum(b == a for a, b in zip(off, on, strict=True))
        reached = f"{sum(map(math.isfinite, off))} / {sum(map(math.isfinite, on))}"
        dearer = args.seeds - cheaper - equal
        print(
            f"| {regret:g} | {statistics.median(off):.0f} | {statistics.median(on):.0f} "
            f"| {cheaper} / {equal} / {dearer} | {sign_test(cheaper, dearer):.3f} | {reached} |"
        )
    print()
    for tries in sorted({min(args.at, args.tries), args.tries}):
        for on in (False, True):
            kept = [traces[s, on] for s in seeds]
            print(
                f"early_stopping={on}: after {tries} tries median regret "
                f"{statistics.median(t.regret[tries - 1] for t in kept):.4f}, median GPU-days "
                f"{statistics.median(t.gpu_days[tries - 1] for t in kept):.0f}"
            )
    on = [traces[s, True] for s in seeds]
    kinds = {k: sum(t.reasons[k] for t in on) for k in on[0].reasons}
    print(
        f"tries stopped with early_stopping=True: {sum(t.stopped for t in on)} of "
        f"{args.seeds * args.tries} ({', '.join(f'{k}: {n}' for k, n in kinds.items())}); "
        f"stopped against the front but would have improved the pick: "
        f"{sum(t.regretted for t in on)}"
    )
    print("\nper seed (GPU-days at the end, final regret) off | on:")
    for s in seeds:
        a, b = traces[s, False], traces[s, True]
        print(
            f"  seed {s}: {a.gpu_days[-1]:7.0f} {a.regret[-1]:.4f} | "
            f"{b.gpu_days[-1]:7.0f} {b.regret[-1]:.4f} ({b.stopped} stopped)"
        )


if __name__ == "__main__":
    main()
