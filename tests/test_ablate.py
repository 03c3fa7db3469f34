"""`carbs-lite ablate` end to end: a tiny sweep through the real CLI, resumed, summarized."""

from __future__ import annotations

import json
import re

import pytest

from carbs_lite.ablation.runner import (
    BASELINE,
    Variant,
    read_results,
    switch_specs,
    variants_from,
)
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
    capsys.readouterr()
    assert main(argv) == 0  # resumed: nothing left to run
    assert "resuming" in capsys.readouterr().out and "skipping 12 finished runs of 12"
    assert (out / "results.jsonl").read_text().splitlines() == lines
    summary = (out / "summary.md").read_text()
    assert "resampling=False" in summary and "all problems" in summary
    # 2 seeds can give no verdict: the saved files say so, not "no detectable effect"
    assert "6 of 6 comparisons have too few seeds for any verdict" in summary
    assert "| too few seeds |" in summary
    page = (out / "report.html").read_text()
    assert "Plotly.newPlot(" in page
    assert '<table class="verdicts">' in page and page.count("<b>too few seeds</b>") == 6


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


def test_an_unknown_switch_is_named_as_unknown(capsys):
    # it used to say "give a value as nosuch=VALUE", which then failed as unknown
    assert main(["ablate", "--switch", "nosuch", "--problem", "scaling", "--seeds", "1"]) == 2
    assert (
        "unknown switch 'nosuch': not a Heuristics or TunerConfig field" in capsys.readouterr().err
    )


def test_variants_from_specs_and_command_line():
    specs = switch_specs()
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
    specs = switch_specs()
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
    assert "unknown problems ['nope']; `carbs-lite ablate --list` shows them" in (
        capsys.readouterr().err
    )


def test_list_prints_problems_and_switches_from_any_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./ablations here: the packaged specs
    assert main(["ablate", "--list"]) == 0
    out = capsys.readouterr().out
    assert "* scaling" in out and "  quadratic-cost-4d" in out
    assert "resampling: True" in out and "final_pick: proportional, softmax" in out


def test_a_local_ablations_folder_overrides_a_packaged_spec(tmp_path, monkeypatch):
    folder = tmp_path / "ablations"
    folder.mkdir()
    (folder / "mine.toml").write_text('field = "resampling"\nalternatives = [true]\nquestion = "?"')
    (folder / "extra.toml").write_text('field = "exploration_bias"\nalternatives = [0.5]')
    monkeypatch.chdir(tmp_path)
    specs = switch_specs("ablations")
    assert specs["resampling"]["question"] == "?" and specs["exploration_bias"]["alternatives"] == [
        0.5
    ]
    assert "final_pick" in specs  # the packaged ones stay


def test_bbob_is_left_out_of_the_default_suite_when_coco_is_missing(capsys, monkeypatch):
    from carbs_lite.bench import suite
    from carbs_lite.cli import ablate

    monkeypatch.setattr(suite.importlib.util, "find_spec", lambda name: None)
    args = type("Args", (), {"problem": None})()
    problems = ablate._problems(args)
    assert problems == [p for p in suite.DEFAULT_SUITE if not p.startswith("bbob")]
    err = capsys.readouterr().err
    assert "leaving out bbob-f8-d5, bbob-mixint-f1-d5: they need coco-experiment" in err
    args.problem = ["bbob-f8-d5"]
    with pytest.raises(ablate.CommandError, match="needs coco-experiment"):
        ablate._problems(args)
    args.problem = ["digits-mlp"]  # its data set comes from scikit-learn
    with pytest.raises(ablate.CommandError, match="needs scikit-learn"):
        ablate._problems(args)


@pytest.mark.parametrize(
    "seeds, problems, message",
    [
        (2, ["scaling"], "2 seeds are too few for any verdict to reach p < 0.05 after Holm over 1"),
        (4, ["scaling", "scaling-noisy"], "only the pooled 'all problems' rows can reach"),
    ],
)
def test_a_sweep_too_small_for_a_verdict_says_so_up_front(
    tmp_path, capsys, monkeypatch, seeds, problems, message
):
    from carbs_lite.cli import ablate

    monkeypatch.setattr(ablate, "_sweep", lambda *args: 0)
    argv = ["ablate", "--switch", "resampling=on", "--seeds", str(seeds), "--out", str(tmp_path)]
    assert main([*argv, *(f"--problem={p}" for p in problems)]) == 0
    err = capsys.readouterr().err
    assert message in err
    assert re.search(r"needs at least 6 seeds|per-problem verdicts need 7 seeds", err)


def test_one_problem_has_no_pooled_duplicate_rows(tmp_path):
    from carbs_lite.ablation.summary import effects

    records = [
        {"problem": "p", "variant": v, "switch": "s", "seed": seed, "auc": 0.5 + 0.01 * seed}
        for v in ("baseline", "s=1")
        for seed in range(6)
    ]
    assert [e.problem for e in effects(records)] == ["p"]


def test_ctrl_c_stops_the_sweep_keeps_finished_runs_and_prints_no_traceback(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    # enough runs that the sweep cannot finish between its first result and the signal
    argv = ["ablate", "--switch", "resampling=on", "--problem", "scaling", "--seeds", "300"]
    process = subprocess.Popen(
        [sys.executable, "-m", "carbs_lite.cli", *argv, "--tries", "3", "--out", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # a terminal's Ctrl-C reaches a process that handles it; an ignored SIGINT (left by
        # an earlier in-process test of the pool's workers) would be inherited through exec
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    results = out / "results.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (results.exists() and results.read_text()):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Traceback" not in err and "interrupted:" in err and "the same command resumes" in err
    assert 1 <= len(read_results(results)) < 600


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--specs", "missing-folder"], "--specs missing-folder: no such folder of switch TOMLs"),
        (["--out", "a-file"], "--out a-file is a file; give a folder"),
    ],
)
def test_a_bad_specs_folder_or_out_path_is_one_line_before_any_run(
    tmp_path, capsys, monkeypatch, extra, message
):
    # a missing --specs folder used to start the whole default sweep
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    argv = ["ablate", "--switch", "resampling=on", "--problem", "scaling", "--seeds", "1"]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "ablation-out").exists()


@pytest.mark.parametrize(
    "switch, message",
    [
        ("initial_search_radius=-1", "TunerConfig.initial_search_radius must be > 0"),
        ("cost_cap_confidence=1.5", "TunerConfig.cost_cap_confidence must be in (0, 1)"),
    ],
)
def test_a_setting_out_of_range_is_one_line_before_any_run(tmp_path, capsys, switch, message):
    out = tmp_path / "sweep"
    argv = ["ablate", "--switch", switch, "--problem", "scaling", "--seeds", "1"]
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (out / "results.jsonl").exists()


def test_a_spec_whose_alternatives_are_not_a_list_is_refused(tmp_path):
    (tmp_path / "pareto.toml").write_text('field = "pareto_model"\nalternatives = "isotonic"\n')
    with pytest.raises(ValueError, match="'alternatives' must be a list of values"):
        switch_specs(tmp_path)


def test_every_alternative_of_a_packaged_switch_gets_its_own_colour():
    from carbs_lite.ablation.report import ALTERNATIVE_COLORS, BASELINE_COLOR

    most = max(len(spec["alternatives"]) for spec in switch_specs().values())
    assert len(set(ALTERNATIVE_COLORS) - {BASELINE_COLOR}) == len(ALTERNATIVE_COLORS) >= most
