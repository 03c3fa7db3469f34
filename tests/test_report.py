"""Study report: the gathered info, and a self-contained page with every panel."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from conftest import run, with_observations

from carbs_lite import ArchSpace, Metrics, Param, Tuner, TunerConfig
from carbs_lite.report import figures
from carbs_lite.report import study as rs
from carbs_lite.tasks.ads.simulator import total_params
from carbs_lite.tasks.ads.tuning import METRICS


@pytest.fixture
def arch_tuner() -> Tuner:
    config = TunerConfig(direction="minimize", max_suggestion_cost=1 / 3500)
    tuner = Tuner([Param("arch", ArchSpace(), [[64, 64]])], config)
    rows = [
        ([[64, 64]], 0.81, 18000),
        ([[512, 256]], 0.79, 9000),
        ([[2048] * 3], math.nan, 2000),
        ([[1024, 512]], 0.785, 5000),
        ([[1024, 1024, 512]], 0.783, 3000),
    ]
    for arch, ne, qps in rows:
        curve = [0.82 - 0.001 * d for d in range(5)] + ([None] if math.isnan(ne) else [ne])
        tuner.observe({"arch": arch}, ne, 1 / qps, extra={"curve": curve, "qps": qps})
    return tuner


def test_points_and_best(arch_tuner):
    points = rs.points_info(arch_tuner.to_state())
    assert points.tries == [1, 2, 3, 4, 5] and points.failed == [False, False, True, False, False]
    assert points.best_index == 3  # 0.783 is over the cap (qps 3000)
    assert "arch = [[1024, 512]]" in points.labels[3]


def test_front_history_follows_the_tuner(arch_tuner):
    history = rs.front_history_info(arch_tuner.to_state())
    assert history[-1].after_try == 5
    front = arch_tuner.pareto_front()
    assert history[-1].costs == [p.cost for p in front]
    assert history[0].after_try == 1 and history[0].outputs == [0.81]


def test_best_so_far_is_feasible_and_monotone(arch_tuner):
    info = rs.best_so_far_info(arch_tuner.to_state())
    assert info.best == [0.81, 0.79, 0.79, 0.785, 0.785]
    assert info.cumulative_cost == pytest.approx(
        np.cumsum([1 / 18000, 1 / 9000, 1 / 2000, 1 / 5000, 1 / 3000])
    )


def test_arch_features():
    # the simulator's formula, as in shared/ads_simulator.md's reference table
    assert total_params([[64, 64]], 512) == 36928
    assert total_params([[512, 256], [512, 256]], 512) == 786944
    tuner = Tuner([Param("arch", ArchSpace(), [[64, 64]])])
    tuner.observe({"arch": [[128], [64, 64, 64]]}, 1.0, 1.0)
    features = rs.param_features(tuner.to_state())
    assert features["arch: depth"] == ([3], "linear")
    assert features["arch: sub-arches"] == ([2], "linear")
    # weights past the input layer: 128 + (64*64 + 64*64 + 64); first layers: 128 + 64
    weights, axis_type = features["arch: weights past the input layer"]
    assert weights == pytest.approx([128 + 2 * 64 * 64 + 64]) and axis_type == "log"
    assert features["arch: first-layer width"][0] == pytest.approx([192])


def test_diagnostics_rows_come_from_searched_tries(params, minimize):
    tuner = run(Tuner(params, minimize, seed=0), 7)
    info = rs.diagnostics_info(tuner.to_state())
    searched = [i + 1 for i, o in enumerate(tuner.observations) if o.diagnostics.source == "search"]
    assert info.tries == searched and len(info.terms["p_search"]) == len(searched)
    assert all(0 < p <= 1 for p in info.terms["p_search"])


def test_page_is_self_contained_with_every_panel(arch_tuner, tmp_path):
    path = arch_tuner.report(tmp_path / "report.html")
    page = path.read_text()
    assert page.count("Plotly.newPlot(") == 5  # no searched try: no diagnostics panel
    assert len(re.findall(r"<script[^>]*\ssrc=", page)) == 0
    for title in (
        "cost vs output",
        "Pareto front over tries",
        "Best so far",
        "Parameters vs performance",
        "output by step",
        "heuristics.pareto_model",
    ):
        assert title in page
    # the summary comes first, the settings last and collapsed
    assert page.index("Best feasible run: try 4") < page.index("Plotly.newPlot(")
    assert page.index("<details><summary>Settings") > page.rindex('class="plot"')
    curves = rs.curves_info(arch_tuner.to_state())
    assert math.isnan(curves[2].outputs[-1]) and curves[2].status == "failed"  # diverged


def test_thousand_observations_stay_small(params, thousand_observations, tmp_path):
    tuner = with_observations(
        Tuner(params, TunerConfig(direction="minimize")), thousand_observations
    )
    size = tuner.report(tmp_path / "big.html").stat().st_size
    assert size < 10_000_000


def test_ads_study_speaks_in_ne_and_qps(arch_tuner, tmp_path):
    state = dataclasses.replace(arch_tuner.to_state(), metrics=METRICS)
    assert rs.output_axis(state).title == "NE, minimized"
    qps = rs.cost_axis(state.metrics)
    assert qps.title == "QPS" and qps.show([1 / 4000]) == pytest.approx([4000])
    titles = [title for title, _ in rs.study_figures(state)]
    assert titles[0] == "QPS vs NE"
    assert "NE by training day" in titles and titles[-1] == "NE by model size"
    # QPS does not add up over runs: no cumulative-cost panel
    best_so_far = dict(rs.study_figures(state))["Best so far"]
    assert [a.text for a in best_so_far.layout.annotations] == ["against try"]


def test_summary_names_the_best_run_its_params_and_the_tries(arch_tuner):
    state = dataclasses.replace(arch_tuner.to_state(), tries=10)
    lines = rs.summary_info(state).lines
    assert (
        lines[0]
        == 'Best feasible run: try 4, output 0.785, cost 0.0002; params {"arch": [[1024, 512]]}.'
    )
    assert lines[1] == "Tries used: 0 of 10; 0 outstanding."
    assert lines[2] == "5 runs recorded: 1 failed, 1 over the cost cap, 0 retracted."


def test_ads_summary_gives_the_score_and_its_definition(arch_tuner):
    state = dataclasses.replace(arch_tuner.to_state(), metrics=METRICS)
    lines = rs.summary_info(state).lines
    assert "NE 0.785, QPS 5000" in lines[0]
    assert lines[-1] == (
        "The best feasible run scores +0.03086. score = (BASELINE_NE - NE) / BASELINE_NE, the "
        "relative NE improvement over the baseline, with BASELINE_NE = 0.810000 (the observed "
        "NE of the baseline [[64, 64]], try #1; `carbs-lite run` scores against the built-in "
        "simulator's noiseless 0.811086); higher is better."
    )


def test_an_empty_study_says_so_and_draws_nothing(params, tmp_path):
    tuner = Tuner(params, TunerConfig(direction="minimize"))
    tuner.suggest()
    summary = rs.summary_info(tuner.to_state())
    assert summary.empty and summary.lines[0].startswith("No results yet")
    page = tuner.report(tmp_path / "empty.html").read_text()
    assert "No results yet" in page and "Plotly.newPlot(" not in page


def test_failures_and_retracted_runs_sit_in_their_own_band(arch_tuner):
    arch_tuner.retract(1, "wrong units")
    state = arch_tuner.to_state()
    points = rs.points_info(state)
    assert points.retracted == [None, "wrong units", None, None, None]
    figure = dict(rs.study_figures(state))["cost vs output"]
    band = {t.name: t for t in figure.data if t.yaxis == "y2"}
    assert set(band) == {"failed", "retracted"}
    assert list(band["failed"].y) == [0] and list(band["retracted"].y) == [1]
    runs = next(t for t in figure.data if t.name == "run")
    assert sorted(runs.y) == [0.783, 0.785, 0.81]  # no failed or retracted run at a value
    assert rs.best_so_far_info(state).best == [0.81, 0.81, 0.81, 0.785, 0.785]


def test_every_cost_axis_shares_one_log_range(arch_tuner):
    state = dataclasses.replace(arch_tuner.to_state(), metrics=METRICS)
    figures = dict(rs.study_figures(state))
    scatter, history = figures["QPS vs NE"], figures["Pareto front over tries"]
    low, high = scatter.layout.xaxis.range
    assert (low, high) == tuple(history.layout.xaxis.range)
    assert low < math.log10(2000) and high > math.log10(18000)  # QPS, not 1/QPS
    assert scatter.layout.xaxis.type == history.layout.xaxis.type == "log"


def test_study_strings_are_escaped_in_the_page(tmp_path):
    from carbs_lite import LinearSpace

    name = "</script><script>document.title='PWNED'</script>"
    tuner = Tuner([Param(name, LinearSpace(min=0.0, max=1.0), 0.5)])
    tuner.observe({name: 0.5}, 1.0, 1.0)
    page = tuner.report(tmp_path / "r.html").read_text()
    assert "<script>document.title" not in page
    assert page.count("</script>") == 2  # plotly.js and the plot calls


def test_names_reach_plotly_titles_and_ticks_as_text_not_markup():
    # plotly renders <b>, <i> and <a> in titles, trace names and tick labels: a param called
    # "lr<b>x" showed a bold x
    from carbs_lite import CategoricalSpace, LinearSpace

    metrics = Metrics(output="<i>acc</i>", cost="<b>gpu</b>", step="<sup>epoch</sup>")
    params = [
        Param("lr<b>x", LinearSpace(min=0.0, max=1.0), 0.5),
        Param("opt", CategoricalSpace(choices=["<a href='x'>adam</a>", "sgd"]), "sgd"),
    ]
    tuner = Tuner(params, TunerConfig(max_suggestion_cost=5.0), metrics=metrics)
    for x, opt in ((0.2, "sgd"), (0.7, "<a href='x'>adam</a>")):
        suggestion = tuner.suggest()
        tuner.observe_progress(suggestion, 1, 0.5, 1.0)
        tuner.forget(suggestion)
        tuner.observe({"lr<b>x": x, "opt": opt}, x, 2.0, extra={"curve": [0.1, x]})
    texts = []
    for _, figure in rs.study_figures(tuner.to_state()):
        layout = figure.to_plotly_json()["layout"]
        texts += [a["text"] for a in layout.get("annotations", [])]
        for key, axis in layout.items():
            if key.startswith(("xaxis", "yaxis")):
                texts.append((axis.get("title") or {}).get("text") or "")
        for trace in figure.data:
            texts.append(trace.name or "")
            if isinstance(trace.x, tuple) and any(isinstance(v, str) for v in trace.x):
                texts += [v for v in trace.x if isinstance(v, str)]
    assert not [t for t in texts if re.search(r"<(b|i|a|sup)\b", t)]
    assert any("lr&lt;b&gt;x" in t for t in texts)
    assert "&lt;a href=&#x27;x&#x27;&gt;adam&lt;/a&gt;" in texts
    assert any(t.startswith("&lt;i&gt;acc&lt;/i&gt;") for t in texts)


def test_an_estimated_cost_is_not_drawn_as_an_observed_one(params, minimize):
    # a failed run's cost the cost model filled in used to sit on the predicted = observed line
    tuner = run(Tuner(params, minimize, seed=0), 6)
    suggestion = tuner.suggest()
    estimate = suggestion.diagnostics.predicted_cost
    tuner.observe(suggestion, math.nan, estimate, is_failure=True, extra={"cost_estimated": True})
    info = rs.diagnostics_info(tuner.to_state())
    assert info.predicted_cost[-1] == estimate and math.isnan(info.observed_cost[-1])
    assert all(math.isfinite(c) for c in info.observed_cost[:-1])


def test_a_stopped_tries_partial_result_is_not_drawn_as_observed(params, minimize):
    # its output and cost at the stop sat beside the model's prediction for a whole run, as if
    # the surrogate were far off; a cost that never grew along its curve is still drawn
    tuner = run(Tuner(params, minimize, seed=0), 6)
    for costs in ((0.1, 0.2), (3.0, 3.0)):
        suggestion = tuner.suggest()
        for step, cost in enumerate(costs, 1):
            tuner.observe_progress(suggestion, step, 50.0, cost)
        tuner.stop(suggestion, "manual")
    info = rs.diagnostics_info(tuner.to_state())
    assert math.isnan(info.observed_output[-2]) and math.isnan(info.observed_output[-1])
    assert math.isnan(info.observed_cost[-2]) and info.observed_cost[-1] == 3.0
    assert all(math.isfinite(v) for v in info.observed_output[:-2])


def test_the_summary_gives_values_with_their_units(params, minimize):
    metrics = Metrics(output="accuracy", output_unit="%", cost="wall time", cost_unit="min")
    tuner = Tuner(params, minimize, seed=0, metrics=metrics)
    tuner.observe({"lr": 1e-3, "width": 64}, 71.5, 3.0)
    assert "accuracy 71.5 %, wall time 3 min" in " ".join(rs.summary_info(tuner.to_state()).lines)


def test_try_axes_tick_whole_tries_only(arch_tuner):
    # with a few tries plotly's own ticks fell on 1.5 and 2.5
    state = arch_tuner.to_state()
    output = rs.output_axis(state)
    figure = figures.best_so_far_figure(rs.best_so_far_info(state), output, None)
    assert figure.layout.xaxis.dtick == 1 and figure.layout.xaxis.tick0 == 1
    assert figures.try_ticks(list(range(1, 101))) == {"tick0": 1, "dtick": 13}


def test_a_qps_floor_is_named_as_one_and_the_front_keeps_its_scale(arch_tuner):
    # the ads page called the QPS floor a "cost cap", and drew an NE near 0.8 on a 0-1.75 axis
    state = dataclasses.replace(arch_tuner.to_state(), metrics=METRICS)
    assert "1 below the QPS floor" in rs.summary_info(state).lines[2]
    figures = dict(rs.study_figures(state))
    legend = [t.name for t in figures["QPS vs NE"].data if t.name]
    assert "QPS floor: 3500" in legend
    low, high = figures["Pareto front over tries"].layout.yaxis.range
    outputs = [o.output for o in state.observations if not o.is_failure]
    assert low < min(outputs) and max(outputs) < high and high - low < 0.1


def test_a_failed_curve_ends_in_a_cross_at_its_last_finite_result():
    from carbs_lite.report.study import CurveInfo

    curves = [
        CurveInfo("try 1", [1.0, 2.0, 3.0], [0.9, 0.85, 0.8], "finished"),
        CurveInfo("try 2", [1.0, 2.0, 3.0], [0.9, 0.83, math.nan], "failed"),
    ]
    finished, failed = figures.curves_figure(curves, rs.Axis("NE", lambda v: v, False), "day").data
    assert finished.mode == "lines"
    assert failed.mode == "lines+markers" and list(failed.marker.size) == [0, 12, 0]


def test_parameter_panels_name_the_param_in_hovers_and_tick_counts_whole(arch_tuner):
    state = arch_tuner.to_state()
    figure = dict(rs.study_figures(state))["Parameters vs performance"]
    assert all("arch" in trace.hovertemplate for trace in figure.data)
    titles = [a.text for a in figure.layout.annotations]
    depth = titles.index("arch: depth") + 1
    axis = figure.layout[f"xaxis{depth if depth > 1 else ''}"]
    assert axis.dtick == 1


def test_log_axes_keep_plotlys_own_ticks(params, minimize):
    # a power-of-two param's log axis with dtick 1 would tick once a decade
    from carbs_lite import PowerOfTwoSpace

    tuner = Tuner([Param("batch", PowerOfTwoSpace(min=1, max=8), 2)], minimize)
    for batch in (1, 2, 4, 8):
        tuner.observe({"batch": batch}, float(batch), 1.0)
    figure = dict(rs.study_figures(tuner.to_state()))["Parameters vs performance"]
    assert figure.layout.xaxis.type == "log" and figure.layout.xaxis.dtick is None
