"""The journal's file format: its header, the commit rule, locking, reading the committed
lines, appending one, and folding records onto a JSON state (``carbs_lite.journal`` has the
study on top of it).

Commit rule: a record is committed once its whole line, the terminating newline included, is
in the file; an append writes the line and fsyncs it before its operation returns. An
unterminated last line therefore belongs to an operation that never returned to its caller
(its writer died, or failed part-way and saw an error), even when the line holds a whole JSON
record: every reader stops at the last newline and ignores what follows, and the next writer,
holding the exclusive lock, cuts it off before appending. So every handle and every fresh
open read the same records, whichever of them wrote last.

Locking: ``fcntl.flock`` on the journal, shared to read and exclusive to append, plus a thread
lock, since threads sharing a descriptor share its flock. A process that may not write the
file opens it read-only: it reads as any other handle does, and ``append`` raises
``PermissionError``.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from carbs_lite.records import STATE_FORMAT, StateFileError

logger = logging.getLogger(__name__)

FORMAT = "carbs_lite.journal"
VERSION = 1
COUNTERS = ("suggestion_count", "resample_count", "search_radius")
"""Snapshot fields that suggest/observe update internally; every record carries their new values."""

Lines = list[tuple[int, bytes]]
"""Committed lines, each with the byte offset it starts at, without its newline."""


class JournalError(StateFileError):
    """A journal that cannot be read: not a journal, from a newer version, or a malformed record."""


class JournalFile:
    """An open journal file: read-write, or read-only when the process may not write it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            handle = os.open(path, os.O_RDWR | os.O_APPEND)
            self.read_only = False
        except OSError as error:
            if error.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            handle = os.open(path, os.O_RDONLY)
            self.read_only = True
        # O_APPEND: every write lands at the end; reads use os.pread at an offset. The file
        # object closes the descriptor if the journal is dropped without close().
        self._fd = handle
        self._file = os.fdopen(handle, "rb" if self.read_only else "r+b", buffering=0)
        self._lock = threading.Lock()
        self._torn_seen: tuple[int, int] | None = None

    def close(self) -> None:
        self._file.close()

    @contextmanager
    def locked(self, exclusive: bool) -> Iterator[None]:
        """Hold the thread lock and the file lock (exclusive or shared); not re-entrant."""
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def committed_lines(self, offset: int) -> tuple[Lines, int]:
        """The committed lines after byte ``offset`` and the offset just past the last of them
        (the caller holds the lock); an unterminated tail is logged once and left unread."""
        size = os.fstat(self._fd).st_size
        data = os.pread(self._fd, max(size - offset, 0), offset)
        end = data.rfind(b"\n") + 1
        # only a journal's tail can be a torn record: the tail of another file (a snapshot
        # study without a last newline) is reported as what it is, not as a dead writer's
        first = data[: data.find(b"\n")] if end else b""
        torn = end < len(data) and (offset > 0 or is_header_line(first))
        if torn and self._torn_seen != (offset + end, size):
            self._torn_seen = (offset + end, size)
            logger.warning(
                "%s: ignoring an unterminated last record at byte %d (%d bytes): its writer "
                "died or failed while appending it, so its operation did not happen",
                self.path,
                offset + end,
                len(data) - end,
            )
        lines, start = [], offset
        for line in data[:end].split(b"\n")[:-1]:
            lines.append((start, line))
            start += len(line) + 1
        return lines, offset + end

    def append(self, line: bytes, end: int) -> int:
        """Commit ``line`` (without newline) after byte ``end``, the end of the committed
        lines, and return the new end. The caller holds the exclusive lock and has read up to
        ``end``, so anything past it is a torn record, cut off first. A failed append is cut
        back off (not committed) before the error propagates."""
        if self.read_only:
            raise PermissionError(
                errno.EACCES,
                f"{self.path} is open read-only (this process may not write it): reading works, "
                "every operation that writes needs write permission",
            )
        if os.fstat(self._fd).st_size > end:
            logger.warning("%s: cutting off the unterminated record at byte %d", self.path, end)
            os.ftruncate(self._fd, end)
        data = line + b"\n"
        try:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            os.fsync(self._fd)
        except BaseException:
            self._cut_back(end)
            raise
        return end + len(data)

    def _cut_back(self, end: int) -> None:
        """Remove a failed append's bytes; if even that fails, the next writer cuts them."""
        try:
            os.ftruncate(self._fd, end)
        except OSError as error:
            logger.error("%s: could not cut off a failed append: %s", self.path, error)


