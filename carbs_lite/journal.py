"""A study file shared by several processes: an append-only JSON-lines journal under a file lock.

Why a journal and not SQLite: a study is a short sequence of small, independent operations
(suggest, observe, forget), so an append-only log maps onto it one line per operation and
reuses the JSON records and snapshot format of ``carbs_lite.state`` unchanged, where SQLite
would need a second schema kept in step with it. A crash can only tear the last line, which
readers detect, report and skip, so earlier records are never lost or rewritten, and the file
stays readable with ``grep`` and ``jq``. ``fcntl.flock`` serializes processes on one machine;
it is not reliable on network filesystems (use the Ray integration across machines).

Layout: line 1 is ``{"kind": "header", "format", "version", "state"}`` where ``state`` is a
``StudyState.to_json`` snapshot. Each later line is one operation's delta: ``{"kind":
"suggest", "suggestion"}``, ``{"kind": "observe", "observation"}``, ``{"kind": "forget",
"id"}``, ``{"kind": "retract", "observation", "why"}``, ``{"kind": "warm_start",
"observations", "search_center"}`` (the center null when not re-centered) or ``{"kind":
"recenter", "search_center"}``, all with ``counters``, the study's counters after the operation. Replay folds deltas
onto the snapshot and restores the in-memory study from it (``Tuner.from_state``), so no
search logic is re-run.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import Heuristics
from carbs_lite.records import Metrics, Observation, StateFileError, StudyState, Suggestion
from carbs_lite.spaces import Param, ParamSpace
from carbs_lite.state import new_file_mode
from carbs_lite.study import Study

logger = logging.getLogger(__name__)

FORMAT = "carbs_lite.journal"
VERSION = 1
COUNTERS = ("suggestion_count", "resample_count", "search_radius")
"""Snapshot fields that suggest/observe update internally; every record carries their new values."""
IDENTITY = ("seed", "params", "config", "heuristics")
"""Snapshot fields that define a study; reopening with params compares them."""

Lines = list[tuple[int, bytes]]


class JournalError(StateFileError):
    """A journal that cannot be read: not a journal, from a newer version, or a malformed record."""


class InMemoryStudy(Protocol):
    """What the journal needs of the in-memory study it replays into (``carbs_lite.Tuner``)."""

    def suggest(self) -> Suggestion: ...

    def observe(self, *args: Any, **kwargs: Any) -> Observation: ...

    def forget(self, suggestion_id: str) -> None: ...

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
    ) -> InMemoryStudy: ...

    def from_state(self, state: StudyState) -> InMemoryStudy: ...


class JournalStudy(Study):
    """A study whose every operation is locked, replays the journal, then appends to it.

    The journal's records are folded into a ``StudyState`` and handed to ``study_type`` (the
    in-memory ``Tuner``), which makes the suggestions. ``suggest`` holds the lock while fitting
    so that the new point sees every outstanding suggestion; suggestion ids stay unique because
    the count is global.
    """

    def __init__(self, path: str | Path, study_type: StudyType) -> None:
        self.path = Path(path)
        self._study_type = study_type
        # O_APPEND: every write lands at the end; reads use os.pread at an offset. The file
        # object closes the descriptor if the study is dropped without close().
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        self._file = os.fdopen(self._fd, "r+b", buffering=0)
        self._lock = threading.RLock()
        self._offset = 0
        try:
            with self._locked(fcntl.LOCK_SH):
                lines, end = self._new_lines()
                if not lines:
                    raise JournalError(f"{self.path}: empty file, no journal header")
                self._header = self._state = self._header_state(lines[0][1])
                self._study = self._fold(lines[1:])
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

    def suggest(self) -> Suggestion:
        """The next point, chosen with every process's observations and outstanding points."""

        def action(study: InMemoryStudy) -> tuple[Suggestion, dict[str, Any]]:
            suggestion = study.suggest()
            return suggestion, {"suggestion": suggestion.to_json()}

        return self._write("suggest", action)

    def observe(
        self,
        params_or_suggestion: dict[str, Any] | Suggestion,
        output: float,
        cost: float,
        is_failure: bool = False,
        extra: dict[str, Any] | None = None,
        counts_as_try: bool = False,
    ) -> Observation:
        """Record a result (see ``Study.observe``); it is on disk when this returns."""

        def action(study: InMemoryStudy) -> tuple[Observation, dict[str, Any]]:
            observation = study.observe(
                params_or_suggestion, output, cost, is_failure, extra, counts_as_try
            )
            return observation, {"observation": observation.to_json()}

        return self._write("observe", action)

    def forget(self, suggestion_id: str) -> None:
        """Drop an outstanding suggestion, possibly made by another process."""

        def action(study: InMemoryStudy) -> tuple[None, dict[str, Any]]:
            study.forget(suggestion_id)
            return None, {"id": suggestion_id}

        self._write("forget", action)

    def retract(self, index: int, why: str) -> None:
        """Take back an observation (see ``Study.retract``), appended as its own record."""

        def action(study: InMemoryStudy) -> tuple[None, dict[str, Any]]:
            study.retract(index, why)
            return None, {"observation": index, "why": why}

        self._write("retract", action)

    def warm_start(
        self, results: Iterable[Observation], recenter: bool = True
    ) -> list[Observation]:
        """Record earlier results (see ``Study.warm_start``), appended as one record."""
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

        def action(study: InMemoryStudy) -> tuple[None, dict[str, Any]]:
            study.set_search_center(params)
            return None, {"search_center": study.to_state().search_center}

        self._write("recenter", action)

    def to_state(self) -> StudyState:
        """The state after every record any process has appended so far."""
        return self._read(lambda study: study.to_state())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> JournalStudy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _locked(self, operation: int) -> Iterator[None]:
        """Hold the thread lock and ``flock(operation)`` on the journal; not re-entrant."""
        with self._lock:
            fcntl.flock(self._fd, operation)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _read(self, query: Callable[[InMemoryStudy], Any]) -> Any:
        with self._locked(fcntl.LOCK_SH):
            self._refresh()
            return query(self._study)

    def _write(
        self, kind: str, action: Callable[[InMemoryStudy], tuple[Any, dict[str, Any]]]
    ) -> Any:
        """Replay, apply ``action`` to the study, append its record; roll back if that fails."""
        with self._locked(fcntl.LOCK_EX):
            self._refresh()
            try:
                result, body = action(self._study)
                state = self._study.to_state().to_json()
                self._append({"kind": kind, **body, "counters": {k: state[k] for k in COUNTERS}})
            except BaseException:
                self._study = self._restore(self._state)
                raise
            self._state = state
            return result

    def _refresh(self) -> None:
        """Apply the records appended since the last read (caller holds the file lock)."""
        lines, end = self._new_lines()
        if lines:
            self._study = self._fold(lines)
        self._offset = end

    def _new_lines(self) -> tuple[Lines, int]:
        """Complete lines after the read offset with their byte offsets, and the end offset.

        Under the lock no one is writing, so an unterminated tail was torn by a crashed writer:
        it is reported and passed over (the next append starts a new line after it).
        """
        size = os.fstat(self._fd).st_size
        data = os.pread(self._fd, size - self._offset, self._offset)
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            logger.warning(
                "%s: skipping a truncated last record at byte %d (%d bytes); "
                "a writer probably died while appending it",
                self.path,
                self._offset + complete,
                len(data) - complete,
            )
        lines, start = [], self._offset
        for line in data[:complete].split(b"\n")[:-1]:
            lines.append((start, line))
            start += len(line) + 1
        return lines, size

    def _header_state(self, line: bytes) -> dict[str, Any]:
        """The snapshot the journal starts from; raises ``JournalError`` if it is not ours."""
        try:
            header = json.loads(line)
        except ValueError:
            raise JournalError(
                f"{self.path}: not a carbs_lite journal (unreadable header)"
            ) from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise JournalError(f"{self.path}: not a carbs_lite journal (missing 'format')")
        version = header.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise JournalError(
                f"{self.path}: journal version {version!r} is newer than this carbs_lite reads "
                f"({VERSION}); upgrade carbs_lite"
            )
        if not isinstance(header.get("state"), dict):
            raise JournalError(f"{self.path}: journal header has no 'state'")
        return header["state"]

    def _fold(self, lines: Lines) -> InMemoryStudy:
        """Apply ``lines`` to a copy of the snapshot, rebuild the study, then keep the copy."""
        state = {
            **self._state,
            "observations": list(self._state["observations"]),
            "outstanding": list(self._state["outstanding"]),
        }
        for offset, line in lines:
            record = self._parse(offset, line)
            if record is None:
                continue
            try:
                _APPLY[record["kind"]](state, record)
                state.update({k: record["counters"][k] for k in COUNTERS})
            except (KeyError, TypeError) as error:
                raise JournalError(
                    f"{self.path}: malformed record at byte {offset} ({error!r}); "
                    "written by a newer carbs_lite?"
                ) from None
        study = self._restore(state)
        self._state = state
        return study

    def _restore(self, state: dict[str, Any]) -> InMemoryStudy:
        """The in-memory study of a JSON state; ``JournalError`` if it is unreadable."""
        try:
            return self._study_type.from_state(StudyState.from_json(state))
        except ValueError as error:
            raise JournalError(f"{self.path}: {error}") from None

    def _parse(self, offset: int, line: bytes) -> dict[str, Any] | None:
        """One record, or None for a blank line or one torn by a crash (logged)."""
        if not line.strip():
            return None
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            logger.warning(
                "%s: skipping an unreadable record at byte %d (%d bytes); "
                "a writer probably died while appending it",
                self.path,
                offset,
                len(line),
            )
            return None
        return record

    def _append(self, record: dict[str, Any]) -> None:
        """Append one line and fsync; start a new line if the file ends in a torn record."""
        data = (json.dumps(record) + "\n").encode()
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)
        self._offset = size + len(data)


