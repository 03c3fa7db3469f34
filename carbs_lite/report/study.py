"""Study report: gather plain data from a study's state (``*_info``), draw it (``*_figure``),
write one self-contained page (``write_study_report``).

Axis titles and hovers use the study's ``Metrics``: its output and cost names and units, and,
when ``Metrics.cost_inverse`` is set, the cost shown as its reciprocal under that name (e.g.
QPS for a cost of 1/QPS). A task preset (``carbs_lite.tasks``) may add panels of its own.
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
from carbs_lite.pareto import study_front
from carbs_lite.records import Metrics, StudyData, StudyState, best_feasible, is_feasible
from carbs_lite.report.page import header_table, styled, write_page
from carbs_lite.spaces import LogSpace, ParamSpace, PowerOfTwoSpace
from carbs_lite.tasks import preset

MAX_FRONT_SNAPSHOTS = 12


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


class Axis(NamedTuple):
    """How the report shows a metric: axis title, value transform, log scale."""

    title: str
    show: Any
    log: bool


def _label(params: dict[str, Any]) -> str:
    return "<br>".join(
        f"{k} = {json.dumps(v) if isinstance(v, list) else f'{v:.6g}'}" for k, v in params.items()
    )


def _titled(name: str, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


def output_axis(state: StudyState) -> Axis:
    """The output's axis title: its name, unit and direction."""
    metrics = state.metrics
    title = f"{_titled(metrics.output, metrics.output_unit)}, {state.config.direction.value}d"
    return Axis(title, lambda v: v, False)


def cost_axis(metrics: Metrics) -> Axis:
    """The cost's axis: the cost itself, or its reciprocal under ``Metrics.cost_inverse``."""
    if metrics.cost_inverse:
        return Axis(metrics.cost_inverse, lambda c: [1.0 / v for v in c], True)
    return Axis(_titled(metrics.cost, metrics.cost_unit), lambda c: list(c), True)


def points_info(state: StudyState) -> PointsInfo:
    observations = state.observations
    best = best_feasible(observations, state.config)
    best_index = next((i for i, o in enumerate(observations) if o is best), None)
    return PointsInfo(
        tries=list(range(1, len(observations) + 1)),
        costs=[o.cost for o in observations],
        outputs=[o.output for o in observations],
        failed=[o.is_failure for o in observations],
        labels=[_label(o.params) for o in observations],
        best_index=best_index,
        cap=state.config.max_suggestion_cost,
    )


def front_history_info(state: StudyState, snapshots: int = MAX_FRONT_SNAPSHOTS) -> list[FrontInfo]:
    """Fronts after evenly spaced tries (always including the last), by the study's own rules."""
    observations = state.observations
    if not observations:
        return []
    space = ParamSpace(state.params)
    inputs = [space.to_basic(o.params) for o in observations]
    ends = sorted({int(round(x)) for x in np.linspace(1, len(observations), snapshots)})
    history = []
    for end in ends:
        data = StudyData.from_rows(space, state.config, inputs[:end], observations[:end], [])
        front = study_front(data, state.config, state.heuristics)
        outputs = [state.config.sign * g.mean_goodness for g in front]
        history.append(FrontInfo(end, [g.cost for g in front], outputs))
    return history


def best_so_far_info(state: StudyState) -> BestSoFarInfo:
    best, current = [], math.nan
    sign, cap = state.config.sign, state.config.max_suggestion_cost
    for o in state.observations:
        better = math.isnan(current) or sign * (o.output - current) > 0
        if is_feasible(o.is_failure, o.cost, cap) and better:
            current = o.output
        best.append(current)
    costs = np.cumsum([o.cost for o in state.observations]).tolist()
    return BestSoFarInfo(list(range(1, len(best) + 1)), costs, best)


def param_features(state: StudyState) -> dict[str, tuple[list[float], bool]]:
    """Per panel: x values of every observation and whether the x axis is logarithmic. An
    arch param gets its size (``ArchSpace.size_inputs``), deepest sub-arch and sub-arch count."""
    features: dict[str, tuple[list[float], bool]] = {}
    for param in state.params:
        values = [o.params[param.name] for o in state.observations]
        space = param.space
        if isinstance(space, ArchSpace):
            rows = np.array([space.to_basic(a) for a in values]).reshape(-1, space.dim)
            sizes = np.power(2.0, space.size_inputs(rows))
            features[f"{param.name}: weights past the input layer"] = (sizes[:, 0].tolist(), True)
            features[f"{param.name}: first-layer width"] = (sizes[:, 1].tolist(), True)
            features[f"{param.name}: depth"] = ([max(len(s) for s in a) for a in values], False)
            features[f"{param.name}: sub-arches"] = ([len(a) for a in values], False)
        else:
            features[param.name] = (values, isinstance(space, LogSpace | PowerOfTwoSpace))
    return features


