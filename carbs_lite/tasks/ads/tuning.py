"""The ads-architecture task: pick the best arch in a few tries with serving QPS above a floor.

In Pareto terms: performance = NE (minimized), cost = 1 / qps (serving cost per query), cost
cap = 1 / min_qps. Any object with ``train_model(training_days, arch, ignore_budget)`` returning
``(ne, qps, curve)`` and ``get_score(ne)`` works unchanged (the built-in simulator or a real
service). A run whose NE is NaN (diverged) is a failure.

Each run's daily NE curve reaches the study day by day (``Study.observe_progress``, step =
training day, cost = 1/qps, which training does not change); with
``Heuristics.early_stopping`` the study may stop it after any day (``Study.should_stop``), and
the days it was not trained are GPU-days saved (``ArchTry.days``: a run's GPU-days grow in
proportion to its days). The simulator, like a real service, trains a whole run per call; the
stopped run's later days are then simply not used, as if the service had been stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from carbs_lite.arch import Arch, ArchSpace
from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import Heuristics
from carbs_lite.records import Metrics, Observation, Suggestion, is_feasible
from carbs_lite.spaces import Param
from carbs_lite.study import Study, outstanding_suggestion
from carbs_lite.tuner import Tuner

BASELINE_ARCH: Arch = [[64, 64]]
TASK = "ads-arch"
METRICS = Metrics(
    output="NE",
    cost="serving cost",
    cost_unit="s per query",
    cost_inverse="QPS",
    step="training day",
    task=TASK,
)
"""An ads study's metrics: NE (lower is better) at cost 1/QPS, shown as QPS."""


class ModelService(Protocol):
    """What ``tune_arch`` needs from the team's service (or the simulator)."""

    def train_model(
        self, training_days: int, arch: Arch, ignore_budget: bool = ...
    ) -> tuple[float, float, list[float]]: ...

    def get_score(self, ne: float) -> float: ...


@dataclass(frozen=True)
class ArchTry:
    """One training run. ``feasible``: not diverged, not stopped and qps above the floor
    (``is_feasible``). ``days``: training days used, fewer than asked when the study stopped
    it early (``stopped``, the reason; its ``ne`` and ``score`` are then those of its last day,
    and ``curve`` holds the days trained)."""

    index: int
    arch: Arch
    ne: float
    qps: float
    score: float
    feasible: bool
    curve: list[float] = field(default_factory=list)
    days: int = 0
    stopped: str | None = None

    @property
    def diverged(self) -> bool:
        return math.isnan(self.ne)


@dataclass(frozen=True)
class ArchTuningResult:
    """Every try in order and the best feasible one (None if none was feasible)."""

    tries: list[ArchTry]
    tuner: Tuner

    @property
    def best(self) -> ArchTry | None:
        feasible = [t for t in self.tries if t.feasible]
        return max(feasible, key=lambda t: t.score) if feasible else None

    @property
    def days_trained(self) -> int:
        """Training days used over every try (GPU-days grow in proportion within a try)."""
        return sum(t.days for t in self.tries)


def arch_tuner(
    min_qps: float = 3500.0,
    seed: int = 0,
    heuristics: Heuristics | None = None,
    config: TunerConfig | None = None,
    space: ArchSpace | None = None,
    start: Arch | None = None,
    tries: int | None = None,
) -> Tuner:
    """A tuner for one ``arch`` param: minimize NE at cost 1/qps below 1/min_qps, with a
    budget of ``tries`` (None: none)."""
    if not (isinstance(min_qps, int | float) and math.isfinite(min_qps) and min_qps > 0):
        raise ValueError(f"min_qps must be a finite number > 0, got {min_qps!r}")
    config = config or TunerConfig()
    config = TunerConfig.from_json(
        {**config.to_json(), "direction": "minimize", "max_suggestion_cost": 1.0 / min_qps}
    )
    param = Param("arch", space or ArchSpace(), start or BASELINE_ARCH)
    return Tuner([param], config, heuristics, seed=seed, metrics=METRICS, tries=tries)


def observe_try(
    study: Study,
    suggestion_or_arch: Any,
    ne: float,
    qps: float,
    extra: dict[str, Any] | None = None,
) -> Observation:
    """Record one run: output NE, cost 1/qps, ``extra`` = {"qps": qps} and the given ``extra``
    (e.g. the simulator's settings); NaN NE is a failure. Rejects qps <= 0 or NaN."""
    cost = _serving_cost(qps)
    ne = float(ne)
    if math.isfinite(ne) and ne <= 0:
        raise ValueError(f"ne must be > 0 (or NaN for a diverged run), got {ne}")
    if not isinstance(suggestion_or_arch, dict) and not hasattr(suggestion_or_arch, "params"):
        suggestion_or_arch = {"arch": suggestion_or_arch}
    return study.observe(suggestion_or_arch, ne, cost, extra={"qps": float(qps), **(extra or {})})


