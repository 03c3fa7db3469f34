"""One search step: fit the surrogates to a study's data, then score candidates.

Acquisition (CARBS): EI of the output over the Pareto value at the candidate's predicted cost
(clamped below at a threshold cost's value) x P_search x P_success x the cost-cap factor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from carbs_lite import acquisition as acq
from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import CostMask, Heuristics
from carbs_lite.pareto import Group
from carbs_lite.surrogate import (
    DTYPE,
    FittedGP,
    ParetoFunction,
    QuantileTransform,
    Standardize,
    fit_gp,
    fit_pareto_model,
    fold_outstanding,
    output_transform,
)


@dataclass(frozen=True)
class StudyData:
    """Observations as arrays; goodness = sign * output, larger is better."""

    inputs: np.ndarray
    cost: np.ndarray
    failed: np.ndarray
    goodness: np.ndarray

    @property
    def successes(self) -> np.ndarray:
        return ~self.failed


@dataclass(frozen=True)
class FittedModels:
    """Everything fitted for one suggestion."""

    output: FittedGP
    cost: FittedGP
    success: FittedGP | None
    transform: QuantileTransform | Standardize
    pareto: ParetoFunction
    log_cost_range: tuple[float, float]
    front: list[Group]
    features: Callable[[np.ndarray], np.ndarray]
    """Basic rows (n, d) -> the rows the output and success GPs were fit on."""
    cost_features: Callable[[np.ndarray], np.ndarray]
    """Basic rows (n, d) -> the rows the cost GP was fit on."""

    def scale_log_cost(self, log_cost: Any) -> Any:
        return scale_log_cost(log_cost, self.log_cost_range)

    def cost_from_scaled(self, scaled: torch.Tensor) -> torch.Tensor:
        low, high = self.log_cost_range
        return torch.exp(low + scaled * max(high - low, 1e-9))


def scale_log_cost(log_cost: Any, log_cost_range: tuple[float, float]) -> Any:
    """Log cost mapped linearly so that the observed range becomes [0, 1]."""
    low, high = log_cost_range
    return (log_cost - low) / max(high - low, 1e-9)


def exploration_bias(config: TunerConfig, heuristics: Heuristics) -> float:
    """The bias subtracted inside EI: ``config.exploration_bias``, or 0 with the switch off."""
    return config.exploration_bias if heuristics.exploration_bias else 0.0


def fit_models(
    data: StudyData,
    front: list[Group],
    outstanding: np.ndarray,
    config: TunerConfig,
    heuristics: Heuristics,
    rng: np.random.Generator,
    features: Callable[[np.ndarray], np.ndarray],
    cost_features: Callable[[np.ndarray], np.ndarray],
) -> FittedModels:
    """Output, cost, success and Pareto models; the cost GP sees ``cost_features(basic rows)``,
    the others ``features(basic rows)``."""
    ok = data.successes
    fit = _fit_settings(config)
    transform = output_transform(data.goodness[ok], heuristics.output_transform)
    inputs = torch.as_tensor(features(data.inputs), dtype=DTYPE)
    target = torch.as_tensor(transform(data.goodness[ok]), dtype=DTYPE)
    output = fit_gp(inputs[ok], target, rng=rng, **fit)
    fold_outstanding(
        output,
        torch.as_tensor(features(outstanding), dtype=DTYPE),
        heuristics.outstanding_estimator,
        rng,
    )
    cost, models_range = fit_cost_model(data, config, rng, cost_features)
    scaled = scale_log_cost(np.log(data.cost), models_range)
    success = None
    if data.failed.any():
        labels = torch.as_tensor(np.where(data.failed, 1.0, -1.0), dtype=DTYPE)
        success = fit_gp(inputs, labels, rng=rng, **fit)
    front_x = np.array([np.mean(scaled[ok][list(g.members)]) for g in front])
    front_y = transform(np.array([g.mean_goodness for g in front]))
    pareto = fit_pareto_model(heuristics.pareto_model, front_x, front_y, scaled[ok], target.numpy())
    return FittedModels(
        output, cost, success, transform, pareto, models_range, front, features, cost_features
    )


def fit_cost_model(
    data: StudyData,
    config: TunerConfig,
    rng: np.random.Generator,
    features: Callable[[np.ndarray], np.ndarray],
) -> tuple[FittedGP, tuple[float, float]]:
    """GP of scaled log cost (``scale_log_cost``) over every run, and the observed log-cost range."""
    log_cost = np.log(data.cost)
    log_cost_range = (float(log_cost.min()), float(log_cost.max()))
    inputs = torch.as_tensor(features(data.inputs), dtype=DTYPE)
    target = torch.as_tensor(scale_log_cost(log_cost, log_cost_range), dtype=DTYPE)
    return fit_gp(inputs, target, rng=rng, **_fit_settings(config)), log_cost_range


def _fit_settings(config: TunerConfig) -> dict[str, int]:
    """``fit_gp`` keyword arguments from the config."""
    return {"iterations": config.fit_iterations, "max_fit_points": config.max_fit_points}


def under_cost_cap(
    cost: FittedGP,
    log_cost_range: tuple[float, float],
    model_inputs: np.ndarray,
    config: TunerConfig,
) -> np.ndarray:
    """Rows (n, d) of surrogate inputs whose cost is below ``config.max_suggestion_cost`` with
    probability >= ``config.cost_cap_confidence`` under the cost GP, as a bool mask (n,)."""
    cap = _scaled_cap(config, log_cost_range)
    if cap is None:
        return np.ones(len(model_inputs), dtype=bool)
    mean, var = cost.predict(torch.as_tensor(model_inputs, dtype=DTYPE))
    mask = acq.log_cost_mask(mean, var.sqrt(), cap, CostMask.HARD, config.cost_cap_confidence)
    return torch.isfinite(mask).numpy()


def _scaled_cap(config: TunerConfig, log_cost_range: tuple[float, float]) -> float | None:
    """``config.max_suggestion_cost`` in the cost model's scaled log-cost units (None: no cap)."""
    cap = config.max_suggestion_cost
    return None if cap is None else scale_log_cost(math.log(cap), log_cost_range)


