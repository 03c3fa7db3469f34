"""`carbs-lite ablate`: run the tuner with and without each heuristic, summarize, report.

The switch TOMLs ship with the package (``carbs_lite/ablation/specs``); a folder given by
``--specs`` (by default ``./ablations`` when it exists) adds to them or replaces them by field.
Problems that need a package that is not installed (BBOB needs coco-experiment) are left out of
the default suite, and the command says so before it starts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from carbs_lite.cli.common import CommandError, positive_float, positive_int

DEFAULT_SPECS = "ablations"
"""The folder of local switch TOMLs used when it exists and ``--specs`` is not given."""


def _problems(args: argparse.Namespace) -> list[str]:
    """The problems to run: ``--problem`` (each must be known and runnable), else the default
    suite less the problems whose package is missing (said on stderr)."""
    from carbs_lite.bench.suite import DEFAULT_SUITE, PROBLEMS, missing_package

    unknown = [p for p in args.problem or [] if p not in PROBLEMS]
    if unknown:
        raise CommandError(f"unknown problems {unknown}; `carbs-lite ablate --list` shows them")
    chosen = args.problem or DEFAULT_SUITE
    missing = {p: missing_package(p) for p in chosen if missing_package(p)}
    if missing and args.problem:
        name, package = next(iter(missing.items()))
        raise CommandError(f"problem {name} needs {package}: pip install 'carbs_lite[bench]'")
    if missing:
        print(
            f"leaving out {', '.join(missing)}: they need {', '.join(set(missing.values()))} "
            "(pip install 'carbs_lite[bench]')",
            file=sys.stderr,
        )
    return [p for p in chosen if p not in missing]


def _list(specs: dict[str, dict[str, Any]]) -> int:
    from carbs_lite.bench.suite import DEFAULT_SUITE, PROBLEMS, missing_package

    print("problems (* in the default suite):")
    for name in PROBLEMS:
        package = missing_package(name)
        note = f"  (needs {package}, not installed)" if package else ""
        print(f"  {'*' if name in DEFAULT_SUITE else ' '} {name}{note}")
    print("switches (NAME runs every alternative; NAME=VALUE runs one):")
    for name, spec in specs.items():
        alternatives = ", ".join(str(a) for a in spec["alternatives"])
        print(f"  {name}: {alternatives}")
    return 0


def _warn_if_too_small(seeds: int, problems: int, variants: int) -> None:
    """Say before the sweep when its size rules verdicts out (``stats.pairs_needed``)."""
    from carbs_lite.ablation.stats import ALPHA, pairs_needed

    comparisons = variants * (problems + (problems > 1))
    needed = pairs_needed(comparisons)
    if seeds >= needed:
        return
    where = f"p < {ALPHA} after Holm over {comparisons} comparisons"
    if seeds * problems < needed:
        print(
            f"warning: {seeds} {'seed is' if seeds == 1 else 'seeds are'} too few for any "
            f"verdict to reach {where}: the sweep "
            f"needs at least {-(-needed // problems)} seeds ({needed} for per-problem verdicts)",
            file=sys.stderr,
        )
    else:
        print(
            f"note: with {seeds} seeds only the pooled 'all problems' rows can reach {where}; "
            f"per-problem verdicts need {needed} seeds",
            file=sys.stderr,
        )


def _check_out_folder(out: Path) -> None:
    """``CommandError`` unless ``out`` is, or can be made, a folder (before any run)."""
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder for the sweep's results")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(f"--out {out}: cannot make the folder ({error.strerror})") from None


def cmd_ablate(args: argparse.Namespace) -> int:
    """Run (or resume) the sweep, then write ``summary.md`` and ``report.html``."""
    from carbs_lite.ablation.runner import switch_specs, variants_from

    # the default folder is used when it is there; a folder the user names must be
    local = args.specs
    if local is None:
        local = DEFAULT_SPECS if Path(DEFAULT_SPECS).is_dir() else None
    elif not Path(local).is_dir():
        raise CommandError(f"--specs {local}: no such folder of switch TOMLs")
    try:
        specs = switch_specs(local)
        if args.list:
            return _list(specs)
        variants = variants_from(args.switch or list(specs), specs)
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from None
    problems = _problems(args)
    _check_out_folder(Path(args.out))
    _warn_if_too_small(args.seeds, len(problems), len(variants))
    return _sweep(args, problems, variants)


def _sweep(args: argparse.Namespace, problems: list[str], variants: list) -> int:
    import platform

    from carbs_lite.ablation.runner import plan_sweep, run_jobs, sweep_records
    from carbs_lite.ablation.summary import POOLED, write_outputs

    out = Path(args.out)
    jobs, pending = plan_sweep(out, problems, variants, args.seeds, args.tries, args.cost_budget)
    if len(pending) < len(jobs):
        print(f"resuming {out}: skipping {len(jobs) - len(pending)} finished runs of {len(jobs)}")
    started = time.perf_counter()
    try:
        run_jobs(out, pending, args.workers)
    except KeyboardInterrupt:
        done = len(sweep_records(out, jobs))
        print(
            f"interrupted: {done} of {len(jobs)} runs are kept in {out / 'results.jsonl'}; "
            "the same command resumes",
            file=sys.stderr,
        )
        return 130
    records = sweep_records(out, jobs)
    header = {
        "command": "carbs-lite " + " ".join(args.argv),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "wall time of this invocation": f"{time.perf_counter() - started:.0f} s",
        "runs of this invocation": str(len(pending)),
        "runs in the sweep": str(len(records)),
    }
    rows = write_outputs(out, records, header)
    pooled = POOLED if len(problems) > 1 else problems[0]
    print(f"{'switch value':40s} median difference in AUC of regret [95% CI]; {pooled}")
    for effect in (e for e in rows if e.problem == pooled):
        print(
            f"{effect.variant:40s} {effect.median_difference:+.4f} "
            f"[{effect.ci_low:+.4f}, {effect.ci_high:+.4f}] {effect.verdict}"
        )
    print(f"summary: {out / 'summary.md'}\nreport: {out / 'report.html'}")
    return 0


def add_ablate_command(commands: argparse._SubParsersAction) -> None:
    """Register `carbs-lite ablate` and its options."""
    ablate = commands.add_parser("ablate", help="run the tuner with and without each heuristic")
    ablate.add_argument("--list", action="store_true", help="list the problems and switches")
    ablate.add_argument(
        "--switch",
        action="append",
        metavar="NAME[=VALUE]",
        help="a Heuristics/TunerConfig field (all its alternatives) or one value (default: all)",
    )
    ablate.add_argument(
        "--problem", action="append", metavar="NAME", help="a problem (default: the suite)"
    )
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
    ablate.add_argument(
        "--specs",
        help=f"a folder of switch TOMLs over the packaged ones (default: ./{DEFAULT_SPECS} "
        "when it exists)",
    )
    ablate.set_defaults(func=cmd_ablate)
