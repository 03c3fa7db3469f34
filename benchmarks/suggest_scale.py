"""``suggest()`` time and peak memory with thousands of observations, against conditioning on
every observation (the peer), measured in one run.

    python benchmarks/suggest_scale.py [--sizes 1000 3000 10000] [--repeats 5]
                                       [--peer-sizes 1000 3000]

Problem: ``QuadraticCostProblem(dim=9)`` (10 dimensions), observations at uniform random points.
Each (size, setting) runs in a fresh process with one torch thread, so its peak RSS
(``resource.getrusage``) is its own: restoring the study from a state (``Tuner.from_state``), one warm-up ``suggest()``, then
``--repeats`` timed ones (each forgotten again). Default: the GPs condition on at most
``TunerConfig.max_condition_points`` (1000) runs. Peer: ``max_condition_points`` larger than
the study, i.e. every run, as before the limit existed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import subprocess
import sys

import numpy as np
import torch
from suggest_latency import median_suggest_seconds

from carbs_lite import Tuner, TunerConfig
from carbs_lite.bench.problem import Problem
from carbs_lite.bench.synthetic import QuadraticCostProblem
from carbs_lite.records import Observation

PROBLEM = QuadraticCostProblem(dim=9)


def random_study(
    problem: Problem, config: TunerConfig, count: int, seed: int, rng: np.random.Generator
) -> Tuner:
    """A study (seed ``seed``) of ``count`` runs at uniform random points of the basic space,
    drawn and then evaluated with ``rng``. It is restored from a state, as a journal or a saved
    study is: ``observe()`` one at a time would rescan the front on every call and dominate
    the set-up, which is not what the benchmarks measure."""
    empty = Tuner(problem.params(), config, seed=seed)
    lower, upper = empty.param_space.basic_bounds(pad_integers=False)
    runs = []
    for row in rng.uniform(lower, upper, (count, len(lower))):
        params = empty.param_space.from_basic(row)
        evaluation = problem.evaluate(params, rng)
        runs.append(Observation(params, evaluation.output, evaluation.cost, evaluation.is_failure))
    return Tuner.from_state(dataclasses.replace(empty.to_state(), observations=runs))


def measure(count: int, condition_all: bool, repeats: int) -> dict[str, float]:
    """Median seconds of a search ``suggest()`` with ``count`` observations, and the peak RSS
    (MB) of this process."""
    torch.set_num_threads(1)
    limit = count + 1 if condition_all else TunerConfig.max_condition_points
    config = TunerConfig(
        direction="minimize",
        max_suggestion_cost=PROBLEM.max_cost,
        resample_frequency=0,
        max_condition_points=limit,
    )
    tuner = random_study(PROBLEM, config, count, 0, np.random.default_rng(0))
    tuner.forget(tuner.suggest().id)
    seconds = median_suggest_seconds(tuner, repeats)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak_mb}


def _child(count: int, condition_all: bool, repeats: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", str(count), str(int(condition_all))]
    output = subprocess.run(
        [*command, str(repeats)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        count, condition_all, repeats = int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
        print(json.dumps(measure(count, condition_all, repeats)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--peer-sizes", type=int, nargs="*", default=[1000, 3000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"    python benchmarks/suggest_scale.py {' '.join(sys.argv[1:])}\n")
    print(f"{platform.machine()}, {platform.python_version()}, torch {torch.__version__}\n")
    print(
        "| observations | median s | peak MB | peer: every run, median s | peak MB | peer / ours |"
    )
    print("|---|---|---|---|---|---|")
    for count in args.sizes:
        ours = _child(count, False, args.repeats)
        row = f"| {count} | {ours['seconds']:.3f} | {ours['peak_mb']:.0f} |"
        if count in args.peer_sizes:
            peer = _child(count, True, max(1, args.repeats // 2))
            ratio = peer["seconds"] / ours["seconds"]
            row += f" {peer['seconds']:.3f} | {peer['peak_mb']:.0f} | {ratio:.1f}x |"
        else:
            row += " not run | | |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