def diagnostics_info(state: StudyState) -> DiagnosticsInfo:
    rows = [
        (i + 1, o)
        for i, o in enumerate(state.observations)
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


def curves_info(state: StudyState) -> dict[int, list[float]]:
    """Try number -> learning curve, for observations that carry ``extra["curve"]``."""
    return {
        i + 1: [math.nan if v is None else v for v in o.extra["curve"]]
        for i, o in enumerate(state.observations)
        if isinstance(o.extra.get("curve"), list)
    }


def _cap_line(figure: go.Figure, cap: float | None, outputs: list[float], cost: Axis) -> None:
    """A dashed vertical line at the cost cap across the observed output range."""
    finite = [v for v in outputs if math.isfinite(v)]
    if cap is not None and finite:
        x = cost.show([cap])[0]
        figure.add_trace(
            go.Scatter(
                x=[x, x],
                y=[min(finite), max(finite)],
                mode="lines",
                name="cost cap",
                line={"dash": "dash", "color": "#c0392b"},
                hoverinfo="skip",
            )
        )


def scatter_figure(
    points: PointsInfo, front: FrontInfo | None, output: Axis, cost: Axis
) -> go.Figure:
    figure = go.Figure()
    ok = [i for i, f in enumerate(points.failed) if not f]

    def pick(seq: list, idx: list[int]) -> list:
        return [seq[i] for i in idx]

    figure.add_trace(
        go.Scatter(
            x=cost.show(pick(points.costs, ok)),
            y=pick(points.outputs, ok),
            mode="markers",
            name="observation",
            text=pick(points.labels, ok),
            hovertemplate="try %{marker.color}<br>"
            + cost.title
            + " %{x:.4g}<br>"
            + output.title
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
                x=cost.show(pick(points.costs, failed)),
                y=[floor] * len(failed),
                mode="markers",
                name="failed",
                text=pick(points.labels, failed),
                hovertemplate="failed<br>" + cost.title + " %{x:.4g}<br>%{text}<extra></extra>",
                marker={"symbol": "x", "color": "#c0392b", "size": 9},
            )
        )
    if front and front.costs:
        figure.add_trace(
            go.Scatter(
                x=cost.show(front.costs),
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
                x=cost.show([points.costs[i]]),
                y=[points.outputs[i]],
                mode="markers",
                name="best feasible",
                text=[points.labels[i]],
                marker={"symbol": "star", "size": 16, "color": "#f39c12"},
            )
        )
    _cap_line(figure, points.cap, points.outputs, cost)
    figure.update_xaxes(type="log", title=cost.title)
    figure.update_yaxes(title=output.title)
    return styled(figure, 480)


def front_history_figure(history: list[FrontInfo], output: Axis, cost: Axis) -> go.Figure:
    figure = go.Figure()
    for k, snapshot in enumerate(history):
        figure.add_trace(
            go.Scatter(
                x=cost.show(snapshot.costs),
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
    figure.update_xaxes(type="log", title=cost.title)
    figure.update_yaxes(title=output.title)
    return styled(figure, 480)


def best_so_far_figure(info: BestSoFarInfo, output: Axis, additive_cost: str | None) -> go.Figure:
    """Best feasible output against tries and, when the cost adds up over runs
    (``additive_cost`` names it), against the cumulative cost."""
    axes = [("try", info.tries)]
    if additive_cost is not None:
        axes.append((f"cumulative {additive_cost}", info.cumulative_cost))
    figure = make_subplots(rows=1, cols=len(axes), subplot_titles=[f"against {n}" for n, _ in axes])
    for col, (name, x) in enumerate(axes, 1):
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
        figure.update_xaxes(title=name, type="log" if col > 1 else "linear", row=1, col=col)
    figure.update_yaxes(title=output.title, row=1, col=1)
    return styled(figure)


def params_figure(
    features: dict[str, tuple[list[float], bool]], points: PointsInfo, output: Axis
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
        figure.update_yaxes(title=output.title if col == 1 else None, row=row, col=col)
    return styled(figure, 320 * rows)


def diagnostics_figure(info: DiagnosticsInfo, output: Axis, cost_name: str) -> go.Figure:
    figure = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            f"predicted vs observed {output.title}",
            f"predicted vs observed {cost_name}",
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


def curves_figure(curves: dict[int, list[float]], output: Axis, step: str) -> go.Figure:
    figure = go.Figure()
    for try_number, curve in curves.items():
        figure.add_trace(
            go.Scatter(
                x=list(range(1, len(curve) + 1)), y=curve, mode="lines", name=f"try {try_number}"
            )
        )
    figure.update_xaxes(title=step)
    figure.update_yaxes(title=output.title)
    return styled(figure, 460)


def study_figures(state: StudyState) -> list[tuple[str, go.Figure]]:
    """Every panel of the study report, (section title, figure), the task's panels last."""
    metrics = state.metrics
    output, cost = output_axis(state), cost_axis(metrics)
    points = points_info(state)
    history = front_history_info(state)
    additive = None if metrics.cost_inverse else _titled(metrics.cost, metrics.cost_unit)
    figures = [
        (
            f"{cost.title} vs {metrics.output}",
            scatter_figure(points, history[-1] if history else None, output, cost),
        ),
        ("Pareto front over tries", front_history_figure(history, output, cost)),
        ("Best so far", best_so_far_figure(best_so_far_info(state), output, additive)),
        ("Parameters vs performance", params_figure(param_features(state), points, output)),
        (
            "Suggestion diagnostics",
            diagnostics_figure(diagnostics_info(state), output, metrics.cost),
        ),
    ]
    curves = curves_info(state)
    if curves:
        figures.append(
            (f"{metrics.output} by {metrics.step}", curves_figure(curves, output, metrics.step))
        )
    task = preset(metrics.task)
    if task is not None:
        figures.extend(task.report_panels(state))
    return figures


def write_study_report(state: StudyState, path: str | Path, title: str | None = None) -> Path:
    """One self-contained HTML page with every panel of the study report."""
    header = {
        "observations": str(len(state.observations)),
        "seed": str(state.seed),
        **{f"config.{k}": str(v) for k, v in state.config.to_json().items()},
        **{f"heuristics.{k}": str(v) for k, v in state.heuristics.to_json().items()},
    }
    page_title = title or "carbs_lite study report"
    return write_page(path, page_title, header_table(header), study_figures(state))
