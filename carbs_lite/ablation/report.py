"""Ablation report: the verdicts in words, a forest plot of effects, and best-so-far bands per
switch (a panel per problem, the baseline and each alternative in its own colour)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from carbs_lite.ablation.stats import TOO_FEW
from carbs_lite.report.page import paragraphs, settings_block, styled, write_page


@dataclass(frozen=True)
class CurveBand:
    """Median best-so-far normalized regret of one variant on one problem, with a 95% band."""

    problem: str
    variant: str
    x: list[float]
    median: list[float]
    low: list[float]
    high: list[float]
    x_label: str


@dataclass(frozen=True)
class Effect:
    """Paired effect of a variant against the baseline on a problem (negative: it helps)."""

    switch: str
    variant: str
    problem: str
    median_difference: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float
    verdict: str
    n_pairs: int


VERDICT_COLORS = {
    "helps": "#27ae60",
    "hurts": "#c0392b",
    "no detectable effect": "#7f8c8d",
    TOO_FEW: "#d4ac0d",
}
BASELINE_COLOR = "#222222"
ALTERNATIVE_COLORS = [
    "#e67e22",
    "#2980b9",
    "#8e44ad",
    "#16a085",
    "#c0392b",
    "#27ae60",
    "#b7950b",
    "#e84393",
]
"""One per alternative of a switch, none near the baseline's black: the packaged switches
have at most 5 alternatives (pareto_model), which shared a colour when there were 4."""
PANEL_COLUMNS = 4


def _rgba(color: str, alpha: float) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _band_traces(band: CurveBand, color: str, name: str, legend: bool) -> list[go.Scatter]:
    """A shaded 95% band and its median line."""
    return [
        go.Scatter(
            x=band.x + band.x[::-1],
            y=band.high + band.low[::-1],
            mode="lines",
            fill="toself",
            fillcolor=_rgba(color, 0.12),
            line={"width": 0},
            hoverinfo="skip",
            legendgroup=name,
            showlegend=False,
        ),
        go.Scatter(
            x=band.x,
            y=band.median,
            mode="lines",
            name=name,
            legendgroup=name,
            showlegend=legend,
            line={"color": color, "width": 2.5 if name == "baseline" else 2},
        ),
    ]


def switch_figure(bands: list[CurveBand], switch: str, variants: list[str]) -> go.Figure:
    """One switch: a panel per problem with the baseline (black) and each of the switch's
    ``variants`` in its own colour, so that a panel holds a few lines, all told apart."""
    problems = sorted({b.problem for b in bands})
    cols = min(PANEL_COLUMNS, len(problems))
    rows = math.ceil(len(problems) / cols)
    figure = make_subplots(rows=rows, cols=cols, subplot_titles=problems, vertical_spacing=0.12)
    colors = {"baseline": BASELINE_COLOR}
    colors |= {v: ALTERNATIVE_COLORS[k % len(ALTERNATIVE_COLORS)] for k, v in enumerate(variants)}
    for k, problem in enumerate(problems):
        for band in bands:
            if band.problem == problem and band.variant in colors:
                traces = _band_traces(band, colors[band.variant], band.variant, k == 0)
                for trace in traces:
                    figure.add_trace(trace, row=k // cols + 1, col=k % cols + 1)
    figure.update_xaxes(title=bands[0].x_label if bands else "try", row=rows)
    figure.update_yaxes(rangemode="tozero")
    figure.update_yaxes(title="best-so-far regret", col=1)
    styled(figure, 300 * rows + 140)
    figure.update_layout(margin={"t": 70})  # panel titles clear of the toolbar
    return figure


def _hover(effect: Effect) -> str:
    """A comparison's numbers and its verdict, for the forest plot's hover."""
    return (
        f"{effect.verdict}: median {effect.median_difference:+.4f} "
        f"[{effect.ci_low:+.4f}, {effect.ci_high:+.4f}]<br>p={effect.p_value:.3g}, "
        f"Holm p={effect.p_holm:.3g}, n={effect.n_pairs} pairs"
    )


def verdict_table(effects: list[Effect]) -> str:
    """Every comparison's verdict as an HTML table: the page states each one in words, not
    only as a marker colour."""
    head = "".join(
        f"<th>{h}</th>"
        for h in ("switch value", "problem", "pairs", "median difference [95% CI]", "Holm p")
    )
    rows = []
    for e in sorted(effects, key=lambda e: (e.switch, e.variant, e.problem)):
        cells = (
            e.variant,
            e.problem,
            str(e.n_pairs),
            f"{e.median_difference:+.4f} [{e.ci_low:+.4f}, {e.ci_high:+.4f}]",
            f"{e.p_holm:.3g}",
        )
        data = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        rows.append(f"<tr>{data}<td><b>{html.escape(e.verdict)}</b></td></tr>")
    return f'<table class="verdicts"><tr>{head}<th>verdict</th></tr>{"".join(rows)}</table>'


def forest_figure(effects: list[Effect]) -> go.Figure:
    """Median paired difference with its 95% CI, one row per (variant, problem)."""
    rows = sorted(effects, key=lambda e: (e.switch, e.variant, e.problem))
    labels = [f"{e.variant} · {e.problem}" for e in rows]
    figure = go.Figure()
    for verdict, color in VERDICT_COLORS.items():
        chosen = [i for i, e in enumerate(rows) if e.verdict == verdict]
        if not chosen:
            continue
        figure.add_trace(
            go.Scatter(
                x=[rows[i].median_difference for i in chosen],
                y=[labels[i] for i in chosen],
                mode="markers",
                name=verdict,
                marker={"color": color, "size": 8},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [rows[i].ci_high - rows[i].median_difference for i in chosen],
                    "arrayminus": [rows[i].median_difference - rows[i].ci_low for i in chosen],
                },
                text=[_hover(rows[i]) for i in chosen],
                hovertemplate="%{y}<br>%{text}<extra></extra>",
            )
        )
    figure.add_vline(x=0, line_dash="dot", line_color="#555")
    figure.update_yaxes(categoryorder="array", categoryarray=labels[::-1], automargin=True)
    figure.update_xaxes(title="median difference in AUC of regret (negative = the variant helps)")
    styled(figure, 18 * len(rows) + 170)
    # above the rows, at the left: clear of the axis title below and of the toolbar at the right
    figure.update_layout(
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "xanchor": "left"},
        margin={"t": 50, "b": 60},
    )
    return figure


def write_ablation_report(
    path: str | Path,
    curves: list[CurveBand],
    effects: list[Effect],
    title: str,
    header: dict[str, str],
    verdicts: list[str] | None = None,
) -> Path:
    """One self-contained HTML page: the verdicts in words, a forest plot, then one figure per
    switch with a panel per problem; the sweep's settings below, collapsed."""
    figures = [
        ("Effects of each switch (paired by seed, 95% bootstrap CI)", forest_figure(effects))
    ]
    switch_of = {e.variant: e.switch for e in effects}
    for switch in sorted(set(switch_of.values())):
        variants = sorted(v for v, s in switch_of.items() if s == switch)
        bands = [b for b in curves if b.variant in (*variants, "baseline")]
        figures.append((f"Best so far: {switch}", switch_figure(bands, switch, variants)))
    finite = [e for e in effects if math.isfinite(e.median_difference)]
    header = {**header, "comparisons": str(len(finite))}
    intro = paragraphs(verdicts or []) + verdict_table(effects)
    return write_page(path, title, figures, intro, settings_block(header, "Sweep"))
