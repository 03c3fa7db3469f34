"""Tuner: suggest / observe / forget / best / pareto_front, wiring the modules together.

Each ``suggest()`` draws its randomness from ``numpy.random.default_rng([seed, n])`` where n
counts suggestions so far, and refits every model deterministically, so a tuner restored from
its saved state makes the same next suggestion.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from carbs_lite import acquisition as acq
from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import CandidateRounding, Heuristics, InitialDesign, SearchRadius
from carbs_lite.pareto import Group, group_by_input, pareto_front
from carbs_lite.records import Diagnostics, Observation, ParetoPoint, Suggestion
from carbs_lite.search import (
    FittedModels,
    StudyData,
    fit_cost_model,
    fit_models,
    score_candidates,
    under_cost_cap,
)
from carbs_lite.spaces import Param, ParamSpace
from carbs_lite.surrogate import FittedGP

logger = logging.getLogger(__name__)

NUMERICAL_ERRORS = (torch.linalg.LinAlgError,)
"""Errors from the surrogates that make ``suggest`` fall back to sampling around the front."""

RADIUS_GROWTH, RADIUS_SHRINK, RADIUS_RANGE = 1.25, 0.8, (0.05, 1.0)

UNDER_CAP_FRACTIONS = np.linspace(1.0, 0.0, 11)
"""How far along center -> uniform draw a SPACE_FILLING_UNDER_CAP suggestion may stay."""


class NoCandidatesError(RuntimeError):
    """Every sampled candidate was out of bounds or a duplicate."""


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op torch threads, then restore the previous count."""
    previous = torch.get_num_threads()
    if previous != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if previous != count:
            torch.set_num_threads(previous)


