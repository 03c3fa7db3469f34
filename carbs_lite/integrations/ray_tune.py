"""A Ray Tune ``Searcher`` that asks a carbs_lite ``Tuner`` for every trial's config.

The search space is the given ``tuner``'s or, without one, the ``param_space`` passed to
``tune.Tuner`` in Tune's syntax (``carbs_lite.integrations.ray_space``; the tuner is then built
from ``config``, ``heuristics`` and ``seed``, its direction from ``mode``). Each trial is one
suggestion. Trials still running stay outstanding in the tuner, so concurrent trials are spread
apart; a finished trial is observed once; an errored trial, or one that did not report the
metric, is observed as a failure.

Learning curves: each intermediate result that has the metric and a step
(``result[step_metric]``, Ray's ``training_iteration`` by default) is recorded as progress of
the trial's suggestion (``Study.observe_progress``, at the cost by the rule below), and the
final observation closes the curve. A trial that Ray's scheduler stops (ASHA, median stopping)
is observed at the result and cost it reached, which is what it achieved for that cost. To
stop trials by carbs_lite's own rule (``Heuristics.early_stopping``), pass ``search.stopper()``
as ``tune.RunConfig(stop=...)``: a trial it stops is recorded as stopped (``Study.stop``).

``points_to_evaluate`` are the first trials' configs: each is a suggestion the user chose
(id "chosen-<trial id>", diagnostics source "chosen"), outstanding while its trial runs. With
``evaluated_rewards`` they are a warm start instead, as ``add_evaluated_trials`` is: recorded
as soon as the space and the metric are known, and the search re-centered on the best
feasible one (``Study.warm_start``), as CARBS does with prior observations.

A result's cost is ``result[cost_metric]`` when ``cost_metric`` is set, the cost spent so far
(a running total, as Ray's ``time_total_s`` is; a per-result cost, which can fall, is refused as
below: a trial whose final cost is below what its results had already spent is left out with an
error naming the fix, since the study cannot tell its run's cost). A trial that never
reports it is a failure at its predicted cost (marked ``cost_estimated``), or left out without a
prediction, and a point evaluated elsewhere without it is refused; seconds never stand in for
the cost's units. Without ``cost_metric`` the cost is Ray's ``time_total_s``, else, for a
trial, the wall time since its suggestion. A trial that errored without a final result uses
its latest reported one. So a reward given without a trial (``evaluated_rewards``,
``add_evaluated_point``) is a result dict holding the cost, e.g. ``{"loss": 0.3, "cost": 2.0}``;
a bare number is refused with a ValueError, as the study cannot place it on the cost axis.

Needs ``pip install "carbs_lite[ray]"``. The searcher lives in the driver; on a Ray cluster
start the driver with ``ray.init(address="auto")`` and trials run on every node. ``search.tuner``
is the study (restoring, or queueing a point to evaluate, replaces the object).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray.tune import Stopper
from ray.tune.search import Searcher
from ray.tune.utils import flatten_dict

from carbs_lite.config import Direction, TunerConfig
from carbs_lite.curves import check_final_cost
from carbs_lite.heuristics import Heuristics
from carbs_lite.integrations.param_maps import ParamMap, from_tool, params_of, to_tool
from carbs_lite.integrations.ray_space import SUPPORTED, domain_maps, finished_trials, flat, nest
from carbs_lite.records import Diagnostics, Observation, StudyState, Suggestion, best_feasible
from carbs_lite.state import write_json_atomically
from carbs_lite.tuner import Tuner

logger = logging.getLogger(__name__)

MODES = {Direction.MAXIMIZE: "max", Direction.MINIMIZE: "min"}
MIN_COST = 1e-6
"""Floor on a trial's cost (seconds, or cost units): the tuner needs costs > 0."""
FORMAT = "carbs_lite.ray_search"
NO_SPACE = (
    "CarbsSearch has no search space: pass CarbsSearch(tuner) or a param_space in Tune's "
    f"syntax to tune.Tuner ({SUPPORTED})"
)


@dataclass
class _Trial:
    suggestion: Suggestion
    started: float
    """``time.time()`` when the trial was suggested."""
    latest: dict[str, float] = field(default_factory=dict)
    """Cost and time of the latest intermediate result."""
    stop_reason: str | None = None
    """Why ``CarbsSearch.stopper`` stopped the trial (None: it did not)."""