def _apply_suggest(state: dict[str, Any], record: dict[str, Any]) -> None:
    state["outstanding"].append(record["suggestion"])


def _apply_observe(state: dict[str, Any], record: dict[str, Any]) -> None:
    observation = record["observation"]
    state["observations"].append(observation)
    _drop_outstanding(state, observation["suggestion_id"])


def _apply_forget(state: dict[str, Any], record: dict[str, Any]) -> None:
    _drop_outstanding(state, record["id"])


def _apply_retract(state: dict[str, Any], record: dict[str, Any]) -> None:
    retraction = {"observation": record["observation"], "why": record["why"]}
    state["retracted"] = [*state.get("retracted", []), retraction]


def _apply_warm_start(state: dict[str, Any], record: dict[str, Any]) -> None:
    for observation in record["observations"]:
        _apply_observe(state, {"observation": observation})
    if record["search_center"] is not None:
        state["search_center"] = record["search_center"]


def _apply_recenter(state: dict[str, Any], record: dict[str, Any]) -> None:
    state["search_center"] = record["search_center"]


def _drop_outstanding(state: dict[str, Any], suggestion_id: str | None) -> None:
    state["outstanding"] = [s for s in state["outstanding"] if s["id"] != suggestion_id]


_APPLY: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "suggest": _apply_suggest,
    "observe": _apply_observe,
    "forget": _apply_forget,
    "retract": _apply_retract,
    "warm_start": _apply_warm_start,
    "recenter": _apply_recenter,
}


