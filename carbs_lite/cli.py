"""`carbs-lite` command line: parse, call, print.

carbs-lite run                      tune the built-in ads simulator, write a report
carbs-lite init STUDY --problem ads-arch   (both take --switch NAME=VALUE, a Heuristics field)
carbs-lite suggest STUDY            print the next arch and its id
carbs-lite observe STUDY ID --ne 0.7912 --qps 4120   (or --failed)
carbs-lite status STUDY             tries, the front, the best feasible
carbs-lite report STUDY -o report.html
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

from carbs_lite.ads_task import ArchTry, arch_tuner, observe_try, tune_arch
from carbs_lite.heuristics import Heuristics, heuristics_from_switches
from carbs_lite.state import StateFileError
from carbs_lite.tuner import Tuner

PROBLEMS = ("ads-arch",)
MAX_BUDGET_TRIES = 500
"""With --cost-budget a run stops when the budget is spent, or after this many tries."""


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


def _heuristics(switches: list[str]) -> Heuristics:
    """``Heuristics`` from ``--switch NAME=VALUE`` texts; CommandError naming a bad one."""
    try:
        return heuristics_from_switches(switches)
    except ValueError as error:
        raise CommandError(f"--switch: {error}") from None


def _format_try(result: ArchTry) -> str:
    status = "ok" if result.feasible else ("diverged" if result.diverged else "qps too low")
    return (
        f"try {result.index + 1:2d}  ne={result.ne:.6f}  qps={result.qps:8.1f}  "
        f"score={result.score:+.5f}  {status:11s}  arch={json.dumps(result.arch)}"
    )


def cmd_run(args: argparse.Namespace) -> int:
    from carbs_lite.bench.ads import ModelPerformanceAPI, get_default_model_config_dict

    heuristics = _heuristics(args.switch)
    config = get_default_model_config_dict()
    config["SEED"] = args.seed
    if args.noise_scale is not None:
        config["GLOBAL_NOISE_SCALE"] = args.noise_scale
    api = ModelPerformanceAPI(config)
    print(
        f"tuning the built-in ads simulator: {args.tries} tries, {args.days} days, qps > {args.min_qps:g}"
    )
    result = tune_arch(
        api,
        tries=args.tries,
        training_days=args.days,
        min_qps=args.min_qps,
        seed=args.seed,
        heuristics=heuristics,
        on_try=lambda t: print(_format_try(t), flush=True),
    )
    best = result.best
    if best is None:
        print("no feasible try")
    else:
        print(
            f"best feasible: arch={json.dumps(best.arch)} ne={best.ne:.6f} qps={best.qps:.1f} score={best.score:+.5f}"
        )
    _write_report(result.tuner, args.out)
    return 0


def _write_report(tuner: Tuner, path: str) -> None:
    from carbs_lite.report_study import write_study_report

    written = write_study_report(tuner, path)
    print(f"report: {written}")


def _load(path: str) -> Tuner:
    if not Path(path).exists():
        raise CommandError(f"{path}: no such study (create it with `carbs-lite init {path}`)")
    try:
        return Tuner.load(path)
    except StateFileError as error:
        raise CommandError(str(error)) from None


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.study)
    if path.exists() and not args.force:
        raise CommandError(f"{path} exists; pass --force to replace it")
    tuner = arch_tuner(min_qps=args.min_qps, seed=args.seed, heuristics=_heuristics(args.switch))
    tuner.save(path)
    print(f"created {path}: ads-arch study, qps > {args.min_qps:g}, seed {args.seed}")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    tuner = _load(args.study)
    suggestion = tuner.suggest()
    tuner.save(args.study)
    print(f"id:   {suggestion.id}")
    print(f"arch: {json.dumps(suggestion.params['arch'])}")
    return 0


def cmd_observe(args: argparse.Namespace) -> int:
    tuner = _load(args.study)
    pending = {s.id: s for s in tuner.outstanding}
    if args.id not in pending:
        known = ", ".join(pending) or "none"
        raise CommandError(f"unknown id {args.id!r}; outstanding suggestions: {known}")
    if args.failed == (args.ne is not None):
        raise CommandError("give either --ne (with --qps) or --failed")
    suggestion = pending[args.id]
    qps = args.qps
    if qps is None:
        if not args.failed:
            raise CommandError("--qps is required with --ne")
        qps = 1.0 / tuner.config.max_suggestion_cost
    ne = math.nan if args.failed else args.ne
    try:
        observe_try(tuner, suggestion, ne, qps)
    except ValueError as error:
        raise CommandError(str(error)) from None
    tuner.save(args.study)
    print(f"recorded {args.id}: " + ("failed" if args.failed else f"ne={ne} qps={qps}"))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    tuner = _load(args.study)
    min_qps = 1.0 / tuner.config.max_suggestion_cost
    print(f"{'#':>3}  {'id':14s} {'ne':>9s} {'qps':>9s}  status       arch")
    for i, o in enumerate(tuner.observations, 1):
        qps = 1.0 / o.cost
        status = "failed" if o.is_failure else ("ok" if qps > min_qps else "qps too low")
        print(
            f"{i:3d}  {o.suggestion_id or '-':14s} {o.output:9.6f} {qps:9.1f}  {status:11s}  {json.dumps(o.params['arch'])}"
        )
    for s in tuner.outstanding:
        print(f"  -  {s.id:14s} {'pending':>9s} {'':>9s}  {'':11s}  {json.dumps(s.params['arch'])}")
    print("pareto front (cheapest first):")
    for p in tuner.pareto_front():
        print(
            f"  ne={p.output:.6f} qps={1.0 / p.cost:9.1f} runs={p.count} arch={json.dumps(p.params['arch'])}"
        )
    best = tuner.best()
    print(
        "best feasible: "
        + (
            "none"
            if best is None
            else f"ne={best.output:.6f} qps={1.0 / best.cost:.1f} arch={json.dumps(best.params['arch'])}"
        )
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    _write_report(_load(args.study), args.output)
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    import platform

    from carbs_lite.ablate import load_specs, run_sweep, variants_from
    from carbs_lite.ablation_summary import write_outputs
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

    run = commands.add_parser("run", help="tune the built-in ads simulator and write a report")
    run.add_argument("--tries", type=int, default=10)
    run.add_argument("--days", type=int, default=60)
    run.add_argument("--min-qps", type=_positive_float, default=3500.0)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--noise-scale", type=float, default=None, help="simulator GLOBAL_NOISE_SCALE")
    run.add_argument("--out", default="carbs-lite-report.html", help="HTML report path")
    _add_switch_option(run)
    run.set_defaults(func=cmd_run)

    init = commands.add_parser("init", help="create a study file")
    init.add_argument("study")
    init.add_argument("--problem", choices=PROBLEMS, default="ads-arch")
    init.add_argument("--min-qps", type=_positive_float, default=3500.0)
    init.add_argument("--seed", type=int, default=0)
    init.add_argument("--force", action="store_true", help="replace an existing study")
    _add_switch_option(init)
    init.set_defaults(func=cmd_init)

    suggest = commands.add_parser("suggest", help="print the next arch to train and its id")
    suggest.add_argument("study")
    suggest.set_defaults(func=cmd_suggest)

    observe = commands.add_parser("observe", help="record the result of a suggestion")
    observe.add_argument("study")
    observe.add_argument("id")
    observe.add_argument("--ne", type=_positive_float, help="normalized entropy (> 0)")
    observe.add_argument("--qps", type=_positive_float, help="serving queries per second (> 0)")
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
        return args.func(args)
    except CommandError as error:
        print(f"carbs-lite {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
