"""`carbs-lite` command line: parse, call, print.

carbs-lite init STUDY --problem ads-arch     create a study from a task preset (--switch NAME=VALUE)
carbs-lite suggest STUDY                     print the next params and their id
carbs-lite observe STUDY ID --output X --cost Y   (or --failed; task presets add their flags)
carbs-lite status STUDY                      tries, the front, the best feasible
carbs-lite report STUDY -o report.html
carbs-lite ablate [--switch NAME[=VALUE]] [--problem NAME]
carbs-lite run                               (ads-arch) tune the built-in simulator, write a report

Every command reads snapshot studies (``Tuner.save``) and journal studies (``Tuner.open``)
alike. Task presets (``carbs_lite.tasks``) add their own commands and flags.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbs_lite.tasks import PRESETS, preset

if TYPE_CHECKING:
    from carbs_lite.heuristics import Heuristics
    from carbs_lite.study import Study


class CommandError(Exception):
    """A user error: printed as one line, exit code 2, nothing written."""


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _heuristics(switches: list[str]) -> Heuristics:
    """``Heuristics`` from ``--switch NAME=VALUE`` texts; CommandError naming a bad one."""
    from carbs_lite.heuristics import heuristics_from_switches

    try:
        return heuristics_from_switches(switches)
    except ValueError as error:
        raise CommandError(f"--switch: {error}") from None


def _open(path: str) -> Study:
    """The study at ``path``: a journal (shared, locked) or a snapshot file."""
    from carbs_lite.journal import is_journal
    from carbs_lite.records import StateFileError
    from carbs_lite.tuner import Tuner

    if not Path(path).exists():
        raise CommandError(f"{path}: no such study (create it with `carbs-lite init {path}`)")
    try:
        return Tuner.open(path) if is_journal(path) else Tuner.load(path)
    except StateFileError as error:
        raise CommandError(str(error)) from None


def _store(study: Study, path: str) -> None:
    """Write a snapshot study back; a journal study is on disk already."""
    from carbs_lite.tuner import Tuner

    if isinstance(study, Tuner):
        study.save(path)


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.study)
    if path.exists() and not args.force:
        raise CommandError(f"{path} exists; pass --force to replace it")
    study = preset(args.problem).create_study(args, args.heuristics)
    study.save(path)
    print(f"created {path}: {args.problem} study, seed {args.seed}")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    study = _open(args.study)
    suggestion = study.suggest()
    _store(study, args.study)
    print(f"id:     {suggestion.id}")
    print(f"params: {json.dumps(suggestion.params)}")
    return 0


def _observed_values(args: argparse.Namespace, study: Study) -> tuple[float, float, dict[str, Any]]:
    """(output, cost, extra) from the study's task preset's flags, or the generic ones."""
    task = preset(study.metrics.task)
    values = task.observed(args, study) if task is not None else None
    if values is not None:
        return values
    if args.failed == (args.output is not None):
        raise ValueError("give either --output (with --cost) or --failed")
    if args.cost is None:
        raise ValueError("--cost is required")
    return (math.nan if args.failed else args.output), args.cost, {}


def cmd_observe(args: argparse.Namespace) -> int:
    study = _open(args.study)
    pending = {s.id: s for s in study.outstanding}
    if args.id not in pending:
        known = ", ".join(pending) or "none"
        raise CommandError(f"unknown id {args.id!r}; outstanding suggestions: {known}")
    try:
        output, cost, extra = _observed_values(args, study)
        study.observe(pending[args.id], output, cost, is_failure=args.failed, extra=extra)
    except ValueError as error:
        raise CommandError(str(error)) from None
    _store(study, args.study)
    shown = "failed" if args.failed else f"{study.metrics.output}={output:.6g}"
    print(f"recorded {args.id}: {shown}, {_cost_text(study, cost)}")
    return 0


def _cost_text(study: Study, cost: float) -> str:
    metrics = study.metrics
    if metrics.cost_inverse:
        return f"{metrics.cost_inverse}={1.0 / cost:.6g}"
    return f"{metrics.cost}={cost:.6g}"


def cmd_status(args: argparse.Namespace) -> int:
    from carbs_lite.records import is_feasible

    study = _open(args.study)
    state = study.to_state()
    cap, metrics = state.config.max_suggestion_cost, state.metrics
    print(f"{'#':>3}  {'id':14s} {metrics.output:>10s}  {'status':11s}  cost, params")
    for i, o in enumerate(state.observations, 1):
        feasible = is_feasible(o.is_failure, o.cost, cap)
        status = "failed" if o.is_failure else ("ok" if feasible else "over the cap")
        print(
            f"{i:3d}  {o.suggestion_id or '-':14s} {o.output:10.6g}  {status:11s}  "
            f"{_cost_text(study, o.cost)}  {json.dumps(o.params)}"
        )
    for s in state.outstanding:
        print(f"  -  {s.id:14s} {'pending':>10s}  {'':11s}  {json.dumps(s.params)}")
    print("pareto front (cheapest first):")
    for p in study.pareto_front():
        print(
            f"  {metrics.output}={p.output:.6g} {_cost_text(study, p.cost)} runs={p.count} "
            f"params={json.dumps(p.params)}"
        )
    best = study.best()
    shown = "none"
    if best is not None:
        shown = (
            f"{metrics.output}={best.output:.6g} {_cost_text(study, best.cost)} "
            f"params={json.dumps(best.params)}"
        )
    print(f"best feasible: {shown}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    print(f"report: {_open(args.study).report(args.output)}")
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    import platform

    from carbs_lite.ablation.runner import load_specs, run_sweep, variants_from
    from carbs_lite.ablation.summary import write_outputs
    from carbs_lite.bench.suite import DEFAULT_SUITE, PROBLEMS

    specs = load_specs(args.specs) if Path(args.specs).is_dir() else {}
    switches = args.switch or list(specs)
    if not switches:
        raise CommandError(f"no --switch given and no *.toml in {args.specs}")
    problems = args.problem or DEFAULT_SUITE
    unknown = [p for p in problems if p not in PROBLEMS]
    if unknown:
        raise CommandError(f"unknown problems {unknown}; known: {sorted(PROBLEMS)}")
    try:
        variants = variants_from(switches, specs)
    except ValueError as error:
        raise CommandError(str(error)) from None
    started = time.perf_counter()
    out = Path(args.out)
    records = run_sweep(
        out, problems, variants, args.seeds, args.tries, args.cost_budget, args.workers
    )
    header = {
        "command": "carbs-lite " + " ".join(args.argv),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "wall time of this invocation": f"{time.perf_counter() - started:.0f} s",
        "runs": str(len(records)),
    }
    rows = write_outputs(out, records, header)
    for effect in (e for e in rows if e.problem == "all problems"):
        print(
            f"{effect.variant:40s} {effect.median_difference:+.4f} "
            f"[{effect.ci_low:+.4f}, {effect.ci_high:+.4f}] {effect.verdict}"
        )
    print(f"summary: {out / 'summary.md'}\nreport: {out / 'report.html'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carbs-lite", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create a study file")
    init.add_argument("study")
    init.add_argument("--problem", choices=sorted(PRESETS), default="ads-arch")
    init.add_argument("--seed", type=int, default=0)
    init.add_argument("--force", action="store_true", help="replace an existing study")
    _add_switch_option(init)
    init.set_defaults(func=cmd_init)

    suggest = commands.add_parser("suggest", help="print the next params to try and their id")
    suggest.add_argument("study")
    suggest.set_defaults(func=cmd_suggest)

    observe = commands.add_parser("observe", help="record the result of a suggestion")
    observe.add_argument("study")
    observe.add_argument("id")
    observe.add_argument("--output", type=_number, help="the observed output")
    observe.add_argument("--cost", type=_positive_float, help="the run's cost (> 0)")
    observe.add_argument("--failed", action="store_true", help="the run diverged or crashed")
    observe.set_defaults(func=cmd_observe)

    status = commands.add_parser("status", help="table of tries, the front, the best feasible")
    status.add_argument("study")
    status.set_defaults(func=cmd_status)

    report = commands.add_parser("report", help="write a self-contained HTML report")
    report.add_argument("study")
    report.add_argument("-o", "--output", default="report.html")
    report.set_defaults(func=cmd_report)

    ablate = commands.add_parser("ablate", help="run the tuner with and without each heuristic")
    ablate.add_argument(
        "--switch",
        action="append",
        metavar="NAME[=VALUE]",
        help="a Heuristics/TunerConfig field (all its TOML alternatives) or one value",
    )
    ablate.add_argument("--problem", action="append", metavar="NAME")
    ablate.add_argument("--seeds", type=int, default=10)
    budget = ablate.add_mutually_exclusive_group()
    budget.add_argument("--tries", type=int, default=12)
    budget.add_argument("--cost-budget", type=_positive_float, default=None)
    ablate.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ablate.add_argument("--out", default="ablation-out")
    ablate.add_argument("--specs", default="ablations", help="folder of switch TOML files")
    ablate.set_defaults(func=cmd_ablate)

    for name in PRESETS:
        task = preset(name)
        task.add_commands(commands, _add_switch_option)
        task.add_init_options(init)
        task.add_observe_options(observe)
    return parser


def _add_switch_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--switch",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a Heuristics field, e.g. search_space_probability=tail (repeatable)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `carbs-lite` console script; returns the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if args.command != "ablate" and hasattr(args, "switch"):
            args.heuristics = _heuristics(args.switch)
        return args.func(args)
    except CommandError as error:
        print(f"carbs-lite {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
