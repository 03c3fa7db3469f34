"""A study file shared by several processes: an append-only JSON-lines journal under a file lock.

Why a journal and not SQLite: a study is a short sequence of small, independent operations
(suggest, observe, forget), so an append-only log maps onto it one line per operation and
reuses the JSON records and snapshot format of ``carbs_lite.state`` unchanged, where SQLite
would need a second schema kept in step with it. A crash can only leave an unterminated last
line, which is not committed (``carbs_lite.journal_file`` has the rule every reader applies),
so earlier records are never lost or rewritten, and the file stays readable with ``grep`` and
``jq``. ``fcntl.flock`` serializes processes on one machine; it is not reliable on network
filesystems (use the Ray integration across machines).

Layout: line 1 is ``{"kind": "header", "format", "version", "state"}`` where ``state`` is a
``StudyState.to_json`` snapshot. Each later line is one operation's delta: ``{"kind":
"suggest", "suggestion"}``, ``{"kind": "observe", "observation"}``, ``{"kind": "forget",
"id"}``, ``{"kind": "retract", "observation", "why"}``, ``{"kind": "warm_start",
"observations", "search_center"}`` (the center null when not re-centered), ``{"kind":
"recenter", "search_center"}`` or ``{"kind": "progress", "id", "point"}`` (an intermediate
result of an outstanding suggestion; a try stopped early is an ``observe`` record), all with
``counters``, the study's counters after the operation. Replay folds deltas onto the snapshot
and restores the in-memory study from it (``Tuner.from_state``), so no search logic is re-run.

Suggest fits its models with no lock held, on a snapshot of the study, then takes the
exclusive lock to append. If no record arrived meanwhile, it appends exactly the suggestion
the in-memory study makes next, so a journal used by one process at a time replays like a
``Tuner``. If records arrived, the suggestion (fitted without them) is appended as the next
suggestion number, unless its params equal those of a suggestion or observation that arrived
meanwhile (two workers that fit the same state draw the same point): then it is made again
on the new state, from a random stream of this process's own (``Tuner.suggest(stream)``), so
that the workers that fitted the same state do not all draw one point again and retry in
turn; after ``OPTIMISTIC_ATTEMPTS`` such tries it is made under the lock, where it always
succeeds. Ids stay unique because each is numbered under the lock.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import Heuristics
from carbs_lite.journal_file import (
    COUNTERS,
    FORMAT,
    VERSION,
    JournalError,
    JournalFile,
    applied,
    header_state,
    is_header_line,
    parse_records,
)
from carbs_lite.records import Metrics, Observation, StudyState, Suggestion, suggestion_key
from carbs_lite.spaces import Param, ParamSpace
from carbs_lite.state import locked_temp, new_file_mode, remove_stale_temps
from carbs_lite.study import Study

logger = logging.getLogger(__name__)

IDENTITY = ("seed", "params", "config", "heuristics")
"""Snapshot fields that define a study; reopening with params compares them."""
OPTIMISTIC_ATTEMPTS = 3
"""Suggestions fitted with no lock held before one is made under the lock."""


class InMemoryStudy(Protocol):
    """What the journal needs of the in-memory study it replays into (``carbs_lite.Tuner``)."""

    def suggest(self, stream: int = 0) -> Suggestion: ...

    def observe(self, *args: Any, **kwargs: Any) -> Observation: ...

    def observe_progress(self, *args: Any) -> Suggestion: ...

    def stop(
        self, suggestion: Suggestion | str, reason: str, extra: dict[str, Any] | None = None
    ) -> Observation: ...

    def forget(self, suggestion: Suggestion | str) -> None: ...

    def retract(self, index: int, why: str) -> None: ...

    def warm_start(self, results: Iterable[Observation], recenter: bool) -> list[Observation]: ...

    def set_search_center(self, params: dict[str, Any]) -> None: ...

    def to_state(self) -> StudyState: ...


class StudyType(Protocol):
    """The class of the in-memory study: built from params, or restored from a state."""

    def __call__(
        self,
        params: list[Param],
        config: TunerConfig | None,
        heuristics: Heuristics | None,
        seed: int,
        metrics: Metrics | None,
        tries: int | None,
    ) -> InMemoryStudy: ...

    def from_state(self, state: StudyState) -> InMemoryStudy: ...


@dataclass(frozen=True)
class _Snapshot:
    """The study as of byte ``offset`` of the journal: its JSON state, and an in-memory copy
    that belongs to one ``suggest`` call."""

    offset: int
    state: dict[str, Any]
    study: InMemoryStudy


class JournalStudy(Study):
    """A study whose every operation replays the journal's new records, then appends its own.

    The records are folded into a ``StudyState`` and handed to ``study_type`` (the in-memory
    ``Tuner``), which makes the suggestions (see the module docstring for how ``suggest``
    runs without holding the lock). A journal this process may not write opens read-only
    (``read_only``): reading works, and every operation that writes (``suggest``,
    ``observe``, ``forget``, ``retract``, ``warm_start``, ``set_search_center``) raises
    ``PermissionError`` before doing anything.
    """

    def __init__(self, path: str | Path, study_type: StudyType) -> None:
        self.path = Path(path)
        self._study_type = study_type
        self._file = JournalFile(self.path)
        try:
            with self._file.locked(exclusive=False):
                lines, end = self._file.committed_lines(0)
                self._header = self._state = header_state(self.path, lines)
                self._state = applied(self._state, parse_records(self.path, lines[1:]), self.path)
                self._study: InMemoryStudy | None = self._restore(self._state)
                self._offset = end
        except BaseException:
            self.close()
            raise
        definition = self._study.to_state()
        self.param_space = ParamSpace(definition.params)
        self.config = definition.config
        self.heuristics = definition.heuristics
        self.seed = definition.seed
        self.metrics = definition.metrics

    @property
    def read_only(self) -> bool:
        """Whether this process may only read the journal (it has no write permission)."""
        return self._file.read_only

    def suggest(self) -> Suggestion:
        """The next point, chosen with every process's observations and outstanding points
        as of when its models were fitted (see the module docstring)."""
        self._check_writable()
        for attempt in range(OPTIMISTIC_ATTEMPTS):
            snapshot = self._snapshot()
            # a retry means a worker that fitted the same state took this point; the others
            # that did would all draw the next one alike too, so each retries on a stream of
            # its own
            stream = 0 if attempt == 0 else int.from_bytes(os.urandom(7), "big") + 1
            suggestion = snapshot.study.suggest(stream)  # the model fits, with no lock held
            committed = self._commit_suggestion(snapshot, suggestion)
            if committed is not None:
                return committed

        def action(study: InMemoryStudy) -> tuple[Suggestion, dict[str, Any]]:
            suggestion = study.suggest()
            return suggestion, {"suggestion": suggestion.to_json()}

        return self._write("suggest", action)

    def observe(
        self,
        params_or_suggestion: dict[str, Any] | Suggestion | str,
        output: float,
        cost: float,
        is_failure: bool = False,
        extra: dict[str, Any] | None = None,
        counts_as_try: bool = False,
    ) -> Observation:
        """Record a result (see ``Study.observe``); it is on disk when this returns."""
        self._check_writable()

        def action(study: InMemoryStudy) -> tuple[Observation, dict[str, Any]]:
            observation = study.observe(
                params_or_suggestion, output, cost, is_failure, extra, counts_as_try
            )
            return observation, {"observation": observation.to_json()}

        return self._write("observe", action)

    def observe_progress(
        self, suggestion: Suggestion | str, step: float, output: float, cost: float
    ) -> Suggestion:
        """Record an intermediate result (see ``Study.observe_progress``) for every process."""
        self._check_writable()

        def action(study: InMemoryStudy) -> tuple[Suggestion, dict[str, Any]]:
            updated = study.observe_progress(suggestion, step, output, cost)
            return updated, {"id": updated.id, "point": updated.progress[-1].to_json()}

        return self._write("progress", action)

    def stop(
        self, suggestion: Suggestion | str, reason: str, extra: dict[str, Any] | None = None
    ) -> Observation:
        """Record a try as stopped early (see ``Study.stop``), as an ``observe`` record."""
        self._check_writable()

        def action(study: InMemoryStudy) -> tuple[Observation, dict[str, Any]]:
            observation = study.stop(suggestion, reason, extra)
            return observation, {"observation": observation.to_json()}

        return self._write("observe", action)

    def forget(self, suggestion: Suggestion | str) -> None:
        """Drop an outstanding suggestion (or the one with that id), possibly made by another
        process."""
        self._check_writable()
        wanted = suggestion_key(suggestion)

        def action(study: InMemoryStudy) -> tuple[None, dict[str, Any]]:
            study.forget(wanted)
            return None, {"id": wanted}

        self._write("forget", action)

    def retract(self, index: int, why: str) -> None:
        """Take back an observation (see ``Study.retract``), appended as its own record."""
        self._check_writable()

        def action(study: InMemoryStudy) -> tuple[None, dict[str, Any]]:
            study.retract(index, why)
            return None, {"observation": index, "why": why}

        self._write("retract", action)

    def warm_start(
        self, results: Iterable[Observation], recenter: bool = True
    ) -> list[Observation]:
        """Record earlier results (see ``Study.warm_start``), appended as one record."""
        self._check_writable()
        results = list(results)

        def action(study: InMemoryStudy) -> tuple[list[Observation], dict[str, Any]]:
            recorded = study.warm_start(results, recenter)
            center = study.to_state().search_center if recenter else None
            return recorded, {
                "observations": [o.to_json() for o in recorded],
                "search_center": center,
            }

        return self._write("warm_start", action)

    def set_search_center(self, params: dict[str, Any]) -> None:
        """Move the search center (see ``Study.set_search_center``) for every process."""
        self._check_writable()

        def action(study: InMemoryStudy) -> tuple[None, dict[str, Any]]:
            study.set_search_center(params)
            return None, {"search_center": study.to_state().search_center}

        self._write("recenter", action)

    def to_state(self) -> StudyState:
        """The state after every record any process has committed so far."""
        with self._file.locked(exclusive=False):
            self._refresh()
            return self._live().to_state()

    def close(self) -> None:
        if hasattr(self, "_file"):
            self._file.close()

    def __enter__(self) -> JournalStudy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_writable(self) -> None:
        if self.read_only:
            raise PermissionError(
                f"{self.path} is open read-only (this process may not write it): reading "
                "works, every operation that writes needs write permission"
            )

    def _snapshot(self) -> _Snapshot:
        """The current study, handed over to one suggest call (the handle rebuilds its own);
        if it must be rebuilt from the records, that happens after the lock is released."""
        with self._file.locked(exclusive=False):
            self._refresh()
            offset, state, study = self._offset, self._state, self._study
            self._study = None
        return _Snapshot(offset, state, study if study is not None else self._restore(state))

    def _commit_suggestion(self, snapshot: _Snapshot, made: Suggestion) -> Suggestion | None:
        """Append ``made`` (made on ``snapshot``): as it is if no record arrived since, else
        renumbered; None, with nothing appended, if its params were taken meanwhile."""
        with self._file.locked(exclusive=True):
            self._refresh()
            after = snapshot.study.to_state().to_json()
            if self._offset == snapshot.offset:
                self._append({"kind": "suggest", "suggestion": made.to_json(), **_counters(after)})
                self._state, self._study = after, snapshot.study
                return made
            if _taken_since(snapshot.state, self._state, made.params, self.param_space):
                logger.debug(
                    "%s: suggestion %s was taken meanwhile; making another", self.path, made.id
                )
                return None
            suggestion = made.renumbered(self._state["suggestion_count"])
            logger.debug("%s: suggestion %s appended as %s", self.path, made.id, suggestion.id)
            counters = {k: self._state[k] + (after[k] - snapshot.state[k]) for k in COUNTERS}
            record = {"kind": "suggest", "suggestion": suggestion.to_json(), "counters": counters}
            self._append(record)
            self._state, self._study = applied(self._state, [record], self.path), None
            return suggestion

    def _write(
        self, kind: str, action: Callable[[InMemoryStudy], tuple[Any, dict[str, Any]]]
    ) -> Any:
        """Replay, apply ``action`` to the study, append its record; roll back if that fails."""
        with self._file.locked(exclusive=True):
            self._refresh()
            study = self._live()
            try:
                result, body = action(study)
                state = study.to_state().to_json()
                self._append({"kind": kind, **body, **_counters(state)})
            except BaseException:
                self._study = None  # rebuilt from the state before the action when next used
                raise
            self._state = state
            return result

    def _live(self) -> InMemoryStudy:
        """The in-memory study of the current state (rebuilt if a suggest call took it)."""
        if self._study is None:
            self._study = self._restore(self._state)
        return self._study

    def _refresh(self) -> None:
        """Fold in the records committed since the last read (caller holds the file lock)."""
        lines, end = self._file.committed_lines(self._offset)
        if lines:
            self._state = applied(self._state, parse_records(self.path, lines), self.path)
            self._study = None
        self._offset = end

    def _restore(self, state: dict[str, Any]) -> InMemoryStudy:
        """The in-memory study of a JSON state; ``JournalError`` if it is unreadable."""
        try:
            return self._study_type.from_state(StudyState.from_json(state))
        except ValueError as error:
            raise JournalError(f"{self.path}: {error}") from None

    def _append(self, record: dict[str, Any]) -> None:
        """Commit one record after the records read so far (caller holds the exclusive lock)."""
        line = json.dumps(record).encode()
        self._offset = self._file.append(line, self._offset)


def _counters(state: dict[str, Any]) -> dict[str, Any]:
    return {"counters": {k: state[k] for k in COUNTERS}}


def _taken_since(
    before: dict[str, Any], now: dict[str, Any], params: dict[str, Any], space: ParamSpace
) -> bool:
    """Whether a suggestion or observation that is in state ``now`` but not in ``before``
    is at the point ``params`` (the same ``ParamSpace.key``: a categorical True is not 1)."""
    known = {s["id"] for s in before["outstanding"]}
    suggested = [s["params"] for s in now["outstanding"] if s["id"] not in known]
    observed = [o["params"] for o in now["observations"][len(before["observations"]) :]]
    key = space.key(params)
    return any(space.key(taken) == key for taken in suggested + observed)


def is_journal(path: str | Path) -> bool:
    """Whether the file at ``path`` starts like a journal (its first line a journal header)."""
    with open(path, "rb") as stream:
        return is_header_line(stream.readline().rstrip(b"\n"))


def create_journal(path: str | Path, state: StudyState, study_type: StudyType) -> JournalStudy:
    """Start a journal at ``path`` from ``state``; ``FileExistsError`` if it exists.

    The header is written to a locked temp file (``carbs_lite.state.locked_temp``) and
    hard-linked into place, so the journal appears whole or not at all and only one of several
    racing creators succeeds.
    """
    path = Path(path)
    header = {"kind": "header", "format": FORMAT, "version": VERSION, "state": state.to_json()}
    remove_stale_temps(path)
    handle, temp = locked_temp(path)
    try:
        os.fchmod(handle, new_file_mode(path))
        with os.fdopen(handle, "w") as stream:
            stream.write(json.dumps(header) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
            os.link(temp, path)
    finally:
        os.unlink(temp)
    return JournalStudy(path, study_type)


def open_journal(
    path: str | Path,
    study_type: StudyType,
    params: list[Param] | None = None,
    config: TunerConfig | None = None,
    heuristics: Heuristics | None = None,
    seed: int = 0,
    metrics: Metrics | None = None,
    tries: int | None = None,
) -> JournalStudy:
    """Open the journal at ``path``, creating it first if it is absent and ``params`` are given.

    With ``params``, an existing journal must hold the study these arguments describe;
    ValueError naming what differs. A ``config``, ``heuristics`` or ``tries`` budget left out
    (None) is not compared: the journal keeps the settings it was made with, so that a worker
    restarted after an upgrade that changed a default still opens the study.
    """
    if params is None:
        if any(v is not None for v in (config, heuristics, metrics, tries)):
            raise ValueError(
                "config, heuristics, metrics and tries only apply when creating a study; pass "
                "params"
            )
        if not Path(path).exists():
            raise FileNotFoundError(f"{path}: no study journal here; pass params to create one")
        return JournalStudy(path, study_type)
    state = study_type(params, config, heuristics, seed, metrics, tries).to_state()
    try:
        return create_journal(path, state, study_type)
    except FileExistsError:
        pass
    journal = JournalStudy(path, study_type)
    wanted, found = _identity(state.to_json()), _identity(journal._header)
    left_out = {"config": config is None, "heuristics": heuristics is None}
    differing = [k for k in IDENTITY if wanted[k] != found[k] and not left_out.get(k, False)]
    if tries is not None and journal._header.get("tries") != tries:
        differing.append("tries")
    if differing:
        journal.close()
        raise ValueError(
            f"{path} holds a different study: its {', '.join(differing)} "
            f"{'differs' if len(differing) == 1 else 'differ'} from the arguments; open it "
            "without params or choose another path"
        )
    return journal


def _identity(state: dict[str, Any]) -> dict[str, Any]:
    """The fields that define a study, normalized through JSON; config and heuristics read
    back through their codecs, so that a field added since the journal was written (at its
    default) does not make the same study look different."""
    identity = json.loads(json.dumps({k: state[k] for k in IDENTITY}))
    identity["config"] = TunerConfig.from_json(identity["config"]).to_json()
    identity["heuristics"] = Heuristics.from_json(identity["heuristics"]).to_json()
    return identity
