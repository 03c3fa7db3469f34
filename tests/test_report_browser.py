"""Reports rendered in headless Chromium: no JavaScript errors, every plot drawn.

How long a page takes to render is a benchmark figure, not a test (BENCHMARKS.md)."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from carbs_lite import ArchSpace, Param, Tuner, TunerConfig

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message)));
const __consoleError = console.error;
console.error = (...a) => { window.__errors.push(a.join(" ")); __consoleError(...a); };
window.addEventListener("load", () => window.carbsLitePlots.then(() => {
  const drawn = document.querySelectorAll(".js-plotly-plot .main-svg").length > 0
    ? document.querySelectorAll(".js-plotly-plot").length : 0;
  document.title = `RENDERED errors=${window.__errors.length} plots=${drawn} ms=${Math.round(performance.now())}`;
}, e => { document.title = `FAILED ${e}`; }));
</script>"""


def _render(page: Path, tmp_path: Path) -> tuple[int, int, int]:
    """(errors, plots drawn, milliseconds to render) and a screenshot next to the page."""
    probed = tmp_path / f"probed-{page.name}"
    probed.write_text(page.read_text().replace("<head>", "<head>" + PROBE, 1))
    common = [
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=30000",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    subprocess.run(
        [
            *common,
            "--window-size=1300,3000",
            f"--screenshot={page.with_suffix('.png')}",
            probed.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    match = re.search(r"RENDERED errors=(\d+) plots=(\d+) ms=(\d+)", dom)
    assert match, f"the page never finished rendering: {re.search(r'<title>(.*?)</title>', dom)}"
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def test_ads_study_report_renders(tmp_path):
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
    errors, plots, _ = _render(tuner.report(tmp_path / "ads.html"), tmp_path)
    assert errors == 0 and plots == 6
    assert (tmp_path / "ads.png").stat().st_size > 10_000


def _dumped_title(page: Path, tmp_path: Path) -> str:
    """The document title after Chromium ran the page's own scripts (no probe added)."""
    dom = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile-raw'}",
            "--virtual-time-budget=30000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return re.search(r"<title>(.*?)</title>", dom, re.S).group(1)


def test_a_study_cannot_inject_a_script_into_its_report(tmp_path, capsys):
    from carbs_lite import LinearSpace
    from carbs_lite.cli import main

    name = "</script><script>document.title='PWNED'</script>"
    tuner = Tuner([Param(name, LinearSpace(min=0.0, max=1.0), 0.5)])
    for x, y in ((0.5, 1.0), (0.2, 0.7), (0.9, math.nan)):
        tuner.observe({name: x}, y, 1.0 + x)
    tuner.save(tmp_path / "theirs.json")
    assert main(["report", str(tmp_path / "theirs.json"), "-o", str(tmp_path / "cli.html")]) == 0
    for page in (tuner.report(tmp_path / "api.html"), tmp_path / "cli.html"):
        assert _dumped_title(page, tmp_path) == "carbs_lite study report"
        errors, plots, _ = _render(page, tmp_path)
        assert errors == 0 and plots == 4


def test_an_empty_study_page_renders_without_plots(params, tmp_path):
    tuner = Tuner(params, TunerConfig(direction="minimize"))
    errors, plots, _ = _render(tuner.report(tmp_path / "empty.html"), tmp_path)
    assert errors == 0 and plots == 0
    assert "No results yet" in (tmp_path / "empty.html").read_text()


def test_thousand_observation_report_renders(params, tmp_path):
    tuner = Tuner(params, TunerConfig(direction="minimize", max_suggestion_cost=3.0))
    rng = np.random.default_rng(0)
    for _ in range(1000):
        p = {"lr": float(10 ** rng.uniform(-5, 0)), "width": int(rng.integers(8, 513))}
        tuner.observe(p, float(rng.normal()), float(rng.uniform(0.1, 5)))
    errors, plots, _ = _render(tuner.report(tmp_path / "big.html"), tmp_path)
    assert errors == 0 and plots == 4  # no searched try: no diagnostics panel


def test_ablation_report_renders(tmp_path):
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
    errors, plots, _ = _render(page, tmp_path)
    assert errors == 0 and plots == 2  # the forest plot and one figure for the one switch
    assert "resampling=False helps on scaling" in page.read_text()
