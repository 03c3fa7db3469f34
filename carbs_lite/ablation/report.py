"""Ablation report: best-so-far bands per variant and problem, and a forest plot of effects."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from carbs_lite.report.page import header_table, styled, write_page


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


VERDICT_COLORS = {"helps": "#27ae60", "hurts": "#c0392b", "no detectable effect": "#7f8c8d"}


def _rgba(color: str, alpha: float) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def curves_figure(bands: list[CurveBand], problem: str, variants: list[str]) -> go.Figure:
    """One panel: median line and shaded band per variant."""
    figure = go.Figure()
    palette = qualitative.Dark24
    for band in (b for b in bands if b.problem == problem):
        color = palette[variants.index(band.variant) % len(palette)]
        figure.add_trace(
            go.Scatter(
                x=band.x + band.x[::-1],
                y=band.high + band.low[::-1],
                fill="toself",
                fillcolor=_rgba(color, 0.12),
                line={"width": 0},
                hoverinfo="skip",
                legendgroup=band.variant,
                showlegend=False,
            )
        )
        figure.add_trace(
            go.Scatter(
                x=band.x,
                y=band.median,
                mode="lines",
                name=band.variant,
                legendgroup=band.variant,
                line={"color": color},
            )
        )
    figure.update_xaxes(title=bands[0].x_label if bands else "try")
    figure.update_yaxes(title="best-so-far normalized regret", rangemode="tozero")
    return styled(figure, 520)


def forest_figure(effects: list[Effect]) -> go.Figure:
    """Median paired difference with its 95% CI, one row per (variant, problem)."""
    rows = sorted(effects, key=lambda e: (e.switch, e.variant, e.problem))
    labels = [f"{e.variant} · {e.problem}" for e in rows]
    figure = make_subplots(rows=1, cols=1)
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
                text=[
                    f"p={rows[i].p_value:.3g}, Holm p={rows[i].p_holm:.3g}, n={rows[i].n_pairs}"
                    for i in chosen
                ],
            )
        )
    figure.add_vline(x=0, line_dash="dot", line_color="#555")
    figure.update_yaxes(categoryorder="array", categoryarray=labels[::-1], automargin=True)
    figure.update_xaxes(title="median difference in AUC of regret (negative = the variant helps)")
    return styled(figure, max(400, 18 * len(rows) + 160))


def write_ablation_report(
    path: str | Path,
    curves: list[CurveBand],
    effects: list[Effect],
    title: str,
    header: dict[str, str],
) -> Path:
    """One self-contained HTML page: a forest plot, then one curve panel per problem."""
    variants = sorted({b.variant for b in curves})
    figures = [
        ("Effects of each switch (paired by seed, 95% bootstrap CI)", forest_figure(effects))
    ]
    for problem in sorted({b.problem for b in curves}):
        figures.append((f"Best so far: {problem}", curves_figure(curves, problem, variants)))
    finite = [e for e in effects if math.isfinite(e.median_difference)]
    header = {**header, "comparisons": str(len(finite))}
    return write_page(path, title, figures, header_table(header))
