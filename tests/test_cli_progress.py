"""`carbs-lite progress`, `should-stop`, `stop` and how `status` shows a running try, on
snapshot and journal studies, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from carbs_lite import Heuristics, LinearSpace, Param, Tuner, TunerConfig
from carbs_lite.cli import main

PARAMS = [Param("x", LinearSpace(min=0.0, max=1.0), 0.3)]
CONFIG = TunerConfig(direction="minimize", max_suggestion_cost=2.0)


def _study(tmp_path, journal: bool, heuristics: Heuristics | None = None):
    path = tmp_path / ("study.jsonl" if journal else "study.json")
    if journal:
        Tuner.open(path, PARAMS, CONFIG, heuristics).close()
    else:
        Tuner(PARAMS, CONFIG, heuristics).save(path)
    return path


def _suggest(study, capsys) -> str:
    capsys.readouterr()
    assert main(["suggest", str(study), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["id"]


def _progress(study, ident, step, output, cost) -> int:
    argv = ["progress", str(study), ident, "--step", step, "--output", output, "--cost", cost]
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code)


@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "journal"])
def test_progress_status_and_observe_close_the_curve(tmp_path, capsys, journal):
    study = _study(tmp_path, journal)
    ident = _suggest(study, capsys)
    assert _progress(study, ident, "1", "0.9", "0.5") == 0
    assert "recorded " + ident + " at step 1: output=0.9, cost=0.5 spent" in (
        capsys.readouterr().out
    )
    assert _progress(study, ident, "2", "0.7", "1") == 0
    assert main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert f"  -  {ident}" in out and "0.7" in out and "running @2" in out
    assert "@N: the last intermediate result, at step N" in out
    assert main(["observe", str(study), ident, "--output", "0.6", "--cost", "1.5"]) == 0
    (observation,) = Tuner.load(study).observations
    assert [(p.step, p.output, p.cost) for p in observation.curve] == [(1, 0.9, 0.5), (2, 0.7, 1)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2", "0.5", "1"), "step 2 does not come after its last step 2"),
        (("3", "0.5", "0.5"), "cost 0.5 is below the 1 spent by step 2"),
        (("nan", "0.5", "1"), "step must be a finite number >= 0, got nan"),
        (("-1", "0.5", "1"), "step must be a finite number >= 0, got -1"),
        (("3", "0.5", "0"), "--cost: 0 must be a finite number > 0"),
        (("3", "x", "1"), "argument --output: 'x' is not a number"),
    ],
)
@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "journal"])
def test_bad_progress_is_one_line_exit_2_and_the_file_unchanged(
    tmp_path, capsys, journal, args, message
):
    study = _study(tmp_path, journal)
    ident = _suggest(study, capsys)
    assert _progress(study, ident, "2", "0.5", "1") == 0
    before = study.read_bytes()
    capsys.readouterr()
    assert _progress(study, ident, *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert study.read_bytes() == before


def test_progress_of_an_unknown_or_observed_id_is_refused(tmp_path, capsys):
    study = _study(tmp_path, False)
    ident = _suggest(study, capsys)
    assert _progress(study, "00009-abcdef", "1", "0.5", "1") == 2
    assert "no outstanding suggestion with id '00009-abcdef'" in capsys.readouterr().err
    assert main(["observe", str(study), ident, "--output", "0.6", "--cost", "1.5"]) == 0
    assert _progress(study, ident, "1", "0.5", "1") == 2
    assert f"suggestion {ident!r} was already observed" in capsys.readouterr().err


@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "journal"])
def test_should_stop_and_stop(tmp_path, capsys, journal):
    study = _study(tmp_path, journal, Heuristics(early_stopping=True))
    fine, dear = _suggest(study, capsys), _suggest(study, capsys)
    assert _progress(study, fine, "1", "0.5", "1") == 0
    assert _progress(study, dear, "1", "0.5", "2") == 0
    capsys.readouterr()
    assert main(["should-stop", str(study), fine]) == 0
    assert capsys.readouterr().out.startswith("no: 0 finished learning curve(s)")
    assert main(["should-stop", str(study), dear]) == 0
    assert capsys.readouterr().out.startswith("yes: at step 1 it is at or past the cost cap")
    assert main(["should-stop", str(study), dear, "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["stop"] is True and line["reason"].startswith("at step 1 it is at or past")
    assert main(["stop", str(study), fine]) == 2
    err = capsys.readouterr().err
    assert "would not stop" in err and "give --why to stop it anyway" in err
    assert main(["stop", str(study), dear]) == 0
    assert "recorded try #1 (" + dear + ") as stopped: at step 1" in capsys.readouterr().out
    assert main(["stop", str(study), fine, "--why", "ran out of GPUs"]) == 0
    assert main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert "stopped @1" in out and "why: ran out of GPUs" in out
    assert [o.stopped for o in Tuner.load(study).observations][1] == "ran out of GPUs"


def test_progress_and_should_stop_import_no_torch_pyro_or_plotly(tmp_path, capsys):
    study = _study(tmp_path, False)
    ident = _suggest(study, capsys)
    code = f"""
import contextlib, io, sys
from carbs_lite.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    argv = ["progress", {str(study)!r}, {ident!r}, "--step", "1", "--output", "0.3"]
    assert main([*argv, "--cost", "1"]) == 0
    assert main(["should-stop", {str(study)!r}, {ident!r}]) == 0
print(sorted({{m.split(".")[0] for m in sys.modules}} & {{"torch", "pyro", "plotly", "scipy"}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_an_ads_study_takes_ne_and_qps(tmp_path, capsys):
    study = tmp_path / "study.json"
    assert main(["init", str(study), "--problem", "ads-arch"]) == 0
    ident = _suggest(study, capsys)
    argv = ["progress", str(study), ident, "--step", "7", "--ne", "0.8", "--qps", "4000"]
    assert main(argv) == 0
    assert "at training day 7: NE=0.8, QPS=4000 spent" in capsys.readouterr().out
    assert main(["progress", str(study), ident, "--step", "8"]) == 2
    assert "give either --ne (with --qps) or --failed" in capsys.readouterr().err
    (pending,) = Tuner.load(study).outstanding
    assert [(p.step, p.output, p.cost) for p in pending.progress] == [(7, 0.8, 1 / 4000)]
