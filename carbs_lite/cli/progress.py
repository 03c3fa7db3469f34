"""The commands of a running try: progress (an intermediate result), should-stop, stop."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from carbs_lite.cli.common import (
    CommandError,
    cost_text,
    number,
    open_study,
    output_text,
    positive_float,
    refuse_other_tasks_options,
    tries_text,
)
from carbs_lite.tasks import preset

if TYPE_CHECKING:
    from carbs_lite.study import Study


def add_progress_commands(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `progress`, `should-stop` and `stop`; returns the `progress` parser, which
    task presets give their own flags (as `observe`)."""
    progress = commands.add_parser(
        "progress", help="record an intermediate result of a running try (its learning curve)"
    )
    progress.add_argument("study", help="the study file")
    progress.add_argument("id", help="the outstanding suggestion's id")
    progress.add_argument(
        "--step", type=number, required=True, help="steps done so far (epochs, days; increasing)"
    )
    progress.add_argument(
        "--output", type=number, help="the output at that step (nan: the run diverged there)"
    )
    progress.add_argument("--cost", type=positive_float, help="the cost spent so far (> 0)")
    progress.set_defaults(func=cmd_progress, failed=False)

    should_stop = commands.add_parser(
        "should-stop", help="whether the early-stopping rule would stop a running try, and why"
    )
    should_stop.add_argument("study", help="the study file")
    should_stop.add_argument("id", help="the outstanding suggestion's id")
    should_stop.add_argument(
        "--json", action="store_true", help='one line: {"stop": true|false, "reason": ...}'
    )
    should_stop.set_defaults(func=cmd_should_stop)

    stop = commands.add_parser(
        "stop", help="record a running try as stopped at its last intermediate result"
    )
    stop.add_argument("study", help="the study file")
    stop.add_argument("id", help="the outstanding suggestion's id")
    stop.add_argument("--why", help="the reason (default: the early-stopping rule's)")
    stop.set_defaults(func=cmd_stop)
    return progress


def _point(args: argparse.Namespace, study: Study) -> tuple[float, float]:
    """(output, cost) from the task preset's own flags, or the generic ones."""
    refuse_other_tasks_options(args, study.metrics.task)
    task = preset(study.metrics.task)
    values = task.observed(args, study) if task is not None else None
    if values is not None:
        return values[0], values[1]
    if args.output is None or args.cost is None:
        raise CommandError("give --output and --cost (the cost spent so far)")
    return args.output, args.cost


def cmd_progress(args: argparse.Namespace) -> int:
    """Record one point of a running try's learning curve."""
    with open_study(args.study, write=True) as study:
        output, cost = _point(args, study)
        try:
            suggestion = study.observe_progress(args.id, args.step, output, cost)
        except ValueError as error:
            raise CommandError(str(error)) from None
    metrics, point = study.metrics, suggestion.progress[-1]
    print(
        f"recorded {args.id} at {metrics.step} {point.step:g}: "
        f"{output_text(metrics, point.output)}, {cost_text(metrics, point.cost)} spent "
        f"({len(suggestion.progress)} intermediate result(s))"
    )
    return 0


def cmd_should_stop(args: argparse.Namespace) -> int:
    """Print yes or no and the rule's reason, or with ``--json`` one JSON line for scripts
    (exit code 0 either way: 2 is kept for errors)."""
    with open_study(args.study) as study:
        try:
            decision = study.stop_decision(args.id)
        except ValueError as error:
            raise CommandError(str(error)) from None
    if args.json:
        print(json.dumps({"stop": decision.stop, "reason": decision.reason}))
    else:
        print(f"{'yes' if decision.stop else 'no'}: {decision.reason}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    """Record a running try as stopped; the reason is ``--why`` or the rule's own."""
    with open_study(args.study, write=True) as study:
        try:
            reason = args.why
            if reason is None:
                decision = study.stop_decision(args.id)
                if not decision.stop:
                    raise CommandError(
                        f"the early-stopping rule would not stop {args.id} ({decision.reason}); "
                        "give --why to stop it anyway"
                    )
                reason = decision.reason
            study.stop(args.id, reason)
        except ValueError as error:
            raise CommandError(str(error)) from None
        state = study.to_state()
    print(
        f"recorded try #{len(state.observations)} ({args.id}) as stopped: {reason}; "
        f"{tries_text(state)}"
    )
    return 0
