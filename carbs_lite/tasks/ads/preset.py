"""The ads-arch preset: the `carbs-lite run` command, `init --problem ads-arch`, the
`--ne`/`--qps` flags of `observe`, and the report's total-params panel.

Imported when the CLI builds its parser, so it imports torch (through the tuner) and plotly
only inside the functions that need them.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING, Any

from carbs_lite.records import StudyState

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from carbs_lite.study import Study
    from carbs_lite.tasks.ads.tuning import ArchTry
    from carbs_lite.tuner import Tuner


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0")
    return value


def add_commands(commands: argparse._SubParsersAction, switch_option: Any) -> None:
    """Register `carbs-lite run`: tune the built-in simulator and write a report."""
    run = commands.add_parser("run", help="tune the built-in ads simulator and write a report")
    run.add_argument("--tries", type=int, default=10)
    run.add_argument("--days", type=int, default=60)
    run.add_argument("--min-qps", type=_positive_float, default=3500.0)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--noise-scale", type=float, default=None, help="simulator GLOBAL_NOISE_SCALE")
    run.add_argument("--out", default="carbs-lite-report.html", help="HTML report path")
    switch_option(run)
    run.set_defaults(func=cmd_run)


def add_init_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-qps", type=_positive_float, default=3500.0, help="ads-arch: the QPS floor"
    )


def create_study(args: argparse.Namespace, heuristics: Any) -> Tuner:
    """The study `init --problem ads-arch` creates: one arch param, QPS above ``--min-qps``."""
    from carbs_lite.tasks.ads.tuning import arch_tuner

    return arch_tuner(min_qps=args.min_qps, seed=args.seed, heuristics=heuristics)


def add_observe_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ne", type=_positive_float, help="ads-arch: normalized entropy (> 0)")
    parser.add_argument("--qps", type=_positive_float, help="ads-arch: serving QPS (> 0)")


def observed(args: argparse.Namespace, study: Study) -> tuple[float, float, dict[str, Any]] | None:
    """(output, cost, extra) from ``--ne``/``--qps`` or ``--failed``; None when the generic
    ``--output``/``--cost`` are used instead. ValueError if a value is missing. A failure without
    ``--qps`` is recorded at the QPS floor."""
    if args.output is not None or args.cost is not None:
        return None
    if args.failed == (args.ne is not None):
        raise ValueError("give either --ne (with --qps) or --failed")
    qps = args.qps
    if qps is None:
        if not args.failed:
            raise ValueError("--qps is required with --ne")
        qps = 1.0 / study.config.max_suggestion_cost
    return (math.nan if args.failed else args.ne), 1.0 / qps, {"qps": qps}


def report_panels(state: StudyState) -> list[tuple[str, go.Figure]]:
    """Total params of every tried arch (the simulator's formula, its default input width)
    against NE."""
    import plotly.graph_objects as go

    from carbs_lite.report.page import styled
    from carbs_lite.tasks.ads.simulator import get_default_model_config_dict, total_params

    input_dim = get_default_model_config_dict()["INPUT_DIM"]
    rows = [(o, o.params["arch"]) for o in state.observations if not o.is_failure]
    figure = go.Figure(
        go.Scatter(
            x=[total_params(arch, input_dim) for _, arch in rows],
            y=[o.output for o, _ in rows],
            mode="markers",
            text=[json.dumps(arch) for _, arch in rows],
            hovertemplate="%{x:.3s} params<br>NE %{y:.6f}<br>%{text}<extra></extra>",
        )
    )
    figure.update_xaxes(type="log", title=f"total params (input width {input_dim})")
    figure.update_yaxes(title="NE")
    return [("NE by model size", styled(figure))]


def _format_try(result: ArchTry) -> str:
    status = "ok" if result.feasible else ("diverged" if result.diverged else "qps too low")
    return (
        f"try {result.index + 1:2d}  ne={result.ne:.6f}  qps={result.qps:8.1f}  "
        f"score={result.score:+.5f}  {status:11s}  arch={json.dumps(result.arch)}"
    )


def cmd_run(args: argparse.Namespace) -> int:
    from carbs_lite.tasks.ads.simulator import ModelPerformanceAPI, get_default_model_config_dict
    from carbs_lite.tasks.ads.tuning import tune_arch

    config = get_default_model_config_dict()
    config["SEED"] = args.seed
    if args.noise_scale is not None:
        config["GLOBAL_NOISE_SCALE"] = args.noise_scale
    api = ModelPerformanceAPI(config)
    print(
        f"tuning the built-in ads simulator: {args.tries} tries, {args.days} days, "
        f"qps > {args.min_qps:g}"
    )
    result = tune_arch(
        api,
        tries=args.tries,
        training_days=args.days,
        min_qps=args.min_qps,
        seed=args.seed,
        heuristics=args.heuristics,
        on_try=lambda t: print(_format_try(t), flush=True),
    )
    best = result.best
    if best is None:
        print("no feasible try")
    else:
        print(
            f"best feasible: arch={json.dumps(best.arch)} ne={best.ne:.6f} qps={best.qps:.1f} "
            f"score={best.score:+.5f}"
        )
    print(f"report: {result.tuner.report(args.out)}")
    return 0
