"""Built-in ads-architecture simulator with the interface of the team's service.

Noiseless part, for sub-arches of widths w_1..w_k reading an input of width d:

    total_params = d w_1 + sum_j w_j w_{j+1} + w_k
    eff_params   = DEPTH_FACTOR[k-1] (INPUT_LAYER_WEIGHT d w_1
                   + sum_j w_j w_{j+1} min(1, w_j / w_{j+1})^EXPANSION_EXP + w_k)
    ne_final     = NE_FLOOR + CAPACITY_COEF (P_eff / 1e6)^-CAPACITY_EXP - DIVERSITY_GAIN (1 - 1/n)
    curve[t]     = ne_final + DATA_COEF (1 + t / tau)^-DATA_EXP,  tau = TAU_DAYS sqrt(P_eff / 1e6)
    qps          = QPS_MAX / (1 + P_total / QPS_REF_PARAMS)
    gpu_days     = days (1 + GPU_DAYS_PER_DAY_PER_MPARAM P_total / 1e6)

A sub-arch diverges with probability sigmoid(DIVERGE_DEPTH (k - 4) + DIVERGE_WIDTH
(log2 max_j w_j - 10.5)); the run diverges if any sub-arch does. Noise: one Gaussian offset on
the whole curve plus daily jitter, and relative Gaussian QPS noise, both scaled by
GLOBAL_NOISE_SCALE, drawn from the instance's own generator seeded by SEED.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

_DEFAULTS: dict[str, Any] = {
    "INPUT_DIM": 512,
    "NE_FLOOR": 0.770,
    "CAPACITY_COEF": 0.012,
    "CAPACITY_EXP": 0.30,
    "INPUT_LAYER_WEIGHT": 0.5,
    "DEPTH_FACTOR": [0.45, 0.85, 1.00, 0.90, 0.75],
    "EXPANSION_EXP": 3.0,
    "DIVERGE_DEPTH": 1.6,
    "DIVERGE_WIDTH": 2.0,
    "DIVERSITY_GAIN": 0.0020,
    "DATA_COEF": 0.030,
    "DATA_EXP": 0.70,
    "TAU_DAYS": 2.0,
    "QPS_MAX": 20000.0,
    "QPS_REF_PARAMS": 600000.0,
    "MIN_QPS": 3500.0,
    "NE_NOISE": 0.0005,
    "QPS_NOISE": 0.02,
    "GLOBAL_NOISE_SCALE": 1.0,
    "TRAINING_BUDGET_GPU_DAYS": 240.0,
    "GPU_DAYS_PER_DAY_PER_MPARAM": 0.5,
    "BASELINE_ARCH": [[64, 64]],
    "BASELINE_DAYS": 60,
    "BASELINE_NE": None,
    "SEED": 0,
}
DAILY_JITTER = 0.1
"""Std of the daily NE jitter relative to the run's NE noise std."""

MAX_SUB_ARCHES, MAX_LAYERS, MIN_SIZE, MAX_SIZE = 5, 5, 64, 2048
MAX_TRAINING_DAYS = 365


class BudgetExceededError(ValueError):
    """A run needs more GPU-days than TRAINING_BUDGET_GPU_DAYS."""


@dataclass(frozen=True)
class ArchMetrics:
    """Noiseless outcome of training an arch for ``len(curve)`` days."""

    ne: float
    curve: list[float]
    qps: float
    total_params: int
    eff_params: float
    gpu_days: float
    divergence_probability: float


def get_default_model_config_dict() -> dict[str, Any]:
    """A fresh copy of the default simulator config."""
    return copy.deepcopy(_DEFAULTS)


def validate_arch(arch: Any) -> list[list[int]]:
    """Return ``arch`` as a list of lists of ints, or raise ValueError naming the bad part."""
    if not isinstance(arch, list | tuple):
        raise ValueError(f"arch must be a list of sub-arches, got {type(arch).__name__}")
    if not 1 <= len(arch) <= MAX_SUB_ARCHES:
        raise ValueError(f"arch has {len(arch)} sub-arches; it needs 1 to {MAX_SUB_ARCHES}")
    result = []
    for i, sub in enumerate(arch):
        if not isinstance(sub, list | tuple):
            raise ValueError(f"arch[{i}] must be a list of layer sizes, got {sub!r}")
        if not 1 <= len(sub) <= MAX_LAYERS:
            raise ValueError(f"arch[{i}] has {len(sub)} layers; it needs 1 to {MAX_LAYERS}")
        for j, size in enumerate(sub):
            if isinstance(size, bool) or not isinstance(size, int | np.integer):
                raise ValueError(f"arch[{i}][{j}] = {size!r} is not an integer layer size")
            if not MIN_SIZE <= size <= MAX_SIZE:
                raise ValueError(f"arch[{i}][{j}] = {size} is outside {MIN_SIZE}..{MAX_SIZE}")
        result.append([int(size) for size in sub])
    return result


