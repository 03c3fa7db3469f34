"""The back-and-forth commands: init, suggest, observe, forget, retract, report."""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbs_lite.cli.common import (
    CommandError,
    cost_text,
    open_study,
    output_text,
    params_text,
    refuse_other_tasks_options,
    report_path,
    tries_text,
)
from carbs_lite.tasks import preset

if TYPE_CHECKING:
    from carbs_lite.records import Metrics, StudyState, Suggestion
    from carbs_lite.study import Study
    from carbs_lite.tuner import Tuner

GENERIC_INIT_OPTIONS = (
    "space",
    "direction",
    "cost_cap",
    "output_name",
    "output_unit",
    "cost_name",
    "cost_unit",
    "cost_inverse",
    "step_name",
)
"""``init`` options that define a study from a space file; a task preset defines its own."""


def _metrics(args: argparse.Namespace) -> Metrics:
    from carbs_lite.records import Metrics

    given = {
        "output": args.output_name,
        "output_unit": args.output_unit,
        "cost": args.cost_name,
        "cost_unit": args.cost_unit,
        "cost_inverse": args.cost_inverse,
        "step": args.step_name,
    }
    return Metrics(**{name: value for name, value in given.items() if value})


def _generic_study(args: argparse.Namespace) -> Tuner:
    """The study of ``init --space FILE`` and its settings."""
    from carbs_lite.config import TunerConfig
    from carbs_lite.space_file import load_space_file
    from carbs_lite.tuner import Tuner

    if args.direction is None:
        raise CommandError("--direction (minimize or maximize) is required with --space")
    try:
        params = load_space_file(args.space)
    except OSError as error:
        raise CommandError(f"{args.space}: {(error.strerror or str(error)).lower()}") from None
    except ValueError as error:
        raise CommandError(str(error)) from None
    config = TunerConfig(
        direction=args.direction, max_suggestion_cost=args.cost_cap, **args.settings
    )
    return Tuner(params, config, args.heuristics, args.seed, _metrics(args), args.tries)


def _new_study(args: argparse.Namespace) -> Tuner:
    refuse_other_tasks_options(args, args.problem)
    if args.problem is None:
        return _generic_study(args)
    given = [f"--{n.replace('_', '-')}" for n in GENERIC_INIT_OPTIONS if getattr(args, n)]
    if given:
        raise CommandError(
            f"{', '.join(given)}: --problem {args.problem} defines its own space and metrics"
        )
    return preset(args.problem).create_study(args, args.heuristics)


def cmd_init(args: argparse.Namespace) -> int:
    """Create a study file (a snapshot, or with ``--journal`` a shared journal)."""
    from carbs_lite.journal import create_journal
    from carbs_lite.state import JOURNAL_FORMAT, study_file_format
    from carbs_lite.tuner import Tuner

    path = Path(args.study)
    if path.is_dir():
        raise CommandError(f"{path} is a folder")
    if path.exists() and not args.force:
        raise CommandError(f"{path} exists; pass --force to replace it")
    existing = study_file_format(path) if path.exists() else None
    if path.exists() and existing is None:
        raise CommandError(f"{path} is not a carbs_lite study; --force replaces only a study")
    study = _new_study(args)
    copied = _copy_from(args.from_study, study) if args.from_study else ""
    try:
        if args.journal or existing == JOURNAL_FORMAT:
            # a snapshot is never saved over a journal (save_state): the old one goes first
            path.unlink(missing_ok=True)
        if args.journal:
            create_journal(path, study.to_state(), Tuner).close()
        else:
            study.save(path)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from None
    state = study.to_state()
    kind = args.problem or "generic"
    names = ", ".join(p.name for p in state.params)
    print(f"created {path}: {kind} study of {names}, seed {args.seed}; {tries_text(state)}")
    if copied:
        print(copied)
    return 0


