"""Tuner: the in-memory study. Bookkeeping only: the lock, ids, outstanding suggestions, the
choice of phase, and the study's state.

Phases: the first suggestion of a study is its search center; then the initial design
(``carbs_lite.initial``) while fewer than ``num_random_samples`` points were started or none
has succeeded; then search steps (``carbs_lite.search``). Results recorded by ``warm_start``
count as started points like any other. A re-centered study (``set_search_center``, or
``warm_start`` with ``recenter``) leaves the initial design once a run has succeeded, however
few points were started: the default design fills the whole space and would ignore the
center, and the search steps are drawn around it. Each ``suggest()`` draws its
randomness from ``numpy.random.default_rng([seed, n])``, n counting suggestions so far, and
refits every model deterministically, so a tuner restored from its state makes the same next
suggestion. The search (torch, pyro) is imported at the first ``suggest()``, so that reading,
observing and saving a study stays fast.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import reprlib
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbs_lite.config import TunerConfig, adaptive_radius
from carbs_lite.curves import (
    ProgressPoint,
    check_final_cost,
    check_next_point,
    check_progress,
    stopped_unbroken,
)
from carbs_lite.deferred import numpy_types
from carbs_lite.heuristics import Heuristics
from carbs_lite.journal import JournalStudy, is_journal, open_journal
from carbs_lite.pareto import record_groups, study_front
from carbs_lite.records import (
    Diagnostics,
    Metrics,
    Observation,
    StateFileError,
    StudyState,
    Suggestion,
    json_copy,
    json_extra,
    suggestion_id,
    suggestion_key,
    type_name,
)
from carbs_lite.spaces import Param, ParamSpace, Space
from carbs_lite.state import load_state
from carbs_lite.study import Study, best_params, outstanding_suggestion
from carbs_lite.study_data import StudyData

if TYPE_CHECKING:
    import numpy as np

    from carbs_lite.search import Proposal, Search
else:
    from carbs_lite.deferred import numpy as np


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op torch threads, then restore the previous count."""
    import torch

    previous = torch.get_num_threads()
    if previous != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if previous != count:
            torch.set_num_threads(previous)


