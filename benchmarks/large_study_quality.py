"""Search quality at 1,000 observations: the defaults against other GP settings, paired by seed.

    python benchmarks/large_study_quality.py [--problems scaling-noisy quadratic-cost-4d
        bbob-f15-d5] [--seeds 8] [--observations 1000] [--steps 10]
        [--alternative max_fit_points=64 max_condition_points=500]

For each problem and seed, a study starts from ``--observations`` runs at uniform random
points of the basic space (``suggest_scale.random_study``, evaluated with the problem's noise);
then ``--steps`` search steps are suggested and observed. The figure is the normalized regret
of the best feasible true output among those steps (0 = optimum, 1 = the search center). Both
settings of a seed start from the same runs and draw the same evaluation noise. Default:
``TunerConfig`` as shipped; the alternative: the shipped config with the ``TunerConfig``
fields given to ``--alternative`` replaced, e.g. the smaller subsets above, which make
``suggest()`` faster at this size (``suggest_scale.py``).
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch
from scipy.stats import wilcoxon
from suggest_scale import random_study

from carbs_lite import TunerConfig
from carbs_lite.bench.problem import Problem
from carbs_lite.bench.suite import make_problem


def regret_after(problem: Problem, config: TunerConfig, seed: int, count: int, steps: int) -> float:
    """Normalized regret of the best feasible of ``steps`` search steps taken after ``count``
    random runs (1.0 if none of the steps was feasible)."""
    tuner = random_study(problem, config, count, seed, np.random.default_rng([seed, count]))
    noise = np.random.default_rng([seed, 7919])
    sign = 1.0 if problem.direction.value == "minimize" else -1.0
    best = None
    for _ in range(steps):
        suggestion = tuner.suggest()
        evaluation = problem.evaluate(suggestion.params, noise)
        tuner.observe(suggestion, evaluation.output, evaluation.cost, evaluation.is_failure)
        if problem.is_feasible(evaluation) and (
            best is None or sign * evaluation.true_output < sign * best
        ):
            best = evaluation.true_output
    if best is None:
        return 1.0
    return abs(best - problem.optimum) / abs(problem.reference - problem.optimum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--problems", nargs="+", default=["scaling-noisy", "quadratic-cost-4d", "bbob-f15-d5"]
    )
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--observations", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--alternative",
        nargs="+",
        default=["max_fit_points=64", "max_condition_points=500"],
        metavar="FIELD=VALUE",
        help="TunerConfig fields of the alternative setting",
    )
    args = parser.parse_args()
    if not all("=" in item for item in args.alternative):
        parser.error("--alternative takes FIELD=VALUE items, e.g. max_fit_points=64")
    overrides = dict(item.split("=", 1) for item in args.alternative)
    label = " ".join(args.alternative)
    torch.set_num_threads(1)
    print(
        f"| problem | seeds | defaults: median regret | {label}: median regret | "
        "alternative worse/better | Wilcoxon p |"
    )
    print("|---|---|---|---|---|---|")
    for name in args.problems:
        problem = make_problem(name)
        shipped = TunerConfig(direction=problem.direction, max_suggestion_cost=problem.max_cost)
        alternative = TunerConfig.from_json({**shipped.to_json(), **overrides})
        pairs = [
            tuple(
                regret_after(problem, config, seed, args.observations, args.steps)
                for config in (shipped, alternative)
            )
            for seed in range(args.seeds)
        ]
        worse = sum(b > a for a, b in pairs)
        better = sum(b < a for a, b in pairs)
        differences = [b - a for a, b in pairs if b != a]
        p = wilcoxon(differences).pvalue if differences else 1.0
        print(
            f"| {name} | {len(pairs)} | {statistics.median(a for a, _ in pairs):.4f} | "
            f"{statistics.median(b for _, b in pairs):.4f} | {worse}/{better} | {p:.2g} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