def is_journal(path: str | Path) -> bool:
    """Whether the file at ``path`` starts like a journal (its first line a journal header)."""
    with open(path, "rb") as stream:
        first = stream.readline()
    try:
        header = json.loads(first)
    except ValueError:
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT


def create_journal(path: str | Path, state: StudyState, study_type: StudyType) -> JournalStudy:
    """Start a journal at ``path`` from ``state``; ``FileExistsError`` if it exists.

    The header is written to a temp file and hard-linked into place, so the journal appears
    whole or not at all and only one of several racing creators succeeds.
    """
    path = Path(path)
    header = {"kind": "header", "format": FORMAT, "version": VERSION, "state": state.to_json()}
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
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
) -> JournalStudy:
    """Open the journal at ``path``, creating it first if it is absent and ``params`` are given.

    With ``params``, an existing journal must hold the study these arguments describe.
    """
    if params is None:
        if config is not None or heuristics is not None or metrics is not None:
            raise ValueError(
                "config, heuristics and metrics only apply when creating a study; pass params"
            )
        if not Path(path).exists():
            raise FileNotFoundError(f"{path}: no study journal here; pass params to create one")
        return JournalStudy(path, study_type)
    state = study_type(params, config, heuristics, seed, metrics).to_state()
    try:
        return create_journal(path, state, study_type)
    except FileExistsError:
        pass
    journal = JournalStudy(path, study_type)
    wanted, found = _identity(state.to_json()), _identity(journal._header)
    differing = [k for k in IDENTITY if wanted[k] != found[k]]
    if differing:
        journal.close()
        raise ValueError(
            f"{path} holds a different study: its {', '.join(differing)} differ from the "
            "arguments; open it without params or choose another path"
        )
    return journal


def _identity(state: dict[str, Any]) -> dict[str, Any]:
    """The fields that define a study, normalized through JSON."""
    return json.loads(json.dumps({k: state[k] for k in IDENTITY}))
