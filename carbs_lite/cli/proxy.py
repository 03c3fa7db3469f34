"""`carbs-lite proxy`: check whether cheaper runs of a task's built-in problem rank configs like
its full runs, print a table and the recommendation, write a report.

The problem comes from a task preset (``TaskPreset.proxy_problem``), which also adds its own
options; for ads-arch it is the built-in simulator, with run lengths in training days.
"""

from __future__ import annotations

import argparse
import math

from carbs_lite.cli.common import (
    CommandError,
    nonnegative_int,
    positive_float,
    positive_int,
    report_path,
)
from carbs_lite.tasks import PRESETS, preset

DEFAULT_REPORT = "proxy-report.html"


def correlation(text: str) -> float:
    """An argparse type: a number in [-1, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and -1 <= value <= 1):
        raise argparse.ArgumentTypeError(f"{text} is not a correlation in [-1, 1]")
    return value


def add_proxy_command(commands: argparse._SubParsersAction) -> None:
    """Register `carbs-lite proxy` with its options and every task's."""
    names = sorted(PRESETS)
    proxy = commands.add_parser(
        "proxy", help="check whether cheaper runs rank configs like full runs"
    )
    proxy.add_argument("--problem", choices=names, default=names[0], help="the task to check")
    proxy.add_argument(
        "--full", type=positive_float, help="the full fidelity (default: the task's own)"
    )
    proxy.add_argument(
        "--fidelities",
        type=positive_float,
        nargs="+",
        metavar="F",
        help="the proxy fidelities to check, each below --full (default: the task's own)",
    )
    proxy.add_argument("--candidates", type=positive_int, default=16, help="configs compared")
    proxy.add_argument(
        "--pool", type=positive_int, help="random configs screened (default: 4 per candidate)"
    )
    proxy.add_argument(
        "--repeated-configs", type=positive_int, default=3, help="configs run repeatedly"
    )
    proxy.add_argument("--repeats", type=positive_int, default=3, help="runs of each of them")
    proxy.add_argument(
        "--threshold", type=correlation, default=0.65, help="the Kendall's tau a proxy needs"
    )
    proxy.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    proxy.add_argument(
        "--seed", type=nonnegative_int, default=0, help="seeds the configs, runs and bootstrap"
    )
    proxy.add_argument("--out", default=DEFAULT_REPORT, help="HTML report path")
    for name in names:
        preset(name).add_proxy_options(proxy)
    proxy.set_defaults(func=cmd_proxy)


def cmd_proxy(args: argparse.Namespace) -> int:
    """Run the check, print the table and the verdicts, write the report."""
    from carbs_lite.proxy import ProxySettings, check_proxy
    from carbs_lite.proxy.summary import table_lines, verdict_lines
    from carbs_lite.report.proxy import write_proxy_report

    out = report_path(args.out)
    try:
        problem = preset(args.problem).proxy_problem(args)
        settings = ProxySettings(
            candidates=args.candidates,
            pool=args.pool,
            repeated_configs=args.repeated_configs,
            repeats=args.repeats,
            threshold=args.threshold,
            resamples=args.resamples,
            seed=args.seed,
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    fidelities = ", ".join(f"{f:g}" for f in problem.proxy_fidelities)
    print(
        f"proxy check of {problem.name}: {fidelities} against {problem.full_fidelity:g} "
        f"{problem.fidelity_name}, {settings.candidates} candidates"
    )
    check = check_proxy(problem, settings)
    print("\n".join(table_lines(check)))
    print("\n".join(verdict_lines(check)))
    try:
        written = write_proxy_report(check, out)
    except OSError as error:
        raise CommandError(f"--out {out}: {error.strerror or error}") from None
    print(f"report: {written}")
    return 0
