"""`carbs-lite ablate`: run the tuner with and without each heuristic, summarize, report."""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from carbs_lite.cli.common import CommandError, positive_float, positive_int


def cmd_ablate(args: argparse.Namespace) -> int:
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


def add_ablate_command(commands: argparse._SubParsersAction) -> None:
    """Register `carbs-lite ablate` and its options."""
    ablate = commands.add_parser("ablate", help="run the tuner with and without each heuristic")
    ablate.add_argument(
        "--switch",
        action="append",
        metavar="NAME[=VALUE]",
        help="a Heuristics/TunerConfig field (all its TOML alternatives) or one value",
    )
    ablate.add_argument("--problem", action="append", metavar="NAME", help="a problem to run")
    ablate.add_argument("--seeds", type=positive_int, default=10, help="seeds per problem")
    budget = ablate.add_mutually_exclusive_group()
    budget.add_argument("--tries", type=positive_int, default=12, help="tries per run")
    budget.add_argument(
        "--cost-budget", type=positive_float, default=None, help="total cost per run"
    )
    ablate.add_argument(
        "--workers", type=positive_int, default=os.cpu_count() or 1, help="processes"
    )
    ablate.add_argument("--out", default="ablation-out", help="output folder")
    ablate.add_argument("--specs", default="ablations", help="folder of switch TOML files")
    ablate.set_defaults(func=cmd_ablate)