def total_params(arch: list[list[int]], input_dim: int) -> int:
    """Weights of ``arch`` reading an ``input_dim``-wide input: the sum over sub-arches of
    input_dim w_1 + sum_j w_j w_{j+1} + w_k."""
    return sum(
        input_dim * sub[0] + sum(a * b for a, b in zip(sub[:-1], sub[1:], strict=True)) + sub[-1]
        for sub in arch
    )


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


class ModelPerformanceAPI:
    """Simulated training service: ``train_model`` -> (ne, qps, daily NE curve)."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        config = dict(config or {})
        unknown = sorted(set(config) - set(_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown simulator config keys: {unknown}")
        self.config = {**get_default_model_config_dict(), **copy.deepcopy(config)}
        if self.config["BASELINE_NE"] is None:
            baseline = self.true_metrics(self.config["BASELINE_ARCH"], self.config["BASELINE_DAYS"])
            self.config["BASELINE_NE"] = baseline.ne
        self._rng = np.random.default_rng(self.config["SEED"])

    def _params(self, sub: list[int]) -> tuple[int, float]:
        """(total, effective) parameter counts of one sub-arch."""
        c, d = self.config, self.config["INPUT_DIM"]
        pairs = list(zip(sub[:-1], sub[1:], strict=True))
        total = total_params([sub], d)
        hidden = sum(a * b * min(1.0, a / b) ** c["EXPANSION_EXP"] for a, b in pairs)
        effective = c["INPUT_LAYER_WEIGHT"] * d * sub[0] + hidden + sub[-1]
        return total, c["DEPTH_FACTOR"][len(sub) - 1] * effective

    def true_metrics(self, arch: Any, training_days: int) -> ArchMetrics:
        """The noiseless outcome of ``arch``; uses no randomness."""
        arch, days, c = validate_arch(arch), _validate_days(training_days), self.config
        counts = [self._params(sub) for sub in arch]
        p_total = sum(t for t, _ in counts)
        p_eff = sum(e for _, e in counts)
        millions = p_eff / 1e6
        ne_final = (
            c["NE_FLOOR"]
            + c["CAPACITY_COEF"] * millions ** (-c["CAPACITY_EXP"])
            - c["DIVERSITY_GAIN"] * (1 - 1 / len(arch))
        )
        tau = c["TAU_DAYS"] * math.sqrt(millions)
        curve = [
            ne_final + c["DATA_COEF"] * (1 + t / tau) ** (-c["DATA_EXP"])
            for t in range(1, days + 1)
        ]
        stable = math.prod(
            1
            - _sigmoid(
                c["DIVERGE_DEPTH"] * (len(sub) - 4)
                + c["DIVERGE_WIDTH"] * (math.log2(max(sub)) - 10.5)
            )
            for sub in arch
        )
        return ArchMetrics(
            ne=curve[-1],
            curve=curve,
            qps=c["QPS_MAX"] / (1 + p_total / c["QPS_REF_PARAMS"]),
            total_params=p_total,
            eff_params=p_eff,
            gpu_days=days * (1 + c["GPU_DAYS_PER_DAY_PER_MPARAM"] * p_total / 1e6),
            divergence_probability=1 - stable,
        )

    def train_model(
        self, training_days: int, arch: Any, ignore_budget: bool = False
    ) -> tuple[float, float, list[float]]:
        """Simulate one run: (ne, qps, curve); ne and the curve's tail are NaN if it diverged."""
        truth = self.true_metrics(arch, training_days)
        budget = self.config["TRAINING_BUDGET_GPU_DAYS"]
        if not ignore_budget and truth.gpu_days > budget:
            raise BudgetExceededError(
                f"this run needs {truth.gpu_days:.1f} GPU-days; the budget is {budget:g} "
                "(pass ignore_budget=True to run it anyway)"
            )
        c, rng = self.config, self._rng
        ne_std = c["GLOBAL_NOISE_SCALE"] * c["NE_NOISE"]
        offset = ne_std * rng.standard_normal()
        jitter = DAILY_JITTER * ne_std * rng.standard_normal(len(truth.curve))
        curve = [float(v + offset + j) for v, j in zip(truth.curve, jitter, strict=True)]
        qps = truth.qps * (1 + c["GLOBAL_NOISE_SCALE"] * c["QPS_NOISE"] * rng.standard_normal())
        diverged = rng.random() < truth.divergence_probability
        divergence_day = int(rng.integers(len(curve)))
        if diverged:
            curve = curve[:divergence_day] + [math.nan] * (len(curve) - divergence_day)
        return (math.nan if diverged else curve[-1]), float(qps), curve

    def get_score(self, ne: float) -> float:
        """Relative NE improvement over the baseline: (BASELINE_NE - ne) / BASELINE_NE."""
        baseline = self.config["BASELINE_NE"]
        return (baseline - ne) / baseline


def _validate_days(training_days: Any) -> int:
    if isinstance(training_days, bool) or not isinstance(training_days, int | np.integer):
        raise ValueError(f"training_days must be an integer, got {training_days!r}")
    if not 1 <= training_days <= MAX_TRAINING_DAYS:
        raise ValueError(f"training_days must be in 1..{MAX_TRAINING_DAYS}, got {training_days}")
    return int(training_days)