def _serving_cost(qps: float) -> float:
    """1/qps; ValueError unless qps is a finite number > 0."""
    qps = float(qps)
    if not (math.isfinite(qps) and qps > 0):
        raise ValueError(f"qps must be a finite number > 0, got {qps}")
    return 1.0 / qps


def observe_training(
    study: Study,
    suggestion: Suggestion,
    ne: float,
    qps: float,
    curve: list[float],
    extra: dict[str, Any] | None = None,
) -> tuple[Observation, int]:
    """Feed a run's daily ``curve`` to the study day by day at cost 1/qps, after the days
    it already holds (a resumed run), and stop it on the first day ``should_stop`` says so;
    else observe its final ``ne`` (``observe_try``, with ``extra``). Returns the observation
    and the days trained."""
    cost = _serving_cost(qps)
    pending = outstanding_suggestion(study.to_state(), suggestion)
    done = int(pending.progress[-1].step) if pending.progress else 0
    for day in range(done + 1, len(curve) + 1):
        value = curve[day - 1]
        study.observe_progress(suggestion, day, math.nan if value is None else value, cost)
        decision = study.stop_decision(suggestion)
        if decision.stop:
            return study.stop(suggestion, decision.reason), day
    return observe_try(study, suggestion, ne, qps, extra), len(curve)


def run_tries(
    api: ModelService,
    study: Study,
    tries: int,
    training_days: int = 60,
    on_try: Callable[[ArchTry], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    extra: dict[str, Any] | None = None,
) -> list[ArchTry]:
    """Train the study's outstanding suggestions, then suggest -> train -> observe until it has
    used ``tries`` tries (``StudyState.tries_used``); returns the tries run here, in order.
    Each run's curve goes in day by day (``observe_training``), so a study with
    ``Heuristics.early_stopping`` may stop it early.

    ``checkpoint`` is called after every suggestion and every observation (e.g. to save the
    study), so that an interruption loses at most the run in flight. ``extra`` goes into
    every finished run's ``Observation.extra`` beside its QPS (``observe_try``).
    """
    results = []
    while True:
        state = study.to_state()
        if state.outstanding:
            suggestion = state.outstanding[0]
        elif state.tries_used < tries:
            suggestion = study.suggest()
            if checkpoint is not None:
                checkpoint()
        else:
            return results
        arch = suggestion.params["arch"]
        ne, qps, curve = api.train_model(training_days=training_days, arch=arch, ignore_budget=True)
        observation, days = observe_training(study, suggestion, ne, qps, curve, extra)
        if checkpoint is not None:
            checkpoint()
        index = len(state.observations)
        results.append(_arch_try(api, study, index, observation, days, float(qps)))
        if on_try is not None:
            on_try(results[-1])


def _arch_try(
    api: ModelService, study: Study, index: int, observation: Observation, days: int, qps: float
) -> ArchTry:
    """The ``ArchTry`` of a recorded run (``index``, 0-based, among the observations)."""
    ne = observation.output
    cap = study.config.max_suggestion_cost
    feasible = is_feasible(observation.is_failure, observation.cost, cap)
    score = float(api.get_score(ne)) if not math.isnan(ne) else math.nan
    curve = [p.output for p in observation.curve]
    arch = observation.params["arch"]
    return ArchTry(index, arch, ne, qps, score, feasible, curve, days, observation.stopped)


def tune_arch(
    api: ModelService,
    tries: int = 10,
    training_days: int = 60,
    min_qps: float = 3500.0,
    seed: int = 0,
    heuristics: Heuristics | None = None,
    config: TunerConfig | None = None,
    on_try: Callable[[ArchTry], None] | None = None,
) -> ArchTuningResult:
    """Run ``tries`` suggest -> train -> observe rounds; ``on_try`` sees each finished try.
    With ``Heuristics.early_stopping`` a run may be stopped after any day (``run_tries``)."""
    if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
        raise ValueError(f"tries must be a positive integer, got {tries!r}")
    tuner = arch_tuner(min_qps, seed, heuristics, config, tries=tries)
    return ArchTuningResult(run_tries(api, tuner, tries, training_days, on_try), tuner)
