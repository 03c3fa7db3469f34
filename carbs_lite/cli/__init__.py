"""`carbs-lite` command line: parse, call, print.

carbs-lite init STUDY --space space.toml --direction minimize   a study of any space
carbs-lite init STUDY --problem ads-arch       a task preset (its own space and metrics)
carbs-lite init STUDY --space FILE ... --from OTHER   start from another study's results
carbs-lite suggest STUDY                       the next params (JSON) and their id
carbs-lite observe STUDY ID --output X --cost Y      (or --failed; task presets add flags)
carbs-lite observe STUDY --params JSON ...     a run the study did not suggest
carbs-lite progress STUDY ID --step S --output X --cost C   an intermediate result
                                               of a running try (task presets add flags)
carbs-lite should-stop STUDY ID                would early stopping stop it? (yes/no, why)
carbs-lite stop STUDY ID [--why TEXT]          record a running try as stopped early
carbs-lite forget STUDY ID                     drop a suggestion that will never come back
carbs-lite retract STUDY ID --why TEXT         take back a recorded result (kept, marked)
carbs-lite status STUDY                        tries, the front, the best feasible
carbs-lite report STUDY -o report.html
carbs-lite ablate [--list] [--switch NAME[=VALUE]] [--problem NAME]
carbs-lite proxy [--fidelities 7 14 30] [--full 60]   do cheaper runs rank like full runs?
carbs-lite run                                 (ads-arch) tune the built-in simulator

Every command reads snapshot studies (``Tuner.save``) and journal studies (``Tuner.open``)
alike, and every user error is one line on stderr with exit code 2. Modules are imported by
the command that needs them, so that reading and recording stay fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from carbs_lite.cli.ablate import add_ablate_command
from carbs_lite.cli.commands import (
    cmd_forget,
    cmd_init,
    cmd_observe,
    cmd_report,
    cmd_retract,
    cmd_suggest,
)
from carbs_lite.cli.common import (
    CommandError,
    finite_number,
    metric_name,
    nonnegative_int,
    positive_float,
    positive_int,
)
from carbs_lite.cli.progress import add_progress_commands
from carbs_lite.cli.proxy import add_proxy_command
from carbs_lite.cli.status import cmd_status
from carbs_lite.tasks import PRESETS, preset


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default only when it has a real one (not None, False or empty) and
    its help does not already name it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        empty = action.default is None or action.default is False or action.default in ([], "")
        if empty or "default" in text:
            return text
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit code 2), defaults in --help."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_init_command(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    init = commands.add_parser("init", help="create a study file")
    init.add_argument("study", help="the study file to create")
    source = init.add_mutually_exclusive_group(required=True)
    source.add_argument("--space", metavar="FILE", help="a TOML space file (one table per param)")
    source.add_argument("--problem", choices=sorted(PRESETS), help="a task preset")
    init.add_argument(
        "--direction",
        choices=["minimize", "maximize"],
        help="of the output (required with --space; a --problem sets its own)",
    )
    init.add_argument(
        "--cost-cap", type=positive_float, help="runs must cost less than this (default: no cap)"
    )
    init.add_argument("--tries", type=positive_int, help="budget of tries (default: none)")
    for flag, meaning in (
        ("--output-name", "name of the output (default: output)"),
        ("--output-unit", "unit of the output"),
        ("--cost-name", "name of the cost (default: cost)"),
        ("--cost-unit", "unit of the cost"),
        ("--cost-inverse", "show 1/cost under this name (e.g. QPS)"),
        ("--step-name", "x axis of learning curves (default: step)"),
    ):
        init.add_argument(flag, type=metric_name, help=meaning)
    init.add_argument("--seed", type=nonnegative_int, default=0, help="seeds every suggestion")
    init.add_argument("--journal", action="store_true", help="a journal shared by processes")
    init.add_argument("--force", action="store_true", help="replace an existing study")
    init.add_argument(
        "--from",
        dest="from_study",
        metavar="OTHER_STUDY",
        help="copy the results of a study of the same space and re-center on its best",
    )
    _add_switch_option(init)
    init.set_defaults(func=cmd_init)
    return init


def _add_study_commands(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    suggest = commands.add_parser("suggest", help="print the next params to try and their id")
    suggest.add_argument("study", help="the study file")
    suggest.add_argument("--json", action="store_true", help="one machine-readable JSON line")
    suggest.add_argument("--force", action="store_true", help="suggest past the tries budget")
    suggest.set_defaults(func=cmd_suggest)

    observe = commands.add_parser("observe", help="record the result of a run")
    observe.add_argument("study", help="the study file")
    observe.add_argument("id", nargs="?", help="the suggestion's id (or give --params)")
    observe.add_argument("--params", metavar="JSON", help="params of a run it did not suggest")
    observe.add_argument("--counts", action="store_true", help="a --params run uses a try")
    observe.add_argument("--output", type=finite_number, help="the observed output")
    observe.add_argument("--cost", type=positive_float, help="the run's cost (> 0)")
    observe.add_argument("--failed", action="store_true", help="the run diverged or crashed")
    observe.set_defaults(func=cmd_observe, id_may_trail=True)

    forget = commands.add_parser("forget", help="drop a suggestion that will never come back")
    forget.add_argument("study", help="the study file")
    forget.add_argument("id", help="the outstanding suggestion's id")
    forget.set_defaults(func=cmd_forget)

    retract = commands.add_parser("retract", help="take back a recorded result")
    retract.add_argument("study", help="the study file")
    retract.add_argument("ref", metavar="ID", help="a suggestion id or a try number (#3)")
    retract.add_argument("--why", required=True, help="the reason, kept with the study")
    retract.set_defaults(func=cmd_retract)

    status = commands.add_parser("status", help="tries, the front and the best feasible")
    status.add_argument("study", help="the study file")
    status.set_defaults(func=cmd_status)

    report = commands.add_parser("report", help="write a self-contained HTML report")
    report.add_argument("study", help="the study file")
    report.add_argument("-o", "--output", default="report.html", help="the page to write")
    report.set_defaults(func=cmd_report)
    return observe


def build_parser() -> argparse.ArgumentParser:
    """The `carbs-lite` parser with every command, task presets' included."""
    parser = _Parser(prog="carbs-lite", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    init = _add_init_command(commands)
    observe = _add_study_commands(commands)
    progress = add_progress_commands(commands)
    add_ablate_command(commands)
    add_proxy_command(commands)
    task_options: dict[str, dict[str, list[argparse.Action]]] = {"init": {}, "observe": {}}
    for name in PRESETS:
        task = preset(name)
        task.add_commands(commands, _add_switch_option)
        task_options["init"][name] = task.add_init_options(init)
        task_options["observe"][name] = task.add_observe_options(observe)
        task.add_observe_options(progress)
    # a task's flags on a study of another task are refused, not silently ignored
    init.set_defaults(task_options=task_options["init"])
    observe.set_defaults(task_options=task_options["observe"])
    progress.set_defaults(task_options=task_options["observe"])
    return parser


def _add_switch_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--switch",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a Heuristics field or TunerConfig setting (`carbs-lite ablate --list` shows "
        "them), e.g. search_space_probability=density (repeatable)",
    )


