"""The `carbs-lite` back-and-forth through the real entry point, in a temp dir."""

from __future__ import annotations

import json
import re

import pytest

from carbs_lite import SearchProbability, Tuner
from carbs_lite.cli import main


def _suggest(study, capsys) -> tuple[str, list]:
    assert main(["suggest", str(study)]) == 0
    out = capsys.readouterr().out
    ident = re.search(r"id:\s+(\S+)", out).group(1)
    params = json.loads(re.search(r"params:\s+(.+)", out).group(1))
    return ident, params["arch"]


def test_init_suggest_observe_status(tmp_path, capsys):
    study = tmp_path / "study.json"
    assert main(["init", str(study), "--problem", "ads-arch"]) == 0
    ident, arch = _suggest(study, capsys)
    assert arch == [[64, 64]]
    assert main(["observe", str(study), ident, "--ne", "0.8111", "--qps", "18800"]) == 0
    second, arch = _suggest(study, capsys)
    assert second != ident and isinstance(arch, list)
    assert main(["observe", str(study), second, "--failed"]) == 0
    third, _ = _suggest(study, capsys)
    assert main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert "pending" in out and "failed" in out and "best feasible: NE=0.8111 QPS=18800" in out
    tuner = Tuner.load(study)
    assert len(tuner.observations) == 2 and [s.id for s in tuner.outstanding] == [third]
    assert tuner.observations[0].extra["qps"] == 18800.0


def test_init_switch_is_kept_in_the_study(tmp_path, capsys):
    study = tmp_path / "study.json"
    switches = ["--switch", "search_space_probability=tail", "--switch", "size_cost_inputs=on"]
    assert main(["init", str(study), *switches]) == 0
    heuristics = Tuner.load(study).heuristics
    assert heuristics.search_space_probability is SearchProbability.TAIL
    assert heuristics.size_cost_inputs is True
    assert _suggest(study, capsys)[1] == [[64, 64]]
    assert Tuner.load(study).heuristics == heuristics  # and survives a save by `suggest`


@pytest.mark.parametrize(
    "switch, message",
    [
        ("search_space_probability", "takes NAME=VALUE"),
        ("search_space_probability=wide", "'wide' is not one of ['density', 'tail', 'off']"),
        ("radius=2", "unknown Heuristics fields: ['radius']"),
    ],
)
@pytest.mark.parametrize("command", ["init", "run"])
def test_bad_switches_are_rejected_before_anything_is_written(
    tmp_path, capsys, command, switch, message
):
    target = tmp_path / ("study.json" if command == "init" else "report.html")
    where = [str(target)] if command == "init" else ["--out", str(target)]
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
    ],
)
def test_bad_numbers_are_rejected_and_file_unchanged(tmp_path, capsys, args, message):
    study = tmp_path / "study.json"
    main(["init", str(study)])
    ident, _ = _suggest(study, capsys)
    before = study.read_bytes()
    assert _exit_code(["observe", str(study), ident, *args]) == 2
    assert message in capsys.readouterr().err
    assert study.read_bytes() == before


def _exit_code(argv: list[str]) -> int:
    """main()'s return value, or the code argparse exits with on a bad argument."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code)


def test_unknown_id_and_missing_study(tmp_path, capsys):
    study = tmp_path / "study.json"
    main(["init", str(study)])
    before = study.read_bytes()
    assert main(["observe", str(study), "nope", "--ne", "0.79", "--qps", "4000"]) == 2
    assert "unknown id 'nope'" in capsys.readouterr().err
    assert study.read_bytes() == before
    assert main(["status", str(tmp_path / "missing.json")]) == 2
    assert "no such study" in capsys.readouterr().err


def test_init_refuses_to_overwrite(tmp_path, capsys):
    study = tmp_path / "study.json"
    main(["init", str(study)])
    ident, _ = _suggest(study, capsys)
    assert main(["init", str(study)]) == 2
    assert "--force" in capsys.readouterr().err
    assert [s.id for s in Tuner.load(study).outstanding] == [ident]


def test_corrupted_study_is_reported_not_overwritten(tmp_path, capsys):
    study = tmp_path / "study.json"
    study.write_text("{broken")
    assert main(["suggest", str(study)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert study.read_text() == "{broken"


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
    assert main(["suggest", str(study)]) == 0
    out = capsys.readouterr().out
    ident = re.search(r"id:\s+(\S+)", out).group(1)
    assert json.loads(re.search(r"params:\s+(.+)", out).group(1)) == {"x": 0.3}
    assert main(["observe", str(study), ident, "--output", "0.25", "--cost", "1.5"]) == 0
    assert main(["status", str(study)]) == 0
    out = capsys.readouterr().out
    assert 'best feasible: output=0.25 cost=1.5 params={"x": 0.3}' in out
    assert main(["report", str(study), "-o", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().count("Plotly.newPlot(") >= 5
    loaded = Tuner.load(study)
    assert [o.output for o in loaded.observations] == [0.25] and not loaded.outstanding
    assert main(["suggest", str(study)]) == 0
    second = re.search(r"id:\s+(\S+)", capsys.readouterr().out).group(1)
    # another task's flags do not apply to this study
    assert main(["observe", str(study), second, "--ne", "0.8", "--qps", "10"]) == 2
    assert "give either --output (with --cost) or --failed" in capsys.readouterr().err
