"""What every `carbs-lite` command shares: user errors, argument types, opening a study."""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carbs_lite.records import Metrics, StudyState
    from carbs_lite.study import Study


class CommandError(Exception):
    """A user error: printed as one line, exit code 2, nothing written."""


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0")
    return value


def nonnegative_float(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number >= 0")
    return value


def _integer(text: str, low: int, wording: str) -> int:
    """``text`` as an integer >= ``low``; ``ArgumentTypeError`` ending in ``wording``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"{text} {wording}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    return _integer(text, 1, "must be at least 1")


def nonnegative_int(text: str) -> int:
    """An argparse type: an integer >= 0 (a seed)."""
    return _integer(text, 0, "must be an integer >= 0")


def number(text: str) -> float:
    """An argparse type: any float, NaN and inf included (the study decides what they mean)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def metric_name(text: str) -> str:
    """An argparse type: a metric name or unit, not empty (an empty one was silently
    replaced by the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def finite_number(text: str) -> float:
    """An argparse type: a finite float (a run whose output is not one is ``--failed``)."""
    value = number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"{text} is not a finite number; record a run that failed with --failed"
        )
    return value


def refuse_other_tasks_options(args: argparse.Namespace, task: str | None) -> None:
    """``CommandError`` if a task preset's own option was given for a study of another task
    (``task``; None for a generic study): it would otherwise be silently ignored."""
    for name, actions in getattr(args, "task_options", {}).items():
        given = [a.option_strings[0] for a in actions if getattr(args, a.dest) is not None]
        if name != task and given:
            raise CommandError(
                f"{', '.join(given)}: only for {name} studies (init --problem {name}); "
                "this study takes the generic options"
            )


def _check_path(path: str) -> None:
    where = Path(path)
    if not where.exists():
        raise CommandError(f"{path}: no such study (create it with `carbs-lite init {path}`)")
    if where.is_dir():
        raise CommandError(f"{path} is a folder, not a study file")


def _load_snapshot(path: str) -> Study:
    from carbs_lite.records import StateFileError
    from carbs_lite.state import load_state
    from carbs_lite.tuner import Tuner

    state = load_state(path)
    try:
        return Tuner.from_state(state)
    except ValueError as error:  # a StateFileError naming the record, or a bad space
        raise StateFileError(f"{path}: {error}") from None


@contextmanager
def open_study(path: str, write: bool = False) -> Iterator[Study]:
    """The study at ``path`` for the block: a journal (it locks each operation itself) or a
    snapshot file. With ``write``, a snapshot is held under ``state.locked`` and saved back
    when the block ends without an error, so concurrent commands never lose an update."""
    from carbs_lite.journal import JournalStudy, is_journal
    from carbs_lite.records import StateFileError
    from carbs_lite.state import locked, save_state
    from carbs_lite.tuner import Tuner

    _check_path(path)
    try:
        if is_journal(path):
            with JournalStudy(path, Tuner) as journal:
                yield journal
            return
        with locked(path) if write else nullcontext():
            study = _load_snapshot(path)
            yield study
            if write:
                save_state(study.to_state(), path)
    except (OSError, StateFileError) as error:
        raise CommandError(_file_error(path, error)) from None


def _file_error(path: str, error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{path}: {error.strerror.lower()}"
    return str(error)


def report_path(text: str, flag: str = "--out") -> Path:
    """The page path ``text``, checked before any work: ``CommandError`` if it is a folder, a
    study file or another file that is not an HTML page (a space file, say), or if its folder
    is missing or not writable (``writable_file``). An earlier report is replaced."""
    from carbs_lite.state import study_file_format

    path = writable_file(text, flag)
    if study_file_format(path) is not None:
        raise CommandError(f"{flag} {text} holds a carbs_lite study; choose another report path")
    if path.exists() and not _is_html(path):
        raise CommandError(f"{flag} {text} exists and is not an HTML page; choose another path")
    return path


def _is_html(path: Path) -> bool:
    """Whether the file at ``path`` starts as an HTML page does (a doctype or an html tag)."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(256).lstrip().lower()
    except OSError:
        return False
    return head.startswith((b"<!doctype html", b"<html")) or not head


def writable_file(text: str, flag: str) -> Path:
    """The file path ``text`` of option ``flag``, checked before any work: ``CommandError`` if
    it is a folder, or if its folder is missing or not writable (probed with a temp file)."""
    path = Path(text)
    if path.is_dir():
        raise CommandError(f"{flag} {text} is a folder; give a file name")
    if not path.parent.is_dir():
        raise CommandError(f"{flag} {text}: folder {path.parent} does not exist")
    try:
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as error:
        raise CommandError(
            f"{flag} {text}: cannot write in {path.parent} ({error.strerror})"
        ) from None
    return path


def output_text(metrics: Metrics, output: float) -> str:
    """``NAME=value unit`` of an output, or ``failed`` for NaN."""
    return "failed" if math.isnan(output) else metrics.output_value(output, "=")


def cost_text(metrics: Metrics, cost: float) -> str:
    """``NAME=value unit`` of a cost, shown as its reciprocal under ``Metrics.cost_inverse``."""
    return metrics.cost_value(cost, "=")


def params_text(params: dict[str, Any]) -> str:
    """Params as one line of JSON, as the user gives them back with ``--params``."""
    return json.dumps(params)


def tries_text(state: StudyState) -> str:
    """``tries: 3 of 10 used`` (or ``3 used, no budget``), with what they are."""
    used, budget = state.tries_used, state.tries
    counted = f"{used} of {budget} used" if budget is not None else f"{used} used, no budget"
    outside = len(state.observations) + len(state.outstanding) - used
    extra = f"; {outside} more run(s) recorded without using a try" if outside else ""
    return f"tries: {counted} ({len(state.outstanding)} outstanding){extra}"