def _log_cost_mask(
    models: FittedModels,
    scaled_cost: torch.Tensor,
    scaled_var: torch.Tensor,
    config: TunerConfig,
    heuristics: Heuristics,
) -> torch.Tensor:
    """The cost-cap factor, computed in the cost model's scaled log-cost units."""
    return acq.log_cost_mask(
        scaled_cost,
        scaled_var.sqrt(),
        _scaled_cap(config, models.log_cost_range),
        heuristics.cost_mask,
        config.cost_cap_confidence,
    )


def score_candidates(
    models: FittedModels,
    centers: np.ndarray,
    std: np.ndarray,
    basis: np.ndarray,
    candidates: np.ndarray,
    config: TunerConfig,
    heuristics: Heuristics,
    rng: np.random.Generator,
) -> dict[str, torch.Tensor]:
    """Every acquisition term for candidates (n, d), each (n,); ``basis`` (d, g) holds the
    candidate steps' shared-shift directions (``acquisition.sample_candidates``)."""
    x = torch.as_tensor(candidates, dtype=DTYPE)
    model_x = torch.as_tensor(models.features(candidates), dtype=DTYPE)
    mean, var = models.output.predict(model_x)
    cost_x = torch.as_tensor(models.cost_features(candidates), dtype=DTYPE)
    scaled_cost, scaled_cost_var = models.cost.predict(cost_x)
    front_scaled = np.array([models.scale_log_cost(math.log(g.cost)) for g in models.front])
    floor = acq.pareto_threshold_value(
        models.pareto,
        front_scaled,
        np.array([g.cost for g in models.front]),
        models.scale_log_cost,
        heuristics.pareto_clamp,
        rng,
    )
    best = models.pareto(scaled_cost).clamp_min(floor)
    log_ei = acq.log_expected_improvement(
        mean, var.sqrt(), best, exploration_bias(config, heuristics)
    )
    log_p_success = torch.zeros_like(mean)
    if models.success is not None:
        s_mean, s_var = models.success.predict(model_x)
        log_p_success = torch.special.log_ndtr(-s_mean / s_var.sqrt())
    cost = models.cost_from_scaled(scaled_cost)
    log_p_search = acq.log_search_probability(
        x,
        torch.as_tensor(centers),
        torch.as_tensor(std),
        heuristics.search_space_probability,
        torch.as_tensor(basis, dtype=DTYPE),
    )
    log_acq = acq.log_acquisition(
        log_ei,
        log_p_search,
        log_p_success,
        _log_cost_mask(models, scaled_cost, scaled_cost_var, config, heuristics),
    )
    return {
        "mean": mean,
        "cost": cost,
        "log_ei": log_ei,
        "log_p_search": log_p_search,
        "log_p_success": log_p_success,
        "log_acq": log_acq,
    }
