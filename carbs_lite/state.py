"""Study files: a ``StudyState`` as versioned JSON, written atomically (temp file + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from carbs_lite.records import StateFileError, StudyState


def write_json_atomically(data: Any, path: str | Path) -> None:
    """Write JSON to a temp file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(data, stream, indent=1)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def save_state(state: StudyState, path: str | Path) -> None:
    """Atomically write ``state`` to ``path``."""
    write_json_atomically(state.to_json(), path)


def load_state(path: str | Path) -> StudyState:
    """Read a study file; a corrupted or newer file raises ``StateFileError`` and is left as is."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise StateFileError(f"{path}: not valid JSON ({error})") from None
    try:
        return StudyState.from_json(data)
    except StateFileError as error:
        raise StateFileError(f"{path}: {error}") from None
