"""Study report figures: plain info (``carbs_lite.report.study``) in, plotly figures out.

Every cost axis goes through the study's ``Axis`` for its cost (its name, the reciprocal when
``Metrics.cost_inverse`` is set) and is logarithmic. Failed runs have no output, so they are
drawn in a band of their own under the cost/output panel, never at an output value, and so are
retracted runs (grey crosses), whose values no longer count.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from carbs_lite.report.page import styled

if TYPE_CHECKING:
    from carbs_lite.report.study import (
        BestSoFarInfo,
        CurveInfo,
        DiagnosticsInfo,
        FrontInfo,
        PointsInfo,
    )

RETRACTED_COLOR = "#9a9a9a"
FAILED_COLOR = "#c0392b"


class Axis(NamedTuple):
    """How the report shows a metric: axis title, value transform, log scale, and the shared
    (log10) range every panel of this metric uses (None: plotly's own)."""

    title: str
    show: Any
    log: bool
    span: tuple[float, float] | None = None
    limit: str = "cost cap"
    """What the cap is called on this axis (a QPS floor when costs are shown inverted)."""


def _pick(values: list, indices: list[int]) -> list:
    return [values[i] for i in indices]


def _observations_trace(points: PointsInfo, rows: list[int], output: Axis, cost: Axis) -> Any:
    return go.Scatter(
        x=cost.show(_pick(points.costs, rows)),
        y=_pick(points.outputs, rows),
        mode="markers",
        name="run",
        text=_pick(points.labels, rows),
        customdata=_pick(points.tries, rows),
        hovertemplate=f"try %{{customdata}}<br>{cost.title} %{{x:.4g}}<br>{output.title} "
        "%{y:.6g}<br>%{text}<extra></extra>",
        marker={
            "color": _pick(points.tries, rows),
            "colorscale": "Viridis",
            "size": 8,
            "colorbar": {
                "title": "try",
                "thickness": 12,
                "len": 0.8,
                "y": 1.0,
                "yanchor": "top",
                **try_ticks(_pick(points.tries, rows)),
            },
        },
    )


def _failures_trace(points: PointsInfo, rows: list[int], cost: Axis) -> Any:
    """Failures on a band of their own (y = 0 of the lower panel); an estimated cost is an
    open marker."""
    return go.Scatter(
        x=cost.show(_pick(points.costs, rows)),
        y=[0] * len(rows),
        mode="markers",
        name="failed",
        text=[
            f"try {points.tries[i]} failed"
            + (" (cost estimated by the model)" if points.estimated[i] else "")
            + f"<br>{points.labels[i]}"
            for i in rows
        ],
        hovertemplate=f"{cost.title} %{{x:.4g}}<br>%{{text}}<extra></extra>",
        marker={
            "symbol": ["x-open" if points.estimated[i] else "x" for i in rows],
            "color": FAILED_COLOR,
            "size": 10,
        },
    )


def _retracted_trace(points: PointsInfo, rows: list[int], cost: Axis) -> Any:
    """Retracted runs on the band's upper line: their values no longer count."""
    return go.Scatter(
        x=cost.show(_pick(points.costs, rows)),
        y=[1] * len(rows),
        mode="markers",
        name="retracted",
        text=[f"try {points.tries[i]} retracted: {points.retracted[i]}" for i in rows],
        hovertemplate="%{text}<extra></extra>",
        marker={
            "symbol": "x-thin-open",
            "color": RETRACTED_COLOR,
            "size": 10,
            "line": {"width": 2},
        },
    )


def _front_and_best(
    figure: go.Figure, points: PointsInfo, front: FrontInfo | None, cost: Axis
) -> None:
    if front and front.costs:
        figure.add_trace(
            go.Scatter(
                x=cost.show(front.costs),
                y=front.outputs,
                mode="lines",
                name="Pareto front",
                line={"shape": "hv", "color": "#2c3e50"},
                hoverinfo="skip",
            ),
            row=1,
            col=1,
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
                hovertemplate="best feasible<br>%{text}<extra></extra>",
                marker={"symbol": "star", "size": 16, "color": "#f39c12"},
            ),
            row=1,
            col=1,
        )


