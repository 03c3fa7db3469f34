"""Candidate generation and scoring as small pure functions.

Shapes: n candidates, m front points (centers), d basic dimensions. Acquisition terms are
combined in log space so that tiny expected improvements never underflow to a tie:

    log acq = log EI + log P_search + log P_success + log 1[predicted cost < cap]
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy.spatial import cKDTree

from carbs_lite.heuristics import (
    CandidateRounding,
    CostMask,
    FinalPick,
    ParetoClamp,
    SearchProbability,
)

DTYPE = torch.float64
_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def sample_candidates(
    centers: np.ndarray,
    std: np.ndarray,
    n: int,
    rng: np.random.Generator,
    basis: np.ndarray | None = None,
) -> np.ndarray:
    """n rows x = c + std * z, each around a center c drawn uniformly from (m, d) rows.

    z ~ N(0, I + B B^T): independent unit steps plus, for each column of ``basis`` B (d, g),
    one shared N(0, 1) step along it (none if B is None or has no columns). ``std`` is (d,)
    or (m, d).
    """
    picks = rng.integers(len(centers), size=n)
    std = np.broadcast_to(std, centers.shape)[picks]
    z = rng.standard_normal((n, centers.shape[1]))
    if basis is not None and basis.shape[1]:
        z = z + rng.standard_normal((n, basis.shape[1])) @ basis.T
    return centers[picks] + std * z


def prepare_candidates(
    raw: np.ndarray,
    rounding: CandidateRounding,
    round_basic: Callable[[np.ndarray], np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """Round (unless FINAL_PICK_ONLY) and drop rows outside [lower, upper]: (n, d) -> (k, d)."""
    candidates = round_basic(raw) if rounding is CandidateRounding.BEFORE_SCORING else raw
    inside = np.all((candidates >= lower) & (candidates <= upper), axis=1)
    return candidates[inside]


def drop_duplicates(
    candidates: np.ndarray, existing: np.ndarray, tolerance: float, enabled: bool
) -> np.ndarray:
    """Drop rows within ``tolerance`` (max-norm) of any ``existing`` row or of an earlier row."""
    if not enabled or len(candidates) == 0:
        return candidates
    keys = np.round(candidates / max(tolerance, 1e-12))
    _, first = np.unique(keys, axis=0, return_index=True)
    candidates = candidates[np.sort(first)]
    if len(existing) == 0:
        return candidates
    # a k-d tree in the max-norm: O(n log k) time and O(n) memory, where the dense
    # candidates x existing distance array is O(n k d) memory (800 MB at 1000 x 10,000 x 10).
    # A row with an infinite coordinate (a log space reaching 0) is never within tolerance of
    # another (inf - inf is NaN), so it is kept and left out of the tree, which needs finite rows.
    finite = np.isfinite(candidates).all(axis=1)
    existing = existing[np.isfinite(existing).all(axis=1)]
    if len(existing) == 0 or not finite.any():
        return candidates
    distance, _ = cKDTree(existing).query(candidates[finite], k=1, p=np.inf)
    keep = ~finite
    keep[finite] = distance > tolerance
    return candidates[keep]


def log_search_probability(
    candidates: torch.Tensor,
    centers: torch.Tensor,
    std: torch.Tensor,
    mode: SearchProbability = SearchProbability.DENSITY,
    basis: torch.Tensor | None = None,
) -> torch.Tensor:
    """log P_search from r^2 = min_j s_j^T (I + B B^T)^-1 s_j, s_j = (x - c_j) / std_j, the
    squared Mahalanobis distance under ``sample_candidates``'s steps (see ``SearchProbability``).

    By Woodbury, r^2 = |s|^2 - p^T (I + B^T B)^-1 p with p = B^T s; B None: r^2 = |s|^2.
    DENSITY: -r^2 / 2. TAIL: log P(chi^2_d >= r^2) = log Q(d/2, r^2/2), Q the regularized upper
    incomplete gamma, with its leading asymptotic term (a - 1) log x - x - lgamma(a) where Q
    underflows. OFF: 0. candidates (n, d), centers (m, d), std (d,) or (m, d), B (d, g) -> (n,).
    """
    scaled = (candidates[:, None, :] - centers[None, :, :]) / std
    squared = (scaled**2).sum(-1)
    if basis is not None and basis.shape[1]:
        projected = scaled @ basis
        inner = torch.eye(basis.shape[1], dtype=basis.dtype) + basis.T @ basis
        squared = squared - ((projected @ torch.linalg.inv(inner)) * projected).sum(-1)
    r2 = squared.min(dim=1).values
    if mode is SearchProbability.OFF:
        return torch.zeros_like(r2)
    if mode is SearchProbability.DENSITY:
        return -0.5 * r2
    a, x = torch.full_like(r2, candidates.shape[1] / 2), r2 / 2
    tail = torch.special.gammaincc(a, x)
    asymptotic = (a - 1) * torch.log(x.clamp_min(1e-300)) - x - torch.lgamma(a)
    return torch.where(tail > 1e-280, torch.log(tail.clamp_min(1e-300)), asymptotic)


def log_expected_improvement(
    mean: torch.Tensor, std: torch.Tensor, best: torch.Tensor, bias: float
) -> torch.Tensor:
    """log EI with EI = std * h(z), h(z) = z Phi(z) + phi(z), z = (mean - best - bias) / std.

    For z < 0, h(z) = phi(z) * (1 + z * sqrt(pi/2) * erfcx(-z / sqrt 2)), which stays accurate
    where Phi(z) underflows.
    """
    z = (mean - best - bias) / std
    log_phi = -0.5 * z**2 - _LOG_SQRT_2PI
    positive = z.clamp_min(0)
    log_h_pos = torch.log(
        positive * torch.special.ndtr(positive) + torch.exp(-0.5 * positive**2 - _LOG_SQRT_2PI)
    )
    negative = z.clamp_max(0)
    ratio = negative * math.sqrt(math.pi / 2) * torch.special.erfcx(-negative / _SQRT2)
    log_h_neg = log_phi + torch.log1p(ratio.clamp_min(-1 + 1e-16))
    return torch.log(std) + torch.where(z >= 0, log_h_pos, log_h_neg)


def threshold_cost(front_costs: np.ndarray, mode: ParetoClamp, rng: np.random.Generator) -> float:
    """Cost drawn between the cheapest and dearest front cost: log-uniformly or uniformly."""
    low, high = float(np.min(front_costs)), float(np.max(front_costs))
    if mode is ParetoClamp.UNIFORM:
        return float(rng.uniform(low, high))
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def pareto_threshold_value(
    pareto: Callable[[torch.Tensor], torch.Tensor],
    front_scaled_log_costs: np.ndarray,
    front_costs: np.ndarray,
    scale_log_cost: Callable[[float], float],
    mode: ParetoClamp,
    rng: np.random.Generator,
    front_values: np.ndarray,
) -> float:
    """Lower clamp for the Pareto value: its value at a random threshold cost, its highest
    value at the front's costs (ALWAYS_BEST; a smoothing model's is below the best run's), the
    highest of ``front_values`` (m,), the front points' own values in the Pareto model's units
    (INCUMBENT), or -inf (OFF)."""
    if mode is ParetoClamp.OFF:
        return -math.inf
    if mode is ParetoClamp.INCUMBENT:
        return float(np.max(front_values))
    if mode is ParetoClamp.ALWAYS_BEST:
        points = torch.as_tensor(front_scaled_log_costs, dtype=DTYPE)
        return float(pareto(points).max())
    cost = threshold_cost(front_costs, mode, rng)
    return float(pareto(torch.tensor([scale_log_cost(math.log(cost))], dtype=DTYPE))[0])


def log_cost_mask(
    mean: torch.Tensor,
    std: torch.Tensor,
    cap: float | None,
    mode: CostMask,
    confidence: float = 0.5,
) -> torch.Tensor:
    """log of the cost factor for a cost model N(mean, std^2) in the cap's units.

    HARD: 0 where P(cost < cap) >= confidence, i.e. mean + Phi^-1(confidence) std < cap, and
    -inf elsewhere (confidence 0.5: the mean is below the cap, as in CARBS). PROBABILITY: the
    hard mask plus log Phi((cap - mean) / std). No cap: 0.
    """
    if cap is None:
        return torch.zeros_like(mean)
    margin = float(torch.special.ndtri(torch.tensor(confidence, dtype=DTYPE)))
    hard = torch.where(mean + margin * std < cap, 0.0, -math.inf).to(DTYPE)
    if mode is CostMask.PROBABILITY:
        return hard + torch.special.log_ndtr((cap - mean) / std)
    return hard


def log_success_mask(log_p_success: torch.Tensor, confidence: float) -> torch.Tensor:
    """log of 1[P_success >= confidence]: 0 where the success model allows the candidate,
    -inf elsewhere (Gelbart, Snoek and Adams 2014, constraint Pr(success) >= 1 - delta)."""
    allowed = log_p_success >= math.log(confidence)
    return torch.where(allowed, 0.0, -math.inf).to(log_p_success.dtype)


def log_acquisition(
    log_ei: torch.Tensor,
    log_p_search: torch.Tensor,
    log_p_success: torch.Tensor,
    log_mask: torch.Tensor,
) -> torch.Tensor:
    """log (EI x P_search x P_success x mask)."""
    return log_ei + log_p_search + log_p_success + log_mask


def pick(
    log_acq: torch.Tensor, mode: FinalPick, temperature: float, rng: np.random.Generator
) -> int:
    """Index of the suggestion: argmax, or a draw with p ~ acq, or p ~ exp(acq / (T max acq))."""
    best = int(torch.argmax(log_acq))
    if mode is FinalPick.ARGMAX or not torch.isfinite(log_acq[best]):
        return best
    relative = torch.exp(log_acq - log_acq[best]).numpy()
    if mode is FinalPick.SOFTMAX:
        relative = np.exp((relative - 1.0) / temperature)
    return int(rng.choice(len(relative), p=relative / relative.sum()))
