"""Synthetic cost-aware problems with known optima.

``ScalingProblem`` mimics a training run: width w (16..1024), epochs e (1..100) and learning
rate r (1e-5..1e-1). Loss (minimized) and cost:

    loss = 0.5 + 2 w^-0.5 + e^-0.7 + 0.3 (log10 r - log10 r*(w))^2,  r*(w) = 1e-2 (64 / w)^0.5
    cost = w e / 1000, capped at ``max_cost``

so the best learning rate shifts with width and loss improves with epochs with diminishing
returns. The optimum under the cap is found by enumerating every (w, e) at r = r*(w).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from carbs_lite.bench.problem import Evaluation, Problem
from carbs_lite.config import Direction
from carbs_lite.spaces import LinearSpace, LogSpace, Param

CENTER = {"width": 32, "epochs": 5, "lr": 1e-4}


def scaling_loss(width: Any, epochs: Any, lr: Any) -> Any:
    """Noiseless loss of the scaling problem (numpy-broadcasting)."""
    best_lr = 1e-2 * np.sqrt(64.0 / np.asarray(width, dtype=float))
    mismatch = np.log10(lr) - np.log10(best_lr)
    return 0.5 + 2.0 * np.power(width, -0.5) + np.power(epochs, -0.7) + 0.3 * mismatch**2


class ScalingProblem(Problem):
    """Width/epochs/learning-rate scaling; Gaussian output noise of std ``noise``."""

    direction = Direction.MINIMIZE

    def __init__(self, noise: float = 0.0, max_cost: float = 20.0) -> None:
        self.noise = float(noise)
        self.max_cost = float(max_cost)
        self.name = "scaling" if noise == 0 else f"scaling-noisy{noise:g}"
        width, epochs = np.meshgrid(np.arange(16, 1025), np.arange(1, 101), indexing="ij")
        feasible = width * epochs / 1000.0 < self.max_cost
        loss = scaling_loss(width, epochs, 1e-2 * np.sqrt(64.0 / width))
        self.optimum = float(loss[feasible].min())
        self.reference = float(scaling_loss(CENTER["width"], CENTER["epochs"], CENTER["lr"]))

    def params(self) -> list[Param]:
        return [
            Param("width", LogSpace(min=16, max=1024, is_integer=True), CENTER["width"]),
            Param("epochs", LogSpace(min=1, max=100, is_integer=True), CENTER["epochs"]),
            Param("lr", LogSpace(min=1e-5, max=1e-1), CENTER["lr"]),
        ]

    def evaluate(self, params: dict[str, Any], rng: np.random.Generator) -> Evaluation:
        true = float(scaling_loss(params["width"], params["epochs"], params["lr"]))
        observed = true + self.noise * float(rng.standard_normal())
        return Evaluation(observed, params["width"] * params["epochs"] / 1000.0, False, true)


class QuadraticCostProblem(Problem):
    """d-dimensional bowl whose floor drops with a cost parameter s in [1, 100]:

        output = sum_i (x_i - 0.3)^2 + 1 / s   (minimized),  cost = s,  x_i in [-1, 1]

    Optimum under the cap C: 1 / s_max with s_max the largest s < C.
    """

    direction = Direction.MINIMIZE

    def __init__(self, dim: int = 4, max_cost: float = 50.0) -> None:
        self.dim = dim
        self.max_cost = float(max_cost)
        self.name = f"quadratic-cost-{dim}d"
        self.optimum = 1.0 / math.nextafter(self.max_cost, 0)
        self.reference = self.dim * 0.09 + 1.0 / 5.0

    def params(self) -> list[Param]:
        xs = [Param(f"x{i}", LinearSpace(min=-1.0, max=1.0), 0.0) for i in range(self.dim)]
        return [*xs, Param("s", LogSpace(min=1.0, max=100.0), 5.0)]

    def evaluate(self, params: dict[str, Any], rng: np.random.Generator) -> Evaluation:
        value = sum((params[f"x{i}"] - 0.3) ** 2 for i in range(self.dim)) + 1.0 / params["s"]
        return Evaluation(value, params["s"], False, value)


class GaussianBumpProblem(Problem):
    """A narrow bump in a wide box: d params p_i in [-10, 10] with search center 0, cost 1,

        reward = prod_i 2^-(p_i - o_i)^2   (maximized; observed as reward (1 + noise eps), eps ~ N(0, 1))

    with the bump's center o drawn once, uniform in [-5, 5]^d, from ``np.random.default_rng(
    bump_seed)``. Optimum 1; the reference (the search center's reward) is near 0, so the
    normalized regret is about 1 - best reward. A half-width of one unit in a box 20 wide:
    a search must both trust the center and close in.
    """

    direction = Direction.MAXIMIZE
    max_cost = None

    def __init__(self, dim: int = 10, noise: float = 0.1, bump_seed: int = 0) -> None:
        self.dim, self.noise = dim, noise
        self.name = f"bump-{dim}d"
        self.bump = np.random.default_rng(bump_seed).uniform(-5.0, 5.0, dim)
        self.optimum = 1.0
        self.reference = self._reward(np.zeros(dim))

    def _reward(self, point: np.ndarray) -> float:
        return float(np.exp2(-np.sum((point - self.bump) ** 2)))

    def params(self) -> list[Param]:
        return [Param(f"p{i}", LinearSpace(min=-10.0, max=10.0), 0.0) for i in range(self.dim)]

    def evaluate(self, params: dict[str, Any], rng: np.random.Generator) -> Evaluation:
        true = self._reward(np.array([params[f"p{i}"] for i in range(self.dim)]))
        return Evaluation(true * (1.0 + self.noise * rng.standard_normal()), 1.0, False, true)
