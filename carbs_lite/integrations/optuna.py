"""An Optuna sampler that asks carbs_lite for each trial's params (``CarbsSampler``).

Each relative sample rebuilds the carbs_lite study from the Optuna study's trials, so that
processes sharing a storage (RDB, journal) see each other's trials: finished trials are
observations (failed and pruned ones failures), running trials are outstanding suggestions.
The relative search space is the intersection of the finished trials' distributions (Optuna's
``intersection_search_space``); params outside it, and every param of a study with no finished
trial yet, come from the independent sampler (``RandomSampler`` by default), as in Optuna's own
``GPSampler``. Float, int and categorical distributions map to carbs_lite spaces by
``carbs_lite.integrations.param_maps``.

A trial's cost is its user attribute ``cost_attr``, or with ``cost_attr=None`` the second of the
study's two objectives. A failed or pruned trial without one gets the cost the model predicted
for it, marked ``extra["cost_estimated"]``; a trial with neither is left out, with a warning.

Needs ``pip install "carbs_lite[optuna]"``; ``import carbs_lite`` never imports Optuna.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import intersection_search_space
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from carbs_lite.config import Direction, TunerConfig
from carbs_lite.heuristics import Heuristics
from carbs_lite.integrations.param_maps import (
    ParamMap,
    choice_map,
    from_tool,
    numeric_map,
    params_of,
    to_tool,
)
from carbs_lite.records import Diagnostics, Suggestion
from carbs_lite.tuner import Tuner

logger = logging.getLogger(__name__)

SUGGESTION_ATTR = "carbs_lite:suggestion"
"""Trial system attribute holding the relative params sampled for it and their diagnostics,
so that other processes see a running trial's whole point before it suggests every param."""
DIRECTIONS = {
    StudyDirection.MINIMIZE: Direction.MINIMIZE,
    StudyDirection.MAXIMIZE: Direction.MAXIMIZE,
}
FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


