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
from carbs_lite.curves import CurvePoints
from carbs_lite.heuristics import (
    CandidateRounding,
    CostMask,
    FailureImputation,
    Heuristics,
    SearchRadius,
    SuccessModel,
)
from carbs_lite.output_transforms import BoxCoxTransform, OutputTransformer, output_transforms
from carbs_lite.pareto import Group, front_improvements, search_front
from carbs_lite.records import Diagnostics, best_feasible
from carbs_lite.spaces import ParamSpace
from carbs_lite.study_data import StudyData
from carbs_lite.success_model import (
    FittedSuccessModel,
    fit_label_regression,
    fit_laplace_classifier,
)
from carbs_lite.surrogate import (
    DTYPE,
    ParetoFunction,
    Surrogate,
    fit_gp,
    fit_pareto_model,
    fit_with_progress,
    fold_outstanding,
)

logger = logging.getLogger(__name__)

NUMERICAL_ERRORS = (torch.linalg.LinAlgError,)
"""Errors from the surrogates that make a step fall back to sampling around the front."""

SUCCESS_MODELS = {
    SuccessModel.LABEL_REGRESSION: fit_label_regression,
    SuccessModel.GP_CLASSIFICATION: fit_laplace_classifier,
}

REFINE_STARTS, REFINE_DRAWS = 5, 16
"""Acquisition refinement: the best candidates it starts from and the Gaussian draws around
each per round (``TunerConfig.refinement_rounds`` rounds; the step halves each round, from half
the search std)."""

OUTPUT_TRANSFORM_LOG_BAYES_FACTOR = 1.0
"""``OutputTransform.BOX_COX`` and ``POWER`` leave the outputs' own scale for another Box-Cox
exponent only when the log likelihood of the goodness under that exponent's GP is higher by
more than this, a Bayes factor above e, "positive" evidence on the scale of Kass and Raftery
(1995, 2 ln B > 2). Where they explain the outputs about equally well (outputs far from 0, on
which the power is nearly linear), the search keeps the scale it has without the switch."""

ALL = slice(None)
"""Every run: what ``Search.conditioning`` returns below its limit."""

TRUST_REGION_SUCCESSES = 3
TRUST_REGION_RANGE = (2.0**-7, 1.0)
"""TuRBO's success count and its smallest side length (L_min = 2^-7), as factors of
``TunerConfig.initial_search_radius`` (``SearchRadius.TRUST_REGION``). The largest is the
fixed radius itself, not TuRBO's 2 x L_init: the ablations chose that radius as the best
fixed one, so the region only grows back to it."""

CURVE_POINTS_PER_TRY = 4
"""Curve observations: at most this many points of a try's learning curve reach the output and
cost models, evenly spaced over it, its first and latest included, so that the GPs grow at
most this many rows per try (Protein likewise downsamples each run's curve)."""

RANDOM_STEP_DRAWS = 64
"""Draws of a random step (fallback, around-center design), of which the first new one is kept."""
RANDOM_STEP_WIDENINGS = 8
"""A random step doubles its std up to this many times (x256) while every draw is taken."""


class NoCandidatesError(RuntimeError):
    """Every sampled candidate was out of bounds or a duplicate."""


@dataclass(frozen=True)
class Proposal:
    """The basic row (d,) a step proposes, and why; ``params``, when set, the exact params to
    run instead of the row's (a re-run repeats its front point's params, which must not differ
    from them in the last bit: runs group on the front by equal params)."""

    x: np.ndarray
    diagnostics: Diagnostics
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class FittedModels:
    """Everything fitted for one step; ``front_values`` (m,) are the ``front`` groups' mean
    goodness in the output model's units, the points the Pareto model was fit on."""

    output: Surrogate
    cost: Surrogate
    success: FittedSuccessModel | None
    transform: OutputTransformer
    pareto: ParetoFunction
    log_cost_range: tuple[float, float]
    front: list[Group]
    front_values: np.ndarray

    def scale_log_cost(self, log_cost: Any) -> Any:
        return scale_log_cost(log_cost, self.log_cost_range)

    def cost_from_scaled(self, scaled: torch.Tensor) -> torch.Tensor:
        low, high = self.log_cost_range
        return torch.exp(low + scaled * max(high - low, 1e-9))