def is_header_line(line: bytes) -> bool:
    """Whether ``line`` (without its newline) is a journal header: JSON with this ``FORMAT``."""
    try:
        header = json.loads(line)
    except ValueError:
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT


def header_state(path: Path, lines: Lines) -> dict[str, Any]:
    """The snapshot the journal starts from, from its first line; ``JournalError`` if the
    file is not a journal (naming a snapshot study and how to read it) or is newer."""
    if not lines:
        raise not_a_journal(path, "no journal header")
    try:
        header = json.loads(lines[0][1])
    except ValueError:
        raise not_a_journal(path, "unreadable header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise not_a_journal(path, "missing 'format'")
    version = header.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise JournalError(
            f"{path}: journal version {version!r} is newer than this carbs_lite reads "
            f"({VERSION}); upgrade carbs_lite"
        )
    if not isinstance(header.get("state"), dict):
        raise JournalError(f"{path}: journal header has no 'state'")
    return header["state"]


def not_a_journal(path: Path, reason: str) -> JournalError:
    """The error for a file that is not a journal: an empty file, a snapshot study (with how
    to use it), or something else (``reason``)."""
    try:
        data = path.read_bytes()
        content = json.loads(data) if data.strip() else None
    except (OSError, ValueError):
        data, content = b"?", None
    if not data.strip():
        return JournalError(f"{path}: not a carbs_lite journal (empty file)")
    if isinstance(content, dict) and content.get("format") == STATE_FORMAT:
        return JournalError(
            f"{path}: not a carbs_lite journal but a snapshot study (written by save() or "
            "`carbs-lite init`); read it with Tuner.load(path) and write it back with "
            "save(path), or use it with the carbs-lite commands. Tuner.open(path, params) "
            "creates a journal for several processes at a new path"
        )
    return JournalError(f"{path}: not a carbs_lite journal ({reason})")


def parse_records(path: Path, lines: Lines) -> list[dict[str, Any]]:
    """The records of committed lines, each with its byte ``offset``. A line that is not a
    record (written whole only by versions that glued a torn record to the next one) is logged
    and skipped by every reader alike; blank lines are skipped."""
    records = []
    for offset, line in lines:
        try:
            record = json.loads(line) if line.strip() else None
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append({**record, "offset": offset})
        elif line.strip():
            logger.warning(
                "%s: skipping an unreadable record at byte %d (%d bytes)", path, offset, len(line)
            )
    return records


def applied(state: dict[str, Any], records: list[dict[str, Any]], path: Path) -> dict[str, Any]:
    """A new JSON state: ``records`` (each with its byte ``offset`` in the journal at
    ``path``) applied to ``state``; ``JournalError`` for a record of an unknown kind or shape."""
    state = {
        **state,
        "observations": list(state["observations"]),
        "outstanding": list(state["outstanding"]),
    }
    for record in records:
        try:
            _APPLY[record["kind"]](state, record)
            state.update({k: record["counters"][k] for k in COUNTERS})
        except (KeyError, TypeError, ValueError) as error:
            raise JournalError(
                f"{path}: malformed record at byte {record.get('offset')} ({error!r}); "
                "written by a newer carbs_lite?"
            ) from None
    return state


def _apply_suggest(state: dict[str, Any], record: dict[str, Any]) -> None:
    state["outstanding"].append(record["suggestion"])


def _apply_observe(state: dict[str, Any], record: dict[str, Any]) -> None:
    observation = record["observation"]
    state["observations"].append(observation)
    _drop_outstanding(state, observation["suggestion_id"])


def _apply_progress(state: dict[str, Any], record: dict[str, Any]) -> None:
    (suggestion,) = [s for s in state["outstanding"] if s["id"] == record["id"]]
    state["outstanding"] = [
        {**s, "progress": [*s.get("progress", []), record["point"]]} if s is suggestion else s
        for s in state["outstanding"]
    ]


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
    "progress": _apply_progress,
    "forget": _apply_forget,
    "retract": _apply_retract,
    "warm_start": _apply_warm_start,
    "recenter": _apply_recenter,
}
