"""Study report: gather plain data from a study's state (``*_info``), draw it
(``carbs_lite.report.figures``), write one self-contained page (``write_study_report``).

Axis titles and hovers use the study's ``Metrics``: its output and cost names and units, and,
when ``Metrics.cost_inverse`` is set, the cost shown as its reciprocal under that name (e.g.
QPS for a cost of 1/QPS). The page opens with a written summary; a task preset
(``carbs_lite.tasks``) may add lines to it and panels of its own. Retracted runs are drawn
greyed and left out of the front, the best pick and the curves. The learning curves panel
draws one line per try (``Study.observe_progress``, or the older ``extra["curve"]``), its x
axis named by ``Metrics.step``; tries stopped early, failed or still running are drawn
dashed, dotted or dash-dotted.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from carbs_lite.arch import ArchSpace
from carbs_lite.categorical import CategoricalSpace
from carbs_lite.curves import ProgressPoint, learning_curve, stopped_while_spending
from carbs_lite.pareto import record_groups, study_front
from carbs_lite.records import Metrics, StudyState, best_feasible, is_feasible
from carbs_lite.report import figures as fig
from carbs_lite.report.figures import Axis
from carbs_lite.report.page import paragraphs, settings_block, write_page
from carbs_lite.spaces import LogSpace, ParamSpace, PowerOfTwoSpace
from carbs_lite.tasks import preset

MAX_FRONT_SNAPSHOTS = 12


class PointsInfo(NamedTuple):
    """Every observation: try number (1-based), cost, output (NaN if failed), hover text,
    whether its cost was estimated, and the reason it was retracted (None if it stands)."""

    tries: list[int]
    costs: list[float]
    outputs: list[float]
    failed: list[bool]
    labels: list[str]
    best_index: int | None
    cap: float | None
    estimated: list[bool]
    retracted: list[str | None]


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


class SummaryInfo(NamedTuple):
    """What the top of the page says, as plain lines (the task's lines last)."""

    lines: list[str]
    empty: bool


def _label(params: dict[str, Any]) -> str:
    """Hover text of params; names and values escaped, since plotly renders some HTML."""
    return "<br>".join(
        f"{html.escape(k)} = {html.escape(json.dumps(v)) if not isinstance(v, float) else f'{v:.6g}'}"
        for k, v in params.items()
    )


def _stopped_label(reason: str | None) -> str:
    """Hover text of why a try was stopped early (escaped), or nothing."""
    return "" if reason is None else f"<br>stopped early: {html.escape(reason)}"


def _titled(name: str, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


def plot_text(text: str) -> str:
    """A study's string as a plotly title, trace name or tick label: escaped, since plotly
    renders some HTML tags there (and shows the escaped characters as themselves)."""
    return html.escape(text)


def output_axis(state: StudyState) -> Axis:
    """The output's axis title (``plot_text``): its name, unit and direction."""
    metrics = state.metrics
    title = f"{_titled(metrics.output, metrics.output_unit)}, {state.config.direction.value}d"
    return Axis(plot_text(title), lambda v: v, False)


def _cost_title(metrics: Metrics) -> str:
    return metrics.cost_name if metrics.cost_inverse else _titled(metrics.cost, metrics.cost_unit)


def cost_axis(metrics: Metrics) -> Axis:
    """The cost's axis (title ``plot_text``): the cost itself, or its reciprocal under
    ``Metrics.cost_inverse``."""
    return Axis(
        plot_text(_cost_title(metrics)),
        lambda c: [metrics.shown_cost(v) for v in c],
        True,
        limit=plot_text(metrics.limit_name),
    )


def cost_span(points: PointsInfo, cost: Axis) -> tuple[float, float] | None:
    """The log10 range of every shown cost and the cap, padded by 5% on each side, so that
    the panels that plot cost share one axis."""
    shown = cost.show(points.costs + ([points.cap] if points.cap is not None else []))
    if not shown:
        return None
    low, high = math.log10(min(shown)), math.log10(max(shown))
    pad = max(high - low, 0.2) * 0.05
    return (low - pad, high + pad)


def points_info(state: StudyState) -> PointsInfo:
    observations = state.observations
    best = best_feasible(state.active_observations, state.config)
    best_index = next((i for i, o in enumerate(observations) if o is best), None)
    return PointsInfo(
        tries=list(range(1, len(observations) + 1)),
        costs=[o.cost for o in observations],
        outputs=[o.output for o in observations],
        failed=[o.is_failure for o in observations],
        labels=[_label(o.params) + _stopped_label(o.stopped) for o in observations],
        best_index=best_index,
        cap=state.config.max_suggestion_cost,
        estimated=[bool(o.extra.get("cost_estimated")) for o in observations],
        retracted=[state.retracted.get(i) for i in range(len(observations))],
    )


def front_history_info(state: StudyState, snapshots: int = MAX_FRONT_SNAPSHOTS) -> list[FrontInfo]:
    """Fronts after evenly spaced tries (always including the last), by the study's own rules,
    retracted runs left out."""
    observations = state.observations
    if not observations:
        return []
    space = ParamSpace(state.params)
    kept = [i for i in range(len(observations)) if i not in state.retracted]
    keys = {i: space.key(observations[i].params) for i in kept}
    ends = sorted({int(round(x)) for x in np.linspace(1, len(observations), snapshots)})
    history = []
    for end in ends:
        rows = [i for i in kept if i < end]
        chosen = [observations[i] for i in rows]
        groups = record_groups(chosen, [keys[i] for i in rows], state.config.sign)
        front = study_front(groups, state.config, state.heuristics)
        outputs = [state.config.sign * g.mean_goodness for g in front]
        history.append(FrontInfo(end, [g.cost for g in front], outputs))
    return history


def best_so_far_info(state: StudyState) -> BestSoFarInfo:
    """Best feasible output after each try (retracted tries change nothing)."""
    best, current = [], math.nan
    sign, cap = state.config.sign, state.config.max_suggestion_cost
    for index, o in enumerate(state.observations):
        better = math.isnan(current) or sign * (o.output - current) > 0
        live = index not in state.retracted
        if live and is_feasible(o.is_failure, o.cost, cap) and better:
            current = o.output
        best.append(current)
    costs = np.cumsum([o.cost for o in state.observations]).tolist()
    return BestSoFarInfo(list(range(1, len(best) + 1)), costs, best)


def param_features(state: StudyState) -> dict[str, tuple[list[Any], str]]:
    """Per panel, keyed by its title (``plot_text``): x values of every observation and the x
    axis type ("linear", "log", or "category" for a categorical param, whose values are the
    choices as ``plot_text``). An arch param gets its size (``ArchSpace.size_inputs``),
    deepest sub-arch and sub-arch count."""
    features: dict[str, tuple[list[Any], str]] = {}
    for param in state.params:
        values = [o.params[param.name] for o in state.observations]
        space, name = param.space, plot_text(param.name)
        if isinstance(space, ArchSpace):
            rows = np.array([space.to_basic(a) for a in values]).reshape(-1, space.dim)
            sizes = np.power(2.0, space.size_inputs(rows))
            features[f"{name}: weights past the input layer"] = (sizes[:, 0].tolist(), "log")
            features[f"{name}: first-layer width"] = (sizes[:, 1].tolist(), "log")
            features[f"{name}: depth"] = ([max(len(s) for s in a) for a in values], "linear")
            features[f"{name}: sub-arches"] = ([len(a) for a in values], "linear")
        elif isinstance(space, CategoricalSpace):
            features[name] = ([plot_text(choice_text(v)) for v in values], "category")
        else:
            log_axis = isinstance(space, LogSpace | PowerOfTwoSpace)
            features[name] = (values, "log" if log_axis else "linear")
    return features


def choice_text(choice: Any) -> str:
    """A categorical choice as shown: a string as it is, a number or boolean as JSON."""
    return choice if isinstance(choice, str) else json.dumps(choice)


def diagnostics_info(state: StudyState) -> DiagnosticsInfo:
    rows = [
        (i + 1, o)
        for i, o in enumerate(state.observations)
        if o.diagnostics is not None
        and o.diagnostics.source == "search"
        and i not in state.retracted
    ]
    names = ("expected_improvement", "p_search", "p_success", "acquisition")
    return DiagnosticsInfo(
        tries=[t for t, _ in rows],
        predicted_output=[o.diagnostics.predicted_output for _, o in rows],
        # a try stopped early reached its output partway, not the full run's the model predicted
        observed_output=[math.nan if o.stopped else o.output for _, o in rows],
        predicted_cost=[o.diagnostics.predicted_cost for _, o in rows],
        # a failed run's cost the cost model estimated is no observation of it, nor is what a
        # try stopped while its cost grew had spent by its stop
        observed_cost=[
            math.nan if o.extra.get("cost_estimated") or stopped_while_spending(o) else o.cost
            for _, o in rows
        ],
        terms={n: [getattr(o.diagnostics, n) for _, o in rows] for n in names},
    )


class CurveInfo(NamedTuple):
    """One try's learning curve (``learning_curve``): its name ("try 3", or the id of a try
    still running), steps and outputs (NaN where it had no finite result), and how it ended:
    "finished", "failed", "stopped" (early, ``Observation.stopped``) or "running"."""

    name: str
    steps: list[float]
    outputs: list[float]
    status: str


def curves_info(state: StudyState) -> list[CurveInfo]:
    """The learning curves of every try that has one, observed tries first (retracted ones
    left out), then the running ones."""
    curves = []
    for i, o in enumerate(state.observations):
        points = learning_curve(o)
        if points and i not in state.retracted:
            status = "stopped" if o.stopped else ("failed" if o.is_failure else "finished")
            curves.append(_curve(f"try {i + 1}", points, status))
    for s in state.outstanding:
        if s.progress:
            curves.append(_curve(s.id, list(s.progress), "running"))
    return curves


def _curve(name: str, points: list[ProgressPoint], status: str) -> CurveInfo:
    return CurveInfo(name, [p.step for p in points], [p.output for p in points], status)


def _value(metrics: Metrics, output: float, cost: float) -> str:
    return f"{metrics.output_value(output)}, {metrics.cost_value(cost)}"


def summary_info(state: StudyState) -> SummaryInfo:
    """The best feasible run and its params, tries used out of the budget, and how many runs
    failed, went over the cap or were retracted; then the task preset's lines."""
    metrics, observations = state.metrics, state.observations
    budget = f" of {state.tries}" if state.tries is not None else " (no budget set)"
    lines = [f"Tries used: {state.tries_used}{budget}; {len(state.outstanding)} outstanding."]
    if not observations:
        return SummaryInfo(
            ["No results yet: nothing has been observed in this study.", *lines], True
        )
    best = best_feasible(state.active_observations, state.config)
    if best is None:
        lines.insert(0, "No feasible run yet.")
    else:
        number = next(i for i, o in enumerate(observations) if o is best) + 1
        params = json.dumps(best.params)
        lines.insert(
            0,
            f"Best feasible run: try {number}, {_value(metrics, best.output, best.cost)}; params {params}.",
        )
    failed = sum(o.is_failure for o in state.active_observations)
    cap = state.config.max_suggestion_cost
    over = sum(
        not o.is_failure and cap is not None and o.cost >= cap for o in state.active_observations
    )
    stopped = sum(o.stopped is not None for o in state.active_observations)
    early = f" ({stopped} of them stopped early)" if stopped else ""
    beyond = f"{'below' if metrics.cost_inverse else 'over'} the {metrics.limit_name}"
    lines.append(
        f"{len(observations)} runs recorded: {failed} failed{early}, {over} {beyond}, "
        f"{len(state.retracted)} retracted."
    )
    task = preset(metrics.task)
    if task is not None:
        lines.extend(task.summary_lines(state))
    return SummaryInfo(lines, False)


def study_figures(state: StudyState) -> list[tuple[str, Any]]:
    """Every panel of the study report, (section title, figure), the task's panels last."""
    metrics = state.metrics
    output, cost = output_axis(state), cost_axis(metrics)
    points = points_info(state)
    cost = cost._replace(span=cost_span(points, cost))
    history = front_history_info(state)
    additive = None if metrics.cost_inverse else cost.title
    figures = [
        (
            f"{_cost_title(metrics)} vs {metrics.output}",
            fig.scatter_figure(points, history[-1] if history else None, output, cost),
        ),
        ("Pareto front over tries", fig.front_history_figure(history, output, cost)),
        ("Best so far", fig.best_so_far_figure(best_so_far_info(state), output, additive)),
        ("Parameters vs performance", fig.params_figure(param_features(state), points, output)),
    ]
    diagnostics = diagnostics_info(state)
    if diagnostics.tries:
        figures.append(
            ("Suggestion diagnostics", fig.diagnostics_figure(diagnostics, output, cost))
        )
    curves = curves_info(state)
    if curves:
        title = f"{metrics.output} by {metrics.step}"
        figures.append((title, fig.curves_figure(curves, output, plot_text(metrics.step))))
    task = preset(metrics.task)
    if task is not None:
        figures.extend(task.report_panels(state))
    return figures


def settings_rows(state: StudyState) -> dict[str, str]:
    """The study's settings for the collapsed table at the bottom of the page."""
    return {
        "seed": str(state.seed),
        **{f"config.{k}": str(v) for k, v in state.config.to_json().items()},
        **{f"heuristics.{k}": str(v) for k, v in state.heuristics.to_json().items()},
    }


def write_study_report(state: StudyState, path: str | Path, title: str | None = None) -> Path:
    """One self-contained HTML page: the summary, every panel (none for a study with no
    results yet), and the settings, collapsed. Written atomically."""
    summary = summary_info(state)
    figures = [] if summary.empty else study_figures(state)
    return write_page(
        path,
        title or "carbs_lite study report",
        figures,
        paragraphs(summary.lines),
        settings_block(settings_rows(state)),
    )
