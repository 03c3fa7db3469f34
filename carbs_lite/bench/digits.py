"""A real training run: a torch MLP on scikit-learn's digits, validation cross-entropy minimized.

Data: ``sklearn.datasets.load_digits`` (1,797 8x8 images, 64 features scaled to [0, 1], 10
classes), one fixed split of 1,200 training and 597 validation images. Model: ``depth`` ReLU
layers of ``width`` units, AdamW at ``lr`` with ``weight_decay``, mini-batches of 128 reshuffled
every epoch, ``epochs`` passes. Cost, in GFLOPs (forward + backward ~ 6 flops per weight and
sample seen):

    cost = 6 P N epochs / 1e9,  P = 64 w + (depth - 1) w^2 + 10 w + depth w + 10,  N = 1,200

Output: validation cross-entropy after the last epoch of one run whose initialisation and batch
order are seeded from ``rng``; the evaluation's ``curve`` holds it after every epoch at the
GFLOPs spent so far (``extra["curve"]`` the losses alone). A non-finite loss is a failure.
``true_output`` is the mean of that metric over ``TRUE_SEEDS`` (memoized).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from carbs_lite.bench.problem import Evaluation, Problem
from carbs_lite.config import Direction
from carbs_lite.curves import ProgressPoint
from carbs_lite.spaces import LinearSpace, LogSpace, Param, ParamSpace

CENTER = {"lr": 1e-3, "width": 64, "depth": 1, "epochs": 10, "weight_decay": 1e-2}
"""A practitioner's first guess: Adam's default rate, one hidden layer of 64, AdamW's decay."""
TRAIN_SIZE = 1200
BATCH_SIZE = 128
SPLIT_SEED = 0
TRUE_SEEDS = (1_000_001, 1_000_002, 1_000_003)
"""Fixed seeds of the runs averaged into ``true_output`` (a run's own seed is drawn from ``rng``)."""
MAX_COST = 2.0
"""GFLOPs, about 6x the center's 0.35. It binds: over it, 57 x 1 layer for 100 epochs at lr 0.05
(3.1 GFLOPs) has a true loss of 0.0305 and 128 x 1 for 80 epochs at lr 0.03 (5.5) 0.0350, both
below ``OPTIMUM``."""
OPTIMUM = 0.037611634780963264
"""Best true loss under ``MAX_COST`` found by ``python benchmarks/digits_optimum.py`` (defaults:
2,381 random configs under the cap, then 12 hill-climbs of 80 steps; 29 min on 2 shared cores):
lr 0.0527, width 57, depth 1, 53 epochs, weight decay 0.0300, 1.64 GFLOPs. A climb favours
configs whose three seeds were lucky (six fresh seeds there give 0.040-0.050), so this is a
strict target: the true loss is a fixed function and this is its best value found."""


def parameter_count(width: int, depth: int) -> int:
    """Weights and biases of a 64 -> width^depth -> 10 MLP."""
    return 64 * width + (depth - 1) * width * width + 10 * width + depth * width + 10


def training_gflops(width: int, depth: int, epochs: int) -> float:
    """6 x parameters x samples seen, in GFLOPs."""
    return 6.0 * parameter_count(width, depth) * TRAIN_SIZE * epochs / 1e9


@functools.lru_cache(maxsize=1)
def _data() -> tuple[Any, Any, Any, Any]:
    """(x_train, y_train, x_val, y_val) as float32 / int64 tensors, one fixed split."""
    import torch
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(digits.target))
    x = torch.tensor(digits.data[order] / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target[order], dtype=torch.int64)
    return x[:TRAIN_SIZE], y[:TRAIN_SIZE], x[TRAIN_SIZE:], y[TRAIN_SIZE:]


