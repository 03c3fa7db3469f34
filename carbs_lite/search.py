"""One search step, from a study's data to a proposal; the one module that reads the search switches.

A step (CARBS, Fetterman et al. 2023, section 3): fit the surrogates (output, cost, success and
Pareto models), draw Gaussian candidates around the search front, score each by

    acq = EI(output over the Pareto value at its predicted cost, clamped below at a threshold
          cost's value) x P_search x P_success x the cost-cap factor

and pick one. Every ``resample_frequency`` observations a front point is re-run instead, and a
numerical failure of the surrogates falls back to a random step around the front. The math
lives in ``surrogate`` (fitted models) and ``acquisition`` (pure tensor functions); this module
decides which of them a study's switches call.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from carbs_lite import acquisition as acq
from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import CandidateRounding, CostMask, Heuristics, SearchRadius
from carbs_lite.pareto import Group, search_front
from carbs_lite.records import Diagnostics, StudyData
from carbs_lite.spaces import ParamSpace
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

logger = logging.getLogger(__name__)

NUMERICAL_ERRORS = (torch.linalg.LinAlgError,)
"""Errors from the surrogates that make a step fall back to sampling around the front."""

RANDOM_STEP_DRAWS = 64
"""Draws of a random step (fallback, around-center design), of which the first new one is kept."""


class NoCandidatesError(RuntimeError):
    """Every sampled candidate was out of bounds or a duplicate."""


@dataclass(frozen=True)
class Proposal:
    """The basic row (d,) a step proposes, and why."""

    x: np.ndarray
    diagnostics: Diagnostics


@dataclass(frozen=True)
class FittedModels:
    """Everything fitted for one step."""

    output: FittedGP
    cost: FittedGP
    success: FittedGP | None
    transform: QuantileTransform | Standardize
    pareto: ParetoFunction
    log_cost_range: tuple[float, float]
    front: list[Group]

    def scale_log_cost(self, log_cost: Any) -> Any:
        return scale_log_cost(log_cost, self.log_cost_range)

    def cost_from_scaled(self, scaled: torch.Tensor) -> torch.Tensor:
        low, high = self.log_cost_range
        return torch.exp(low + scaled * max(high - low, 1e-9))


class Scores(NamedTuple):
    """Every acquisition term of n candidates, each (n,): the output model's posterior mean and
    std and the Pareto value EI is measured against (surrogate units), the predicted cost, and
    log EI, log P_search, log P_success and log acquisition."""

    mean: torch.Tensor
    std: torch.Tensor
    best: torch.Tensor
    cost: torch.Tensor
    log_ei: torch.Tensor
    log_p_search: torch.Tensor
    log_p_success: torch.Tensor
    log_acq: torch.Tensor


class ScoredCandidates(NamedTuple):
    """One step's candidates (n, d), their ``Scores``, and what they were drawn and scored
    with: the fitted models, the centers (m, d) and the per-center std (m, d)."""

    candidates: np.ndarray
    scores: Scores
    models: FittedModels
    centers: np.ndarray
    std: np.ndarray


def scale_log_cost(log_cost: Any, log_cost_range: tuple[float, float]) -> Any:
    """Log cost mapped linearly so that the observed range becomes [0, 1]."""
    low, high = log_cost_range
    return (log_cost - low) / max(high - low, 1e-9)


class Search:
    """The search step of one study's settings: ``propose`` maps ``StudyData`` to a point.

    ``search_center`` (d,): a re-centered study's search center in basic space, drawn around
    like a front point (``Study.set_search_center``); None: steps start from the front only.
    """

    def __init__(
        self,
        space: ParamSpace,
        config: TunerConfig,
        heuristics: Heuristics,
        search_center: np.ndarray | None = None,
    ) -> None:
        self.space = space
        self.config = config
        self.heuristics = heuristics
        self.search_center = search_center

    def propose(
        self,
        data: StudyData,
        rng: np.random.Generator,
        resample_count: int,
        adaptive: float,
    ) -> Proposal:
        """A front re-run when one is due (its diagnostics' source is "resample"), else the
        acquisition's pick, else, if the surrogates fail numerically or no candidate is new,
        a random step around the front ("fallback"). ``adaptive``: the adaptive radius."""
        if self.resample_due(len(data.cost), resample_count):
            return self._resample(data, rng)
        try:
            return self._search(data, rng, adaptive)
        except (*NUMERICAL_ERRORS, NoCandidatesError) as error:
            logger.warning("surrogate search failed (%s); sampling around the front", error)
            centers = self.centers(data, search_front(data, self.config, self.heuristics))
            return self.random_step(centers, data, rng, "fallback", adaptive)

    def resample_due(self, observed: int, resample_count: int) -> bool:
        """Whether a front re-run is due: one per ``resample_frequency`` observations, with
        ``Heuristics.resampling`` on."""
        frequency = self.config.resample_frequency
        if not self.heuristics.resampling or frequency == 0:
            return False
        return observed // frequency > resample_count

    def score(self, data: StudyData, rng: np.random.Generator, adaptive: float) -> ScoredCandidates:
        """Fit the models, draw candidates around the search front and score them."""
        models = self.fit(data, rng)
        centers = self.centers(data, models.front)
        std = self.std(centers, adaptive, models.output)
        basis = self.step_basis()
        candidates = self.candidates(centers, std, basis, data, rng)
        scores = self.scores(models, centers, std, basis, candidates, rng)
        return ScoredCandidates(candidates, scores, models, centers, std)

    def fit(self, data: StudyData, rng: np.random.Generator) -> FittedModels:
        """Output, cost, success and Pareto models for ``data`` (with a success, and with its
        outstanding points folded into the output model)."""
        heuristics, features = self.heuristics, self.features
        ok = data.successes
        fit = _fit_settings(self.config)
        transform = output_transform(data.goodness[ok], heuristics.output_transform)
        inputs = torch.as_tensor(features(data.inputs), dtype=DTYPE)
        target = torch.as_tensor(transform(data.goodness[ok]), dtype=DTYPE)
        output = fit_gp(inputs[ok], target, rng=rng, **fit)
        outstanding = torch.as_tensor(features(data.outstanding), dtype=DTYPE)
        fold_outstanding(output, outstanding, heuristics.outstanding_estimator, rng)
        cost, log_cost_range = self.cost_model(data, rng)
        scaled = scale_log_cost(np.log(data.cost), log_cost_range)
        success = None
        if data.failed.any():
            labels = torch.as_tensor(np.where(data.failed, 1.0, -1.0), dtype=DTYPE)
            success = fit_gp(inputs, labels, rng=rng, **fit)
        front = search_front(data, self.config, heuristics)
        front_x = np.array([np.mean(scaled[ok][list(g.members)]) for g in front])
        front_y = transform(np.array([g.mean_goodness for g in front]))
        pareto = fit_pareto_model(
            heuristics.pareto_model, front_x, front_y, scaled[ok], target.numpy()
        )
        return FittedModels(output, cost, success, transform, pareto, log_cost_range, front)

    def cost_model(
        self, data: StudyData, rng: np.random.Generator
    ) -> tuple[FittedGP, tuple[float, float]]:
        """GP of scaled log cost (``scale_log_cost``) over every run of ``data`` on its
        ``cost_features``, and the observed log-cost range."""
        log_cost = np.log(data.cost)
        log_cost_range = (float(log_cost.min()), float(log_cost.max()))
        inputs = torch.as_tensor(self.cost_features(data.inputs), dtype=DTYPE)
        target = torch.as_tensor(scale_log_cost(log_cost, log_cost_range), dtype=DTYPE)
        return fit_gp(inputs, target, rng=rng, **_fit_settings(self.config)), log_cost_range

    def under_cap(
        self, cost: FittedGP, log_cost_range: tuple[float, float], rows: np.ndarray
    ) -> np.ndarray:
        """Basic rows (n, d) whose cost is below ``max_suggestion_cost`` with probability
        >= ``cost_cap_confidence`` under the cost GP, as a bool mask (n,); all True with no cap."""
        cap = _scaled_cap(self.config, log_cost_range)
        if cap is None:
            return np.ones(len(rows), dtype=bool)
        mean, var = cost.predict(torch.as_tensor(self.cost_features(rows), dtype=DTYPE))
        confidence = self.config.cost_cap_confidence
        mask = acq.log_cost_mask(mean, var.sqrt(), cap, CostMask.HARD, confidence)
        return torch.isfinite(mask).numpy()

    def features(self, rows: np.ndarray) -> np.ndarray:
        """Basic rows (n, d) as the output and success models see them: inactive dimensions
        imputed (``Space.surrogate_inputs``) unless ``inactive_imputation`` is off."""
        if self.heuristics.inactive_imputation:
            return self.space.surrogate_inputs(rows)
        return rows

    def cost_features(self, rows: np.ndarray) -> np.ndarray:
        """Basic rows (n, d) as the cost model sees them: ``Space.size_inputs`` when
        ``size_cost_inputs`` is on, else ``features``."""
        if self.heuristics.size_cost_inputs:
            return self.space.size_inputs(rows)
        return self.features(rows)

    def centers(self, data: StudyData, front: list[Group]) -> np.ndarray:
        """Basic inputs of front groups, then the re-centered ``search_center`` if any, (m, d);
        the space's search center if the front is empty."""
        if not front:
            return self.space.center_in_basic()[None, :]
        success_inputs = data.inputs[data.successes]
        rows = [success_inputs[g.members[0]] for g in front]
        if self.search_center is not None:
            rows.append(self.search_center)
        return np.array(rows)

    def radius(self, adaptive: float, output_model: FittedGP | None = None) -> np.ndarray:
        """Per-dimension search radius (d,): FIXED ``initial_search_radius``; ADAPTIVE the
        tracked ``adaptive`` radius (``adaptive_radius``); LENGTHSCALE the fixed radius times
        the output model's lengthscales over their geometric mean (fixed without a model)."""
        mode = self.heuristics.search_radius
        base = adaptive if mode is SearchRadius.ADAPTIVE else self.config.initial_search_radius
        radius = np.full(self.space.dim, base)
        if mode is SearchRadius.LENGTHSCALE and output_model is not None:
            scale = np.clip(output_model.lengthscale, 1e-3, 1e3)
            radius = base * scale / np.exp(np.mean(np.log(scale)))
        return radius

    def std(
        self, centers: np.ndarray, adaptive: float, output_model: FittedGP | None = None
    ) -> np.ndarray:
        """Per-center, per-dimension sampling std (m, d): the radius, never below an integer's
        step (``Space.min_step_in_basic``)."""
        radius = self.radius(adaptive, output_model)
        return np.maximum(radius[None, :], self.space.min_step_in_basic(centers))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Basic bounds candidates must lie in, integers padded per ``integer_bound_padding``."""
        return self.space.basic_bounds(self.heuristics.integer_bound_padding)

    def step_basis(self) -> np.ndarray:
        """(d, g) shared-shift directions of Gaussian steps (``acquisition.sample_candidates``):
        one per ``Space.step_groups`` group when ``coherent_steps`` is on, else none."""
        if not self.heuristics.coherent_steps:
            return np.zeros((self.space.dim, 0))
        return self.space.step_basis(self.config.step_group_variance)

    def candidates(
        self,
        centers: np.ndarray,
        std: np.ndarray,
        basis: np.ndarray,
        data: StudyData,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """``num_candidates_per_dim`` x d Gaussian draws around ``centers``, rounded (per
        ``candidate_rounding``), in bounds, with their simplified versions after them (per
        ``coarse_candidates``), and without points already taken (per ``duplicate_filter``):
        (k, d). ``NoCandidatesError`` if none is left."""
        count = self.config.num_candidates_per_dim * self.space.dim
        raw = acq.sample_candidates(centers, std, count, rng, basis)
        lower, upper = self.bounds()
        rounding, round_basic = self.heuristics.candidate_rounding, self.space.round_basic
        candidates = acq.prepare_candidates(raw, rounding, round_basic, lower, upper)
        if self.heuristics.coarse_candidates:
            coarse = self.space.simplified(candidates)
            changed = coarse[np.any(coarse != candidates, axis=1)]
            extra = acq.prepare_candidates(changed, rounding, round_basic, lower, upper)
            candidates = np.concatenate([candidates, extra])
        candidates = acq.drop_duplicates(
            candidates,
            data.taken,
            self.config.duplicate_tolerance,
            self.heuristics.duplicate_filter,
        )
        if len(candidates) == 0:
            raise NoCandidatesError(f"none of {count} candidates is in bounds and new")
        return candidates

    def random_step(
        self,
        centers: np.ndarray,
        data: StudyData,
        rng: np.random.Generator,
        source: str,
        adaptive: float,
    ) -> Proposal:
        """A random in-bounds rounded point near one of ``centers`` (m, d), the first not yet
        taken; an unrounded draw if none lands inside."""
        std = self.std(centers, adaptive)
        lower, upper = self.bounds()
        raw = acq.sample_candidates(centers, std, RANDOM_STEP_DRAWS, rng, self.step_basis())
        inside = acq.prepare_candidates(
            raw, CandidateRounding.BEFORE_SCORING, self.space.round_basic, lower, upper
        )
        x = first_new(inside, data, self.config) if len(inside) else raw[0]
        return Proposal(x, Diagnostics(source, search_radius=float(np.mean(std))))

    def _resample(self, data: StudyData, rng: np.random.Generator) -> Proposal:
        """Re-run the search-front point with the fewest runs (ties broken at random)."""
        front = search_front(data, self.config, self.heuristics)
        fewest = min(g.count for g in front)
        choices = [g for g in front if g.count == fewest]
        group = choices[int(rng.integers(len(choices)))]
        return Proposal(self.centers(data, [group])[0], Diagnostics("resample"))

    def _search(self, data: StudyData, rng: np.random.Generator, adaptive: float) -> Proposal:
        return self.pick(self.score(data, rng, adaptive), rng)

    def pick(self, scored: ScoredCandidates, rng: np.random.Generator) -> Proposal:
        """The candidate ``final_pick`` chooses (the cheapest predicted if every acquisition
        is zero), with the model predictions and acquisition terms at it."""
        scores, models = scored.scores, scored.models
        if torch.isfinite(scores.log_acq).any():
            temperature = self.config.softmax_temperature
            index = acq.pick(scores.log_acq, self.heuristics.final_pick, temperature, rng)
        else:
            index = int(torch.argmin(scores.cost))
        mean = scores.mean[index].numpy()
        diagnostics = Diagnostics(
            "search",
            predicted_output=float(self.config.sign * models.transform.inverse(mean)),
            predicted_cost=float(scores.cost[index]),
            expected_improvement=float(scores.log_ei[index].exp()),
            p_search=float(scores.log_p_search[index].exp()),
            p_success=float(scores.log_p_success[index].exp()),
            acquisition=float(scores.log_acq[index].exp()),
            search_radius=float(np.mean(scored.std)),
            num_candidates=len(scored.candidates),
        )
        return Proposal(scored.candidates[index], diagnostics)

    def scores(
        self,
        models: FittedModels,
        centers: np.ndarray,
        std: np.ndarray,
        basis: np.ndarray,
        candidates: np.ndarray,
        rng: np.random.Generator,
    ) -> Scores:
        """Every acquisition term for candidates (n, d); P_search under the ``basis`` (d, g)
        the candidates were sampled with."""
        heuristics, config = self.heuristics, self.config
        model_x = torch.as_tensor(self.features(candidates), dtype=DTYPE)
        mean, var = models.output.predict(model_x)
        cost_x = torch.as_tensor(self.cost_features(candidates), dtype=DTYPE)
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
        bias = config.exploration_bias if heuristics.exploration_bias else 0.0
        log_ei = acq.log_expected_improvement(mean, var.sqrt(), best, bias)
        log_p_success = torch.zeros_like(mean)
        if models.success is not None:
            s_mean, s_var = models.success.predict(model_x)
            log_p_success = torch.special.log_ndtr(-s_mean / s_var.sqrt())
        log_p_search = acq.log_search_probability(
            torch.as_tensor(candidates, dtype=DTYPE),
            torch.as_tensor(centers),
            torch.as_tensor(std),
            heuristics.search_space_probability,
            torch.as_tensor(basis, dtype=DTYPE),
        )
        log_mask = acq.log_cost_mask(
            scaled_cost,
            scaled_cost_var.sqrt(),
            _scaled_cap(config, models.log_cost_range),
            heuristics.cost_mask,
            config.cost_cap_confidence,
        )
        log_acq = acq.log_acquisition(log_ei, log_p_search, log_p_success, log_mask)
        cost = models.cost_from_scaled(scaled_cost)
        return Scores(mean, var.sqrt(), best, cost, log_ei, log_p_search, log_p_success, log_acq)


def first_new(rows: np.ndarray, data: StudyData, config: TunerConfig) -> np.ndarray:
    """The first of ``rows`` (n, d) not within ``duplicate_tolerance`` of a taken point (observed
    or outstanding), else the first row; keeps parallel workers off each other's points."""
    fresh = acq.drop_duplicates(rows, data.taken, config.duplicate_tolerance, True)
    return fresh[0] if len(fresh) else rows[0]


def _fit_settings(config: TunerConfig) -> dict[str, int]:
    """``fit_gp`` keyword arguments from the config."""
    return {"iterations": config.fit_iterations, "max_fit_points": config.max_fit_points}


def _scaled_cap(config: TunerConfig, log_cost_range: tuple[float, float]) -> float | None:
    """``config.max_suggestion_cost`` in the cost model's scaled log-cost units (None: no cap)."""
    cap = config.max_suggestion_cost
    return None if cap is None else scale_log_cost(math.log(cap), log_cost_range)
