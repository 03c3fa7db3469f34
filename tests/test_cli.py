"""The `carbs-lite` back-and-forth through the real entry point, in a temp dir."""

from __future__ import annotations

import json
import re

import pytest

from carbs_lite import SearchProbability, Tuner
from carbs_lite.cli import main

SPACE = """
[lr]
kind = "log"
min = 1e-5
max = 1e-1
center = 1e-3

[width]
kind = "linear"
min = 16
max = 1024
integer = true
rounding = 16
"""


def _exit_code(argv: list[str]) -> int:
    """main()'s return value, or the code argparse exits with on a bad argument."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code)


def _suggest(study, capsys) -> tuple[str, dict]:
    capsys.readouterr()
    assert main(["suggest", str(study), "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    return line["id"], line["params"]


def _space_study(tmp_path, *extra: str):
    (tmp_path / "space.toml").write_text(SPACE)
    study = tmp_path / "study.json"
    argv = ["init", str(study), "--space", str(tmp_path / "space.toml")]
    assert main([*argv, "--direction", "minimize", *extra]) == 0
    return study


def test_ads_back_and_forth(tmp_path, capsys):
    study = tmp_path / "study.json"
    assert main(["init", str(study), "--problem", "ads-arch"]) == 0
    assert "tries: 0 of 10 used" in capsys.readouterr().out
    ident, params = _suggest(study, capsys)
    assert params == {"arch": [[64, 64]]}
    assert main(["observe", str(study), ident, "--ne", "0.8111", "--qps", "18800"]) == 0
    second, params = _suggest(study, capsys)
    assert second != ident and isinstance(params["arch"], list)
    assert main(["observe", str(study), second, "--failed", "--qps", "900"]) == 0
    third, _ = _suggest(study, capsys)
    assert main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert "NE (minimized) against QPS; a run counts when QPS is above 3500" in out
    assert "tries: 3 of 10 used" in out and "pending" in out and "failed" in out
    assert "best feasible: #1 NE=0.8111 QPS=18800" in out
    tuner = Tuner.load(study)
    assert len(tuner.observations) == 2 and [s.id for s in tuner.outstanding] == [third]
    assert tuner.observations[0].extra["qps"] == 18800.0


def test_suggest_prints_params_as_json_and_one_json_line(tmp_path, capsys):
    study = _space_study(tmp_path)
    capsys.readouterr()
    assert main(["suggest", str(study)]) == 0
    out = capsys.readouterr().out
    assert json.loads(re.search(r"params: (.+)", out).group(1)) == {"lr": 0.001, "width": 512}
    assert main(["suggest", str(study), "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert set(line) == {"id", "params", "tries_used", "tries"} and line["tries_used"] == 2


def test_space_file_and_metric_names(tmp_path, capsys):
    study = _space_study(
        tmp_path, "--cost-cap", "20", "--output-name", "loss", "--cost-name", "GPU hours",
        "--cost-unit", "h", "--tries", "4",
    )  # fmt: skip
    state = Tuner.load(study).to_state()
    assert [p.name for p in state.params] == ["lr", "width"]
    assert state.params[1].space.rounding_factor == 16 and state.tries == 4
    assert state.metrics.output == "loss" and state.metrics.cost_unit == "h"
    assert state.config.max_suggestion_cost == 20.0
    ident, _ = _suggest(study, capsys)
    assert main(["observe", str(study), ident, "--output", "0.25", "--cost", "1.5"]) == 0
    assert "loss=0.25, GPU hours=1.5 h; tries: 1 of 4 used" in capsys.readouterr().out
    assert main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert "loss (minimized) against GPU hours; a run counts when GPU hours is below 20 h" in out
    assert re.search(r"\s+#\s+id\s+loss\s+GPU hours\s+status\s+front", out)


@pytest.mark.parametrize(
    "text, message",
    [
        ('[lr]\nkind = "lg"\nmin = 1\nmax = 2', "param 'lr': field 'kind': 'lg' is not one of"),
        ('[lr]\nkind = "log"\nmin = 1\nmax = "x"', "param 'lr': field 'max': expected a number"),
        ('[lr]\nkind = "log"\nmin = 1\nmax = 9\nmni = 3', "param 'lr': unknown field 'mni'"),
        ('[lr]\nkind = "log"\nmin = 1\nmax = 9\ncenter = 20', "param 'lr': field 'center'"),
        ('[lr]\nkind = "log"\nmin = -1\nmax = 9', "param 'lr': field 'min'"),
        ('[lr]\nkind = "log"\nmax = 9', "param 'lr': field 'min' is missing"),
        ('[lr]\nkind = "log"\nmin = 0\nmax = 9', "param 'lr': field 'center' is missing"),
        ('[p]\nkind = "logit"\nmin = 0\nmax = 1', "param 'p': field 'center' is missing"),
        ("[p]\nmin = 0\nmax = 1", "param 'p': field 'kind' is missing"),
        ('[n]\nkind = "linear"\nmin = 1\nmax = 9\nrounding = 0', "param 'n': field 'rounding'"),
        ("lr = [", "not valid TOML"),
        ("\udcff\udcfe[p]", "space.toml: not UTF-8 text (byte 0)"),
    ],
)
def test_a_bad_space_file_is_one_line_naming_param_and_field(tmp_path, capsys, text, message):
    (tmp_path / "space.toml").write_bytes(text.encode("utf-8", "surrogateescape"))
    argv = ["init", str(tmp_path / "s.json"), "--space", str(tmp_path / "space.toml")]
    assert main([*argv, "--direction", "minimize"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "s.json").exists()


def test_init_needs_a_direction_with_a_space_and_no_generic_options_with_a_problem(
    tmp_path, capsys
):
    (tmp_path / "space.toml").write_text(SPACE)
    study = str(tmp_path / "s.json")
    assert main(["init", study, "--space", str(tmp_path / "space.toml")]) == 2
    assert "--direction (minimize or maximize) is required" in capsys.readouterr().err
    assert main(["init", study, "--problem", "ads-arch", "--output-name", "loss"]) == 2
    assert "--output-name: --problem ads-arch defines its own" in capsys.readouterr().err


def test_the_tries_budget_is_kept_and_force_goes_past_it(tmp_path, capsys):
    study = _space_study(tmp_path, "--tries", "2")
    for _ in range(2):
        _suggest(study, capsys)
    before = study.read_bytes()
    assert main(["suggest", str(study)]) == 2
    assert "the budget of 2 tries is used up" in capsys.readouterr().err
    assert study.read_bytes() == before
    assert main(["suggest", str(study), "--force"]) == 0
    assert len(Tuner.load(study).outstanding) == 3


def test_a_journal_never_goes_past_its_budget_when_another_process_takes_the_last_try(
    tmp_path, capsys, monkeypatch
):
    from carbs_lite.journal import JournalStudy

    (tmp_path / "space.toml").write_text(SPACE)
    study = tmp_path / "study.jsonl"
    argv = ["init", str(study), "--space", str(tmp_path / "space.toml"), "--journal"]
    assert main([*argv, "--direction", "minimize", "--tries", "2"]) == 0
    _suggest(study, capsys)
    unpatched = JournalStudy.suggest

    def another_process_suggests_first(self):
        # the interleaving a race makes: the budget check passed, then another handle (as
        # another process would) takes the last try before this one's commit
        other = Tuner.open(study)
        unpatched(other)
        other.close()
        return unpatched(self)

    monkeypatch.setattr(JournalStudy, "suggest", another_process_suggests_first)
    assert main(["suggest", str(study)]) == 2
    assert "was taken by another process meanwhile" in capsys.readouterr().err
    monkeypatch.setattr(JournalStudy, "suggest", unpatched)
    assert len(Tuner.open(study).outstanding) == 2  # the budget, not 3


def test_a_run_the_study_did_not_suggest_uses_no_try_unless_asked(tmp_path, capsys):
    study = _space_study(tmp_path, "--tries", "3")
    baseline = json.dumps({"lr": 0.001, "width": 64})
    assert (
        main(["observe", str(study), "--params", baseline, "--output", "0.5", "--cost", "2"]) == 0
    )
    assert "tries: 0 of 3 used (0 outstanding); 1 more run(s)" in capsys.readouterr().out
    other = json.dumps({"lr": 0.01, "width": 32})
    argv = ["observe", str(study), "--params", other, "--output", "0.4", "--cost", "2", "--counts"]
    assert main(argv) == 0
    state = Tuner.load(study).to_state()
    assert state.tries_used == 1 and [o.suggestion_id for o in state.observations] == [None] * 2
    assert (
        main(["observe", str(study), "--params", '{"lr": 7}', "--output", "1", "--cost", "1"]) == 2
    )
    assert "--params: params do not match the space" in capsys.readouterr().err


def test_observing_an_id_twice_says_already_observed(tmp_path, capsys):
    study = _space_study(tmp_path)
    ident, _ = _suggest(study, capsys)
    assert main(["observe", str(study), ident, "--output", "0.3", "--cost", "1"]) == 0
    assert main(["observe", str(study), ident, "--output", "0.3", "--cost", "1"]) == 2
    assert f"{ident} was already observed (try #1)" in capsys.readouterr().err
    assert main(["observe", str(study), "nope", "--output", "0.3", "--cost", "1"]) == 2
    assert "no outstanding suggestion 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "journal"])
def test_retract_keeps_the_run_marked_and_out_of_the_front(tmp_path, capsys, journal):
    study = _space_study(tmp_path, *(["--journal"] if journal else []))
    first, _ = _suggest(study, capsys)
    main(["observe", str(study), first, "--output", "0.79", "--cost", "1"])
    second, _ = _suggest(study, capsys)
    main(["observe", str(study), second, "--output", "0.0781", "--cost", "1"])
    assert main(["retract", str(study), second, "--why", "typed 0.0781 for 0.781"]) == 0
    capsys.readouterr()
    assert main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"2\s+\S+\s+0.0781\s+1\s+retracted\s+why: typed 0.0781 for 0.781", out)
    assert "best feasible: #1 output=0.79" in out
    state = Tuner.load(study).to_state()
    assert len(state.observations) == 2 and state.retracted == {1: "typed 0.0781 for 0.781"}
    assert main(["retract", str(study), "#2", "--why", "again"]) == 2
    assert "already retracted" in capsys.readouterr().err
    assert main(["retract", str(study), "#9", "--why", "x"]) == 2
    assert "no observed try '#9'" in capsys.readouterr().err


def test_forget_drops_a_suggestion_and_frees_its_try(tmp_path, capsys):
    study = _space_study(tmp_path, "--tries", "1")
    ident, _ = _suggest(study, capsys)
    assert main(["forget", str(study), ident]) == 0
    assert "tries: 0 of 1 used" in capsys.readouterr().out
    assert main(["forget", str(study), ident]) == 2
    assert "no outstanding suggestion" in capsys.readouterr().err


def _searched_study(path) -> str:
    """A study whose next suggestion comes from the search (it has a predicted cost)."""
    from carbs_lite import LinearSpace, Param, TunerConfig

    tuner = Tuner([Param("x", LinearSpace(min=0.0, max=1.0), 0.5)], TunerConfig("minimize"))
    for x in (0.1, 0.3, 0.5, 0.7, 0.9):
        tuner.observe({"x": x}, (x - 0.4) ** 2, 1.0 + x)
    suggestion = tuner.suggest()
    tuner.save(path)
    return suggestion.id


def test_a_failure_without_a_cost_gets_the_predicted_cost_marked_estimated(tmp_path, capsys):
    study = tmp_path / "s.json"
    ident = _searched_study(study)
    predicted = Tuner.load(study).outstanding[0].diagnostics.predicted_cost
    assert main(["observe", str(study), ident, "--failed"]) == 0
    assert "(estimated by the cost model)" in capsys.readouterr().out
    observation = Tuner.load(study).observations[-1]
    assert observation.is_failure and observation.cost == pytest.approx(predicted)
    assert observation.extra == {"cost_estimated": True}
    assert main(["status", str(study)]) == 0
    assert "(est.)" in capsys.readouterr().out


def test_a_failure_without_a_cost_or_a_prediction_is_refused(tmp_path, capsys):
    study = _space_study(tmp_path)
    ident, _ = _suggest(study, capsys)
    assert main(["observe", str(study), ident, "--failed"]) == 2
    err = capsys.readouterr().err
    assert "a failed run needs its cost (--cost)" in err and "forget" in err


def test_two_processes_observing_at_once_lose_nothing(tmp_path, capsys):
    import multiprocessing

    study = _space_study(tmp_path)
    ids = [_suggest(study, capsys)[0] for _ in range(16)]
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_observe_all, args=(str(study), ids[k::2])) for k in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    state = Tuner.load(study).to_state()
    assert sorted(o.suggestion_id for o in state.observations) == sorted(ids)
    assert state.outstanding == []


def _observe_all(study: str, ids: list[str]) -> None:
    for ident in ids:
        assert main(["observe", study, ident, "--output", "0.5", "--cost", "1"]) == 0


def test_init_switch_is_kept_in_the_study(tmp_path, capsys):
    study = tmp_path / "study.json"
    switches = ["--switch", "search_space_probability=density", "--switch", "size_cost_inputs=off"]
    assert main(["init", str(study), "--problem", "ads-arch", *switches]) == 0
    heuristics = Tuner.load(study).heuristics
    assert heuristics.search_space_probability is SearchProbability.DENSITY  # default: TAIL
    assert heuristics.size_cost_inputs is False  # default: on
    assert _suggest(study, capsys)[1] == {"arch": [[64, 64]]}
    assert Tuner.load(study).heuristics == heuristics  # and survives a save by `suggest`


@pytest.mark.parametrize("extra", [["--problem", "ads-arch"], ["--direction", "minimize"]])
def test_init_takes_tuner_config_settings_as_switches_as_ablate_lists_them(tmp_path, capsys, extra):
    study, space = tmp_path / "study.json", tmp_path / "space.toml"
    space.write_text(SPACE)
    where = [] if "--problem" in extra else ["--space", str(space)]
    switches = ["--switch", "cost_cap_confidence=0.5", "--switch", "exploration_bias=on"]
    assert main(["init", str(study), *where, *extra, *switches]) == 0
    loaded = Tuner.load(study)
    assert loaded.config.cost_cap_confidence == 0.5  # default 0.7
    assert loaded.heuristics.exploration_bias is True  # default off
    assert loaded.config.direction.value == "minimize"


@pytest.mark.parametrize(
    "switch, message",
    [
        ("search_space_probability", "takes NAME=VALUE"),
        ("search_space_probability=wide", "'wide' is not one of ['density', 'tail', 'off']"),
        ("radius=2", "unknown switch 'radius': not a Heuristics or TunerConfig field"),
        ("cost_cap_confidence=1.5", "TunerConfig.cost_cap_confidence must be in (0, 1)"),
        ("max_suggestion_cost=3", "max_suggestion_cost defines the study, it is not a switch"),
    ],
)
@pytest.mark.parametrize("command", ["init", "run"])
def test_bad_switches_are_rejected_before_anything_is_written(
    tmp_path, capsys, command, switch, message
):
    target = tmp_path / ("study.json" if command == "init" else "report.html")
    where = [str(target), "--problem", "ads-arch"] if command == "init" else ["--out", str(target)]
    assert _exit_code([command, *where, "--switch", switch]) == 2
    assert message in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ne", "0", "--qps", "4000"], "--ne"),
        (["--ne", "-0.5", "--qps", "4000"], "--ne"),
        (["--ne", "nan", "--qps", "4000"], "--ne"),
        (["--ne", "0.79", "--qps", "0"], "--qps"),
        (["--ne", "0.79", "--qps", "inf"], "--qps"),
        (["--ne", "0.79"], "--qps is required"),
        ([], "either --ne"),
        (["--ne", "0.79", "--qps", "4000", "--failed"], "either --ne"),
        (["--failed"], "a failed run needs its cost (--qps)"),
    ],
)
def test_bad_numbers_are_rejected_and_file_unchanged(tmp_path, capsys, args, message):
    study = tmp_path / "study.json"
    main(["init", str(study), "--problem", "ads-arch"])
    ident, _ = _suggest(study, capsys)
    before = study.read_bytes()
    assert _exit_code(["observe", str(study), ident, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert study.read_bytes() == before


def test_init_refuses_to_overwrite(tmp_path, capsys):
    study = tmp_path / "study.json"
    main(["init", str(study), "--problem", "ads-arch"])
    ident, _ = _suggest(study, capsys)
    assert main(["init", str(study), "--problem", "ads-arch"]) == 2
    assert "--force" in capsys.readouterr().err
    assert [s.id for s in Tuner.load(study).outstanding] == [ident]


def test_init_force_replaces_a_study_of_either_kind_and_nothing_else(tmp_path, capsys):
    study = _space_study(tmp_path, "--journal")
    space = tmp_path / "space.toml"
    argv = ["--space", str(space), "--direction", "minimize", "--force"]
    assert main(["init", str(study), *argv]) == 0  # the journal, replaced by a snapshot
    assert Tuner.load(study).observations == []
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    for target in (notes, space):
        before = target.read_bytes()
        assert main(["init", str(target), *argv]) == 2
        err = capsys.readouterr().err
        assert "is not a carbs_lite study" in err and err.count("\n") == 1
        assert target.read_bytes() == before


def test_a_report_replaces_a_report_but_no_other_file(tmp_path, capsys):
    study = _space_study(tmp_path)
    page, space = tmp_path / "report.html", tmp_path / "space.toml"
    assert main(["report", str(study), "-o", str(page)]) == 0
    assert main(["report", str(study), "-o", str(page)]) == 0
    before = space.read_bytes()
    capsys.readouterr()
    assert main(["report", str(study), "-o", str(space)]) == 2
    assert "exists and is not an HTML page" in capsys.readouterr().err
    assert space.read_bytes() == before


def test_observe_takes_the_id_before_or_after_its_options(tmp_path, capsys):
    study = _space_study(tmp_path)
    first, _ = _suggest(study, capsys)
    second, _ = _suggest(study, capsys)
    assert main(["observe", str(study), first, "--output", "0.5", "--cost", "1"]) == 0
    assert main(["observe", str(study), "--output", "0.4", "--cost", "1", second]) == 0
    assert [o.suggestion_id for o in Tuner.load(study).observations] == [first, second]


def test_report_is_never_written_over_a_study(tmp_path, capsys):
    study = _space_study(tmp_path)
    other = tmp_path / "other.json"
    main(["init", str(other), "--problem", "ads-arch"])
    before = study.read_bytes()
    assert main(["report", str(study), "-o", str(study)]) == 2
    assert "is the study itself" in capsys.readouterr().err
    assert main(["report", str(study), "-o", str(other)]) == 2
    assert "holds a carbs_lite study" in capsys.readouterr().err
    assert study.read_bytes() == before


def test_an_empty_study_writes_a_page_that_says_so(tmp_path, capsys):
    study = _space_study(tmp_path)
    assert main(["report", str(study), "-o", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert "No results yet" in page and "Plotly.newPlot(" not in page


def _outstanding_out_of_bounds(path) -> None:
    """A snapshot whose outstanding suggestion lies outside its space (edited by hand)."""
    from carbs_lite import LinearSpace, Param

    tuner = Tuner([Param("x", LinearSpace(min=0.0, max=1.0), 0.5)])
    tuner.suggest()
    data = tuner.to_state().to_json()
    data["outstanding"][0]["params"]["x"] = 7.0
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "make, message",
    [
        (_outstanding_out_of_bounds, "study.json: outstanding suggestion '00000-"),
        (lambda p: p.mkdir(), "is a folder, not a study file"),
        (lambda p: p.write_bytes(b"\xff\xfe{not utf-8"), "not valid JSON"),
        (lambda p: p.write_text("{broken"), "not valid JSON"),
        (lambda p: None, "no such study"),
    ],
)
@pytest.mark.parametrize("command", ["status", "suggest", "report"])
def test_a_bad_study_path_is_one_line_exit_2(tmp_path, capsys, make, message, command):
    path = tmp_path / "study.json"
    make(path)
    assert main([command, str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--tries", "0"], "--tries: 0 must be at least 1"),
        (["ablate", "--seeds", "0"], "--seeds: 0 must be at least 1"),
        (["init", "s.json"], "one of the arguments --space --problem is required"),
        (["observe", "s.json", "x", "--cost", "-1"], "--cost: -1 must be a finite number > 0"),
        (["observe", "s.json", "x", "--output", "inf"], "--output: inf is not a finite number"),
        (["init", "s.json", "--space", "x.toml", "--output-name", " "], "must not be empty"),
        (["init", "s.json", "--problem", "ads-arch", "--seed", "-1"], "-1 must be an integer >= 0"),
        (["run", "--seed", "-1"], "--seed: -1 must be an integer >= 0"),
        (["observe", "s.json", "x", "y", "--cost", "1"], "unrecognized arguments: y"),
        (["status", "s.json", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys, argv, message):
    assert _exit_code(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_follow_the_umask(tmp_path, capsys, umask, mode):
    import os

    previous = os.umask(umask)
    try:
        study = _space_study(tmp_path)
        _suggest(study, capsys)
        main(["report", str(study), "-o", str(tmp_path / "r.html")])
        main(["init", str(tmp_path / "j.jsonl"), "--problem", "ads-arch", "--journal"])
    finally:
        os.umask(previous)
    for name in ("study.json", "r.html", "j.jsonl"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name


@pytest.mark.parametrize(
    "command, shown",
    [(["run"], "(default: 10)"), (["ablate"], "(default: 10)"), (["report"], "report.html")],
)
def test_help_shows_defaults(capsys, command, shown):
    assert _exit_code([*command, "--help"]) == 0
    assert shown in capsys.readouterr().out


def test_help_does_not_show_absent_defaults(capsys):
    assert _exit_code(["init", "--help"]) == 0
    out = capsys.readouterr().out
    assert "(default: None)" not in out and "(default: False)" not in out
    assert "(default: none)" in out  # --tries says it in its own words, once
    assert out.count("(default: none)") == 1


def test_help_and_the_package_import_no_numpy():
    import subprocess
    import sys

    code = """