class Tuner:
    """Cost-aware Pareto-region Bayesian search over ``params``."""

    def __init__(
        self,
        params: list[Param],
        config: TunerConfig | None = None,
        heuristics: Heuristics | None = None,
        seed: int = 0,
    ) -> None:
        self.param_space = ParamSpace(params)
        self.config = config or TunerConfig()
        self.heuristics = heuristics or Heuristics()
        self.seed = int(seed)
        self._observations: list[Observation] = []
        self._inputs: list[np.ndarray] = []
        self._outstanding: dict[str, Suggestion] = {}
        self._suggestion_count = 0
        self._resample_count = 0
        self._search_radius = self.config.initial_search_radius
        self._lock = threading.RLock()

    @property
    def observations(self) -> list[Observation]:
        """Every observation so far, oldest first (a copy)."""
        with self._lock:
            return list(self._observations)

    @property
    def outstanding(self) -> list[Suggestion]:
        """Suggestions handed out and not yet observed or forgotten."""
        with self._lock:
            return list(self._outstanding.values())

    def suggest(self) -> Suggestion:
        """The next point to evaluate; it stays outstanding until observed or forgotten."""
        with self._lock, torch_threads(self.config.torch_threads):
            rng = np.random.default_rng([self.seed, self._suggestion_count])
            x, diagnostics = self._choose(rng)
            params = self.param_space.from_basic(x)
            suggestion = Suggestion(
                f"{self._suggestion_count:05d}-{rng.bytes(3).hex()}", params, diagnostics
            )
            self._outstanding[suggestion.id] = suggestion
            self._suggestion_count += 1
            return suggestion

    def observe(
        self,
        params_or_suggestion: dict[str, Any] | Suggestion,
        output: float,
        cost: float,
        is_failure: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> Observation:
        """Record a result. NaN/inf outputs count as failures; cost must be finite and > 0."""
        with self._lock:
            params, suggestion = self._resolve(params_or_suggestion)
            output, cost = _as_float("output", output), _as_float("cost", cost)
            if not (math.isfinite(cost) and cost > 0):
                raise ValueError(f"cost must be finite and > 0, got {cost}")
            failed = bool(is_failure) or not math.isfinite(output)
            observation = Observation(
                params,
                output if math.isfinite(output) else math.nan,
                cost,
                failed,
                suggestion.id if suggestion else None,
                dict(extra or {}),
                suggestion.diagnostics if suggestion else None,
            )
            self._observations.append(observation)
            self._inputs.append(self.param_space.to_basic(params))
            if suggestion:
                self._outstanding.pop(suggestion.id, None)
            self._update_search_radius(observation)
            return observation

    def forget(self, suggestion_id: str) -> None:
        """Drop an outstanding suggestion that will never be observed."""
        with self._lock:
            if suggestion_id not in self._outstanding:
                raise ValueError(f"no outstanding suggestion with id {suggestion_id!r}")
            del self._outstanding[suggestion_id]

    def best(self) -> Observation | None:
        """Best successful observation whose cost is below ``max_suggestion_cost`` (if set)."""
        with self._lock:
            cap = self.config.max_suggestion_cost
            feasible = [
                o for o in self._observations if not o.is_failure and (cap is None or o.cost < cap)
            ]
            if not feasible:
                return None
            return max(feasible, key=lambda o: self.config.sign * o.output)

    def pareto_front(self) -> list[ParetoPoint]:
        """The current front, cheapest first (mean output and cost per distinct input)."""
        with self._lock:
            data = self._data()
            success = np.flatnonzero(data.successes)
            points = []
            for group in self._front(data):
                first = self._observations[success[group.members[0]]]
                output = self.config.sign * group.mean_goodness
                points.append(ParetoPoint(first.params, output, group.cost, group.count))
            return points

    @classmethod
    def open(
        cls,
        path: str | Path,
        params: list[Param] | None = None,
        config: TunerConfig | None = None,
        heuristics: Heuristics | None = None,
        seed: int = 0,
    ) -> Any:
        """A ``carbs_lite.journal.JournalTuner`` on the study file at ``path``, shared by processes.

        Creates the file if it is absent and ``params`` are given; otherwise opens it.
        """
        from carbs_lite.journal import open_journal

        return open_journal(path, params, config, heuristics, seed)

    def report(self, path: str | Path) -> Path:
        """Write a self-contained HTML study report (plotly); returns its path."""
        from carbs_lite.report_study import write_study_report

        return write_study_report(self, path)

    def save(self, path: str | Path) -> None:
        """Write the state atomically as versioned JSON (see ``carbs_lite.state``)."""
        from carbs_lite.state import save_tuner

        save_tuner(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Tuner:
        """Restore a tuner written by ``save``."""
        from carbs_lite.state import load_tuner

        return load_tuner(path)

    def _resolve(
        self, item: dict[str, Any] | Suggestion
    ) -> tuple[dict[str, Any], Suggestion | None]:
        """Canonical params and the suggestion they answer, if any."""
        if isinstance(item, Suggestion):
            if any(o.suggestion_id == item.id for o in self._observations):
                raise ValueError(f"suggestion {item.id!r} was already observed")
            return self.param_space.validate(item.params), item
        params = self.param_space.validate(item)
        for suggestion in self._outstanding.values():
            if suggestion.params == params:
                return params, suggestion
        return params, None

    def _data(self) -> StudyData:
        dim = self.param_space.dim
        inputs = np.array(self._inputs).reshape(-1, dim)
        failed = np.array([o.is_failure for o in self._observations], dtype=bool)
        outputs = np.array([o.output for o in self._observations], dtype=float)
        cost = np.array([o.cost for o in self._observations], dtype=float)
        return StudyData(inputs, cost, failed, self.config.sign * outputs)

    def _front(self, data: StudyData, cap: float | None = None) -> list[Group]:
        """Front groups over successes, only those cheaper than ``cap`` if any is (``cap``
        given); ``members`` index the successes."""
        ok = data.successes
        groups = group_by_input(data.inputs[ok], data.goodness[ok], data.cost[ok])
        if cap is not None:
            groups = [g for g in groups if g.cost < cap] or groups
        fraction = (
            self.config.min_pareto_cost_fraction if self.heuristics.low_cost_bucketing else 0.0
        )
        return pareto_front(groups, fraction, self.heuristics.conservative_pareto)

    def _search_front(self, data: StudyData) -> list[Group]:
        """The front the search starts from, per the front-under-cap switch."""
        under_cap = self.heuristics.front_under_cap
        return self._front(data, self.config.max_suggestion_cost if under_cap else None)

    def _choose(self, rng: np.random.Generator) -> tuple[np.ndarray, Diagnostics]:
        data = self._data()
        started = len(self._observations) + len(self._outstanding)
        if self._suggestion_count == 0 and started == 0:
            return self.param_space.center_in_basic(), Diagnostics("center")
        if started < self.config.num_random_samples or not data.successes.any():
            return self._initial_sample(data, rng)
        if self._should_resample():
            return self._resample(data, rng)
        try:
            return self._search(data, rng)
        except (*NUMERICAL_ERRORS, NoCandidatesError) as error:
            logger.warning("surrogate search failed (%s); sampling around the front", error)
            return self._sample_around(
                self._centers(data, self._search_front(data)), rng, "fallback"
            )

    def _initial_sample(
        self, data: StudyData, rng: np.random.Generator
    ) -> tuple[np.ndarray, Diagnostics]:
        """A random-phase suggestion, per the initial-design switch."""
        center = self.param_space.center_in_basic()
        if self.heuristics.initial_design is InitialDesign.AROUND_CENTER:
            return self._sample_around(center[None, :], rng, "random")
        lower, upper = self.param_space.basic_bounds(pad_integers=False)
        reach = 4 * self._search_radius
        lower = np.where(np.isfinite(lower), lower, center - reach)
        upper = np.where(np.isfinite(upper), upper, center + reach)
        draws = rng.uniform(lower, upper, (64, len(lower)))
        if self.heuristics.coarse_initial_design:
            draws = self.param_space.coarse_draws(draws)
        rows = self.param_space.round_basic(draws)
        if self.heuristics.initial_design is InitialDesign.SPACE_FILLING_UNDER_CAP:
            rows = self._moved_under_cap(data, draws, rows, center, rng)
        return self._first_new(rows), Diagnostics("random")

    def _moved_under_cap(
        self,
        data: StudyData,
        draws: np.ndarray,
        unmoved: np.ndarray,
        center: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Draws u (n, d) moved to c + t (u - c) and rounded, with the largest t in
        ``UNDER_CAP_FRACTIONS`` that the cost model puts under the cap; draws that fit nowhere
        are dropped. ``unmoved`` (the rounded draws) if there is no cap, fewer than two runs,
        or no draw fits."""
        if self.config.max_suggestion_cost is None or len(data.cost) < 2:
            return unmoved
        n, dim = draws.shape
        moved = center + UNDER_CAP_FRACTIONS[None, :, None] * (draws - center)[:, None, :]
        rows = self.param_space.round_basic(moved.reshape(-1, dim))
        features = self._cost_features()
        try:
            cost, log_cost_range = fit_cost_model(data, self.config, rng, features)
            fits = under_cost_cap(cost, log_cost_range, features(rows), self.config)
        except NUMERICAL_ERRORS as error:
            logger.warning("cost model failed (%s); random draw left unmoved", error)
            return unmoved
        fits = fits.reshape(n, len(UNDER_CAP_FRACTIONS))
        fitting = fits.any(axis=1)
        if not fitting.any():
            return unmoved
        largest = fits.argmax(axis=1)
        return rows.reshape(n, -1, dim)[np.arange(n), largest][fitting]

    def _sample_around(
        self, centers: np.ndarray, rng: np.random.Generator, source: str
    ) -> tuple[np.ndarray, Diagnostics]:
        """A random in-bounds rounded point near one of ``centers``; clipped if none lands inside."""
        std = self._search_std(centers, None)
        lower, upper = self._bounds()
        raw = acq.sample_candidates(centers, std, 64, rng, self._step_basis())
        inside = acq.prepare_candidates(
            raw, CandidateRounding.BEFORE_SCORING, self.param_space.round_basic, lower, upper
        )
        x = self._first_new(inside) if len(inside) else raw[0]
        return x, Diagnostics(source, search_radius=float(np.mean(std)))

    def _taken_inputs(self) -> np.ndarray:
        """Basic rows of every observed and outstanding point, (k, d)."""
        rows = list(self._inputs) + [
            self.param_space.to_basic(s.params) for s in self._outstanding.values()
        ]
        return np.array(rows).reshape(-1, self.param_space.dim)

    def _first_new(self, rows: np.ndarray) -> np.ndarray:
        """The first of ``rows`` (n, d) not yet observed or outstanding, else the first row.

        Keeps parallel workers in the random phase off each other's points.
        """
        fresh = acq.drop_duplicates(
            rows, self._taken_inputs(), self.config.duplicate_tolerance, True
        )
        return fresh[0] if len(fresh) else rows[0]

    def _should_resample(self) -> bool:
        frequency = self.config.resample_frequency
        if not self.heuristics.resampling or frequency == 0:
            return False
        return len(self._observations) // frequency > self._resample_count

    def _resample(
        self, data: StudyData, rng: np.random.Generator
    ) -> tuple[np.ndarray, Diagnostics]:
        """Re-run the front point with the fewest runs (ties broken at random)."""
        self._resample_count += 1
        front = self._search_front(data)
        fewest = min(g.count for g in front)
        choices = [g for g in front if g.count == fewest]
        group = choices[int(rng.integers(len(choices)))]
        return self._centers(data, [group])[0], Diagnostics("resample")

    def _centers(self, data: StudyData, front: list[Group]) -> np.ndarray:
        """Basic inputs of front groups, (m, d); the search center if the front is empty."""
        if not front:
            return self.param_space.center_in_basic()[None, :]
        success_inputs = data.inputs[data.successes]
        return np.array([success_inputs[g.members[0]] for g in front])

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.param_space.basic_bounds(self.heuristics.integer_bound_padding)

    def _search_std(self, centers: np.ndarray, output_model: FittedGP | None) -> np.ndarray:
        """Per-center, per-dimension sampling std (m, d), never below an integer's step."""
        radius = np.full(self.param_space.dim, self._search_radius)
        if self.heuristics.search_radius is SearchRadius.LENGTHSCALE and output_model is not None:
            scale = np.clip(output_model.lengthscale, 1e-3, 1e3)
            radius = self._search_radius * scale / np.exp(np.mean(np.log(scale)))
        return np.maximum(radius[None, :], self.param_space.min_step_in_basic(centers))

    def _step_basis(self) -> np.ndarray:
        """(dim, g) shared-shift directions of Gaussian steps, per the coherent-steps switch;
        one search step samples and scores its candidates with the same basis."""
        if not self.heuristics.coherent_steps:
            return np.zeros((self.param_space.dim, 0))
        return self.param_space.step_basis(self.config.step_group_variance)

    def _update_search_radius(self, observation: Observation) -> None:
        """ADAPTIVE radius: grow when the observation joins the front, shrink on failure."""
        if self.heuristics.search_radius is not SearchRadius.ADAPTIVE:
            return
        if observation.is_failure:
            factor = RADIUS_SHRINK
        else:
            data = self._data()
            success_index = int(data.successes.sum()) - 1
            on_front = any(success_index in g.members for g in self._front(data))
            factor = RADIUS_GROWTH if on_front else 1.0
        self._search_radius = float(np.clip(self._search_radius * factor, *RADIUS_RANGE))

    def _fit(self, data: StudyData, rng: np.random.Generator) -> FittedModels:
        """Output, cost, success and Pareto models for the current data."""
        outstanding = [self.param_space.to_basic(s.params) for s in self._outstanding.values()]
        outstanding_inputs = np.array(outstanding).reshape(-1, self.param_space.dim)
        front = self._search_front(data)
        return fit_models(
            data,
            front,
            outstanding_inputs,
            self.config,
            self.heuristics,
            rng,
            self._surrogate_features(),
            self._cost_features(),
        )

    def _surrogate_features(self) -> Callable[[np.ndarray], np.ndarray]:
        """Basic rows -> surrogate inputs, per the inactive-imputation switch."""
        if self.heuristics.inactive_imputation:
            return self.param_space.surrogate_inputs
        return _unchanged

    def _cost_features(self) -> Callable[[np.ndarray], np.ndarray]:
        """Basic rows -> cost-model inputs, per the size-inputs switch."""
        if self.heuristics.size_cost_inputs:
            return self.param_space.size_inputs
        return self._surrogate_features()

    def _candidates(
        self, centers: np.ndarray, std: np.ndarray, basis: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Sampled, rounded (per the switch), in-bounds, de-duplicated candidates (k, d), with
        their simplified versions after them per the coarse-candidates switch."""
        count = self.config.num_candidates_per_dim * self.param_space.dim
        raw = acq.sample_candidates(centers, std, count, rng, basis)
        lower, upper = self._bounds()
        rounding, round_basic = self.heuristics.candidate_rounding, self.param_space.round_basic
        candidates = acq.prepare_candidates(raw, rounding, round_basic, lower, upper)
        if self.heuristics.coarse_candidates:
            coarse = self.param_space.simplified(candidates)
            changed = coarse[np.any(coarse != candidates, axis=1)]
            extra = acq.prepare_candidates(changed, rounding, round_basic, lower, upper)
            candidates = np.concatenate([candidates, extra])
        candidates = acq.drop_duplicates(
            candidates,
            self._taken_inputs(),
            self.config.duplicate_tolerance,
            self.heuristics.duplicate_filter,
        )
        if len(candidates) == 0:
            raise NoCandidatesError(f"none of {count} candidates is in bounds and new")
        return candidates

    def _search(self, data: StudyData, rng: np.random.Generator) -> tuple[np.ndarray, Diagnostics]:
        models = self._fit(data, rng)
        centers = self._centers(data, models.front)
        std = self._search_std(centers, models.output)
        basis = self._step_basis()
        candidates = self._candidates(centers, std, basis, rng)
        terms = self._score(models, centers, std, basis, candidates, rng)
        if torch.isfinite(terms["log_acq"]).any():
            index = acq.pick(
                terms["log_acq"], self.heuristics.final_pick, self.config.softmax_temperature, rng
            )
        else:
            index = int(torch.argmin(terms["cost"]))
        mean = terms["mean"][index].numpy()
        diagnostics = Diagnostics(
            "search",
            predicted_output=float(self.config.sign * models.transform.inverse(mean)),
            predicted_cost=float(terms["cost"][index]),
            expected_improvement=float(terms["log_ei"][index].exp()),
            p_search=float(terms["log_p_search"][index].exp()),
            p_success=float(terms["log_p_success"][index].exp()),
            acquisition=float(terms["log_acq"][index].exp()),
            search_radius=float(np.mean(std)),
            num_candidates=len(candidates),
        )
        return candidates[index], diagnostics

    def _score(
        self,
        models: FittedModels,
        centers: np.ndarray,
        std: np.ndarray,
        basis: np.ndarray,
        candidates: np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, torch.Tensor]:
        """Every acquisition term for candidates (n, d), each (n,), P_search under the same
        ``basis`` the candidates were sampled with."""
        return score_candidates(
            models, centers, std, basis, candidates, self.config, self.heuristics, rng
        )


def _unchanged(x: np.ndarray) -> np.ndarray:
    """Surrogate inputs with the imputation switch off: the basic rows themselves."""
    return x


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
