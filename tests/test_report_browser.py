"""Reports rendered in headless Chromium: no JavaScript errors, every plot drawn.

One browser serves every page of the module (``headless_chromium``). How long a page takes to
render is a benchmark figure, not a test (BENCHMARKS.md)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from conftest import with_observations
from headless_chromium import Chromium

from carbs_lite import ArchSpace, Param, Tuner, TunerConfig

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)"
)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    browser = Chromium(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.close()


def test_ads_study_report_renders(chromium, tmp_path):
    tuner = Tuner(
        [Param("arch", ArchSpace(), [[64, 64]])],
        TunerConfig(direction="minimize", max_suggestion_cost=1 / 3500),
    )
    for arch, ne, qps in [
        ([[64, 64]], 0.81, 18000),
        ([[512, 256]], 0.79, 9000),
        ([[1024, 512]], 0.785, 5000),
    ]:
        tuner.observe({"arch": arch}, ne, 1 / qps, extra={"curve": [0.82, 0.815, ne], "qps": qps})
    for _ in range(3):
        suggestion = tuner.suggest()
        tuner.observe(suggestion, 0.79, 1 / 6000, extra={"curve": [0.82, 0.8, 0.79]})
    shown = chromium.render(tuner.report(tmp_path / "ads.html"), tmp_path / "ads.png")
    assert shown.errors == [] and shown.plots == 6
    assert (tmp_path / "ads.png").stat().st_size > 10_000


def test_a_study_cannot_inject_a_script_into_its_report(chromium, tmp_path, capsys):
    from carbs_lite import LinearSpace
    from carbs_lite.cli import main

    name = "</script><script>document.title='PWNED'</script>"
    tuner = Tuner([Param(name, LinearSpace(min=0.0, max=1.0), 0.5)])
    for x, y in ((0.5, 1.0), (0.2, 0.7), (0.9, math.nan)):
        tuner.observe({name: x}, y, 1.0 + x)
    tuner.save(tmp_path / "theirs.json")
    assert main(["report", str(tmp_path / "theirs.json"), "-o", str(tmp_path / "cli.html")]) == 0
    for page in (tuner.report(tmp_path / "api.html"), tmp_path / "cli.html"):
        shown = chromium.render(page)
        assert shown.title == "carbs_lite study report"  # the injected script did not run
        assert shown.errors == [] and shown.plots == 4


def test_an_empty_study_page_renders_without_plots(chromium, params, tmp_path):
    tuner = Tuner(params, TunerConfig(direction="minimize"))
    shown = chromium.render(tuner.report(tmp_path / "empty.html"))
    assert shown.errors == [] and shown.plots == 0
    assert "No results yet" in (tmp_path / "empty.html").read_text()


def test_thousand_observation_report_renders(chromium, params, thousand_observations, tmp_path):
    config = TunerConfig(direction="minimize", max_suggestion_cost=3.0)
    tuner = with_observations(Tuner(params, config), thousand_observations)
    shown = chromium.render(tuner.report(tmp_path / "big.html"))
    assert shown.errors == [] and shown.plots == 4  # no searched try: no diagnostics panel


def test_ablation_report_renders(chromium, tmp_path):
    from carbs_lite.ablation.report import CurveBand, Effect, write_ablation_report

    curves = [
        CurveBand(
            problem,
            variant,
            [1, 2, 3],
            [1.0, 0.5 - shift, 0.2],
            [0.8, 0.3, 0.1],
            [1.0, 0.7, 0.4],
            "try",
        )
        for problem in ("scaling", "ads-default")
        for variant, shift in (("baseline", 0.0), ("resampling=False", 0.1))
    ]
    effects = [
        Effect(
            "resampling",
            "resampling=False",
            "scaling",
            -0.05,
            -0.09,
            -0.01,
            0.002,
            0.01,
            "helps",
            10,
        ),
        Effect(
            "resampling",
            "resampling=False",
            "all problems",
            0.0,
            -0.02,
            0.03,
            0.6,
            1.0,
            "no detectable effect",
            20,
        ),
    ]
    verdicts = ["resampling=False helps on scaling (median -0.0500, Holm p 0.01)."]
    page = write_ablation_report(
        tmp_path / "ablation.html", curves, effects, "ablation", {"runs": "8"}, verdicts
    )
    shown = chromium.render(page)
    # the forest plot and one figure for the one switch
    assert shown.errors == [] and shown.plots == 2
    assert "resampling=False helps on scaling" in page.read_text()


def test_proxy_check_report_renders(chromium, tmp_path):
    from carbs_lite import LinearSpace
    from carbs_lite.proxy import FidelityProblem, ProxyRun, ProxySettings, check_proxy
    from carbs_lite.report.proxy import write_proxy_report

    def evaluate(params: dict, fidelity: float, seed: int) -> ProxyRun:
        noise = np.random.default_rng(seed).normal() / fidelity
        return ProxyRun(params["x"] + 0.1 * noise, cost=1.0 + params["x"])

    space = [Param("x", LinearSpace(min=0.0, max=1.0), 0.5)]
    problem = FidelityProblem(evaluate, space, 8, (1, 2), max_cost=1.8)
    check = check_proxy(problem, ProxySettings(candidates=6, resamples=200))
    shown = chromium.render(write_proxy_report(check, tmp_path / "proxy.html"))
    assert shown.errors == [] and shown.plots == 3  # scatter panels, correlation, variance
