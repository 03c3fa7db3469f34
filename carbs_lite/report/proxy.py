"""Proxy-check report: proxy against full output per fidelity, correlation against proxy cost,
and the variance check, on one self-contained page (``report.page``) that opens with the
verdicts in words. Every string (params, names) reaches the page escaped by ``page``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from carbs_lite.proxy import ProxyCheck
from carbs_lite.proxy.summary import share_text, verdict_lines
from carbs_lite.report.page import paragraphs, settings_block, styled, write_page

PANEL_COLUMNS = 3
COLORS = {"kendall": "#2c6fbb", "spearman": "#e67e22", "cost": "#16a085", "repeat": "#8e44ad"}


def _labels(check: ProxyCheck) -> list[str]:
    return [f"#{i + 1} {json.dumps(params)}" for i, params in enumerate(check.candidates)]


def _grid(count: int) -> tuple[int, int]:
    cols = min(PANEL_COLUMNS, count)
    return math.ceil(count / cols), cols


def scatter_figure(check: ProxyCheck) -> go.Figure:
    """One panel per proxy fidelity: each candidate's proxy output against its full output;
    open markers for candidates whose full run went over the cost cap."""
    rows, cols = _grid(len(check.proxies))
    titles = [
        f"{p.fidelity:g} {check.fidelity_name}: tau {p.kendall.value:+.2f}"
        if p.kendall.defined
        else f"{p.fidelity:g} {check.fidelity_name}: too few pairs"
        for p in check.proxies
    ]
    figure = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.16)
    full = check.full.runs
    over = [check.max_cost is not None and not r.cost < check.max_cost for r in full]
    labels, output = _labels(check), check.metrics.output
    for k, proxy in enumerate(check.proxies):
        figure.add_trace(
            go.Scatter(
                x=[r.output for r in full],
                y=[r.output for r in proxy.runs],
                mode="markers",
                text=labels,
                showlegend=False,
                marker={
                    "color": COLORS["kendall"],
                    "size": 9,
                    "symbol": ["circle-open" if o else "circle" for o in over],
                },
                hovertemplate=f"full %{{x:.6g}}<br>{proxy.fidelity:g}: %{{y:.6g}}<br>%{{text}}"
                "<extra></extra>",
            ),
            row=k // cols + 1,
            col=k % cols + 1,
        )
        figure.update_yaxes(
            title=f"{output} at {proxy.fidelity:g}", row=k // cols + 1, col=k % cols + 1
        )
    figure.update_xaxes(title=f"{output} at {check.full.fidelity:g} {check.fidelity_name}")
    return styled(figure, 360 * rows + 100)


def _correlation_trace(check: ProxyCheck, kind: str, name: str, color: str) -> go.Scatter:
    values = [getattr(p, kind) for p in check.proxies]
    return go.Scatter(
        x=[p.relative_cost for p in check.proxies],
        y=[v.value for v in values],
        mode="lines+markers",
        name=name,
        marker={"color": color, "size": 9},
        line={"color": color},
        text=[f"{p.fidelity:g} {check.fidelity_name}" for p in check.proxies],
        error_y={
            "type": "data",
            "symmetric": False,
            "array": [v.high - v.value for v in values],
            "arrayminus": [v.value - v.low for v in values],
        },
        hovertemplate="%{text}<br>cost %{x:.0%} of a full run<br>%{y:+.2f}<extra></extra>",
    )


def correlation_figure(check: ProxyCheck) -> go.Figure:
    """Kendall's tau (with its CI), Spearman's rho and, with a cap, the cost tau of each proxy
    against its cost relative to a full run; the threshold as a dashed line."""
    figure = go.Figure(
        [
            _correlation_trace(check, "kendall", "Kendall's tau (output)", COLORS["kendall"]),
            _correlation_trace(check, "spearman", "Spearman's rho (output)", COLORS["spearman"]),
        ]
    )
    if check.max_cost is not None:
        figure.add_trace(
            _correlation_trace(check, "cost_kendall", "Kendall's tau (cost)", COLORS["cost"])
        )
    figure.add_hline(
        y=check.settings.threshold,
        line_dash="dash",
        line_color="#555",
        annotation_text=f"threshold {check.settings.threshold:g}",
    )
    level = f"{check.settings.confidence:.0%}"
    figure.update_xaxes(
        title="proxy cost, share of a full run", tickformat=".0%", rangemode="tozero"
    )
    lows = [c.low for p in check.proxies for c in (p.kendall, p.spearman) if c.defined]
    bottom = min([0.0, check.settings.threshold, *lows]) - 0.05
    figure.update_yaxes(
        title=f"rank correlation with the full runs ({level} CI)", range=[bottom, 1.05]
    )
    return styled(figure)


def variance_figure(check: ProxyCheck) -> go.Figure:
    """One panel per fidelity: every candidate's output in a grey column (the spread between
    configs), then every run of each repeated config in a column of its own (the noise)."""
    levels = [*check.proxies, check.full]
    rows, cols = _grid(len(levels))
    titles = [
        f"{lv.fidelity:g} {check.fidelity_name}: noise {share_text(lv.noise_share)} of spread"
        for lv in levels
    ]
    figure = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.16)
    labels = _labels(check)
    for k, level in enumerate(levels):
        where = {"row": k // cols + 1, "col": k % cols + 1}
        columns = [("all candidates", list(range(len(level.runs))), level.runs, "#9a9a9a")]
        columns += [
            (f"#{index + 1}", [index] * len(group), group, COLORS["repeat"])
            for index, group in zip(check.repeated, level.repeats, strict=True)
        ]
        for name, indices, runs, color in columns:
            figure.add_trace(
                go.Scatter(
                    x=[name] * len(runs),
                    y=[r.output for r in runs],
                    mode="markers",
                    showlegend=False,
                    marker={"color": color, "size": 8, "opacity": 0.8},
                    text=[labels[i] for i in indices],
                    hovertemplate="%{y:.6g}<br>%{text}<extra></extra>",
                ),
                **where,
            )
        figure.update_yaxes(title=check.metrics.output, **where)
    figure.update_xaxes(title="candidates, then each repeated candidate")
    return styled(figure, 360 * rows + 100)


def _settings(check: ProxyCheck) -> dict[str, str]:
    settings = check.settings
    rows = {
        "problem": check.problem,
        "full fidelity": f"{check.full.fidelity:g} {check.fidelity_name}",
        "proxy fidelities": ", ".join(f"{p.fidelity:g}" for p in check.proxies),
        "cost cap": "none" if check.max_cost is None else f"{check.max_cost:.6g}",
        "threshold (Kendall's tau)": f"{settings.threshold:g}",
        "candidates": str(len(check.candidates)),
        "pool screened": str(check.selection.pool),
        "repeated configs x runs": f"{len(check.repeated)} x {settings.repeats}",
        "bootstrap": f"{settings.resamples} paired resamples, {settings.confidence:.0%} percentile CI",
        "seed": str(settings.seed),
    }
    return rows | {f"candidate #{i + 1}": json.dumps(p) for i, p in enumerate(check.candidates)}


def write_proxy_report(check: ProxyCheck, path: str | Path) -> Path:
    """Write the check's page to ``path`` atomically; returns the path."""
    figures = [
        ("Proxy against full runs, one panel per proxy fidelity", scatter_figure(check)),
        ("Rank correlation against proxy cost", correlation_figure(check)),
        (
            "Variance check: repeated runs against the spread between configs",
            variance_figure(check),
        ),
    ]
    title = f"carbs_lite proxy-task check: {check.problem}"
    intro = paragraphs(verdict_lines(check))
    return write_page(
        path, title, figures, intro, settings_block(_settings(check), "Settings and candidates")
    )
