"""Study report: gather plain data from a tuner (``*_info``), draw it (``*_figure``), write HTML.

write_study_report(tuner, "report.html")
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from carbs_lite.arch import ArchSpace
from carbs_lite.pareto import group_by_input, pareto_front
from carbs_lite.plotting import header_table, styled, write_page
from carbs_lite.spaces import LogSpace, PowerOfTwoSpace
from carbs_lite.tuner import Tuner

MAX_FRONT_SNAPSHOTS = 12
ARCH_INPUT_DIM = 512


class PointsInfo(NamedTuple):
    """Every observation: try number (1-based), cost, output (NaN if failed), hover text."""

    tries: list[int]
    costs: list[float]
    outputs: list[float]
    failed: list[bool]
    labels: list[str]
    best_index: int | None
    cap: float | None


class FrontInfo(NamedTuple):
    """The front after ``after_try`` tries: costs and outputs, cheapest first."""

    after_try: int
    costs: list[float]
    outputs: list[float]


class BestSoFarInfo(NamedTuple):
    """Best feasible output after each try, against the try number and the cumulative cost."""

    tries: list[int]
    cumulative_cost: list[float]
    best: list[float]


class DiagnosticsInfo(NamedTuple):
    """Per searched try: predictions at suggestion time next to what was observed."""

    tries: list[int]
    predicted_output: list[float]
    observed_output: list[float]
    predicted_cost: list[float]
    observed_cost: list[float]
    terms: dict[str, list[float]]


def _label(params: dict[str, Any]) -> str:
    return "<br>".join(
        f"{k} = {json.dumps(v) if isinstance(v, list) else f'{v:.6g}'}" for k, v in params.items()
    )


def _feasible(tuner: Tuner, index: int) -> bool:
    observation = tuner.observations[index]
    cap = tuner.config.max_suggestion_cost
    return not observation.is_failure and (cap is None or observation.cost < cap)


def points_info(tuner: Tuner) -> PointsInfo:
    observations = tuner.observations
    best = tuner.best()
    best_index = next((i for i, o in enumerate(observations) if o is best), None)
    return PointsInfo(
        tries=list(range(1, len(observations) + 1)),
        costs=[o.cost for o in observations],
        outputs=[o.output for o in observations],
        failed=[o.is_failure for o in observations],
        labels=[_label(o.params) for o in observations],
        best_index=best_index,
        cap=tuner.config.max_suggestion_cost,
    )


def front_history_info(tuner: Tuner, snapshots: int = MAX_FRONT_SNAPSHOTS) -> list[FrontInfo]:
    """Fronts after evenly spaced tries (always including the last), by the tuner's own rules."""
    observations = tuner.observations
    if not observations:
        return []
    inputs = np.array([tuner.param_space.to_basic(o.params) for o in observations])
    goodness = tuner.config.sign * np.array([o.output for o in observations])
    costs = np.array([o.cost for o in observations])
    ok = np.array([not o.is_failure for o in observations])
    h = tuner.heuristics
    fraction = tuner.config.min_pareto_cost_fraction if h.low_cost_bucketing else 0.0
    ends = sorted({int(round(x)) for x in np.linspace(1, len(observations), snapshots)})
    history = []
    for end in ends:
        keep = ok[:end]
        groups = group_by_input(inputs[:end][keep], goodness[:end][keep], costs[:end][keep])
        front = pareto_front(groups, fraction, h.conservative_pareto)
        history.append(
            FrontInfo(
                end, [g.cost for g in front], [tuner.config.sign * g.mean_goodness for g in front]
            )
        )
    return history


def best_so_far_info(tuner: Tuner) -> BestSoFarInfo:
    best, current = [], math.nan
    for i, o in enumerate(tuner.observations):
        if _feasible(tuner, i) and (
            math.isnan(current) or tuner.config.sign * (o.output - current) > 0
        ):
            current = o.output
        best.append(current)
    costs = np.cumsum([o.cost for o in tuner.observations]).tolist()
    return BestSoFarInfo(list(range(1, len(best) + 1)), costs, best)


def param_features(
    tuner: Tuner, input_dim: int = ARCH_INPUT_DIM
) -> dict[str, tuple[list[float], bool]]:
    """Per panel: x values of every observation and whether the x axis is logarithmic."""
    features: dict[str, tuple[list[float], bool]] = {}
    for param in tuner.param_space.params:
        values = [o.params[param.name] for o in tuner.observations]
        if isinstance(param.space, ArchSpace):
            features[f"{param.name}: total params"] = (
                [arch_total_params(a, input_dim) for a in values],
                True,
            )
            features[f"{param.name}: depth"] = ([max(len(s) for s in a) for a in values], False)
            features[f"{param.name}: sub-arches"] = ([len(a) for a in values], False)
        else:
            features[param.name] = (values, isinstance(param.space, LogSpace | PowerOfTwoSpace))
    return features


