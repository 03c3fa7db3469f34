"""Study files: a ``StudyState`` as versioned JSON, written atomically (temp file + rename).

A save writes ``.NAME.XXXXXXXX`` (``tempfile.mkstemp``'s eight random characters) beside
``NAME``, holding an exclusive ``flock`` on it until it is renamed into place. A save killed on
the way leaves its temp file behind; the next save of ``NAME`` removes every such file that is
more than ``STALE_TEMP_SECONDS`` old and that no live process holds locked, so that a
concurrent save of the same file is never disturbed.

Files are created with the mode a plain ``open()`` would give them (0666 less the umask), or
keep the mode of the file they replace. ``locked`` serializes writers of one snapshot file.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from carbs_lite.journal_file import FORMAT as JOURNAL_FORMAT
from carbs_lite.records import STATE_FORMAT, StateFileError, StudyState

logger = logging.getLogger(__name__)

STALE_TEMP_SECONDS = 5.0
"""A temp file untouched for this long, and unlocked, belongs to a save that died. The age
test covers the instant between a saver creating its temp file and locking it."""


def locked_temp(path: Path) -> tuple[int, str]:
    """A new temp file beside ``path`` (``.NAME.XXXXXXXX``), open and exclusively locked:
    its descriptor and path. Closing the descriptor releases the lock."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle, temp


def remove_stale_temps(path: Path) -> None:
    """Remove the temp files of dead saves of ``path`` (see the module docstring); a file
    that cannot be removed is logged and left, never failing the save that called this."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}")
    now = time.time()
    for entry in os.scandir(path.parent):
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if now - info.st_mtime > STALE_TEMP_SECONDS and entry.is_file(follow_symlinks=False):
                _remove_unless_locked(entry.path)
        except FileNotFoundError:
            continue  # a concurrent save renamed or removed it
        except OSError as error:
            logger.warning("could not remove the stale temp file %s: %s", entry.path, error)


def _remove_unless_locked(temp: str) -> None:
    """Unlink ``temp`` if no process holds a lock on it (a live saver does)."""
    handle = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return
    finally:
        os.close(handle)
    os.unlink(temp)
    logger.info("removed %s, left by a save that did not finish", temp)


def new_file_mode(path: str | Path) -> int:
    """The mode for a file written at ``path``: that of the file it replaces, else 0666 less
    the process umask (read by setting it and putting it back, as the os module offers no
    read-only call)."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def write_bytes_atomically(data: bytes, path: str | Path) -> None:
    """Write ``data`` to a locked temp file in the same folder, fsync, then rename over
    ``path``; stale temp files of earlier saves are removed first."""
    path = Path(path)
    remove_stale_temps(path)
    handle, temp = locked_temp(path)
    try:
        os.fchmod(handle, new_file_mode(path))
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
            os.replace(temp, path)  # before closing: the temp file stays locked until renamed
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json_atomically(data: Any, path: str | Path) -> None:
    """``write_bytes_atomically`` of ``data`` as indented JSON."""
    write_bytes_atomically(json.dumps(data, indent=1).encode(), path)


def study_file_format(path: str | Path) -> str | None:
    """``STATE_FORMAT`` or ``JOURNAL_FORMAT`` if the file at ``path`` holds a carbs_lite study
    (judged by the first format tag in its first 4 KiB: a journal's header holds a snapshot's
    tag after its own), else None (also when it cannot be read)."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(4096)
    except OSError:
        return None
    found = {
        head.find(f'"format": "{name}"'.encode()): name for name in (STATE_FORMAT, JOURNAL_FORMAT)
    }
    found.pop(-1, None)
    return found[min(found)] if found else None


def save_state(state: StudyState, path: str | Path) -> None:
    """Atomically write ``state`` to ``path``; ValueError if ``path`` holds a journal, whose
    live handles would go on appending to the replaced file and lose their records."""
    if study_file_format(path) == JOURNAL_FORMAT:
        raise ValueError(f"{path} is a study journal (Tuner.open); save to another path")
    write_json_atomically(state.to_json(), path)


def load_state(path: str | Path) -> StudyState:
    """Read a study file; a corrupted or newer file raises ``StateFileError`` and is left as is."""
    try:
        data = json.loads(Path(path).read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise StateFileError(f"{path}: not valid JSON ({error})") from None
    try:
        return StudyState.from_json(data)
    except StateFileError as error:
        raise StateFileError(f"{path}: {error}") from None


@contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the file at ``path`` for the block.

    A writer replaces a snapshot by renaming a new file over it, so after the lock is granted
    the path may name a newer file than the one locked: then the newer one is locked instead.
    Several processes that each load, change and save inside the block never lose an update.
    """
    while True:
        handle = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            if os.fstat(handle).st_ino == os.stat(path).st_ino:
                break
        except BaseException:
            os.close(handle)
            raise
        os.close(handle)
    try:
        yield
    finally:
        os.close(handle)