class CarbsSearch(Searcher):
    """Ray Tune searcher running carbs_lite's cost-aware search (see the module docstring).

    ValueError for a metric list (one metric is searched; the cost goes in ``cost_metric``),
    for ``config``/``heuristics``/``seed`` next to a ``tuner`` (they belong to it), and for
    ``evaluated_rewards`` that do not pair with ``points_to_evaluate``.
    """

    def __init__(
        self,
        tuner: Tuner | None = None,
        metric: str | None = None,
        mode: str | None = None,
        cost_metric: str | None = None,
        *,
        step_metric: str = "training_iteration",
        points_to_evaluate: list[dict[str, Any]] | None = None,
        evaluated_rewards: list[Any] | None = None,
        config: TunerConfig | None = None,
        heuristics: Heuristics | None = None,
        seed: int | None = None,
    ) -> None:
        _check_single(metric, mode)
        if tuner is not None and (config, heuristics, seed) != (None, None, None):
            raise ValueError("pass config, heuristics and seed to the Tuner given to CarbsSearch")
        super().__init__(metric=metric, mode=_mode(tuner, mode) if tuner else mode)
        self.tuner = tuner
        self.cost_metric = cost_metric
        self.step_metric = step_metric
        self._settings = (config, heuristics, seed)
        self._maps: dict[str, ParamMap] | None = None
        self._trials: dict[str, _Trial] = {}
        self._points = _points(points_to_evaluate, evaluated_rewards)
        self._rewards = evaluated_rewards
        self._key = uuid.uuid4().hex
        _LIVE[self._key] = self
        if tuner is not None:
            self._start()

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict, **spec: Any
    ) -> bool:
        """Adopt Tune's metric and mode; build the tuner from the ``param_space`` (``config``)
        when none was given. ValueError for domains next to a given tuner, a metric list, or a
        domain outside those supported."""
        _check_single(metric, mode)
        maps = domain_maps(config)
        if self.tuner is None and maps:
            self._maps, self.tuner = maps, self._new_tuner(maps, mode or self._mode)
        elif maps and maps != self._maps:
            raise ValueError(
                f"the param_space holds search domains {sorted(maps)}, but CarbsSearch already "
                f"searches {self.tuner.param_space.names}: define the space in one place"
            )
        self._metric = metric or self._metric
        if self.tuner is not None:
            self._mode = _mode(self.tuner, mode)
            self._start()
        return True

    def suggest(self, trial_id: str) -> dict[str, Any]:
        """The next point to evaluate first, then the tuner's suggestion; it stays outstanding
        while the trial runs."""
        if self.tuner is None:
            raise RuntimeError(NO_SPACE)
        if not self.metric:
            raise RuntimeError("CarbsSearch needs a metric: pass CarbsSearch(tuner, metric=...)")
        if self._points:
            params = self._params(self._points.pop(0))
            suggestion = Suggestion(f"chosen-{trial_id}", params, Diagnostics("chosen"))
            # the Tuner makes suggestions only of its own; a chosen one joins through its state
            state = self.tuner.to_state()
            outstanding = [*state.outstanding, suggestion]
            self.tuner = Tuner.from_state(dataclasses.replace(state, outstanding=outstanding))
        else:
            suggestion = self.tuner.suggest()
        self._trials[trial_id] = _Trial(suggestion, time.time())
        return self._config(suggestion.params)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """Keep the cost of a running trial's result, and record it as progress of its
        suggestion if it has the metric and a step (see the module docstring)."""
        trial = self._trials.get(trial_id)
        if trial is None:
            return
        for key in (self.cost_metric, "time_total_s"):
            value = _number(result.get(key)) if key else None
            if value is not None:
                trial.latest[key] = value
        self._progress(trial, result)

    def stopper(self) -> CarbsStopper:
        """A Ray ``Stopper`` that stops a trial when the study's ``should_stop`` says so (only
        with ``Heuristics.early_stopping``); pass it as ``tune.RunConfig(stop=...)``."""
        return CarbsStopper(self)

    def _progress(self, trial: _Trial, result: dict[str, Any]) -> None:
        """Record ``result`` as progress of ``trial``'s suggestion: once per step (the stopper
        and ``on_trial_result`` see the same result), skipped without the metric, a step, or
        the ``cost_metric`` when one is set (a trainable may report it only at the end)."""
        step, output = _number(result.get(self.step_metric)), result.get(self.metric)
        if step is None or isinstance(output, bool) or not isinstance(output, int | float):
            return
        if self.cost_metric and _positive_cost(result.get(self.cost_metric)) is None:
            return
        pending = next((s for s in self.tuner.outstanding if s.id == trial.suggestion.id), None)
        if pending is None:
            return
        if pending.progress and step <= pending.progress[-1].step:
            return
        cost = self._cost(result, trial.started, pending.params)
        try:
            self.tuner.observe_progress(pending, step, float(output), cost)
        except ValueError as error:
            logger.warning(
                "result of trial %s not kept as progress: %s", trial.suggestion.id, error
            )

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Observe the trial's metric, or a failure if it errored or did not report it; a
        trial the ``stopper`` stopped is recorded as stopped. Its progress becomes the
        observation's curve."""
        trial = self._trials.pop(trial_id, None)
        if trial is None:
            logger.warning("trial %s is not running in this searcher; ignoring it", trial_id)
            return
        extra = {"trial_id": trial_id}
        if trial.stop_reason is not None:
            self.tuner.stop(trial.suggestion, trial.stop_reason, extra)
            return
        result = {**trial.latest, **(result or {})}
        if self.cost_metric and _positive_cost(result.get(self.cost_metric)) is None:
            self._observe_without_cost(trial, extra)
            return
        found = self._observation(trial.suggestion.params, result, error, extra, trial.started)
        pending = next((s for s in self.tuner.outstanding if s.id == trial.suggestion.id), None)
        try:
            check_final_cost(pending.progress if pending else (), found.cost)
        except ValueError as why:
            logger.error(
                "trial %s left out: %s. CarbsSearch reads %r as the cost spent so far; report "
                "a running total",
                trial_id,
                why,
                self.cost_metric,
            )
            self.tuner.forget(trial.suggestion)
            return
        self.tuner.observe(trial.suggestion, found.output, found.cost, found.is_failure, extra)

    def _observe_without_cost(self, trial: _Trial, extra: dict[str, Any]) -> None:
        """A trial that never reported ``cost_metric``: its cost is unknown in the study's
        units, so it is a failure at the cost the cost model predicted for it (marked
        ``cost_estimated``), or, with no prediction, forgotten; never its seconds as cost."""
        predicted = trial.suggestion.diagnostics.predicted_cost
        if _positive_cost(predicted) is None:
            logger.warning(
                "trial %s reported no valid %r and no model predicted its cost: left out",
                extra["trial_id"],
                self.cost_metric,
            )
            self.tuner.forget(trial.suggestion)
            return
        logger.warning(
            "trial %s reported no valid %r: recorded as a failure at its predicted cost %.4g",
            extra["trial_id"],
            self.cost_metric,
            predicted,
        )
        extra = {**extra, "cost_estimated": True}
        self.tuner.observe(trial.suggestion, math.nan, predicted, True, extra)

    def add_evaluated_point(
        self,
        parameters: dict[str, Any],
        value: Any,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: list[float] | None = None,
    ) -> None:
        """Observe a point evaluated elsewhere; ``value`` is a result dict with the metric and
        the cost (see the module docstring). Errored and pruned points are failures.
        ValueError for params outside the space or a missing cost; RuntimeError before the
        space is known."""
        if self.tuner is None:
            raise RuntimeError(NO_SPACE)
        curve = [_number(v) for v in intermediate_values or []]
        extra = {"curve": curve} if curve else {}
        found = self._observation(
            self._params(parameters), self._result(value), error or pruned, extra
        )
        self.tuner.observe(found.params, found.output, found.cost, found.is_failure, extra)

    def add_evaluated_trials(self, trials_or_analysis: Any, metric: str) -> None:
        """Warm-start from the finished trials of another experiment (a ``ResultGrid``, an
        ``ExperimentAnalysis``, a ``Trial`` or a list of them): ``metric`` is read as this
        searcher's metric, the cost by the usual rule; trials with no result are skipped.
        The search re-centers on the best feasible one (``_warm_start``)."""
        if self.tuner is None:
            raise RuntimeError(NO_SPACE)
        results = [
            self._observation(
                self._params(config), {**result, self.metric: result.get(metric)}, errored, {}
            )
            for config, result, errored in finished_trials(trials_or_analysis)
            if result and (metric in result or errored)
        ]
        if not results:
            logger.warning("no finished trial reported %r; nothing was observed", metric)
        self._warm_start(results)

    def save(self, checkpoint_path: str) -> None:
        """Write the tuner state, the space's maps, the running trials and the points (and
        rewards) not yet used as JSON (atomically)."""
        data = {
            "format": FORMAT,
            "metric": self.metric,
            "mode": self.mode,
            "cost_metric": self.cost_metric,
            "step_metric": self.step_metric,
            "tuner": self.tuner.to_state().to_json() if self.tuner else None,
            "maps": {n: m.to_json() for n, m in self._maps.items()} if self._maps else None,
            "trials": {i: _trial_to_json(t) for i, t in self._trials.items()},
            "points": self._points,
            "rewards": self._rewards,
            "key": self._key,
        }
        write_json_atomically(data, checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        """Load what ``save`` wrote; running trials resume as outstanding suggestions."""
        data = json.loads(Path(checkpoint_path).read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"{checkpoint_path}: not a CarbsSearch checkpoint")
        self.tuner = _tuner_from_json(data["tuner"]) if data["tuner"] else None
        params = {p.name: p for p in self.tuner.param_space.params} if self.tuner else {}
        maps = data.get("maps")
        self._maps = (
            {n: ParamMap.from_json(params[n], m) for n, m in maps.items()} if maps else None
        )
        self._metric, self._mode = data["metric"], data["mode"]
        self.cost_metric = data["cost_metric"]
        self.step_metric = data.get("step_metric", "training_iteration")
        self._trials = {i: _trial_from_json(t) for i, t in data["trials"].items()}
        self._points, self._rewards = data["points"], data["rewards"]
        # the searcher Ray restores into is the live one: its stoppers find it by this key
        self._key = data.get("key", getattr(self, "_key", uuid.uuid4().hex))
        _LIVE[self._key] = self

    def __getstate__(self) -> dict[str, Any]:
        """Ray pickles its search algorithm; the tuner (holding a lock) travels as JSON."""
        tuner = self.tuner.to_state().to_json() if self.tuner else None
        return {**self.__dict__, "tuner": tuner}

    def __setstate__(self, state: dict[str, Any]) -> None:
        tuner = _tuner_from_json(state["tuner"]) if state["tuner"] else None
        self.__dict__.update({**state, "tuner": tuner})
        # an unpickled copy stands in only while no live searcher has this key; ``restore``
        # makes the one Ray restores into the live one
        _LIVE.setdefault(self._key, self)

    def _new_tuner(self, maps: dict[str, ParamMap], mode: str | None) -> Tuner:
        """The tuner of a ``param_space``: direction from ``mode``, else from ``config``."""
        config, heuristics, seed = self._settings
        if mode is None and config is None:
            raise ValueError("CarbsSearch needs a mode ('min' or 'max') to search a param_space")
        config = config or TunerConfig()
        if mode is not None:
            direction = {m: d for d, m in MODES.items()}[mode]
            config = dataclasses.replace(config, direction=direction)
        return Tuner(params_of(maps), config, heuristics, 0 if seed is None else seed)

    def _start(self) -> None:
        """Once the space is known: check the points to evaluate against it (ValueError naming
        a bad one), and observe them if they came with rewards and the metric is known."""
        params = [self._params(point) for point in self._points]
        if self._rewards is not None and self.metric:
            rewards = [self._result(reward) for reward in self._rewards]
            pairs = zip(params, rewards, strict=True)
            self._warm_start([self._observation(p, r, False, {}) for p, r in pairs])
            self._points, self._rewards = [], None

    def _warm_start(self, results: list[Observation]) -> None:
        """Record a batch of earlier results and re-center the search on the best feasible
        one, as CARBS does with prior observations (no re-centering if none is feasible)."""
        recenter = best_feasible(results, self.tuner.config) is not None
        self.tuner.warm_start(results, recenter=recenter)

    def _result(self, value: Any) -> dict[str, Any]:
        """A reward as a result dict: as given if it is one, else the metric alone."""
        return value if isinstance(value, dict) else {self.metric: value}

    def _params(self, config: dict[str, Any]) -> dict[str, Any]:
        """The tuner's params of a Tune config (nested or flat; other keys ignored)."""
        values = flat(config)
        if self._maps is not None:
            return from_tool(self._maps, values)
        names = self.tuner.param_space.names
        return self.tuner.param_space.validate({n: values[n] for n in names if n in values})

    def _config(self, params: dict[str, Any]) -> dict[str, Any]:
        """The Tune config of the tuner's params."""
        return nest(to_tool(self._maps, params)) if self._maps is not None else dict(params)

    def _observation(
        self,
        params: dict[str, Any],
        result: dict[str, Any],
        failed: bool,
        extra: dict[str, Any],
        started: float | None = None,
    ) -> Observation:
        """A result as an observation: the metric, else a failure; the cost by ``_cost``."""
        output = None if failed else _number(result.get(self.metric))
        cost = self._cost(result, started, params)
        output = math.nan if output is None else output
        return Observation(params, output, cost, math.isnan(output), extra=extra)

    def _cost(self, result: dict[str, Any], started: float | None, params: dict) -> float:
        """The cost by the module's rule; ValueError if a point has none (``started`` None),
        or lacks ``cost_metric`` when it is set: seconds never stand in for its units."""
        if self.cost_metric:
            cost = _positive_cost(result.get(self.cost_metric))
            if cost is not None:
                return cost
            example = {self.metric: 0.3, self.cost_metric: 2.0}
            raise ValueError(
                f"CarbsSearch needs the cost {self.cost_metric!r} of the evaluated point "
                f"{params}: give its result as a dict such as {example}"
            )
        seconds = _number(result.get("time_total_s"))
        if seconds is None and started is not None:
            seconds = time.time() - started
        if seconds is None:
            example = {self.metric: 0.3, self.cost_metric or "time_total_s": 2.0}
            raise ValueError(
                f"CarbsSearch needs the cost of the evaluated point {params}: give its result "
                f"as a dict such as {example}"
            )
        return max(seconds, MIN_COST)


def _positive_cost(value: Any) -> float | None:
    """``value`` as a usable cost, a finite float > 0, or None."""
    number = _number(value)
    return number if number is not None and number > 0 else None


def _check_single(metric: Any, mode: Any) -> None:
    """ValueError for a metric or mode list: CarbsSearch searches one metric."""
    if isinstance(metric, list | tuple) or isinstance(mode, list | tuple):
        raise ValueError(
            f"CarbsSearch searches one metric (a str with mode 'min' or 'max'), got {metric!r}; "
            "multi-objective search is not supported: report the cost under cost_metric"
        )


def _points(points: list[dict[str, Any]] | None, rewards: list[Any] | None) -> list[dict]:
    """``points_to_evaluate`` as flat dicts; ValueError unless ``rewards`` pair with them."""
    points = points or []
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise ValueError(f"points_to_evaluate must be a list of dicts, got {points!r}")
    if rewards is not None and len(rewards) != len(points):
        raise ValueError(
            f"evaluated_rewards has {len(rewards)} entries for {len(points)} points_to_evaluate"
        )
    return [flat(point) for point in points]


def _trial_to_json(trial: _Trial) -> dict[str, Any]:
    return {**dataclasses.asdict(trial), "suggestion": trial.suggestion.to_json()}


def _trial_from_json(data: dict[str, Any]) -> _Trial:
    """A running trial from ``_trial_to_json``; the metric list ("curve") that checkpoints
    of earlier versions kept is dropped (the curve is now the suggestion's progress)."""
    fields = {k: v for k, v in data.items() if k != "curve"}
    return _Trial(**{**fields, "suggestion": Suggestion.from_json(data["suggestion"])})


class CarbsStopper(Stopper):
    """Stops a trial when its study's ``should_stop`` says so (``CarbsSearch.stopper``): each
    result is first recorded as progress, then the rule asked; ``CarbsSearch`` records a
    stopped trial as stopped when Ray completes it."""

    def __init__(self, search: CarbsSearch) -> None:
        # the key, not the object: Ray pickles the stopper apart from the searcher, and after
        # ``tune.Tuner.restore`` a reference would name a stale copy, not the searcher that
        # Ray restored and completes trials in
        self.key = search._key

    @property
    def search(self) -> CarbsSearch | None:
        """The live searcher this stopper serves (None once it is gone)."""
        return _LIVE.get(self.key)

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        search = self.search
        trial = search._trials.get(trial_id) if search is not None else None
        if trial is None or search.tuner is None:
            return False
        search._progress(trial, flatten_dict(result))
        decision = search.tuner.stop_decision(trial.suggestion)
        if decision.stop:
            trial.stop_reason = decision.reason
        return trial.stop_reason is not None

    def stop_all(self) -> bool:
        return False


_LIVE: weakref.WeakValueDictionary[str, CarbsSearch] = weakref.WeakValueDictionary()
"""Searchers by key (``CarbsSearch._key``), for the stoppers that serve them."""


def _tuner_from_json(data: dict[str, Any]) -> Tuner:
    """The tuner of a ``StudyState`` JSON."""
    return Tuner.from_state(StudyState.from_json(data))


def _mode(tuner: Tuner, mode: str | None) -> str:
    """Ray's mode for the tuner's direction; a conflicting ``mode`` raises."""
    expected = MODES[tuner.config.direction]
    if mode is not None and mode != expected:
        raise ValueError(
            f"mode {mode!r} conflicts with the tuner's direction "
            f"{tuner.config.direction.value!r}; set TunerConfig.direction instead"
        )
    return expected


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