def _settings(switches: list[str]) -> tuple[dict, object]:
    """``TunerConfig`` settings and ``Heuristics`` from ``--switch NAME=VALUE`` texts
    (``config.settings_from_switches``); CommandError naming a bad one."""
    from carbs_lite.config import settings_from_switches

    try:
        return settings_from_switches(switches)
    except ValueError as error:
        raise CommandError(f"--switch: {error}") from None


def _take_trailing_id(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list
) -> None:
    """``observe``'s optional id given after its options (argparse fills an optional
    positional only before them, and calls it unrecognized after); any other leftover is the
    usual one-line usage error, exit code 2."""
    trailing = len(extra) == 1 and not extra[0].startswith("-")
    if trailing and getattr(args, "id_may_trail", False) and args.id is None:
        args.id = extra[0]
        return
    parser.error(f"unrecognized arguments: {' '.join(extra)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `carbs-lite` console script; returns the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _take_trailing_id(parser, args, extra)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if args.command != "ablate" and hasattr(args, "switch"):
            args.settings, args.heuristics = _settings(args.switch)
        return args.func(args)
    except CommandError as error:
        print(f"carbs-lite {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"carbs-lite {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`carbs-lite status s.json | head`): not an error of ours. Point
        # stdout at /dev/null so that the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command a pipe cut short


if __name__ == "__main__":
    sys.exit(main())
