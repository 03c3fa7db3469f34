"""A Ray Tune ``Searcher`` that asks a carbs_lite ``Tuner`` for every trial's config.

Each trial is one suggestion. Trials still running stay outstanding in the tuner, so concurrent
trials are spread apart; a finished trial is observed once; an errored trial, or one that did
not report the metric, is observed as a failure. A trial's cost is ``result[cost_metric]``
when given and valid, else Ray's ``time_total_s``, else the wall time since its suggestion.

Needs ``pip install "carbs_lite[ray]"``. The searcher lives in the driver; on a Ray cluster
start the driver with ``ray.init(address="auto")`` and trials run on every node.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray.tune.search import Searcher
from ray.tune.search.sample import Domain

from carbs_lite.config import Direction
from carbs_lite.records import StudyState, Suggestion
from carbs_lite.state import write_json_atomically
from carbs_lite.tuner import Tuner

logger = logging.getLogger(__name__)

MODES = {Direction.MAXIMIZE: "max", Direction.MINIMIZE: "min"}
MIN_COST = 1e-6
"""Floor on a trial's cost (seconds, or cost units): the tuner needs costs > 0."""
FORMAT = "carbs_lite.ray_search"


@dataclass(frozen=True)
class _Trial:
    suggestion: Suggestion
    started: float
    """``time.time()`` when the trial was suggested."""


class CarbsSearch(Searcher):
    """Ray Tune searcher: ``tuner`` owns the search space and its direction sets ``mode``."""

    def __init__(
        self,
        tuner: Tuner,
        metric: str | None = None,
        mode: str | None = None,
        cost_metric: str | None = None,
    ) -> None:
        super().__init__(metric=metric, mode=_mode(tuner, mode))
        self.tuner = tuner
        self.cost_metric = cost_metric
        self._trials: dict[str, _Trial] = {}

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict, **spec: Any
    ) -> bool:
        """Adopt Tune's metric; refuse a ``param_space`` with search domains (the tuner has one)."""
        if _has_domains(config):
            return False
        self._mode = _mode(self.tuner, mode)
        self._metric = metric or self._metric
        return True

    def suggest(self, trial_id: str) -> dict[str, Any]:
        """The tuner's next suggestion; it stays outstanding while the trial runs."""
        if not self.metric:
            raise RuntimeError("CarbsSearch needs a metric: pass CarbsSearch(tuner, metric=...)")
        suggestion = self.tuner.suggest()
        self._trials[trial_id] = _Trial(suggestion, time.time())
        return dict(suggestion.params)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Observe the trial's metric, or a failure if it errored or did not report it."""
        trial = self._trials.pop(trial_id, None)
        if trial is None:
            logger.warning("trial %s was not suggested by this searcher; ignoring it", trial_id)
            return
        output = None if error else _number((result or {}).get(self.metric))
        self.tuner.observe(
            trial.suggestion,
            math.nan if output is None else output,
            self._cost(trial_id, trial, result or {}),
            is_failure=output is None,
            extra={"trial_id": trial_id},
        )

    def save(self, checkpoint_path: str) -> None:
        """Write the tuner state and the running trials as JSON (atomically)."""
        trials = {
            trial_id: {"suggestion": t.suggestion.to_json(), "started": t.started}
            for trial_id, t in self._trials.items()
        }
        data = {
            "format": FORMAT,
            "metric": self.metric,
            "cost_metric": self.cost_metric,
            "tuner": self.tuner.to_state().to_json(),
            "trials": trials,
        }
        write_json_atomically(data, checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        """Load what ``save`` wrote; running trials resume as outstanding suggestions."""
        data = json.loads(Path(checkpoint_path).read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"{checkpoint_path}: not a CarbsSearch checkpoint")
        self.tuner = _tuner_from_json(data["tuner"])
        self._metric, self.cost_metric = data["metric"], data["cost_metric"]
        self._mode = _mode(self.tuner, None)
        self._trials = {
            trial_id: _Trial(Suggestion.from_json(t["suggestion"]), t["started"])
            for trial_id, t in data["trials"].items()
        }

    def __getstate__(self) -> dict[str, Any]:
        """Ray pickles its search algorithm; the tuner (holding a lock) travels as JSON."""
        return {**self.__dict__, "tuner": self.tuner.to_state().to_json()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({**state, "tuner": _tuner_from_json(state["tuner"])})

    def _cost(self, trial_id: str, trial: _Trial, result: dict[str, Any]) -> float:
        if self.cost_metric:
            cost = _number(result.get(self.cost_metric))
            if cost is not None and cost > 0:
                return cost
            logger.warning(
                "trial %s reported no valid %r; using its time as cost", trial_id, self.cost_metric
            )
        seconds = _number(result.get("time_total_s"))
        if seconds is None:
            seconds = time.time() - trial.started
        return max(seconds, MIN_COST)


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


def _has_domains(config: Any) -> bool:
    """Whether a Tune config holds search domains (``tune.uniform`` ..., ``grid_search``)."""
    if isinstance(config, Domain):
        return True
    if isinstance(config, dict):
        return "grid_search" in config or any(_has_domains(v) for v in config.values())
    if isinstance(config, list | tuple):
        return any(_has_domains(v) for v in config)
    return False