class Tuner(Study):
    """Cost-aware Pareto-region Bayesian search over ``params``, held in memory.

    ``tries`` is the study's budget of tries, kept with it (``StudyState.tries_used`` counts
    them); the tuner records it and leaves enforcing it to its caller (``carbs-lite suggest``).
    """

    def __init__(
        self,
        params: list[Param],
        config: TunerConfig | None = None,
        heuristics: Heuristics | None = None,
        seed: int = 0,
        metrics: Metrics | None = None,
        tries: int | None = None,
    ) -> None:
        bad_type = isinstance(tries, bool) or not isinstance(tries, int)
        if tries is not None and (bad_type or tries < 1):
            raise ValueError(f"tries must be an integer >= 1 or None, got {tries!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be an integer >= 0, got {seed!r}")
        if seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        for name, value, kind in (
            ("config", config, TunerConfig),
            ("heuristics", heuristics, Heuristics),
            ("metrics", metrics, Metrics),
        ):
            if value is not None and not isinstance(value, kind):
                raise TypeError(
                    f"{name} must be a {kind.__name__} or None, got {type(value).__name__}"
                )
        self.param_space = ParamSpace(params)
        self.config = config or TunerConfig()
        self.heuristics = heuristics or Heuristics()
        self.seed = int(seed)
        self.metrics = metrics or Metrics()
        self.tries = tries
        self._observations: list[Observation] = []
        self._retracted: dict[int, str] = {}
        self._keys: list[Hashable] = []
        self._inputs: list[np.ndarray] = []
        self._outstanding: dict[str, Suggestion] = {}
        self._suggestion_count = 0
        self._resample_count = 0
        self._adaptive_radius = self.config.initial_search_radius
        self._search_center: dict[str, Any] | None = None
        self._lock = threading.RLock()

    @property
    def observations(self) -> list[Observation]:
        """Every observation so far, oldest first (copies: see ``Observation.copy``)."""
        with self._lock:
            return [o.copy() for o in self._observations]

    @property
    def outstanding(self) -> list[Suggestion]:
        """Suggestions handed out and not yet observed or forgotten (copies)."""
        with self._lock:
            return [s.copy() for s in self._outstanding.values()]

    def suggest(self, stream: int = 0) -> Suggestion:
        """The next point to evaluate; it stays outstanding until observed or forgotten.

        ``stream`` (an int >= 0) picks the random stream of this suggestion number: 0, the
        default, is the study's own, so that equal studies make equal suggestions. A journal
        shared by processes asks for another one when the point it drew was taken meanwhile
        by a process that fitted the same state (``carbs_lite.journal``)."""
        if not isinstance(stream, int) or stream < 0:
            raise ValueError(f"stream must be an int >= 0, got {stream!r}")
        with self._lock, torch_threads(self.config.torch_threads):
            entropy = [self.seed, self._suggestion_count] + ([stream] if stream else [])
            rng = np.random.default_rng(entropy)
            proposal = self._propose(rng)
            params = (
                json_copy(proposal.params)
                if proposal.params is not None
                else self.param_space.from_basic(proposal.x)
            )
            taken = {o.suggestion_id for o in self._observations} | set(self._outstanding)
            tag = rng.bytes(3).hex()
            while suggestion_id(self._suggestion_count, tag) in taken:
                # another study's suggestion observed here can hold this study's next id
                tag = rng.bytes(3).hex()
            suggestion = Suggestion(
                suggestion_id(self._suggestion_count, tag), params, proposal.diagnostics
            )
            self._outstanding[suggestion.id] = suggestion
            self._suggestion_count += 1
            return suggestion.copy()

    def observe(
        self,
        params_or_suggestion: dict[str, Any] | Suggestion | str,
        output: float,
        cost: float,
        is_failure: bool = False,
        extra: dict[str, Any] | None = None,
        counts_as_try: bool = False,
    ) -> Observation:
        """Record a result (see ``Study.observe``); a suggestion's learning curve so far
        (``observe_progress``) becomes the observation's ``curve``."""
        with self._lock:
            observation = self._observation(
                params_or_suggestion, output, cost, is_failure, extra, counts_as_try
            )
            return self._record(observation).copy()

    def _observation(
        self,
        params_or_suggestion: dict[str, Any] | Suggestion | str,
        output: float,
        cost: float,
        is_failure: bool,
        extra: dict[str, Any] | None,
        counts_as_try: bool,
    ) -> Observation:
        """The observation ``observe`` would record, checked, not yet recorded."""
        with self._lock:
            params, suggestion = self._resolve(params_or_suggestion)
            output, cost = _as_float("output", output), _as_float("cost", cost)
            if not (math.isfinite(cost) and cost > 0):
                raise ValueError(f"cost must be finite and > 0, got {cost}")
            extra = json_extra(extra)
            is_failure, counts_as_try = (
                _as_flag("is_failure", is_failure),
                _as_flag("counts_as_try", counts_as_try),
            )
            failed = is_failure or not math.isfinite(output)
            observation = Observation(
                params,
                output if math.isfinite(output) else math.nan,
                cost,
                failed,
                suggestion.id if suggestion else None,
                extra,
                suggestion.diagnostics if suggestion else None,
                counts_as_try and suggestion is None,
                suggestion.progress if suggestion else (),
            )
            self._check_final_cost(observation.curve, observation.cost)
            return observation

    def _check_final_cost(self, curve: tuple[ProgressPoint, ...], cost: float) -> None:
        """``curves.check_final_cost``, unless this study's costs are a rate shown inverted
        (``Metrics.cost_inverse``, e.g. 1/QPS): a rate is no spend, and may come out a little
        lower at the end than during the run."""
        if not self.metrics.cost_inverse:
            check_final_cost(curve, cost)

    def observe_progress(
        self, suggestion: Suggestion | str, step: float, output: float, cost: float
    ) -> Suggestion:
        """Record an intermediate result (see ``Study.observe_progress``)."""
        with self._lock:
            pending = self._pending(suggestion)
            point = _progress_point(step, output, cost)
            check_progress(pending, point)
            updated = dataclasses.replace(pending, progress=(*pending.progress, point))
            self._outstanding[pending.id] = updated
            return updated.copy()

    def stop(
        self, suggestion: Suggestion | str, reason: str, extra: dict[str, Any] | None = None
    ) -> Observation:
        """Record a try as stopped early (see ``Study.stop``)."""
        with self._lock:
            pending = self._pending(suggestion)
            if not pending.progress:
                raise ValueError(
                    f"suggestion {pending.id!r} has no intermediate result to stop at; "
                    "forget it if it will never report one"
                )
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError("give the reason for stopping it")
            extra = json_extra(extra)
            last = pending.progress[-1]
            observation = Observation(
                self.param_space.validate(pending.params),
                last.output,
                last.cost,
                True,
                pending.id,
                extra,
                pending.diagnostics,
                curve=pending.progress,
                stopped=reason,
            )
            return self._record(observation).copy()

    def _pending(self, suggestion: Suggestion | str) -> Suggestion:
        """The outstanding suggestion with the id of ``suggestion`` (or that id), with its
        progress; ``outstanding_suggestion``'s ValueError if it is not outstanding."""
        wanted = suggestion_key(suggestion)
        if wanted in self._outstanding:
            return self._outstanding[wanted]
        # the state is copied only to name the error (unknown or already observed)
        return outstanding_suggestion(self.to_state(), suggestion)

    def _record(self, observation: Observation) -> Observation:
        """Append ``observation``, close the suggestion it answers, update the radius."""
        self._observations.append(observation)
        self._keys.append(self.param_space.key(observation.params))
        if observation.suggestion_id is not None:
            self._outstanding.pop(observation.suggestion_id, None)
        failed = observation.is_failure and not stopped_unbroken(observation)
        self._adaptive_radius = adaptive_radius(
            self._adaptive_radius,
            failed,
            not observation.is_failure and self._last_joined_front(),
        )
        return observation

    def forget(self, suggestion: Suggestion | str) -> None:
        """Drop an outstanding suggestion (or the one with that id) that will never be
        observed (see ``Study.forget``)."""
        with self._lock:
            del self._outstanding[self._pending(suggestion).id]

    def retract(self, index: int, why: str) -> None:
        """Take back observation ``index`` (see ``Study.retract``); the adaptive search radius
        it moved is not rewound."""
        with self._lock:
            if isinstance(index, bool) or not isinstance(index, int):
                raise ValueError(f"observation index must be an integer, got {index!r}")
            if not 0 <= index < len(self._observations):
                raise ValueError(f"no observation {index}; the study has {len(self._observations)}")
            if index in self._retracted:
                raise ValueError(f"observation {index} is already retracted")
            if not isinstance(why, str) or not why.strip():
                raise ValueError("give the reason for retracting it")
            self._retracted[index] = why

    def warm_start(
        self, results: Iterable[Observation], recenter: bool = True
    ) -> list[Observation]:
        """Record earlier results (see ``Study.warm_start``)."""
        results = list(results)
        with self._lock:
            # a dry run on a copy finds a bad result before this study records anything
            trial = Tuner.from_state(self.to_state())._record_results(results)
            center = best_params(trial, self.config) if recenter else None
            recorded = self._record_results(results)
            if center is not None:
                self.set_search_center(center)
            return recorded

    def _record_results(self, results: list[Observation]) -> list[Observation]:
        """Record each of ``results`` (``_copied_result``); an error names the index of the
        result that caused it (results before it are recorded)."""
        recorded = []
        for index, result in enumerate(results):
            try:
                copied = self._copied_result(result)
            except (TypeError, ValueError) as error:
                kind = TypeError if isinstance(error, TypeError) else ValueError
                raise kind(f"result {index}: {error}") from None
            recorded.append(self._record(copied))
        return recorded

    def _copied_result(self, result: Any) -> Observation:
        """``result`` as ``observe`` would record it, keeping its learning curve (each point
        checked and converted as ``observe_progress`` would) and its stop reason, which needs
        what ``stop`` gives: a failure at its curve's last point. Not recorded yet."""
        if not isinstance(result, Observation):
            raise TypeError(f"expected an Observation, got {type(result).__name__}")
        observation = self._observation(
            result.params, result.output, result.cost, result.is_failure, result.extra, False
        )
        curve = _checked_curve(result.curve) or observation.curve
        self._check_final_cost(curve, observation.cost)
        if result.stopped is None:
            return dataclasses.replace(observation, curve=curve)
        if not isinstance(result.stopped, str) or not result.stopped.strip():
            raise ValueError("stopped must be the reason it was stopped (a text)")
        if not result.is_failure:
            raise ValueError("a try stopped early is a failure (is_failure=True)")
        last = curve[-1] if curve else None
        if last is None or (last.cost, _nan_key(last.output)) != (
            observation.cost,
            _nan_key(observation.output),
        ):
            raise ValueError(
                "a try stopped early has the output and cost of its learning curve's last "
                "point, as stop() records it"
            )
        return dataclasses.replace(observation, curve=curve, stopped=str(result.stopped))

    def set_search_center(self, params: dict[str, Any]) -> None:
        """Move the search center to ``params`` (see ``Study.set_search_center``)."""
        with self._lock:
            self._search_center = self.param_space.validate(params)
            self.__dict__.pop("_search", None)  # the search is built around the center

    def to_state(self) -> StudyState:
        """Everything needed to continue the study; ``from_state`` restores it. Its
        observations and suggestions are copies (``Observation.copy``)."""
        with self._lock:
            return StudyState(
                params=list(self.param_space.params),
                config=self.config,
                heuristics=self.heuristics,
                seed=self.seed,
                observations=[o.copy() for o in self._observations],
                outstanding=[s.copy() for s in self._outstanding.values()],
                suggestion_count=self._suggestion_count,
                resample_count=self._resample_count,
                search_radius=self._adaptive_radius,
                metrics=self.metrics,
                tries=self.tries,
                retracted=dict(self._retracted),
                search_center=dict(self._search_center) if self._search_center else None,
            )

    @classmethod
    def from_state(cls, state: StudyState) -> Tuner:
        """A tuner continuing ``state``; ``StateFileError`` (a ValueError) naming an
        observation or an outstanding suggestion whose params do not fit the space (or a cost
        not > 0, or below what its learning curve had spent)."""
        tuner = cls(
            state.params, state.config, state.heuristics, state.seed, state.metrics, state.tries
        )
        space = tuner.param_space
        for i, observation in enumerate(state.observations):
            where = f"observation {i} (suggestion {observation.suggestion_id})"
            _check_cost(observation.cost, where)
            try:
                tuner._check_final_cost(observation.curve, observation.cost)
            except ValueError as error:
                raise StateFileError(f"{where}: {error}") from None
            tuner._keys.append(_in_space(space.key, observation.params, where))
            tuner._observations.append(observation)
        for suggestion in state.outstanding:
            _in_space(
                space.validate, suggestion.params, f"outstanding suggestion {suggestion.id!r}"
            )
            tuner._outstanding[suggestion.id] = suggestion
        tuner._suggestion_count = state.suggestion_count
        tuner._resample_count = state.resample_count
        tuner._adaptive_radius = state.search_radius
        tuner._retracted = dict(state.retracted)
        if state.search_center is not None:
            tuner.set_search_center(state.search_center)
        return tuner

    @classmethod
    def open(
        cls,
        path: str | Path,
        params: list[Param] | None = None,
        config: TunerConfig | None = None,
        heuristics: Heuristics | None = None,
        seed: int = 0,
        metrics: Metrics | None = None,
        tries: int | None = None,
    ) -> JournalStudy:
        """The study journal at ``path``, shared by processes (``carbs_lite.journal``).

        Creates the file if it is absent and ``params`` are given (``tries``: its budget of
        tries, as for ``Tuner``); otherwise opens it, for reading only if this process may not
        write it. With ``params``, an existing journal must hold the study they describe
        (ValueError naming what differs); a ``config``, ``heuristics`` or ``tries`` left out
        keeps the journal's own. ``JournalError`` (a ``StateFileError``) if the file is not a
        journal, e.g. a snapshot from ``save``.
        """
        return open_journal(path, cls, params, config, heuristics, seed, metrics, tries)

    @classmethod
    def load(cls, path: str | Path) -> Tuner:
        """An in-memory copy of the study at ``path``, a ``save`` file or a journal
        (``open``); ``StateFileError`` if the file is unreadable."""
        if is_journal(path):
            with JournalStudy(path, cls) as journal:
                return cls.from_state(journal.to_state())
        state = load_state(path)
        try:
            return cls.from_state(state)
        except ValueError as error:
            raise StateFileError(f"{path}: {error}") from None

    def _resolve(
        self, item: dict[str, Any] | Suggestion | str
    ) -> tuple[dict[str, Any], Suggestion | None]:
        """Canonical params and the suggestion they answer, if any. An outstanding suggestion
        (or its id) answers with the params this study recorded for it, whatever keys the
        caller added to its copy (``Suggestion.copy``); ValueError if the copy's values of the
        space's params differ, e.g. a suggestion of another study that has the same id, or if
        an id is not outstanding."""
        if isinstance(item, str) or (isinstance(item, Suggestion) and item.id in self._outstanding):
            try:
                pending = self._pending(item)
            except ValueError as error:
                raise ValueError(
                    f"{error}; to record its run, observe the Suggestion itself or its params"
                ) from None
            given = item.params if isinstance(item, Suggestion) else pending.params
            changed = [
                p.name
                for p in self.param_space.params
                if p.name not in given
                or not _same_value(p.space, given[p.name], pending.params[p.name])
            ]
            if changed:
                raise ValueError(
                    f"suggestion {pending.id!r} has other params ({changed[0]!r}: "
                    f"{reprlib.repr(given.get(changed[0]))}) than this study suggested under "
                    "that id: is it from another study? Observe the params that ran as a dict"
                )
            return pending.params, pending
        if isinstance(item, Suggestion):
            # a suggestion made elsewhere (a forgotten one, one an integration rebuilds from
            # another tool's records): its own params, id and diagnostics
            if any(o.suggestion_id == item.id for o in self._observations):
                raise ValueError(f"suggestion {item.id!r} was already observed")
            return self.param_space.validate(item.params), item
        params = self.param_space.validate(item)
        key = self.param_space.key(params)
        for suggestion in self._outstanding.values():
            # the same point by the space's rules: a categorical True does not answer a 1
            if self.param_space.key(suggestion.params) == key:
                return params, suggestion
        return params, None

    @cached_property
    def _search(self) -> Search:
        """The search step, built at the first suggestion (it imports torch and pyro), around
        the re-centered search center if there is one."""
        from carbs_lite.search import Search

        if self._search_center is None:
            return Search(self.param_space, self.config, self.heuristics)
        centered = ParamSpace(
            [
                dataclasses.replace(p, search_center=self._search_center[p.name])
                for p in self.param_space.params
            ]
        )
        return Search(centered, self.config, self.heuristics, centered.center_in_basic())

    def _kept(self) -> list[int]:
        """Indices of the observations the search sees: all but the retracted ones."""
        return [i for i in range(len(self._observations)) if i not in self._retracted]

    def _data(self) -> StudyData:
        """The search's data. The observations' basic rows are made here, when first needed,
        not as they are recorded: reading and observing a study stays free of numpy."""
        space = self.param_space
        self._inputs.extend(
            space.to_basic(o.params) for o in self._observations[len(self._inputs) :]
        )
        outstanding = [space.to_basic(s.params) for s in self._outstanding.values()]
        kept = self._kept()
        return StudyData.from_rows(
            space,
            self.config,
            [self._inputs[i] for i in kept],
            [self._observations[i] for i in kept],
            outstanding,
            [self._keys[i] for i in kept],
        )

    def _last_joined_front(self) -> bool:
        """Whether the latest observation (a success) is on the study's front."""
        kept = self._kept()
        observations = [self._observations[i] for i in kept]
        groups = record_groups(observations, [self._keys[i] for i in kept], self.config.sign)
        latest = sum(not o.is_failure for o in observations) - 1
        front = study_front(groups, self.config, self.heuristics)
        return any(latest in g.members for g in front)

    def _propose(self, rng: np.random.Generator) -> Proposal:
        """The phase's proposal: the search center, the initial design, or a search step."""
        from carbs_lite.initial import initial_proposal
        from carbs_lite.search import Proposal

        data = self._data()
        started = len(data.cost) + len(self._outstanding)
        if self._suggestion_count == 0 and started == 0:
            return Proposal(self._search.space.center_in_basic(), Diagnostics("center"))
        recentered = self._search_center is not None
        random_phase = started < self.config.num_random_samples and not recentered
        if random_phase or not data.successes.any():
            return initial_proposal(self._search, data, rng, self._adaptive_radius)
        proposal = self._search.propose(data, rng, self._resample_count, self._adaptive_radius)
        if proposal.diagnostics.source == "resample":
            self._resample_count += 1
        return proposal