def arch_total_params(arch: list[list[int]], input_dim: int = ARCH_INPUT_DIM) -> int:
    """sum over sub-arches of input_dim w_1 + sum_j w_j w_{j+1} + w_k."""
    return sum(
        input_dim * sub[0] + sum(a * b for a, b in zip(sub[:-1], sub[1:], strict=True)) + sub[-1]
        for sub in arch
    )


def diagnostics_info(tuner: Tuner) -> DiagnosticsInfo:
    rows = [
        (i + 1, o)
        for i, o in enumerate(tuner.observations)
        if o.diagnostics is not None and o.diagnostics.source == "search"
    ]
    names = ("expected_improvement", "p_search", "p_success", "acquisition")
    return DiagnosticsInfo(
        tries=[t for t, _ in rows],
        predicted_output=[o.diagnostics.predicted_output for _, o in rows],
        observed_output=[o.output for _, o in rows],
        predicted_cost=[o.diagnostics.predicted_cost for _, o in rows],
        observed_cost=[o.cost for _, o in rows],
        terms={n: [getattr(o.diagnostics, n) for _, o in rows] for n in names},
    )


def curves_info(tuner: Tuner) -> dict[int, list[float]]:
    """Try number -> daily curve, for observations that carry ``extra["curve"]``."""
    return {
        i + 1: [math.nan if v is None else v for v in o.extra["curve"]]
        for i, o in enumerate(tuner.observations)
        if isinstance(o.extra.get("curve"), list)
    }


def _cap_line(figure: go.Figure, cap: float | None, outputs: list[float]) -> None:
    """A dashed vertical line at the cost cap across the observed output range."""
    finite = [v for v in outputs if math.isfinite(v)]
    if cap is not None and finite:
        figure.add_trace(
            go.Scatter(
                x=[cap, cap],
                y=[min(finite), max(finite)],
                mode="lines",
                name="cost cap",
                line={"dash": "dash", "color": "#c0392b"},
                hoverinfo="skip",
            )
        )


def scatter_figure(points: PointsInfo, front: FrontInfo | None, output_name: str) -> go.Figure:
    figure = go.Figure()
    ok = [i for i, f in enumerate(points.failed) if not f]
    pick = lambda seq, idx: [seq[i] for i in idx]  # noqa: E731
    figure.add_trace(
        go.Scatter(
            x=pick(points.costs, ok),
            y=pick(points.outputs, ok),
            mode="markers",
            name="observation",
            text=pick(points.labels, ok),
            hovertemplate="try %{marker.color}<br>cost %{x:.4g}<br>"
            + output_name
            + " %{y:.6g}<br>%{text}<extra></extra>",
            marker={
                "color": pick(points.tries, ok),
                "colorscale": "Viridis",
                "size": 8,
                "colorbar": {"title": "try", "thickness": 12},
            },
        )
    )
    failed = [i for i, f in enumerate(points.failed) if f]
    if failed:
        floor = np.nanmin(points.outputs) if ok else 0.0
        figure.add_trace(
            go.Scatter(
                x=pick(points.costs, failed),
                y=[floor] * len(failed),
                mode="markers",
                name="failed",
                text=pick(points.labels, failed),
                hovertemplate="failed<br>cost %{x:.4g}<br>%{text}<extra></extra>",
                marker={"symbol": "x", "color": "#c0392b", "size": 9},
            )
        )
    if front and front.costs:
        figure.add_trace(
            go.Scatter(
                x=front.costs,
                y=front.outputs,
                mode="lines",
                name="Pareto front",
                line={"shape": "hv", "color": "#2c3e50"},
            )
        )
    if points.best_index is not None:
        i = points.best_index
        figure.add_trace(
            go.Scatter(
                x=[points.costs[i]],
                y=[points.outputs[i]],
                mode="markers",
                name="best feasible",
                text=[points.labels[i]],
                marker={"symbol": "star", "size": 16, "color": "#f39c12"},
            )
        )
    _cap_line(figure, points.cap, points.outputs)
    figure.update_xaxes(type="log", title="cost")
    figure.update_yaxes(title=output_name)
    return styled(figure, 480)


def front_history_figure(history: list[FrontInfo], output_name: str) -> go.Figure:
    figure = go.Figure()
    for k, snapshot in enumerate(history):
        figure.add_trace(
            go.Scatter(
                x=snapshot.costs,
                y=snapshot.outputs,
                mode="lines+markers",
                line={"shape": "hv"},
                name=f"after try {snapshot.after_try}",
                visible=k == len(history) - 1,
            )
        )
    steps = [
        {
            "method": "update",
            "label": str(s.after_try),
            "args": [{"visible": [j == k for j in range(len(history))]}],
        }
        for k, s in enumerate(history)
    ]
    figure.update_layout(
        sliders=[
            {
                "active": len(history) - 1,
                "steps": steps,
                "y": -0.15,
                "currentvalue": {"prefix": "after try "},
            }
        ]
    )
    figure.update_xaxes(type="log", title="cost")
    figure.update_yaxes(title=output_name)
    return styled(figure, 480)