def _copy_from(source: str, study: Tuner) -> str:
    """Warm-start ``study`` with the results of the study at ``source`` that are not
    retracted, re-centered on the best feasible one if there is one; says what it copied.
    ``CommandError`` if the two studies' params (names and spaces) differ."""
    from carbs_lite.records import best_feasible

    with open_study(source) as other:
        state = other.to_state()
    ours = {p.name: p.space for p in study.param_space.params}
    theirs = {p.name: p.space for p in state.params}
    if ours != theirs:
        differing = sorted(n for n in ours.keys() | theirs.keys() if ours.get(n) != theirs.get(n))
        raise CommandError(
            f"--from {source}: its params differ from the new study's ({', '.join(differing)}); "
            "results can only be copied between studies of the same space"
        )
    if state.config.direction != study.config.direction:
        raise CommandError(
            f"--from {source}: it {state.config.direction.value}s its output and the new study "
            f"would {study.config.direction.value} it; its results would be read upside down"
        )
    results = state.active_observations
    recenter = best_feasible(results, study.config) is not None
    study.warm_start(results, recenter=recenter)
    center = f"; search re-centered on {params_text(study.to_state().search_center)}"
    return f"copied {len(results)} result(s) from {source}" + (center if recenter else "")


def cmd_suggest(args: argparse.Namespace) -> int:
    """Print the next point to try and its id; refuse past the tries budget unless --force."""
    with open_study(args.study, write=True) as study:
        state = study.to_state()
        _check_budget(state, args.force)
        suggestion = study.suggest()
        used = study.to_state().tries_used
        if state.tries is not None and used > state.tries and not args.force:
            # another process took the last try while this one fitted (a journal suggests
            # without holding the lock): give this suggestion back
            study.forget(suggestion.id)
            raise CommandError(
                f"the last try of the budget of {state.tries} was taken by another process "
                f"meanwhile ({tries_text(study.to_state())}); pass --force to suggest past it"
            )
    if args.json:
        line = {"id": suggestion.id, "params": suggestion.params, "tries_used": used}
        print(json.dumps({**line, "tries": state.tries}))
    else:
        budget = f" of {state.tries}" if state.tries is not None else ""
        # "tries used", not "try N": run numbers (#N in status and retract) also count runs
        # recorded without using a try, such as a baseline
        print(f"id:     {suggestion.id}   (tries used: {used}{budget}, this one included)")
        print(f"params: {params_text(suggestion.params)}")
    return 0


def _check_budget(state: StudyState, force: bool) -> None:
    """CommandError if every try of the study's budget is used (unless ``force``)."""
    if state.tries is not None and state.tries_used >= state.tries and not force:
        raise CommandError(
            f"the budget of {state.tries} tries is used up ({tries_text(state)}); "
            "pass --force to suggest past it"
        )


def _target(args: argparse.Namespace, study: Study, state: StudyState) -> Suggestion | dict:
    """The suggestion ``ID`` answers, or the params of ``--params``."""
    if args.id is not None and args.params is not None:
        raise CommandError("give a suggestion's ID or --params JSON, not both")
    if args.id is None and args.params is None:
        raise CommandError("give a suggestion's ID, or --params JSON for a run it did not suggest")
    if args.counts and args.params is None:
        raise CommandError("--counts applies to --params runs (an answered suggestion counts)")
    if args.params is not None:
        try:
            return study.param_space.validate(json.loads(args.params))
        except json.JSONDecodeError as error:
            raise CommandError(f"--params is not valid JSON: {error}") from None
        except ValueError as error:
            raise CommandError(f"--params: {error}") from None
    for number, observation in enumerate(state.observations, 1):
        if observation.suggestion_id == args.id:
            raise CommandError(
                f"{args.id} was already observed (try #{number}); to correct it, "
                f"`carbs-lite retract {args.study} {args.id} --why ...`, then record the right "
                "values with `observe --params`"
            )
    pending = {s.id: s for s in state.outstanding}
    if args.id not in pending:
        known = ", ".join(pending) or "none"
        raise CommandError(
            f"no outstanding suggestion {args.id!r} (never made, or forgotten); outstanding: "
            f"{known}. Record a run it did not suggest with --params"
        )
    return pending[args.id]