class CarbsSampler(BaseSampler):
    """Optuna sampler running carbs_lite's cost-aware search (see the module docstring).

    ``config`` and ``heuristics`` are those of a ``Tuner`` (``config.max_suggestion_cost`` is
    the cost cap); the study's direction replaces ``config.direction``. ``cost_attr`` names the
    trial user attribute holding the cost (finite, > 0); ``None`` reads the cost from the second
    of two objectives, which must be minimized. ``seed`` (None: a random one) seeds the trial
    with number n as ``Tuner(seed=seed)`` seeds its n-th suggestion. Processes sharing one
    study should each pass their own seed, as with Optuna's samplers: with one seed they draw
    the same random first trials.
    """

    def __init__(
        self,
        config: TunerConfig | None = None,
        heuristics: Heuristics | None = None,
        *,
        cost_attr: str | None = "cost",
        seed: int | None = None,
        independent_sampler: BaseSampler | None = None,
    ) -> None:
        if cost_attr is not None and (not isinstance(cost_attr, str) or not cost_attr):
            raise ValueError(f"cost_attr must be a non-empty string or None, got {cost_attr!r}")
        self.config = config or TunerConfig()
        self.heuristics = heuristics or Heuristics()
        self.cost_attr = cost_attr
        self._seed = _random_seed() if seed is None else int(seed)
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._left_out: set[tuple[str, int]] = set()
        self._independent: set[str] = set()

    def reseed_rng(self) -> None:
        """New seeds for this sampler and its independent sampler (Optuna calls this in each
        thread of ``optimize(n_jobs > 1)``)."""
        self._seed = _random_seed()
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """The finished trials' common distributions with more than one value and a carbs_lite
        space; ValueError if the study's objectives do not fit ``cost_attr``."""
        self._check_objectives(study)
        return self._search_space(study.get_trials(deepcopy=False, states=FINISHED))

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """carbs_lite's suggestion for ``trial`` over ``search_space`` ({} if it is empty)."""
        if not search_space:
            return {}
        maps = {name: distribution_map(name, d) for name, d in search_space.items()}
        tuner = self._tuner(study, maps, suggestion_count=trial.number, skip=trial.number)
        suggestion = tuner.suggest()
        params = to_tool(maps, suggestion.params)
        record = {"params": params, "diagnostics": suggestion.diagnostics.to_json()}
        # as Optuna's GPSampler and TPESampler do (a sampler gets only a FrozenTrial, hence the
        # private storage handle), so that other processes see this trial's whole point at once
        study._storage.set_trial_system_attr(trial._trial_id, SUGGESTION_ATTR, record)
        return params

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """The independent sampler's value for a param outside the relative search space."""
        return self._independent_sampler.sample_independent(
            study, trial, param_name, param_distribution
        )

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Let the independent sampler prepare the trial."""
        self._independent_sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """ValueError if a completed trial has no valid cost (the trial is stored anyway)."""
        self._independent_sampler.after_trial(study, trial, state, values)
        if state is TrialState.COMPLETE and self._reported_cost(trial, values) is None:
            raise ValueError(f"trial {trial.number} finished without a valid cost: {self._how()}")

    def to_tuner(self, study: Study) -> Tuner:
        """The carbs_lite study this sampler sees in ``study`` (for ``best()`` under the cost
        cap, ``pareto_front()`` or ``report(path)``); ValueError if no trial has finished."""
        self._check_objectives(study)
        search_space = self._search_space(study.get_trials(deepcopy=False, states=FINISHED))
        if not search_space:
            raise ValueError("the study has no finished trial with a search space to read")
        maps = {name: distribution_map(name, d) for name, d in search_space.items()}
        return self._tuner(study, maps, suggestion_count=len(study.trials), skip=None)

    def _search_space(self, trials: list[FrozenTrial]) -> dict[str, BaseDistribution]:
        """The trials' intersection search space without single values; a distribution with no
        carbs_lite space is left to the independent sampler, with a warning (once)."""
        search_space = {}
        for name, distribution in intersection_search_space(trials, include_pruned=True).items():
            if distribution.single():
                continue
            try:
                distribution_map(name, distribution)
            except (TypeError, ValueError) as error:
                if name not in self._independent:
                    self._independent.add(name)
                    logger.warning("CarbsSampler samples %s independently: %s", name, error)
                continue
            search_space[name] = distribution
        return search_space

    def _tuner(
        self, study: Study, maps: dict[str, ParamMap], suggestion_count: int, skip: int | None
    ) -> Tuner:
        """A tuner holding the study's finished trials as observations (in trial order) and its
        running trials as outstanding suggestions, trial ``skip`` left out."""
        direction = DIRECTIONS[study.directions[0]]
        config = dataclasses.replace(self.config, direction=direction)
        tuner = Tuner(params_of(maps), config, self.heuristics, self._seed)
        outstanding, resamples = [], 0
        for trial in study.get_trials(deepcopy=False):
            record = trial.system_attrs.get(SUGGESTION_ATTR)
            resamples += record is not None and record["diagnostics"]["source"] == "resample"
            if trial.number == skip:
                continue
            if trial.state is TrialState.RUNNING:
                outstanding.extend(_running(trial, record, maps))
            elif trial.state in FINISHED:
                self._observe(study, tuner, maps, trial, record)
        state = dataclasses.replace(
            tuner.to_state(),
            outstanding=outstanding,
            suggestion_count=suggestion_count,
            resample_count=resamples,
        )
        return Tuner.from_state(state)

    def _observe(
        self,
        study: Study,
        tuner: Tuner,
        maps: dict[str, ParamMap],
        trial: FrozenTrial,
        record: dict[str, Any] | None,
    ) -> None:
        """Observe a finished trial, or warn (once) why it is left out."""
        try:
            params = from_tool(maps, trial.params)
        except ValueError as error:
            self._leave_out(study, trial, f"it does not fit the search space ({error})")
            return
        failed = trial.state is not TrialState.COMPLETE
        extra: dict[str, Any] = {"trial_number": trial.number}
        curve = [
            _json_number(trial.intermediate_values[s]) for s in sorted(trial.intermediate_values)
        ]
        if curve:
            extra["curve"] = curve
        # an enqueued trial's fixed params replace the sampled ones: no diagnostics describe it
        sampled = record is not None and record["params"].items() <= trial.params.items()
        diagnostics = Diagnostics.from_json(record["diagnostics"]) if sampled else None
        cost = self._reported_cost(trial, trial.values)
        if cost is None and failed and diagnostics:
            cost = _positive(diagnostics.predicted_cost)
            if cost is not None:
                extra["cost_estimated"] = True
        if cost is None:
            self._leave_out(study, trial, f"it has no cost: {self._how()}")
            return
        output = math.nan if failed else trial.values[0]
        point = Suggestion(f"trial-{trial.number}", params, diagnostics) if diagnostics else params
        tuner.observe(point, output, cost, is_failure=failed, extra=extra)

    def _reported_cost(self, trial: FrozenTrial, values: Sequence[float] | None) -> float | None:
        """The trial's cost attribute, or its second objective value; None if not valid."""
        if self.cost_attr is not None:
            return _positive(trial.user_attrs.get(self.cost_attr))
        return _positive(values[1]) if values is not None and len(values) > 1 else None

    def _how(self) -> str:
        """How a trial gives its cost, for error messages."""
        if self.cost_attr is None:
            return "the second objective value is the cost and must be finite and > 0"
        return f"call trial.set_user_attr({self.cost_attr!r}, cost) with a cost > 0"

    def _leave_out(self, study: Study, trial: FrozenTrial, why: str) -> None:
        key = (study.study_name, trial.number)
        if key not in self._left_out:
            self._left_out.add(key)
            logger.warning("CarbsSampler leaves trial %d out of its model: %s", trial.number, why)

    def _check_objectives(self, study: Study) -> None:
        directions = study.directions
        if self.cost_attr is not None and len(directions) != 1:
            raise ValueError(
                f"CarbsSampler(cost_attr={self.cost_attr!r}) takes a study with one objective "
                f"and the cost in a trial user attribute; this study has {len(directions)} "
                "objectives. For the cost as the second objective, pass cost_attr=None."
            )
        if self.cost_attr is None and (
            len(directions) != 2 or directions[1] is not StudyDirection.MINIMIZE
        ):
            raise ValueError(
                "CarbsSampler(cost_attr=None) takes the cost as the second of two objectives, "
                "minimized: create the study with directions=[<objective>, 'minimize']"
            )