class OutputFit(NamedTuple):
    """An output GP, the transform of its targets, the targets (n,) of every success, and
    the log likelihood of the goodness it was fit on (``Search.output_model``; NaN where the
    switch offers one transform and nothing is compared)."""

    output: Surrogate
    transform: OutputTransformer
    target: torch.Tensor
    evidence: float


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
        except NUMERICAL_ERRORS as error:
            logger.warning("surrogate search failed (%s); sampling around the front", error)
        except NoCandidatesError as error:
            # small discrete spaces run out of new points near the front: widen, not a fault
            logger.info("%s; sampling around the front", error)
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
        std = self.std(centers, adaptive, data, models.output)
        basis = self.step_basis()
        candidates = self.candidates(centers, std, basis, data, rng)
        floor = self.pareto_floor(models, rng)
        scores = self.scores(models, centers, std, basis, candidates, floor)
        if self.heuristics.acquisition_refinement:
            candidates, scores = self.refined(
                ScoredCandidates(candidates, scores, models, centers, std), basis, floor, data, rng
            )
        return ScoredCandidates(candidates, scores, models, centers, std)

    def refined(
        self,
        scored: ScoredCandidates,
        basis: np.ndarray,
        floor: float,
        data: StudyData,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, Scores]:
        """``scored``'s candidates (n, d) and scores with the points of a local search of the
        acquisition appended: ``TunerConfig.refinement_rounds`` rounds of ``REFINE_DRAWS``
        Gaussian draws around each of the best ``REFINE_STARTS`` so far (and around the
        incumbent, with ``Heuristics.refinement_from_incumbent``), at std (mean search std) x
        2^-k in round k (and, with ``Heuristics.compass_refinement``, the ``compass_points`` at
        that step), rounded, in bounds and new. P_search stays that of the search's
        Gaussians around ``scored.centers``, so refinement cannot leave the search region for
        free."""
        candidates, scores, models = scored.candidates, scored.scores, scored.models
        centers, std = scored.centers, scored.std
        base = np.mean(std, axis=0)
        incumbent = self.incumbent(data) if self.heuristics.refinement_from_incumbent else None
        for k in range(1, self.config.refinement_rounds + 1):
            finite = torch.isfinite(scores.log_acq)
            if not finite.any():
                break
            order = torch.argsort(scores.log_acq, descending=True)[:REFINE_STARTS].numpy()
            order = order[finite.numpy()[order]]
            starts = candidates[order]
            if incumbent is not None:
                starts = np.concatenate([incumbent[None, :], starts])
            step = base * 2.0**-k
            rows = np.repeat(starts, REFINE_DRAWS, axis=0)
            step = np.maximum(step[None, :], self.space.min_step_in_basic(rows))
            raw = rows + step * rng.standard_normal(rows.shape)
            if self.heuristics.compass_refinement:
                raw = np.concatenate([raw, self.compass_points(starts, base * 2.0**-k)])
            taken = np.concatenate([data.taken, candidates])
            new = acq.drop_duplicates(
                self.prepared(raw), taken, self.config.duplicate_tolerance, True
            )
            if len(new) == 0:
                continue
            extra = self.scores(models, centers, std, basis, new, floor)
            candidates = np.concatenate([candidates, new])
            scores = Scores(*(torch.cat([a, b]) for a, b in zip(scores, extra, strict=True)))
        return candidates, scores

    def compass_points(self, starts: np.ndarray, step: np.ndarray) -> np.ndarray:
        """The points of compass search around each of ``starts`` (m, d), as unrounded rows
        (k, d): each start moved by +-``step`` (d,) along one basic coordinate at a time, never
        by less than an integer's step, and to each other value of a categorical param
        (``Space.compass_moves``)."""
        step = np.maximum(step[None, :], self.space.min_step_in_basic(starts))
        return self.space.compass_moves(starts, step).reshape(-1, starts.shape[1])

    def incumbent(self, data: StudyData) -> np.ndarray | None:
        """The basic input (d,) of ``data.records``' best feasible run, the one
        ``records.best_feasible`` (and so ``Tuner.best``) picks; None when there is none."""
        best = best_feasible(list(data.records), self.config)
        if best is None:
            return None
        return data.inputs[next(i for i, o in enumerate(data.records) if o is best)]

    def pareto_floor(self, models: FittedModels, rng: np.random.Generator) -> float:
        """The lower clamp of the Pareto value (``pareto_clamp``)."""
        front_scaled = np.array([models.scale_log_cost(math.log(g.cost)) for g in models.front])
        return acq.pareto_threshold_value(
            models.pareto,
            front_scaled,
            np.array([g.cost for g in models.front]),
            models.scale_log_cost,
            self.heuristics.pareto_clamp,
            rng,
            models.front_values,
        )

    def fit(self, data: StudyData, rng: np.random.Generator) -> FittedModels:
        """Output, cost, success and Pareto models for ``data`` (with a success, and with its
        outstanding points folded into the output model, and its curve points, per
        ``curve_rows``, in the output and cost models)."""
        heuristics, features = self.heuristics, self.features
        ok = data.successes
        front = search_front(data, self.config, heuristics)
        kept = self.conditioning(data, front, rng)
        curve = self.curve_rows(data, kept)
        inputs = torch.as_tensor(features(data.inputs[kept]), dtype=DTYPE)
        failures = data.failures[kept]
        imputed = imputed_failures(inputs, failures, heuristics.failure_imputation)
        if data.unfinished is not None:
            # a try stopped as not worth finishing, at the worst value too: left out, it
            # changed nothing in the acquisition, whose maximum stayed at the stopped point,
            # and the search proposed it (a hair apart) and stopped it again every try
            imputed |= data.unfinished[kept]
        options = output_transforms(
            data.goodness[ok], heuristics.output_transform, self.config.sign
        )
        fits = [self.output_model(data, t, kept, imputed, curve, rng) for t in options]
        output, transform, target = chosen_output_fit(fits)[:3]
        outstanding = torch.as_tensor(features(data.outstanding), dtype=DTYPE)
        fold_outstanding(output, outstanding, heuristics.outstanding_estimator, rng)
        cost, log_cost_range = self.cost_model(data, rng, kept, curve)
        scaled = scale_log_cost(np.log(data.cost), log_cost_range)
        success = None
        if failures.any():
            fit_success = SUCCESS_MODELS[heuristics.success_model]
            success = fit_success(inputs, torch.as_tensor(failures), rng=rng, **self.fit_settings())
        front_x = np.array([np.mean(scaled[ok][list(g.members)]) for g in front])
        front_y = transform(np.array([g.mean_goodness for g in front]))
        pareto = fit_pareto_model(
            heuristics.pareto_model, front_x, front_y, scaled[ok], target.numpy()
        )
        return FittedModels(
            output, cost, success, transform, pareto, log_cost_range, front, front_y
        )

    def output_model(
        self,
        data: StudyData,
        transform: OutputTransformer,
        kept: slice | np.ndarray,
        imputed: np.ndarray,
        curve: CurvePoints | None,
        rng: np.random.Generator,
    ) -> OutputFit:
        """The output GP of ``data`` under ``transform``: fit on the ``kept`` successes, the
        kept failures ``imputed`` (bool, one per kept run) at the worst success's target, and
        the ``curve`` points."""
        ok, features = data.successes, self.features
        target = torch.as_tensor(transform(data.goodness[ok]), dtype=DTYPE)
        kept_ok = ok[kept]
        kept_goodness = data.goodness[kept][kept_ok]
        modelled = kept_ok | imputed
        x = torch.as_tensor(features(data.inputs[kept][modelled]), dtype=DTYPE)
        y = torch.full((len(x),), float(target.min()) if len(target) else 0.0, dtype=DTYPE)
        y[torch.as_tensor(kept_ok[modelled])] = torch.as_tensor(
            transform(kept_goodness), dtype=DTYPE
        )
        partial, goodness = None, kept_goodness
        if curve is not None:
            # the transform stays that of the finished runs, so their targets and the Pareto
            # values do not move; a curve point worse than every finished run gets the worst
            # one's value under QUANTILE
            partial_x = torch.as_tensor(features(data.inputs[curve.run]), dtype=DTYPE)
            partial = (partial_x, curve.progress, transform(curve.goodness))
            goodness = np.concatenate([goodness, curve.goodness])
        output = _fit_surrogate(self.fit_settings(), x, y, rng, partial)
        evidence = math.nan
        if isinstance(transform, BoxCoxTransform):
            # the likelihood of the goodness itself; the imputed failures' pseudo-targets
            # are no observed goodness and carry no Jacobian
            jacobian = float(transform.log_jacobian(goodness).sum())
            evidence = output.log_marginal_likelihood() + jacobian
        return OutputFit(output, transform, target, evidence)

    def fit_settings(self) -> dict[str, Any]:
        """``fit_gp`` keyword arguments of the output, cost and success GPs: the kernel
        (``surrogate_kernel``) and the config's fit iterations and fit-point limit."""
        return {
            "kind": self.heuristics.surrogate_kernel.value,
            "iterations": self.config.fit_iterations,
            "max_fit_points": self.config.max_fit_points,
        }

    def cost_model(
        self,
        data: StudyData,
        rng: np.random.Generator,
        kept: slice | np.ndarray = ALL,
        curve: CurvePoints | None = None,
    ) -> tuple[Surrogate, tuple[float, float]]:
        """GP of scaled log cost (``scale_log_cost``) over the ``kept`` runs of ``data`` on
        their ``cost_features`` (less the tries stopped below the cost cap while their cost
        still grew, ``StudyData.partial_cost``, while any other run is kept) and, if given, the
        ``curve`` points at their cost so far; and the log-cost range observed over every run
        (curve points left out)."""
        log_cost = np.log(data.cost)
        log_cost_range = (float(log_cost.min()), float(log_cost.max()))
        rows = np.arange(len(data.cost))[kept]
        partial = data.partial_cost[rows]
        cap = self.config.max_suggestion_cost
        if cap is not None:
            # a try stopped at or past the cap spent at least the cap: as a run's cost, that
            # lower bound still tells the model its config is over the cap, which is all the
            # search needs of it (a run that ended at its last step was often stopped there)
            partial &= data.cost[rows] < cap
        if partial.any() and not partial.all():
            # such a try's cost is what it spent until its stop, not what a run of its config
            # costs: taken as a run's cost it taught the model that big configs are cheap, and
            # the search then proposed runs far over the cap
            rows = rows[~partial]
        inputs = torch.as_tensor(self.cost_features(data.inputs[rows]), dtype=DTYPE)
        target = torch.as_tensor(scale_log_cost(log_cost[rows], log_cost_range), dtype=DTYPE)
        partial = None
        if curve is not None:
            partial_x = torch.as_tensor(self.cost_features(data.inputs[curve.run]), dtype=DTYPE)
            partial = (
                partial_x,
                curve.progress,
                scale_log_cost(np.log(curve.cost), log_cost_range),
            )
        return _fit_surrogate(self.fit_settings(), inputs, target, rng, partial), log_cost_range

    def curve_rows(self, data: StudyData, kept: slice | np.ndarray) -> CurvePoints | None:
        """The learning-curve points (``StudyData.curves``) the output and cost models also
        learn from, with ``curve_observations`` on: of each ``kept`` run, at most
        ``CURVE_POINTS_PER_TRY`` evenly spaced over its curve, and in all at most
        ``max_condition_points`` less the kept runs (evenly thinned). None when off or when
        there is no point."""
        points = data.curves
        if not self.heuristics.curve_observations or points is None:
            return None
        in_kept = np.zeros(len(data.cost), dtype=bool)
        in_kept[kept] = True
        chosen = []
        for run in np.unique(points.run[in_kept[points.run]]):
            rows = np.flatnonzero(points.run == run)
            count = min(CURVE_POINTS_PER_TRY, len(rows))
            chosen.append(
                rows[np.unique(np.round(np.linspace(0, len(rows) - 1, count)).astype(int))]
            )
        budget = self.config.max_condition_points - int(in_kept.sum())
        if not chosen or budget <= 0:
            return None
        chosen = np.concatenate(chosen)
        if len(chosen) > budget:
            chosen = chosen[np.round(np.linspace(0, len(chosen) - 1, budget)).astype(int)]
        return points.subset(chosen)

    def conditioning(
        self, data: StudyData, front: list[Group], rng: np.random.Generator
    ) -> slice | np.ndarray:
        """The runs the GPs condition on (subset of data, SoD): all of them up to
        ``max_condition_points``; beyond, the runs nearest a front point in the basic space
        (three quarters of the budget, the front points first) and a uniform sample of the
        rest, so that predictions stay exact where candidates are drawn and the cubic cost of
        conditioning stays bounded. Indices (k,) sorted, or a slice of every run."""
        limit, n = self.config.max_condition_points, len(data.cost)
        if n <= limit:
            return ALL
        centers = self.centers(data, front)
        distance = np.full(n, np.inf)
        for center in centers:
            distance = np.minimum(distance, np.abs(data.inputs - center).sum(axis=1))
        nearest = np.argsort(distance, kind="stable")[: limit - limit // 4]
        rest = np.setdiff1d(np.arange(n), nearest)
        sample = rng.choice(rest, size=limit - len(nearest), replace=False)
        return np.sort(np.concatenate([nearest, sample]))

    def under_cap(
        self, cost: Surrogate, log_cost_range: tuple[float, float], rows: np.ndarray
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

    def radius(
        self, adaptive: float, data: StudyData, output_model: Surrogate | None = None
    ) -> np.ndarray:
        """Per-dimension search radius (d,): FIXED ``initial_search_radius``; ADAPTIVE the
        tracked ``adaptive`` radius (``adaptive_radius``); LENGTHSCALE the fixed radius times
        the output model's lengthscales over their geometric mean (fixed without a model);
        TRUST_REGION ``trust_region_radius`` of ``data``'s searched tries."""
        mode, config = self.heuristics.search_radius, self.config
        base = config.initial_search_radius
        if mode is SearchRadius.ADAPTIVE:
            base = adaptive
        elif mode is SearchRadius.TRUST_REGION:
            searched = slice(config.num_random_samples, None)
            improved = front_improvements(data.cost, data.goodness, data.failed)[searched]
            base = trust_region_radius(improved, base, self.space.dim)
        radius = np.full(self.space.dim, base)
        if mode is SearchRadius.LENGTHSCALE and output_model is not None:
            scale = np.clip(output_model.lengthscale, 1e-3, 1e3)
            radius = base * scale / np.exp(np.mean(np.log(scale)))
        return radius

    def std(
        self,
        centers: np.ndarray,
        adaptive: float,
        data: StudyData,
        output_model: Surrogate | None = None,
    ) -> np.ndarray:
        """Per-center, per-dimension sampling std (m, d): the radius, never below an integer's
        step (``Space.min_step_in_basic``)."""
        radius = self.radius(adaptive, data, output_model)
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

    def prepared(self, raw: np.ndarray) -> np.ndarray:
        """Raw candidates (n, d) rounded per ``candidate_rounding`` and kept if in bounds."""
        lower, upper = self.bounds()
        rounding = self.heuristics.candidate_rounding
        return acq.prepare_candidates(raw, rounding, self.space.round_basic, lower, upper)

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
        candidates = self.prepared(acq.sample_candidates(centers, std, count, rng, basis))
        if self.heuristics.coarse_candidates:
            coarse = self.space.simplified(candidates)
            changed = coarse[np.any(coarse != candidates, axis=1)]
            candidates = np.concatenate([candidates, self.prepared(changed)])
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
        """A random in-bounds rounded point near one of ``centers`` (m, d), not yet taken.

        Draws at the search std first; while every draw is taken (or out of bounds), the std
        doubles, up to ``RANDOM_STEP_WIDENINGS`` times, so that an untried point within reach
        is found before any point is proposed again. A taken point (or, with nothing inside
        the bounds, an unrounded draw) only when none is found."""
        std = self.std(centers, adaptive, data)
        lower, upper = self.bounds()
        basis = self.step_basis()
        fallback = None
        for widening in range(RANDOM_STEP_WIDENINGS + 1):
            scale = 2.0**widening
            raw = acq.sample_candidates(centers, std * scale, RANDOM_STEP_DRAWS, rng, basis)
            inside = acq.prepare_candidates(
                raw, CandidateRounding.BEFORE_SCORING, self.space.round_basic, lower, upper
            )
            if fallback is None:
                fallback = inside[0] if len(inside) else raw[0]
            fresh = acq.drop_duplicates(inside, data.taken, self.config.duplicate_tolerance, True)
            if len(fresh):
                radius = float(np.mean(std)) * scale
                return Proposal(fresh[0], Diagnostics(source, search_radius=radius))
        logger.warning("no untried point found near the front; proposing a taken one")
        return Proposal(fallback, Diagnostics(source, search_radius=float(np.mean(std))))

    def _resample(self, data: StudyData, rng: np.random.Generator) -> Proposal:
        """Re-run the search-front point with the fewest runs (ties broken at random)."""
        front = search_front(data, self.config, self.heuristics)
        fewest = min(g.count for g in front)
        choices = [g for g in front if g.count == fewest]
        group = choices[int(rng.integers(len(choices)))]
        successes = [o for o in data.records if not o.is_failure]
        params = successes[group.members[0]].params
        return Proposal(self.centers(data, [group])[0], Diagnostics("resample"), params)

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
        floor: float,
    ) -> Scores:
        """Every acquisition term for candidates (n, d); P_search under the ``basis`` (d, g)
        the candidates were sampled with."""
        heuristics, config = self.heuristics, self.config
        model_x = torch.as_tensor(self.features(candidates), dtype=DTYPE)
        mean, var = models.output.predict(model_x)
        cost_x = torch.as_tensor(self.cost_features(candidates), dtype=DTYPE)
        scaled_cost, scaled_cost_var = models.cost.predict(cost_x)
        best = models.pareto(scaled_cost).clamp_min(floor)
        bias = config.exploration_bias if heuristics.exploration_bias else 0.0
        log_ei = acq.log_expected_improvement(mean, var.sqrt(), best, bias)
        log_p_success = torch.zeros_like(mean)
        if models.success is not None:
            log_p_success = models.success.log_success_probability(model_x)
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
        if heuristics.success_mask:
            log_mask = log_mask + acq.log_success_mask(log_p_success, config.success_confidence)
        log_acq = acq.log_acquisition(log_ei, log_p_search, log_p_success, log_mask)
        cost = models.cost_from_scaled(scaled_cost)
        return Scores(mean, var.sqrt(), best, cost, log_ei, log_p_search, log_p_success, log_acq)


def trust_region_radius(improved: np.ndarray, initial: float, dims: int) -> float:
    """The search radius after tries whose outcomes are ``improved`` (n,) bool, in order, by
    TuRBO's rule (Eriksson et al., "Scalable global optimization via local Bayesian
    optimization", NeurIPS 2019, with a batch of one): from ``initial``, double after
    ``TRUST_REGION_SUCCESSES`` improvements in a row, halve after max(4, ``dims``) tries in a
    row without one, within ``TRUST_REGION_RANGE`` x ``initial``."""
    low, high = (initial * factor for factor in TRUST_REGION_RANGE)
    patience = max(4, dims)
    radius, successes, failures = initial, 0, 0
    for success in improved.tolist():
        successes, failures = (successes + 1, 0) if success else (0, failures + 1)
        if successes == TRUST_REGION_SUCCESSES:
            radius, successes = min(2.0 * radius, high), 0
        elif failures == patience:
            radius, failures = max(radius / 2.0, low), 0
    return radius


def chosen_output_fit(fits: list[OutputFit]) -> OutputFit:
    """The first of ``fits`` (``output_transforms``' order: the one without a choice first),
    or a later one whose log likelihood is above the first's by more than
    ``OUTPUT_TRANSFORM_LOG_BAYES_FACTOR``."""
    best = fits[0]
    for fit in fits[1:]:
        if fit.evidence > fits[0].evidence + OUTPUT_TRANSFORM_LOG_BAYES_FACTOR:
            best = fit if fit.evidence > best.evidence else best
    return best


def imputed_failures(
    inputs: torch.Tensor, broken: np.ndarray, mode: FailureImputation
) -> np.ndarray:
    """(n,) bool: the broken runs (``StudyData.failures``: failed, not stopped early) among
    rows (n, d) that enter the output model at the worst value (``Heuristics.
    failure_imputation``): none, all (WORST), or, with FAILED_REGIONS, those whose nearest
    other rows are all broken too, every row at the nearest distance counted, so that the
    answer does not depend on the order of the runs. Distances are Euclidean, computed
    directly, not through a matrix product whose rounding can tie near neighbours."""
    if mode is FailureImputation.WORST:
        return broken.copy()
    imputed = np.zeros(len(broken), dtype=bool)
    if mode is FailureImputation.NONE or not broken.any() or len(broken) < 2:
        return imputed
    rows = np.flatnonzero(broken)
    distances = torch.cdist(
        inputs[torch.as_tensor(rows)], inputs, compute_mode="donot_use_mm_for_euclid_dist"
    )
    distances[torch.arange(len(rows)), torch.as_tensor(rows)] = math.inf
    nearest = distances == distances.min(dim=1, keepdim=True).values
    imputed[rows] = ~(nearest & torch.as_tensor(~broken)).any(dim=1).numpy()
    return imputed


def first_new(rows: np.ndarray, data: StudyData, config: TunerConfig) -> np.ndarray:
    """The first of ``rows`` (n, d) not within ``duplicate_tolerance`` of a taken point (observed
    or outstanding), else the first row; keeps parallel workers off each other's points."""
    fresh = acq.drop_duplicates(rows, data.taken, config.duplicate_tolerance, True)
    return fresh[0] if len(fresh) else rows[0]


def _fit_surrogate(
    settings: dict[str, Any],
    x: torch.Tensor,
    y: torch.Tensor,
    rng: np.random.Generator,
    partial: tuple[torch.Tensor, np.ndarray, np.ndarray] | None = None,
) -> Surrogate:
    """``fit_gp`` with ``settings`` (``Search.fit_settings``) on rows (n, d) and targets (n,);
    with ``partial`` (rows (k, d), progress (k,), targets (k,)) of curve points,
    ``fit_with_progress``, a model of finished runs."""
    if partial is None:
        return fit_gp(x, y, rng=rng, **settings)
    partial_x, progress, partial_y = partial
    return fit_with_progress(
        x,
        y,
        partial_x,
        torch.as_tensor(progress, dtype=DTYPE),
        torch.as_tensor(partial_y, dtype=DTYPE),
        rng=rng,
        **settings,
    )


def _scaled_cap(config: TunerConfig, log_cost_range: tuple[float, float]) -> float | None:
    """``config.max_suggestion_cost`` in the cost model's scaled log-cost units (None: no cap)."""
    cap = config.max_suggestion_cost
    return None if cap is None else scale_log_cost(math.log(cap), log_cost_range)