def _values(
    args: argparse.Namespace, study: Study, target: Suggestion | dict
) -> tuple[float, float, dict[str, Any]]:
    """(output, cost, extra) from the task's flags or the generic ones; a failure without a
    cost gets the suggestion's predicted cost, marked ``extra["cost_estimated"]``."""
    refuse_other_tasks_options(args, study.metrics.task)
    task = preset(study.metrics.task)
    values = task.observed(args, study) if task is not None else None
    if values is None:
        if args.failed == (args.output is not None):
            raise CommandError("give either --output (with --cost) or --failed")
        if args.cost is None and not args.failed:
            raise CommandError("--cost is required with --output")
        values = (math.nan if args.failed else args.output), args.cost, {}
    output, cost, extra = values
    if cost is not None:
        return output, cost, extra
    predicted = getattr(getattr(target, "diagnostics", None), "predicted_cost", math.nan)
    if not math.isfinite(predicted) or predicted <= 0:
        flag = getattr(task, "COST_FLAG", "--cost")
        if isinstance(target, dict):
            raise CommandError(
                f"a failed run needs its cost ({flag}): the study did not suggest this point, "
                "so no model predicted one"
            )
        raise CommandError(
            f"a failed run needs its cost ({flag}): no model predicted one for this point; "
            "if the run produced nothing, `carbs-lite forget` it instead"
        )
    return output, predicted, {**extra, "cost_estimated": True}


def cmd_observe(args: argparse.Namespace) -> int:
    """Record a result for a suggestion (ID) or for a point the user chose (--params)."""
    with open_study(args.study, write=True) as study:
        state = study.to_state()
        target = _target(args, study, state)
        output, cost, extra = _values(args, study, target)
        try:
            observation = study.observe(
                target, output, cost, args.failed, extra, counts_as_try=args.counts
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        state = study.to_state()
    metrics = state.metrics
    estimated = " (estimated by the cost model)" if extra.get("cost_estimated") else ""
    shown = "failed" if observation.is_failure else output_text(metrics, observation.output)
    name = observation.suggestion_id or "a run the study did not suggest"
    print(
        f"recorded try #{len(state.observations)} ({name}): {shown}, "
        f"{cost_text(metrics, observation.cost)}{estimated}; {tries_text(state)}"
    )
    if args.counts and state.tries is not None and state.tries_used > state.tries:
        print(f"note: this run goes past the budget of {state.tries} tries", file=sys.stderr)
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    """Drop an outstanding suggestion that will never come back."""
    with open_study(args.study, write=True) as study:
        try:
            study.forget(args.id)
        except ValueError as error:
            raise CommandError(str(error)) from None
        state = study.to_state()
    print(f"forgot {args.id}; {tries_text(state)}")
    return 0


def observation_index(state: StudyState, ref: str) -> int:
    """The 0-based index of the observation ``ref`` names: a suggestion id or a try number
    (``3`` or ``#3``, as ``status`` numbers them)."""
    for index, observation in enumerate(state.observations):
        if observation.suggestion_id == ref:
            return index
    match = re.fullmatch(r"#?(\d+)", ref)
    if match and 1 <= int(match.group(1)) <= len(state.observations):
        return int(match.group(1)) - 1
    if any(s.id == ref for s in state.outstanding):
        raise CommandError(
            f"{ref} is outstanding, not observed: nothing to retract; "
            "`carbs-lite forget` drops a suggestion that will never come back"
        )
    raise CommandError(
        f"no observed try {ref!r}: give a suggestion id or a try number from `carbs-lite status`"
    )


def cmd_retract(args: argparse.Namespace) -> int:
    """Take back a recorded result; it stays in the file, marked with the reason."""
    with open_study(args.study, write=True) as study:
        state = study.to_state()
        index = observation_index(state, args.ref)
        if index in state.retracted:
            raise CommandError(f"try #{index + 1} is already retracted ({state.retracted[index]})")
        try:
            study.retract(index, args.why)
        except ValueError as error:
            raise CommandError(str(error)) from None
    print(
        f"retracted try #{index + 1}: {args.why}. It stays in {args.study}, marked; the models, "
        "the front and the best pick leave it out"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the study's HTML report, never over the study itself or another study file."""
    from carbs_lite.report.study import write_study_report

    out = Path(args.output)
    study_path = Path(args.study)
    if out.exists() and study_path.exists() and out.samefile(study_path):
        raise CommandError(f"-o {out} is the study itself; choose another report path")
    report_path(args.output, "-o")
    with open_study(args.study) as study:
        state = study.to_state()
    try:
        print(f"report: {write_study_report(state, out)}")
    except OSError as error:
        raise CommandError(f"{out}: {(error.strerror or str(error)).lower()}") from None
    return 0
