"""The study interface: what the in-memory ``Tuner`` and the journal-backed study both offer.

Reading methods (``best``, ``pareto_front``, ``report``, ``save``) are written once here, on
top of ``to_state``, so that both kinds of study answer them by the same rules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from carbs_lite.config import TunerConfig
from carbs_lite.early_stopping import StopDecision, stop_decision
from carbs_lite.heuristics import Heuristics
from carbs_lite.pareto import front_points, state_front
from carbs_lite.records import (
    Metrics,
    Observation,
    ParetoPoint,
    StudyState,
    Suggestion,
    best_feasible,
    suggestion_key,
)
from carbs_lite.spaces import ParamSpace
from carbs_lite.state import save_state


class Study(ABC):
    """A cost-aware search study: suggest -> evaluate -> observe, and what was learned so far."""

    param_space: ParamSpace
    config: TunerConfig
    heuristics: Heuristics
    seed: int
    metrics: Metrics

    @abstractmethod
    def suggest(self) -> Suggestion:
        """The next point to evaluate; it stays outstanding until observed or forgotten."""

    @abstractmethod
    def observe(
        self,
        params_or_suggestion: dict[str, Any] | Suggestion | str,
        output: float,
        cost: float,
        is_failure: bool = False,
        extra: dict[str, Any] | None = None,
        counts_as_try: bool = False,
    ) -> Observation:
        """Record a result. NaN/inf outputs count as failures; cost must be finite and > 0.

        ``params_or_suggestion`` is a ``Suggestion`` (or the id of an outstanding one), which
        records the params this study suggested (a suggestion it does not hold, e.g. one it
        forgot, records its own), or a params dict (which answers the outstanding suggestion at
        the same point, by ``ParamSpace.key``, if any: a categorical True does not answer a 1);
        the suggestion's intermediate
        results (``observe_progress``) become the observation's ``curve``. A point that answers
        no suggestion uses none of the tries budget unless ``counts_as_try``. ``output`` and
        ``cost`` are real numbers (not text or booleans), ``is_failure`` and ``counts_as_try``
        booleans; ``extra`` is JSON data, kept as it reads back from a file. ValueError names a
        bad value, an unknown param, a suggestion already observed or whose params are not
        this study's, TypeError the part of ``extra`` that is not JSON data; nothing is
        recorded then.
        """

    @abstractmethod
    def observe_progress(
        self, suggestion: Suggestion | str, step: float, output: float, cost: float
    ) -> Suggestion:
        """Record an intermediate result of the running try of ``suggestion`` (or its id): its
        ``output`` after ``step`` steps, with ``cost`` spent so far; returns the suggestion
        with its ``progress`` so far. The points form the try's learning curve, kept with the
        outstanding suggestion until ``observe`` (or ``stop``) moves it into the observation;
        ``forget`` drops it. A non-finite output is kept as NaN (the run diverged).
        ValueError naming the problem, with nothing recorded, for an unknown or already
        observed suggestion, a step that is not a finite number >= 0 above the previous one, or a
        cost that is not finite and > 0 or is below the previous one.
        """

    @abstractmethod
    def stop(
        self, suggestion: Suggestion | str, reason: str, extra: dict[str, Any] | None = None
    ) -> Observation:
        """Record the running try of ``suggestion`` (or its id) as stopped early for
        ``reason``: an observation at its last intermediate result (output and cost), with
        ``stopped = reason``, the learning curve and ``extra`` (JSON data, as in ``observe``).
        It is a failure (``is_failure``): out of the front and the best pick, in the output
        model at the worst value (so that the search does not return to it); the success model counts it as failed only if that result was not finite (see
        ``carbs_lite.early_stopping``). ValueError for an unknown or already observed
        suggestion, one with no intermediate result (``forget`` it instead), or an empty
        reason; TypeError for ``extra`` that is not JSON data.
        """

    @abstractmethod
    def forget(self, suggestion: Suggestion | str) -> None:
        """Drop an outstanding suggestion (or the one with that id) that will never be
        observed; ValueError if it is unknown or was already observed."""

    @abstractmethod
    def retract(self, index: int, why: str) -> None:
        """Take back observation ``index`` (0-based, in ``observations``) for the reason ``why``.

        It stays in the study's history, marked, and no model, front or best pick sees it
        again; ValueError if there is no such observation or it is already retracted.
        """

    @abstractmethod
    def warm_start(
        self, results: Iterable[Observation], recenter: bool = True
    ) -> list[Observation]:
        """Record earlier results, e.g. another study's ``active_observations``, and return
        them.

        Each result is an ``Observation`` (params, output, cost, is_failure, extra) and is
        observed in order as ``observe(params, output, cost, is_failure, extra)`` would: it
        uses no tries, unless it answers an outstanding suggestion with the same params. Its
        learning curve (``curve``, each point checked and converted as ``observe_progress``
        would) and the reason it was stopped early (``stopped``) stay with it, so a stopped
        try stays one; a stopped result must be what ``stop`` records, a failure at its curve's
        last point. With ``recenter`` the search center then moves to the best feasible
        result (``set_search_center``). All or nothing: TypeError or ValueError naming the
        first bad result by its index, or ValueError if ``recenter`` and no result is
        feasible (``best``'s rule); nothing is recorded then.
        """

    @abstractmethod
    def set_search_center(self, params: dict[str, Any]) -> None:
        """Move the search center to ``params`` (ValueError naming a param outside the space).

        From then on the study's first suggestion, if none was made yet, is that center; the
        initial design moves its draws toward it; the rest of the random phase is skipped once
        a run has succeeded (a space-filling design would ignore the center); and search steps
        are drawn around it as well as around the front points. Candidates near it then
        compete in the acquisition like any other, so a region the results already show to be
        poor may still not be picked.
        """

    @abstractmethod
    def to_state(self) -> StudyState:
        """Everything needed to continue the study (a consistent snapshot)."""

    @property
    def observations(self) -> list[Observation]:
        """Every observation so far, oldest first (a copy), retracted ones included
        (``to_state().retracted`` names them)."""
        return self.to_state().observations

    @property
    def active_observations(self) -> list[Observation]:
        """The observations not retracted, oldest first (a copy): what another study should
        ``warm_start`` from, as `carbs-lite init --from` does."""
        return self.to_state().active_observations

    @property
    def outstanding(self) -> list[Suggestion]:
        """Suggestions handed out and not yet observed or forgotten."""
        return self.to_state().outstanding

    def stop_decision(self, suggestion: Suggestion | str) -> StopDecision:
        """Whether the running try of ``suggestion`` (or its id) should stop, and why, by the
        rule of ``carbs_lite.early_stopping`` (never while ``Heuristics.early_stopping`` is
        off); ValueError if it is not outstanding."""
        state = self.to_state()
        return stop_decision(state, outstanding_suggestion(state, suggestion))

    def should_stop(self, suggestion: Suggestion | str) -> bool:
        """``stop_decision(suggestion).stop``: stop the try, e.g. with
        ``stop(suggestion, stop_decision(suggestion).reason)``."""
        return self.stop_decision(suggestion).stop

    def best(self) -> Observation | None:
        """Best successful observation whose cost is below ``max_suggestion_cost`` (if set),
        retracted ones left out."""
        state = self.to_state()
        return best_feasible(state.active_observations, state.config)

    def pareto_front(self) -> list[ParetoPoint]:
        """The current front, cheapest first (mean output and cost per distinct input), over
        the observations that are not retracted."""
        state = self.to_state()
        successes = [o.params for o in state.active_observations if not o.is_failure]
        return front_points(state_front(state), successes, state.config)

    def report(self, path: str | Path) -> Path:
        """Write a self-contained HTML study report (plotly); returns its path."""
        from carbs_lite.report.study import write_study_report

        return write_study_report(self.to_state(), path)

    def save(self, path: str | Path) -> None:
        """Write the state atomically as versioned JSON (``carbs_lite.state``)."""
        save_state(self.to_state(), path)


def outstanding_suggestion(state: StudyState, suggestion: Suggestion | str) -> Suggestion:
    """The outstanding suggestion of ``state`` with the id of ``suggestion`` (a ``Suggestion``
    or an id), with its progress; ValueError naming it if it was observed or is unknown."""
    wanted = suggestion_key(suggestion)
    for pending in state.outstanding:
        if pending.id == wanted:
            return pending
    if any(o.suggestion_id == wanted for o in state.observations):
        raise ValueError(f"suggestion {wanted!r} was already observed")
    raise ValueError(
        f"no outstanding suggestion with id {wanted!r} (never made, forgotten, or made by "
        "another study)"
    )


def best_params(results: list[Observation], config: TunerConfig) -> dict[str, Any]:
    """Params of the best feasible of ``results`` (``best_feasible``); ValueError if none is."""
    best = best_feasible(results, config)
    if best is None:
        cap = config.max_suggestion_cost
        under = f" under the cost cap {cap:g}" if cap is not None else ""
        raise ValueError(
            f"none of the {len(results)} results succeeded{under}, so there is no best one to "
            "re-center on; pass recenter=False"
        )
    return best.params
