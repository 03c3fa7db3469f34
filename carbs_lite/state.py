"""Study files: a ``StudyState`` as versioned JSON, written atomically (temp file + rename).

Files are created with the mode a plain ``open()`` would give them (0666 less the umask), or
keep the mode of the file they replace. ``locked`` serializes writers of one snapshot file.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from carbs_lite.records import StateFileError, StudyState


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
    """Write ``data`` to a temp file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        os.fchmod(handle, new_file_mode(path))
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json_atomically(data: Any, path: str | Path) -> None:
    """``write_bytes_atomically`` of ``data`` as indented JSON."""
    write_bytes_atomically(json.dumps(data, indent=1).encode(), path)


def save_state(state: StudyState, path: str | Path) -> None:
    """Atomically write ``state`` to ``path``."""
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
