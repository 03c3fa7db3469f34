"""`carbs-lite ablate` end to end: a tiny sweep through the real CLI, resumed, summarized."""

from __future__ import annotations

import json

import pytest

from carbs_lite.ablation.runner import BASELINE, Variant, load_specs, read_results, variants_from
from carbs_lite.cli import main
from carbs_lite.heuristics import FinalPick


def test_tiny_sweep_resumes_and_summarizes(tmp_path, capsys):
    out = tmp_path / "out"
    argv = [
        "ablate",
        "--switch",
        "resampling=off",
        "--switch",
        "final_pick=softmax",
        "--problem",
        "scaling",
        "--problem",
        "quadratic-cost-4d",
        "--seeds",
        "2",
        "--tries",
        "5",
        "--workers",
        "2",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 3 * 2  # problems x (baseline + 2 variants) x seeds
    record = json.loads(lines[0])
    assert len(record["tries"]) == 5 and 0 <= record["final_regret"] <= record["tries"][0]["regret"]
    assert main(argv) == 0  # resumed: nothing left to run
    assert (out / "results.jsonl").read_text().splitlines() == lines
    summary = (out / "summary.md").read_text()
    assert "resampling=False" in summary and "all problems" in summary
    assert "Plotly.newPlot(" in (out / "report.html").read_text()
    assert "summary:" in capsys.readouterr().out


def test_truncated_last_line_is_skipped(tmp_path, caplog):
    path = tmp_path / "results.jsonl"
    path.write_text('{"key": "a"}\n{"key": "b"}\n{"key": "c", "tri')
    assert [r["key"] for r in read_results(path)] == ["a", "b"]
    assert "unreadable record" in caplog.text


def test_runs_are_reproducible():
    from carbs_lite.ablation.runner import run_one

    variant = Variant("final_pick", "proportional", "heuristics")
    first = run_one("scaling", variant, 3, 6, None)
    second = run_one("scaling", variant, 3, 6, None)
    assert first["tries"] == second["tries"]


def test_variants_from_specs_and_command_line():
    specs = load_specs("ablations")
    assert {"resampling", "pareto_model", "final_pick", "duplicate_filter"} <= set(specs)
    variants = variants_from(["final_pick", "resample_frequency=7"], specs)
    assert [v.name for v in variants] == [
        "final_pick=proportional",
        "final_pick=softmax",
        "resample_frequency=7",
    ]
    config, heuristics = variants[1].build()
    assert heuristics.final_pick is FinalPick.SOFTMAX
    assert variants[2].build()[0].resample_frequency == 7
    assert Variant(BASELINE, None, "heuristics").build()[1].final_pick is FinalPick.ARGMAX
    with pytest.raises(ValueError, match="not a Heuristics or TunerConfig field"):
        variants_from(["no_such_switch=1"], specs)
    with pytest.raises(ValueError, match="is not one of"):
        variants_from(["final_pick=best"], specs)


def test_every_toml_alternative_differs_from_the_default():
    """A variant equal to the default would compare the baseline with itself."""
    specs = load_specs("ablations")
    baseline_config, baseline_heuristics = Variant(BASELINE, None, "heuristics").build()
    for name in specs:
        for variant in variants_from([name], specs):
            config, heuristics = variant.build()
            assert (config, heuristics) != (baseline_config, baseline_heuristics), variant.name


def test_cli_rejects_unknown_problem(tmp_path, capsys):
    assert (
        main(["ablate", "--switch", "resampling=off", "--problem", "nope", "--out", str(tmp_path)])
        == 2
    )
    assert "unknown problems" in capsys.readouterr().err