def distribution_map(name: str, distribution: BaseDistribution) -> ParamMap:
    """The ``ParamMap`` of an Optuna distribution; TypeError for a distribution of another
    type, ValueError for choices that a ``CategoricalSpace`` cannot hold (such as None)."""
    if isinstance(distribution, FloatDistribution):
        return numeric_map(
            name, distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    if isinstance(distribution, IntDistribution):
        step = None if distribution.step == 1 else distribution.step
        return numeric_map(
            name, distribution.low, distribution.high, integer=True, log=distribution.log, step=step
        )
    if isinstance(distribution, CategoricalDistribution):
        return choice_map(name, distribution.choices)
    raise TypeError(
        f"param {name!r}: CarbsSampler supports FloatDistribution, IntDistribution and "
        f"CategoricalDistribution, got {type(distribution).__name__}"
    )


def _running(
    trial: FrozenTrial, record: dict[str, Any] | None, maps: dict[str, ParamMap]
) -> list[Suggestion]:
    """A running trial as an outstanding suggestion: the params it sampled, overridden by those
    it has set (an enqueued trial's); none while it lacks a param of the search space."""
    values = {**(record["params"] if record else {}), **trial.params}
    try:
        params = from_tool(maps, values)
    except ValueError:
        return []
    diagnostics = Diagnostics.from_json(record["diagnostics"]) if record else Diagnostics("random")
    return [Suggestion(f"trial-{trial.number}", params, diagnostics)]


def _positive(value: Any) -> float | None:
    """``value`` as a finite float > 0, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


def _json_number(value: float) -> float | None:
    """A curve value for JSON: None for NaN or infinity."""
    return float(value) if math.isfinite(value) else None


def _random_seed() -> int:
    return int(np.random.default_rng().integers(2**31))
