"""The ads-arch preset: the `carbs-lite run` command, `init --problem ads-arch`, the
`--ne`/`--qps` flags of `observe`, the problem `carbs-lite proxy` checks, the report's score
line and its total-params panel.

Imported when the CLI builds its parser, so it imports torch (through the tuner) and plotly
only inside the functions that need them.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING, Any

from carbs_lite.cli.common import CommandError, nonnegative_float, positive_float

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from carbs_lite.proxy import FidelityProblem
    from carbs_lite.records import StudyState
    from carbs_lite.study import Study
    from carbs_lite.tuner import Tuner


DEFAULT_TRIES = 10
"""The ads team's budget: ten 60-day training runs (shared/ads_simulator.md)."""
COST_FLAG = "--qps"
"""The flag that gives an ads run's cost, named in the generic command's errors."""


def add_commands(commands: argparse._SubParsersAction, switch_option: Any) -> None:
    """Register `carbs-lite run`: tune the built-in simulator and write a report."""
    from carbs_lite.tasks.ads.run import add_run_command

    add_run_command(commands, switch_option)


DEFAULT_MIN_QPS = 3500.0
"""The ads team's serving floor (shared/ads_simulator.md)."""


def add_init_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """`init --problem ads-arch`'s own options (the actions added)."""
    help_text = f"ads-arch: the QPS floor (default {DEFAULT_MIN_QPS:g})"
    return [parser.add_argument("--min-qps", type=positive_float, help=help_text)]


def create_study(args: argparse.Namespace, heuristics: Any) -> Tuner:
    """The study `init --problem ads-arch` creates: one arch param, QPS above ``--min-qps``,
    ``--tries`` tries (10 unless given), the ``TunerConfig`` settings of ``--switch``."""
    from carbs_lite.config import TunerConfig
    from carbs_lite.tasks.ads.tuning import arch_tuner

    tries = args.tries or DEFAULT_TRIES
    min_qps = DEFAULT_MIN_QPS if args.min_qps is None else args.min_qps
    config = TunerConfig(**args.settings)
    return arch_tuner(min_qps, args.seed, heuristics, config, tries=tries)


def add_proxy_options(parser: argparse.ArgumentParser) -> None:
    """`carbs-lite proxy`'s ads options: the QPS floor and the simulator's noise scale."""
    parser.add_argument(
        "--min-qps", type=positive_float, default=3500.0, help="ads-arch: the QPS floor"
    )
    parser.add_argument(
        "--noise-scale",
        type=nonnegative_float,
        default=None,
        help="ads-arch: simulator GLOBAL_NOISE_SCALE (default 1)",
    )


def proxy_problem(args: argparse.Namespace) -> FidelityProblem:
    """The built-in simulator in training days: ``--fidelities`` (7 14 30 unless given)
    against ``--full`` (60 unless given). ValueError for days that are not whole days."""
    from carbs_lite.tasks.ads.proxy import FULL_DAYS, PROXY_DAYS, ads_proxy_problem

    overrides = {} if args.noise_scale is None else {"GLOBAL_NOISE_SCALE": args.noise_scale}
    return ads_proxy_problem(
        overrides,
        args.min_qps,
        FULL_DAYS if args.full is None else args.full,
        PROXY_DAYS if args.fidelities is None else args.fidelities,
    )


def add_observe_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """`observe`'s and `progress`'s ads-arch flags (the actions added)."""
    return [
        parser.add_argument("--ne", type=positive_float, help="ads-arch: normalized entropy (> 0)"),
        parser.add_argument("--qps", type=positive_float, help="ads-arch: serving QPS (> 0)"),
    ]


def observed(
    args: argparse.Namespace, study: Study
) -> tuple[float, float | None, dict[str, Any]] | None:
    """(output, cost, extra) from ``--ne``/``--qps`` or ``--failed``; None when the generic
    ``--output``/``--cost`` are used instead. ValueError if a value is missing. A failure
    without ``--qps`` has no cost here (the command estimates it or asks for it)."""
    if args.output is not None or args.cost is not None:
        return None
    if args.failed == (args.ne is not None):
        raise CommandError("give either --ne (with --qps) or --failed")
    if args.qps is None:
        if not args.failed:
            raise CommandError("--qps is required with --ne")
        return math.nan, None, {}
    return (math.nan if args.failed else args.ne), 1.0 / args.qps, {"qps": args.qps}


def baseline_ne(state: StudyState) -> tuple[float, str]:
    """The NE that scores are relative to, and where it comes from: the mean observed NE of
    the baseline arch when the study has it, else the built-in simulator's."""
    from carbs_lite.tasks.ads.simulator import ModelPerformanceAPI
    from carbs_lite.tasks.ads.tuning import BASELINE_ARCH

    runs = [
        (i, o)
        for i, o in enumerate(state.observations, 1)
        if i - 1 not in state.retracted and o.params.get("arch") == BASELINE_ARCH
    ]
    runs = [(i, o) for i, o in runs if not o.is_failure]
    simulated = ModelPerformanceAPI().config["BASELINE_NE"]
    if runs:
        tries = ", ".join(f"#{i}" for i, _ in runs)
        value = sum(o.output for _, o in runs) / len(runs)
        return value, (
            f"the observed NE of the baseline {BASELINE_ARCH}, try {tries}; `carbs-lite run` "
            f"scores against the built-in simulator's noiseless {simulated:.6f}"
        )
    return simulated, f"the built-in simulator's NE of the baseline {BASELINE_ARCH} at 60 days"


def summary_lines(state: StudyState) -> list[str]:
    """The report's ads lines: the best feasible run's score and what a score is."""
    from carbs_lite.records import best_feasible

    baseline, source = baseline_ne(state)
    best = best_feasible(state.active_observations, state.config)
    score = (
        ""
        if best is None
        else f"The best feasible run scores {(baseline - best.output) / baseline:+.5f}. "
    )
    return [
        f"{score}score = (BASELINE_NE - NE) / BASELINE_NE, the relative NE improvement over "
        f"the baseline, with BASELINE_NE = {baseline:.6f} ({source}); higher is better."
    ]


def report_panels(state: StudyState) -> list[tuple[str, go.Figure]]:
    """Total params of every tried arch (the simulator's formula, its default input width)
    against NE."""
    import plotly.graph_objects as go

    from carbs_lite.report.page import styled
    from carbs_lite.tasks.ads.simulator import get_default_model_config_dict, total_params

    input_dim = get_default_model_config_dict()["INPUT_DIM"]
    rows = [(o, o.params["arch"]) for o in state.active_observations if not o.is_failure]
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
