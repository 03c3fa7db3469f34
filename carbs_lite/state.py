"""Versioned JSON save/load of a Tuner, written atomically (temp file + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import Heuristics
from carbs_lite.records import Observation, Suggestion
from carbs_lite.spaces import param_space_from_json
from carbs_lite.tuner import Tuner

FORMAT = "carbs_lite.tuner"
VERSION = 1


class StateFileError(ValueError):
    """A state file that cannot be read: corrupted, not ours, or from a newer version."""


def tuner_to_json(tuner: Tuner) -> dict[str, Any]:
    """Everything needed to continue the study, as plain JSON values."""
    with tuner._lock:
        return {
            "format": FORMAT,
            "version": VERSION,
            "seed": tuner.seed,
            "params": tuner.param_space.to_json(),
            "config": tuner.config.to_json(),
            "heuristics": tuner.heuristics.to_json(),
            "suggestion_count": tuner._suggestion_count,
            "resample_count": tuner._resample_count,
            "search_radius": tuner._search_radius,
            "observations": [o.to_json() for o in tuner._observations],
            "outstanding": [s.to_json() for s in tuner._outstanding.values()],
        }


def tuner_from_json(data: dict[str, Any]) -> Tuner:
    """Rebuild a tuner from ``tuner_to_json`` output; raises ``StateFileError`` if unreadable."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateFileError("not a carbs_lite tuner state (missing 'format')")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise StateFileError(
            f"state format version {version!r} is newer than this carbs_lite reads ({VERSION}); "
            "upgrade carbs_lite"
        )
    try:
        params = param_space_from_json(data["params"]).params
        tuner = Tuner(
            params,
            TunerConfig.from_json(data["config"]),
            Heuristics.from_json(data["heuristics"]),
            seed=data["seed"],
        )
        for record in data["observations"]:
            observation = Observation.from_json(record)
            tuner._observations.append(observation)
            tuner._inputs.append(tuner.param_space.to_basic(observation.params))
        for record in data["outstanding"]:
            suggestion = Suggestion.from_json(record)
            tuner._outstanding[suggestion.id] = suggestion
        tuner._suggestion_count = int(data["suggestion_count"])
        tuner._resample_count = int(data["resample_count"])
        tuner._search_radius = float(data["search_radius"])
    except (KeyError, TypeError, ValueError) as error:
        raise StateFileError(f"corrupted tuner state: {error!r}") from None
    return tuner


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


def save_tuner(tuner: Tuner, path: str | Path) -> None:
    """Atomically write the tuner's state to ``path``."""
    write_json_atomically(tuner_to_json(tuner), path)


def load_tuner(path: str | Path) -> Tuner:
    """Read a state file; a corrupted or newer file raises ``StateFileError`` and is left as is."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise StateFileError(f"{path}: not valid JSON ({error})") from None
    try:
        return tuner_from_json(data)
    except StateFileError as error:
        raise StateFileError(f"{path}: {error}") from None