import contextlib, io, sys
import carbs_lite
from carbs_lite.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(["--help"])
    except SystemExit:
        pass
print(sorted({m.split(".")[0] for m in sys.modules} & {"numpy", "torch", "pyro", "plotly"}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


SPACE_FILE = """
[lr]
kind = "log"
min = 1e-5
max = 0.1
center = 1e-3
[width]
kind = "pow2"
min = 8
max = 512
center = 64
[layers]
kind = "linear"
min = 1
max = 8
integer = true
center = 2
[opt]
kind = "categorical"
choices = ["adam", "sgd"]
center = "adam"
"""


@pytest.mark.parametrize("kind", ["snapshot", "journal", "ads"])
def test_status_observe_retract_and_forget_import_no_numpy(tmp_path, capsys, kind):
    """The light commands read and write a study without numpy (issue #16: under 0.3 s; numpy
    alone takes most of that), on every kind of study."""
    import subprocess
    import sys

    study = str(tmp_path / ("s.jsonl" if kind == "journal" else "s.json"))
    if kind == "ads":
        assert main(["init", study, "--problem", "ads-arch"]) == 0
        result, done = ["--ne", "0.79", "--qps", "4000"], ["--ne", "0.8", "--qps", "3900"]
        baseline = '{"arch": [[64, 64]]}'
    else:
        (tmp_path / "space.toml").write_text(SPACE_FILE)
        init = ["init", study, "--space", str(tmp_path / "space.toml"), "--direction", "maximize"]
        assert (
            main([*init, "--cost-cap", "100"] + (["--journal"] if kind == "journal" else [])) == 0
        )
        result, done = ["--output", "0.5", "--cost", "20"], ["--output", "0.6", "--cost", "30"]
        baseline = '{"lr": 0.001, "width": 64, "layers": 2, "opt": "sgd"}'
    first, _ = _suggest(study, capsys)
    assert main(["observe", study, first, *result]) == 0
    pending, _ = _suggest(study, capsys)
    dropped, _ = _suggest(study, capsys)
    commands = [
        ["status", study],
        ["observe", study, pending, *done],
        ["observe", study, "--params", baseline, *done],
        ["retract", study, "1", "--why", "mistyped"],
        ["forget", study, dropped],
        ["status", study],
    ]
    code = f"""
import contextlib, io, sys
from carbs_lite.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    codes = [main(argv) for argv in {commands!r}]
print(codes, sorted({{m.split(".")[0] for m in sys.modules}} & {{"numpy", "torch", "plotly"}}))
"""
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.stdout.strip() == "[0, 0, 0, 0, 0, 0] []", output.stderr
    capsys.readouterr()
    assert main(["status", study]) == 0
    rows = capsys.readouterr().out.splitlines()
    # the two runs observed by the child process are in, one of them on the front
    assert sum(bool(re.search(r" ok +(front|beaten by #\d) ", row)) for row in rows) == 2
    assert any(re.search(r" ok +front ", row) for row in rows)
    assert any("retracted" in row for row in rows)


def test_the_package_exports_every_public_name_on_first_use():
    import carbs_lite

    for name in carbs_lite.__all__:
        assert getattr(carbs_lite, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'Tunr'"):
        carbs_lite.Tunr  # noqa: B018


def _generic_study(path, journal: bool):
    from carbs_lite import LinearSpace, Param, TunerConfig

    params = [Param("x", LinearSpace(min=0.0, max=1.0), 0.3)]
    config = TunerConfig(direction="minimize", max_suggestion_cost=2.0)
    if journal:
        Tuner.open(path, params, config).close()
    else:
        Tuner(params, config).save(path)


@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "journal"])
def test_every_command_works_on_a_study_made_from_python(tmp_path, capsys, journal):
    study = tmp_path / ("study.jsonl" if journal else "study.json")
    _generic_study(study, journal)
    ident, params = _suggest(study, capsys)
    assert params == {"x": 0.3}
    assert main(["observe", str(study), ident, "--output", "0.25", "--cost", "1.5"]) == 0
    assert main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert 'best feasible: #1 output=0.25 cost=1.5 params={"x": 0.3}' in out
    assert main(["report", str(study), "-o", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().count("Plotly.newPlot(") >= 4
    loaded = Tuner.load(study)
    assert [o.output for o in loaded.observations] == [0.25] and not loaded.outstanding
    second, _ = _suggest(study, capsys)
    # another task's flags do not apply to this study
    assert main(["observe", str(study), second, "--ne", "0.8", "--qps", "10"]) == 2
    assert "--ne, --qps: only for ads-arch studies" in capsys.readouterr().err


def test_help_status_and_observe_import_no_torch_pyro_or_plotly(tmp_path, capsys):
    import subprocess
    import sys

    study = _space_study(tmp_path)
    ident, _ = _suggest(study, capsys)
    code = f"""
import contextlib, io, sys
from carbs_lite.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["status", {str(study)!r}]) == 0
    assert main(["observe", {str(study)!r}, {ident!r}, "--output", "0.3", "--cost", "1"]) == 0
    try:
        main(["--help"])
    except SystemExit:
        pass
print(sorted({{m.split(".")[0] for m in sys.modules}} & {{"torch", "pyro", "plotly", "scipy"}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
    assert len(Tuner.load(study).observations) == 1


def test_status_says_why_a_cheap_run_is_not_on_the_front(tmp_path, capsys):
    from carbs_lite import Heuristics, LinearSpace, Param, TunerConfig

    tuner = Tuner([Param("x", LinearSpace(min=0.0, max=20.0), 1.0)], TunerConfig("minimize"))
    tuner.observe({"x": 1.0}, 0.5, 1.0)  # nothing cheaper beats it, but it is bucketed
    tuner.observe({"x": 2.0}, 0.4, 2.0)
    for k in range(3, 11):
        tuner.observe({"x": float(k)}, 0.4 - 0.03 * k, float(k))
    tuner.observe({"x": 11.0}, 0.9, 11.0)
    tuner.save(tmp_path / "s.json")
    assert main(["status", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    # 11 costs: the cheapest 20% (quantile 3.0) are tries 1-3, and only #3 stands for them
    assert re.search(r"\n\s+1 .* cheap bucket: #3 is its best", out)
    assert re.search(r"\n\s+2 .* cheap bucket: #3 is its best", out)
    assert re.search(r"\n\s+3 .* front ", out) and re.search(r"\n\s+11 .* beaten by #3", out)
    assert "runs among the cheapest 20% of costs count as one cost" in out

    # with the bucketing switch off nothing is bucketed: a cheap single run that is neither
    # on the front nor beaten is so because of the conservative rule, not a bucket
    space = [Param("x", LinearSpace(min=0.0, max=20.0), 1.0)]
    plain = Tuner(space, TunerConfig("minimize"), Heuristics(low_cost_bucketing=False))
    plain.observe({"x": 1.0}, 0.5, 1.0)
    plain.observe({"x": 1.0}, 0.3, 1.0)  # x = 1: mean 0.4, best 0.3
    plain.observe({"x": 2.0}, 0.35, 2.0)  # one run: must beat 0.3, not 0.4
    for k in range(10, 15):
        plain.observe({"x": float(k)}, 0.9, float(k))
    plain.save(tmp_path / "u.json")
    assert main(["status", str(tmp_path / "u.json")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\n\s+3 .* one run, not above #1's best", out)
    assert "cheap bucket" not in out


def test_proxy_check_on_the_ads_simulator_prints_a_table_a_recommendation_and_a_report(
    tmp_path, capsys
):
    out = tmp_path / "proxy.html"
    argv = ["proxy", "--candidates", "8", "--resamples", "200", "--out", str(out)]
    assert main([*argv, "--fidelities", "7", "30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("training days"))
    assert "Kendall tau [95% CI]" in lines[header] and "cost tau" in lines[header]
    rows = [line.split() for line in lines[header + 1 : header + 4]]
    assert [row[0] for row in rows] == ["7", "30", "60"]
    assert [row[1] for row in rows] == ["0.12", "0.50", "(full)"]  # GPU-days grow with days
    assert any(
        line.startswith("Does a run of 7 training days rank configs like one of 60?")
        for line in lines
    )
    assert any(line.startswith(("Recommended proxy:", "No proxy passes")) for line in lines)
    assert lines[-1] == f"report: {out}" and "Variance check" in out.read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--fidelities", "90"], "proxy fidelity 90 must be a number in (0, 60)"),
        (["--fidelities", "7.5"], "a proxy run must be whole training days in 1..365, got 7.5"),
        (["--full", "400"], "the full run must be whole training days in 1..365"),
        (["--candidates", "3"], "candidates must be an integer >= 5, got 3"),
        (["--threshold", "1.5"], "--threshold: 1.5 is not a correlation in [-1, 1]"),
        (["--fidelities", "x"], "--fidelities: 'x' is not a number"),
        (["--noise-scale", "nan"], "--noise-scale: nan must be a finite number >= 0"),
        (["--noise-scale", "-1"], "--noise-scale: -1 must be a finite number >= 0"),
        (["--seed", "-1"], "--seed: -1 must be an integer >= 0"),
        (["--resamples", "0"], "resamples must be an integer >= 100, got 0"),
    ],
)
def test_proxy_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, message):
    out = tmp_path / "proxy.html"
    assert _exit_code(["proxy", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_proxy_refuses_to_write_its_report_over_a_study_or_into_no_folder(tmp_path, capsys):
    study = tmp_path / "study.json"
    assert main(["init", str(study), "--problem", "ads-arch"]) == 0
    before = study.read_text()
    assert _exit_code(["proxy", "--out", str(study)]) == 2
    assert _exit_code(["proxy", "--out", str(tmp_path / "no" / "r.html")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "holds a carbs_lite study" in err[0] and "does not exist" in err[1]
    assert study.read_text() == before


def test_a_reader_that_goes_away_gets_no_traceback(tmp_path, capsys):
    import subprocess
    import sys

    study = _space_study(tmp_path)
    _suggest(study, capsys)
    command = [sys.executable, "-m", "carbs_lite.cli", "status", str(study)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # as `| head` does once it has its lines: every write now fails
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 141
    assert b"Traceback" not in errors and b"BrokenPipeError" not in errors


def test_init_into_a_missing_folder_is_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "space.toml").write_text(SPACE)
    for journal in ([], ["--journal"]):
        argv = [
            "init",
            str(tmp_path / "nowhere" / "s.json"),
            "--space",
            str(tmp_path / "space.toml"),
        ]
        assert main([*argv, "--direction", "minimize", *journal]) == 2
        err = capsys.readouterr().err
        assert "cannot write" in err and "No such file or directory" in err
        assert err.count("\n") == 1


def test_a_tasks_own_flags_are_refused_on_a_study_of_another_task(tmp_path, capsys):
    # --ne on a generic study, or --min-qps with --space, used to be silently ignored
    study = _space_study(tmp_path)
    ident, _ = _suggest(study, capsys)
    argv = ["observe", str(study), ident, "--output", "0.3", "--cost", "3", "--ne", "0.8"]
    assert main(argv) == 2
    assert "--ne: only for ads-arch studies" in capsys.readouterr().err
    assert Tuner.load(study).observations == []
    space = ["--space", str(tmp_path / "space.toml"), "--direction", "minimize"]
    assert main(["init", str(tmp_path / "new.json"), *space, "--min-qps", "100"]) == 2
    assert "--min-qps: only for ads-arch studies" in capsys.readouterr().err
    assert (
        main(["init", str(tmp_path / "ads.json"), "--problem", "ads-arch", "--min-qps", "100"]) == 0
    )
    assert Tuner.load(tmp_path / "ads.json").config.max_suggestion_cost == 1 / 100


def test_retracting_twice_names_the_try_as_status_numbers_it(tmp_path, capsys):
    study = _space_study(tmp_path)
    ident, _ = _suggest(study, capsys)
    assert main(["observe", str(study), ident, "--output", "0.3", "--cost", "3"]) == 0
    assert main(["retract", str(study), "#1", "--why", "typo"]) == 0
    assert main(["retract", str(study), "#1", "--why", "again"]) == 2
    assert "try #1 is already retracted (typo)" in capsys.readouterr().err


def test_observe_wording_for_ids_budgets_and_retracting_a_pending_try(tmp_path, capsys):
    study = _space_study(tmp_path, "--tries", "1")
    ident, params = _suggest(study, capsys)
    both = ["observe", str(study), ident, "--params", json.dumps(params), "--output", "1"]
    assert main([*both, "--cost", "1"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["retract", str(study), ident, "--why", "x"]) == 2
    assert "is outstanding, not observed" in capsys.readouterr().err
    assert main(["observe", str(study), ident, "--output", "1", "--cost", "1"]) == 0
    run = ["observe", str(study), "--params", json.dumps(params), "--output", "2", "--cost", "1"]
    assert main([*run, "--counts"]) == 0
    assert "goes past the budget of 1 tries" in capsys.readouterr().err
    failed = ["observe", str(study), "--params", json.dumps(params), "--failed"]
    assert main(failed) == 2  # no cost, and no model predicted one for a --params run
    assert "did not suggest this point" in capsys.readouterr().err


def test_init_from_a_study_of_the_other_direction_is_refused(tmp_path, capsys):
    # the losses of a minimized study used to be copied as if they were accuracies
    source = _space_study(tmp_path)
    ident, _ = _suggest(source, capsys)
    assert main(["observe", str(source), ident, "--output", "0.3", "--cost", "1"]) == 0
    new = ["init", str(tmp_path / "new.json"), "--space", str(tmp_path / "space.toml")]
    assert main([*new, "--direction", "maximize", "--from", str(source)]) == 2
    assert "its results would be read upside down" in capsys.readouterr().err
    assert not (tmp_path / "new.json").exists()


def test_run_checks_its_report_path_before_tuning(tmp_path, capsys):
    # a bad --out used to fail with a traceback after the whole run
    study = tmp_path / "s.json"
    argv = ["run", "--tries", "1", "--study", str(study)]
    assert main([*argv, "--out", str(tmp_path / "missing" / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and err.count("\n") == 1
    assert not study.exists()


def test_a_long_retraction_reason_keeps_the_status_columns_aligned(tmp_path, capsys):
    study = _space_study(tmp_path)
    ident, _ = _suggest(study, capsys)
    assert main(["observe", str(study), ident, "--output", "0.3", "--cost", "1"]) == 0
    assert main(["retract", str(study), "#1", "--why", "a mistyped value " * 5]) == 0
    capsys.readouterr()
    assert main(["status", str(study)]) == 0
    header, row = capsys.readouterr().out.splitlines()[2:4]
    assert header.index("params") == row.index("{") and "…" in row
