"""Estimate the optimum of the digits-mlp problem: the best true output under its cost cap.

    python benchmarks/digits_optimum.py [--samples 3000] [--starts 12] [--steps 80] [--workers 2]

Stage 1 draws ``samples`` configs uniformly in the basic space (log scale for lr, width,
epochs and weight decay; integers padded as the tuner pads them), keeps those under the cap
and scores each by ``true_loss`` (the mean over three fixed seeds). Stage 2 hill-climbs from
the ``starts`` best: ``steps`` Gaussian moves each (std 0.15 per basic dimension, halved after
every 20 moves without an improvement), a move kept when it stays under the cap and lowers the
true loss. The printed minimum is ``carbs_lite.bench.digits.OPTIMUM``.
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from carbs_lite.bench.digits import DigitsMLPProblem, training_gflops, true_loss
from carbs_lite.spaces import ParamSpace

STEP_STD = 0.15
PATIENCE = 20


def _space() -> ParamSpace:
    return ParamSpace(DigitsMLPProblem(optimum=0.0).params())


def _score(config: dict, cap: float) -> float:
    """True loss under the cap; inf over it or when a run diverged."""
    if training_gflops(config["width"], config["depth"], config["epochs"]) >= cap:
        return math.inf
    value = true_loss(**config)
    return value if math.isfinite(value) else math.inf


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _score_chunk(configs: list[dict], cap: float) -> list[float]:
    return [_score(c, cap) for c in configs]


def _climb(start: dict, cap: float, steps: int, seed: int) -> tuple[float, dict]:
    """Gaussian hill-climbing in the basic space from ``start``; the best (loss, config)."""
    space, rng = _space(), np.random.default_rng(seed)
    lower, upper = space.basic_bounds(pad_integers=True)
    best, best_row = _score(start, cap), space.to_basic(start)
    std, since_improved = STEP_STD, 0
    for _ in range(steps):
        row = np.clip(best_row + std * rng.standard_normal(space.dim), lower, upper)
        config = space.from_basic(row)
        if (value := _score(config, cap)) < best:
            best, best_row, since_improved = value, space.to_basic(config), 0
        else:
            since_improved += 1
        if since_improved >= PATIENCE:
            std, since_improved = std / 2, 0
    return best, space.from_basic(best_row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--starts", type=int, default=12)
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _init_worker()
    problem, space = DigitsMLPProblem(optimum=0.0), _space()
    cap = problem.max_cost
    rng = np.random.default_rng(args.seed)
    lower, upper = space.basic_bounds(pad_integers=True)
    configs = [
        space.from_basic(row) for row in rng.uniform(lower, upper, (args.samples, len(lower)))
    ]
    configs = [c for c in configs if training_gflops(c["width"], c["depth"], c["epochs"]) < cap]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers, initializer=_init_worker) as pool:
        chunks = [configs[i :: args.workers * 8] for i in range(args.workers * 8)]
        scores = [s for chunk in pool.map(_score_chunk, chunks, [cap] * len(chunks)) for s in chunk]
        ordered = [c for chunk in chunks for c in chunk]
        print(
            f"stage 1: {len(ordered)} configs under the cap, {time.perf_counter() - started:.0f} s"
        )
        ranking = np.argsort(scores)[: args.starts]
        for i in ranking[:5]:
            print(f"  {scores[i]:.5f} {ordered[i]}")
        starts = [ordered[i] for i in ranking]
        climbs = list(
            pool.map(
                _climb,
                starts,
                [cap] * len(starts),
                [args.steps] * len(starts),
                [args.seed * 1000 + i for i in range(len(starts))],
            )
        )
    best, config = min(climbs, key=lambda pair: pair[0])
    print(
        f"stage 2: {len(starts)} climbs of {args.steps} steps, {time.perf_counter() - started:.0f} s"
    )
    for value, end in sorted(climbs, key=lambda pair: pair[0])[:5]:
        print(f"  {value:.5f} {end}")
    print(f"reference (center) {problem.reference:.5f}")
    print(
        f"optimum {best:.5f} at {config}, cost {training_gflops(config['width'], config['depth'], config['epochs']):.3f} GFLOPs"
    )


if __name__ == "__main__":
    main()