def _same_value(space: Space, given: Any, suggested: Any) -> bool:
    """Whether ``given`` is the value ``suggested`` in ``space`` (equal ``Space.key``s); an
    invalid ``given`` is not."""
    try:
        return space.key(given) == space.key(suggested)
    except ValueError:
        return False


def _in_space(convert: Callable[[Any], Any], params: Any, where: str) -> Any:
    """``convert(params)`` (a ``ParamSpace`` method); ``StateFileError`` naming the record
    (``where``) if its params do not fit the space."""
    try:
        return convert(params)
    except ValueError as error:
        raise StateFileError(f"{where} does not fit the space: {error}") from None


def _check_cost(cost: Any, where: str) -> None:
    """``StateFileError`` naming the record unless ``cost`` is a finite number > 0."""
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not 0 < cost < math.inf:
        raise StateFileError(f"{where}: cost must be a finite number > 0, got {cost!r}")


def _progress_point(step: Any, output: Any, cost: Any) -> ProgressPoint:
    """An intermediate result as recorded: floats (``_as_float``), a non-finite output as NaN."""
    step, output, cost = (
        _as_float("step", step),
        _as_float("output", output),
        _as_float("cost", cost),
    )
    return ProgressPoint(step, output if math.isfinite(output) else math.nan, cost)