def scatter_figure(
    points: PointsInfo, front: FrontInfo | None, output: Axis, cost: Axis
) -> go.Figure:
    """Cost vs output of every run with the front, the best feasible run and the cost cap.
    Runs that have no output that counts (failed, retracted) are drawn in a band below,
    sharing the cost axis."""
    live = [i for i, why in enumerate(points.retracted) if why is None]
    ok = [i for i in live if not points.failed[i]]
    failed = [i for i in live if points.failed[i]]
    retracted = [i for i, why in enumerate(points.retracted) if why is not None]
    band = bool(failed or retracted)
    figure = make_subplots(
        rows=1 + band,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.84, 0.16][: 1 + band],
        vertical_spacing=0.04,
    )
    figure.add_trace(_observations_trace(points, ok, output, cost), row=1, col=1)
    _front_and_best(figure, points, front, cost)
    if failed:
        figure.add_trace(_failures_trace(points, failed, cost), row=2, col=1)
    if retracted:
        figure.add_trace(_retracted_trace(points, retracted, cost), row=2, col=1)
    _cap_lines(figure, points.cap, cost, 1 + band)
    figure.update_xaxes(type="log", range=cost.span)
    figure.update_xaxes(title=cost.title, row=1 + band, col=1)
    figure.update_yaxes(title=output.title, row=1, col=1)
    if band:
        ticks = [(0, "failed")] * bool(failed) + [(1, "retracted")] * bool(retracted)
        figure.update_yaxes(
            tickvals=[t for t, _ in ticks],
            ticktext=[label for _, label in ticks],
            range=[-0.6, 1.6],
            row=2,
            col=1,
        )
    return styled(figure, 540 if band else 480)


def _cap_lines(figure: go.Figure, cap: float | None, cost: Axis, rows: int) -> None:
    """A dashed vertical line at the cost cap through every panel."""
    if cap is None:
        return
    x = cost.show([cap])[0]
    for row in range(1, rows + 1):
        figure.add_vline(x=x, line_dash="dash", line_color=FAILED_COLOR, row=row, col=1)
    figure.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            name=f"{cost.limit}: {x:.4g}",
            line={"dash": "dash", "color": FAILED_COLOR},
        ),
        row=1,
        col=1,
    )


def front_history_figure(history: list[FrontInfo], output: Axis, cost: Axis) -> go.Figure:
    """The front after chosen tries, one at a time behind a slider (the latest shown)."""
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
                showlegend=False,
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
    slider = {"active": len(history) - 1, "steps": steps, "y": -0.15}
    figure.update_layout(sliders=[{**slider, "currentvalue": {"prefix": "after try "}}])
    figure.update_xaxes(type="log", title=cost.title, range=cost.span)
    figure.update_yaxes(title=output.title, range=_padded([v for h in history for v in h.outputs]))
    return styled(figure, 480)


def _padded(values: list[float]) -> list[float] | None:
    """A value range padded by 5% of its spread (of the value when there is one): plotly's
    own range for a lone point spans a whole unit around it, which flattens a metric such
    as NE that moves in the third decimal. None for no finite value."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    low, high = min(finite), max(finite)
    pad = 0.05 * ((high - low) or abs(high) or 1.0)
    return [low - pad, high + pad]


def try_ticks(tries: list[int]) -> dict[str, Any]:
    """Axis (or colour bar) settings that put ticks on whole try numbers only, about eight
    of them: plotly's own ticks fall on 1.5 and 2.5 when there are few tries."""
    step = max(1, math.ceil((max(tries, default=1) - min(tries, default=1)) / 8))
    return {"tick0": 1, "dtick": step}


def best_so_far_figure(info: BestSoFarInfo, output: Axis, additive_cost: str | None) -> go.Figure:
    """Best feasible output against tries and, when the cost adds up over runs
    (``additive_cost`` names it), against the cumulative cost (log axis, as every cost)."""
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
        ticks = {} if col > 1 else try_ticks(info.tries)
        figure.update_xaxes(
            title=name, type="log" if col > 1 else "linear", row=1, col=col, **ticks
        )
    figure.update_yaxes(title=output.title, row=1, col=1)
    return styled(figure)