def train(
    lr: float, width: int, depth: int, epochs: int, weight_decay: float, seed: int
) -> list[float]:
    """Train once; the validation cross-entropy after each epoch (NaN after a non-finite one)."""
    import torch
    import torch.nn.functional as F

    x_train, y_train, x_val, y_val = _data()
    generator = torch.Generator().manual_seed(seed)
    sizes = [64] + [width] * depth + [10]
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        # nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases
        bound = 1.0 / math.sqrt(fan_in)
        for shape in ((fan_in, fan_out), (fan_out,)):
            tensor = (torch.rand(shape, generator=generator) * 2.0 - 1.0) * bound
            weights.append(tensor.requires_grad_())
    # fused: one kernel per step instead of a dozen small ops (~2x faster at these sizes)
    optimizer = torch.optim.AdamW(weights, lr=lr, weight_decay=weight_decay, fused=True)

    def forward(x: torch.Tensor) -> torch.Tensor:
        for i in range(0, len(weights) - 2, 2):
            x = torch.relu(torch.addmm(weights[i + 1], x, weights[i]))
        return torch.addmm(weights[-1], x, weights[-2])

    curve = []
    for _ in range(epochs):
        order = torch.randperm(TRAIN_SIZE, generator=generator)
        for start in range(0, TRAIN_SIZE, BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            loss = F.cross_entropy(forward(x_train[batch]), y_train[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            curve.append(float(F.cross_entropy(forward(x_val), y_val)))
        if not math.isfinite(curve[-1]):
            return curve + [math.nan] * (epochs - len(curve))
    return curve


@functools.lru_cache(maxsize=65536)
def true_loss(lr: float, width: int, depth: int, epochs: int, weight_decay: float) -> float:
    """Final validation cross-entropy averaged over ``TRUE_SEEDS`` (NaN if any run diverged)."""
    finals = [train(lr, width, depth, epochs, weight_decay, seed)[-1] for seed in TRUE_SEEDS]
    return float(np.mean(finals)) if all(math.isfinite(f) for f in finals) else math.nan


class DigitsMLPProblem(Problem):
    """Tune lr, width, depth, epochs and weight decay of an MLP on digits under a FLOPs cap."""

    direction = Direction.MINIMIZE

    def __init__(self, max_cost: float = MAX_COST, optimum: float = OPTIMUM) -> None:
        self.name = "digits-mlp"
        self.max_cost = float(max_cost)
        self.optimum = float(optimum)
        self.reference = true_loss(**CENTER)

    def params(self) -> list[Param]:
        return [
            Param("lr", LogSpace(min=1e-4, max=1e-1), CENTER["lr"]),
            Param("width", LogSpace(min=8, max=256, is_integer=True), CENTER["width"]),
            Param("depth", LinearSpace(min=1, max=3, is_integer=True), CENTER["depth"]),
            Param("epochs", LogSpace(min=1, max=100, is_integer=True), CENTER["epochs"]),
            Param("weight_decay", LogSpace(min=1e-5, max=1.0), CENTER["weight_decay"]),
        ]

    def cost(self, params: dict[str, Any]) -> float:
        """Training GFLOPs of ``params`` (validated)."""
        values = self._validated(params)
        return training_gflops(values["width"], values["depth"], values["epochs"])

    def _validated(self, params: dict[str, Any]) -> dict[str, Any]:
        return ParamSpace(self.params()).validate(params)

    def evaluate(self, params: dict[str, Any], rng: np.random.Generator) -> Evaluation:
        values = self._validated(params)
        curve = train(**values, seed=int(rng.integers(2**31)))
        cost = training_gflops(values["width"], values["depth"], values["epochs"])
        per_epoch = cost / values["epochs"]
        points = tuple(
            ProgressPoint(float(epoch), loss, per_epoch * epoch)
            for epoch, loss in enumerate(curve, 1)
        )
        if not math.isfinite(curve[-1]):
            return Evaluation(math.nan, cost, True, math.nan, {"curve": curve}, points)
        return Evaluation(curve[-1], cost, False, true_loss(**values), {"curve": curve}, points)