def best_so_far_figure(info: BestSoFarInfo, output_name: str) -> go.Figure:
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("against tries", "against cumulative cost")
    )
    for col, x in enumerate((info.tries, info.cumulative_cost), 1):
        figure.add_trace(
            go.Scatter(
                x=x,
                y=info.best,
                mode="lines+markers",
                line={"shape": "hv"},
                name="best feasible",
                showlegend=col == 1,
            ),
            row=1,
            col=col,
        )
    figure.update_xaxes(title="try", row=1, col=1)
    figure.update_xaxes(title="cumulative cost", type="log", row=1, col=2)
    figure.update_yaxes(title=output_name, row=1, col=1)
    return styled(figure)


def params_figure(
    features: dict[str, tuple[list[float], bool]], points: PointsInfo, output_name: str
) -> go.Figure:
    names = list(features)
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    figure = make_subplots(rows=rows, cols=cols, subplot_titles=names)
    ok = [i for i, f in enumerate(points.failed) if not f]
    for k, name in enumerate(names):
        values, log_axis = features[name]
        row, col = k // cols + 1, k % cols + 1
        figure.add_trace(
            go.Scatter(
                x=[values[i] for i in ok],
                y=[points.outputs[i] for i in ok],
                mode="markers",
                showlegend=False,
                text=[points.labels[i] for i in ok],
                marker={"color": [points.tries[i] for i in ok], "colorscale": "Viridis"},
            ),
            row=row,
            col=col,
        )
        figure.update_xaxes(type="log" if log_axis else "linear", row=row, col=col)
        figure.update_yaxes(title=output_name if col == 1 else None, row=row, col=col)
    return styled(figure, 320 * rows)


def diagnostics_figure(info: DiagnosticsInfo, output_name: str) -> go.Figure:
    figure = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            f"predicted vs observed {output_name}",
            "predicted vs observed cost",
            "acquisition terms by try",
        ),
    )
    for col, (predicted, observed) in enumerate(
        ((info.predicted_output, info.observed_output), (info.predicted_cost, info.observed_cost)),
        1,
    ):
        figure.add_trace(
            go.Scatter(
                x=predicted,
                y=observed,
                mode="markers",
                showlegend=False,
                text=[f"try {t}" for t in info.tries],
            ),
            row=1,
            col=col,
        )
        finite = [v for v in predicted + observed if math.isfinite(v)]
        if finite:
            figure.add_trace(
                go.Scatter(
                    x=[min(finite), max(finite)],
                    y=[min(finite), max(finite)],
                    mode="lines",
                    line={"dash": "dot", "color": "#999"},
                    showlegend=False,
                ),
                row=1,
                col=col,
            )
        figure.update_xaxes(title="predicted", row=1, col=col)
        figure.update_yaxes(title="observed", row=1, col=col)
    for name, values in info.terms.items():
        figure.add_trace(
            go.Scatter(x=info.tries, y=values, mode="lines+markers", name=name), row=1, col=3
        )
    figure.update_xaxes(title="try", row=1, col=3)
    figure.update_yaxes(type="log", row=1, col=3)
    return styled(figure)


def curves_figure(curves: dict[int, list[float]]) -> go.Figure:
    figure = go.Figure()
    for try_number, curve in curves.items():
        figure.add_trace(
            go.Scatter(
                x=list(range(1, len(curve) + 1)), y=curve, mode="lines", name=f"try {try_number}"
            )
        )
    figure.update_xaxes(title="training day")
    figure.update_yaxes(title="NE")
    return styled(figure, 460)


def write_study_report(tuner: Tuner, path: str | Path, title: str | None = None) -> Path:
    """One self-contained HTML page with every panel of the study report."""
    output_name = "output (" + tuner.config.direction.value + ")"
    points = points_info(tuner)
    history = front_history_info(tuner)
    figures = [
        (
            "Cost vs performance",
            scatter_figure(points, history[-1] if history else None, output_name),
        ),
        ("Pareto front over tries", front_history_figure(history, output_name)),
        ("Best so far", best_so_far_figure(best_so_far_info(tuner), output_name)),
        ("Parameters vs performance", params_figure(param_features(tuner), points, output_name)),
        ("Suggestion diagnostics", diagnostics_figure(diagnostics_info(tuner), output_name)),
    ]
    curves = curves_info(tuner)
    if curves:
        figures.append(("Daily NE curves", curves_figure(curves)))
    header = {
        "observations": str(len(tuner.observations)),
        "seed": str(tuner.seed),
        **{f"config.{k}": str(v) for k, v in tuner.config.to_json().items()},
        **{f"heuristics.{k}": str(v) for k, v in tuner.heuristics.to_json().items()},
    }
    return write_page(path, title or "carbs_lite study report", header_table(header), figures)