def _checked_curve(curve: Any) -> tuple[ProgressPoint, ...]:
    """A learning curve (a sequence of ``ProgressPoint``) as ``observe_progress`` would have
    recorded it point by point; TypeError or ValueError naming what it refuses."""
    if not isinstance(curve, list | tuple):
        raise TypeError(f"curve must be a tuple of ProgressPoint, got {type_name(curve)}")
    points: list[ProgressPoint] = []
    for point in curve:
        if not isinstance(point, ProgressPoint):
            raise TypeError(f"curve holds {reprlib.repr(point)}, not a ProgressPoint")
        checked = _progress_point(point.step, point.output, point.cost)
        check_next_point("curve", points[-1] if points else None, checked)
        points.append(checked)
    return tuple(points)


def _nan_key(value: float) -> float | None:
    """``value`` with NaN as None, so that two NaNs compare equal."""
    return None if math.isnan(value) else value


def _as_flag(name: str, value: Any) -> bool:
    """``value`` as a bool; ValueError unless it is True or False (numpy's included): a
    text such as "no" or a NaN would otherwise count as True."""
    if not isinstance(value, (bool, *numpy_types("bool_"))):
        raise ValueError(f"{name} must be True or False, got {reprlib.repr(value)}")
    return bool(value)


def _as_float(name: str, value: Any) -> float:
    """``value`` as a float; ValueError unless it is a real number that a float can hold.

    Numbers are anything with ``__float__`` (int, float, numpy and torch scalars) except
    booleans; text such as "1.5" is refused rather than parsed.
    """
    # reprlib cuts a long text or list short; a huge int is described by its size instead
    if isinstance(value, (bool, *numpy_types("bool_"))) or not hasattr(type(value), "__float__"):
        shown = reprlib.repr(value)
        raise ValueError(f"{name} must be a real number, got {type_name(value)} {shown}")
    try:
        return float(value)
    except OverflowError:
        if isinstance(value, int):
            raise ValueError(
                f"{name} is too large for a float: an integer of {value.bit_length()} bits"
            ) from None
        raise ValueError(f"{name} is too large for a float: {reprlib.repr(value)}") from None
    except (TypeError, ValueError) as error:
        shown = reprlib.repr(value)
        raise ValueError(f"{name} must be a real number, got {shown} ({error})") from None