def params_figure(
    features: dict[str, tuple[list[Any], str]], points: PointsInfo, output: Axis
) -> go.Figure:
    """One panel per param feature (x values and axis type) against the output, successes
    that are not retracted."""
    names = list(features)
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    figure = make_subplots(rows=rows, cols=cols, subplot_titles=names)
    ok = [
        i
        for i, (failed, why) in enumerate(zip(points.failed, points.retracted, strict=True))
        if not failed and why is None
    ]
    for k, name in enumerate(names):
        values, axis_type = features[name]
        row, col = k // cols + 1, k % cols + 1
        figure.add_trace(
            go.Scatter(
                x=_pick(values, ok),
                y=_pick(points.outputs, ok),
                mode="markers",
                showlegend=False,
                text=_pick(points.labels, ok),
                customdata=_pick(points.tries, ok),
                hovertemplate=f"try %{{customdata}}<br>{name} %{{x}}<br>{output.title} "
                "%{y:.6g}<br>%{text}<extra></extra>",
                marker={"color": _pick(points.tries, ok), "colorscale": "Viridis"},
            ),
            row=row,
            col=col,
        )
        ticks = _count_ticks(values) if axis_type == "linear" else {}
        figure.update_xaxes(type=axis_type, row=row, col=col, **ticks)
        figure.update_yaxes(title=output.title if col == 1 else None, row=row, col=col)
    return styled(figure, 320 * rows)


def _count_ticks(values: list[Any]) -> dict[str, Any]:
    """Whole-number ticks for a small count (an arch's depth or towers, at most 10 apart),
    which plotly would tick at 1.5 and 2.5; nothing for anything else."""
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return {}
    return {"tick0": 0, "dtick": 1} if max(values) - min(values) <= 10 else {}


def _identity_panel(
    figure: go.Figure, predicted: list, observed: list, info: Any, col: int
) -> None:
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


def diagnostics_figure(info: DiagnosticsInfo, output: Axis, cost: Axis) -> go.Figure:
    """Predicted against observed output and cost per searched try, and the acquisition
    terms by try."""
    figure = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            f"predicted vs observed {output.title}",
            f"predicted vs observed {cost.title}",
            "acquisition terms by try",
        ),
    )
    _identity_panel(figure, info.predicted_output, info.observed_output, info, 1)
    _identity_panel(figure, cost.show(info.predicted_cost), cost.show(info.observed_cost), info, 2)
    for col in (1, 2):
        figure.update_xaxes(title="predicted", row=1, col=col)
        figure.update_yaxes(title="observed", row=1, col=col)
    figure.update_xaxes(type="log", row=1, col=2)
    figure.update_yaxes(type="log", row=1, col=2)
    for name, values in info.terms.items():
        figure.add_trace(
            go.Scatter(x=info.tries, y=values, mode="lines+markers", name=name), row=1, col=3
        )
    figure.update_xaxes(title="try", row=1, col=3, **try_ticks(info.tries))
    figure.update_yaxes(type="log", row=1, col=3)
    return styled(figure)


CURVE_DASH = {"finished": "solid", "stopped": "dash", "failed": "dot", "running": "dashdot"}
"""Line style of a learning curve by how its try ended (``CurveInfo.status``)."""


def curves_figure(curves: list[CurveInfo], output: Axis, step: str) -> go.Figure:
    """Learning curves, one line per try; its style and name say how the try ended, and a
    failed or stopped try ends in a cross at its last finite result, so that a curve cut
    short by a failure does not read as one that finished there."""
    figure = go.Figure()
    for curve in curves:
        label = curve.name if curve.status == "finished" else f"{curve.name} ({curve.status})"
        ended = curve.status in ("failed", "stopped")
        finite = [i for i, v in enumerate(curve.outputs) if math.isfinite(v)]
        last = finite[-1] if finite else -1
        figure.add_trace(
            go.Scatter(
                x=curve.steps,
                y=curve.outputs,
                mode="lines+markers" if ended else "lines",
                name=label,
                line={"dash": CURVE_DASH[curve.status]},
                marker={
                    "symbol": "x",
                    "size": [12 if i == last else 0 for i in range(len(curve.steps))],
                    "color": FAILED_COLOR if curve.status == "failed" else None,
                },
                hovertemplate=f"{label}<br>{step} %{{x}}<br>{output.title} %{{y:.6g}}<extra></extra>",
            )
        )
    figure.update_xaxes(title=step)
    figure.update_yaxes(title=output.title)
    return styled(figure, 460)
