"""Shared study journal: exact replay, unique ids, several processes, crashes, torn records."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import objective

from carbs_lite import Heuristics, LinearSpace, Param, Tuner, TunerConfig
from carbs_lite.journal import JournalError, JournalStudy

FAST = TunerConfig(direction="minimize", num_candidates_per_dim=10, fit_iterations=5)

WORKER_PRELUDE = textwrap.dedent(
    """
    import math, sys
    from carbs_lite import LinearSpace, LogSpace, Param, Tuner, TunerConfig

    # no torch import here: workers that only observe never load it, and a suggest fits
    # with TunerConfig.torch_threads (1)
    PARAMS = [
        Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3),
        Param("width", LinearSpace(min=8, max=512, is_integer=True, scale=100.0), 32),
    ]
    CONFIG = TunerConfig(direction="minimize", num_candidates_per_dim=10, fit_iterations=5)
    path, cycles = sys.argv[1], int(sys.argv[2])
    """
)

CYCLE_WORKER = WORKER_PRELUDE + textwrap.dedent(
    """
    study = Tuner.open(path, PARAMS, CONFIG, seed=7)
    for _ in range(cycles):
        suggestion = study.suggest()
        p = suggestion.params
        loss = 1.0 / math.sqrt(p["width"]) + (math.log10(p["lr"]) + 2.0) ** 2
        study.observe(suggestion, loss, p["width"] / 100.0)
    """
)

OBSERVE_WORKER = WORKER_PRELUDE + textwrap.dedent(
    """
    import random
    study = Tuner.open(path)
    run = int(sys.argv[3])
    for i in range(cycles):
        params = {"lr": 10 ** random.uniform(-5, 0), "width": random.randint(8, 512)}
        study.observe(params, random.random(), 1.0, extra={"run": run, "i": i})
        print(i, flush=True)
    """
)


def _worker(code: str, *args: object) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_two_handles_replay_exactly_what_one_tuner_does(tmp_path, params):
    path = tmp_path / "study.jsonl"
    first, second = (Tuner.open(path, params, FAST, seed=1) for _ in range(2))
    plain = Tuner(params, FAST, seed=1)
    for step in range(6):
        a, b = (first, second) if step % 2 else (second, first)
        ours, theirs = a.suggest(), b.suggest()
        expected = plain.suggest(), plain.suggest()
        assert [(s.id, s.params) for s in (ours, theirs)] == [(s.id, s.params) for s in expected]
        b.observe(ours, *objective(ours.params))
        plain.observe(expected[0], *objective(expected[0].params))
        a.forget(theirs.id)
        plain.forget(expected[1].id)
    assert first.observations == second.observations == plain.observations
    assert first.outstanding == plain.outstanding == []
    with pytest.raises(ValueError, match="already observed"):
        first.observe(ours, 1.0, 1.0)  # observed through the other handle
    reopened = Tuner.open(path)
    assert reopened.suggest().params == plain.suggest().params
    assert reopened.best() == plain.best()
    assert reopened.pareto_front() == plain.pareto_front()


def test_a_retraction_in_one_handle_is_seen_by_another_and_by_a_fresh_open(tmp_path, params):
    path = tmp_path / "study.jsonl"
    writer, reader = (Tuner.open(path, params, FAST, seed=2) for _ in range(2))
    good = writer.observe({"lr": 1e-2, "width": 64}, *objective({"lr": 1e-2, "width": 64}))
    typo = writer.observe({"lr": 1e-3, "width": 128}, 0.001, 1.28)  # a mistyped loss
    assert reader.best() == typo
    writer.retract(1, "typed 0.001 for 1.01")
    for study in (reader, Tuner.open(path), Tuner.load(path)):
        state = study.to_state()
        assert state.retracted == {1: "typed 0.001 for 1.01"}
        assert state.observations == [good, typo]
        assert study.best() == good
        assert [(p.params, p.output) for p in study.pareto_front()] == [(good.params, good.output)]
    with pytest.raises(ValueError, match="already retracted"):
        reader.retract(1, "again")  # the other handle's record is replayed first
    assert reader.suggest().id == writer.to_state().outstanding[0].id


def test_save_writes_a_plain_tuner_state(tmp_path, params):
    with Tuner.open(tmp_path / "study.jsonl", params, FAST) as study:
        suggestion = study.suggest()
        study.observe(suggestion, *objective(suggestion.params))
        study.save(tmp_path / "state.json")
        assert Tuner.load(tmp_path / "state.json").observations == study.observations


def test_failed_append_rolls_back_the_operation(tmp_path, params, monkeypatch):
    study = Tuner.open(tmp_path / "study.jsonl", params, FAST)

    def disk_full(self, record):
        raise OSError("No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(JournalStudy, "_append", disk_full)
        with pytest.raises(OSError):
            study.observe({"lr": 1e-3, "width": 32}, 1.0, 1.0)
    assert study.observations == []
    study.observe({"lr": 1e-3, "width": 32}, 1.0, 1.0)
    assert len(Tuner.open(tmp_path / "study.jsonl").observations) == 1


def test_open_refuses_missing_mismatched_and_foreign_files(tmp_path, params):
    path = tmp_path / "study.jsonl"
    with pytest.raises(FileNotFoundError, match="pass params"):
        Tuner.open(path)
    assert not path.exists()
    with pytest.raises(ValueError, match="pass params"):
        Tuner.open(path, config=FAST)
    Tuner.open(path, params, FAST, seed=3)
    with pytest.raises(ValueError, match="seed"):
        Tuner.open(path, params, FAST, seed=4)
    other = [Param("x", LinearSpace(min=0, max=1), 0.5)]
    with pytest.raises(ValueError, match="params"):
        Tuner.open(path, other, FAST, seed=3)
    Tuner(params).save(tmp_path / "state.json")
    with pytest.raises(JournalError, match="not a carbs_lite journal"):
        Tuner.open(tmp_path / "state.json")


def test_a_journal_made_from_python_keeps_a_tries_budget(tmp_path, params):
    # as Tuner(..., tries=) and `carbs-lite init --journal --tries` do
    path = tmp_path / "study.jsonl"
    with Tuner.open(path, params, FAST, tries=2) as journal:
        journal.observe(journal.suggest(), 1.0, 1.0)
    with Tuner.open(path, params, FAST) as journal:
        assert (journal.to_state().tries, journal.to_state().tries_used) == (2, 1)
    with pytest.raises(ValueError, match="its tries differs"):
        Tuner.open(path, params, FAST, tries=3)
    with pytest.raises(ValueError, match="tries only apply when creating"):
        Tuner.open(path, tries=2)
    with pytest.raises(ValueError, match="tries must be an integer >= 1"):
        Tuner.open(tmp_path / "other.jsonl", params, FAST, tries=0)
    assert not (tmp_path / "other.jsonl").exists()


def test_newer_version_and_malformed_records_raise(tmp_path, params):
    path = tmp_path / "study.jsonl"
    Tuner.open(path, params).observe({"lr": 1e-3, "width": 32}, 1.0, 1.0)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["version"] += 1
    newer = tmp_path / "newer.jsonl"
    newer.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(JournalError, match="newer"):
        Tuner.open(newer)
    path.write_text(path.read_text() + json.dumps({"kind": "rewind"}) + "\n")
    with pytest.raises(JournalError, match="malformed record"):
        Tuner.open(path)


def test_torn_last_record_is_reported_ignored_and_cut_by_the_next_writer(tmp_path, params, caplog):
    path = tmp_path / "study.jsonl"
    study = Tuner.open(path, params, FAST)
    for width in (16, 32, 64):
        study.observe({"lr": 1e-3, "width": width}, 1.0, 1.0)
    with open(path, "ab") as stream:
        stream.write(b'{"kind": "observe", "observation": {"params": {"lr"')
    with caplog.at_level(logging.WARNING, logger="carbs_lite"):
        reopened = Tuner.open(path)
    assert "unterminated last record" in caplog.text
    assert [o.params["width"] for o in reopened.observations] == [16, 32, 64]

    reopened.observe({"lr": 1e-3, "width": 128}, 1.0, 1.0)
    content = path.read_bytes()
    assert content.endswith(b"\n") and all(json.loads(line) for line in content.splitlines())
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="carbs_lite"):
        final = Tuner.open(path)
    assert caplog.text == ""
    assert [o.params["width"] for o in final.observations] == [16, 32, 64, 128]
    study.observe({"lr": 1e-3, "width": 256}, 1.0, 1.0)  # the stale handle catches up
    assert [o.params["width"] for o in study.observations] == [16, 32, 64, 128, 256]


def test_a_whole_record_without_its_newline_counts_for_no_handle(tmp_path, params):
    path = tmp_path / "study.jsonl"
    writer, second, third = (Tuner.open(path, params, FAST) for _ in range(3))
    suggestion = writer.suggest()
    assert second.outstanding == third.outstanding == [suggestion]
    writer.observe(suggestion, 1.0, 1.0)
    writer.close()
    with open(path, "r+b") as stream:  # the writer died before writing the record's newline
        stream.truncate(path.stat().st_size - 1)
    assert second.observations == [] and second.outstanding == [suggestion]
    second.observe(suggestion, 2.0, 1.0)
    with pytest.raises(ValueError, match="already observed"):
        third.observe(suggestion, 3.0, 1.0)
    for handle in (second, third, Tuner.open(path)):
        assert [(o.suggestion_id, o.output) for o in handle.observations] == [(suggestion.id, 2.0)]
        assert handle.outstanding == []


FAILING_APPEND = WORKER_PRELUDE + textwrap.dedent(
    """
    import os, resource, signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    study = Tuner.open(path)
    limit = os.path.getsize(path) + cycles
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        study.observe({"lr": 1e-3, "width": 32}, 1.0, 1.0, extra={"pad": "x" * 200})
    except OSError as error:
        print("failed", error.errno)
    """
)


def test_an_append_that_fails_part_way_leaves_nothing_behind(tmp_path, params, caplog):
    path = tmp_path / "study.jsonl"
    Tuner.open(path, params, FAST).observe({"lr": 1e-3, "width": 16}, 1.0, 1.0)
    before = path.read_bytes()
    worker = _worker(FAILING_APPEND, path, 40)  # room for 40 bytes of the record, not all
    out, errors = worker.communicate(timeout=120)
    assert worker.returncode == 0, errors
    assert out.startswith("failed")
    assert path.read_bytes() == before
    with caplog.at_level(logging.WARNING, logger="carbs_lite"):
        assert len(Tuner.open(path).observations) == 1
    assert caplog.text == ""


def test_a_snapshot_study_is_named_with_how_to_read_it(tmp_path, params, caplog):
    # it was first logged as a journal whose writer died mid-record
    tuner = Tuner(params, FAST)
    tuner.observe({"lr": 1e-3, "width": 32}, 1.0, 1.0)
    indented, one_line = tmp_path / "saved.json", tmp_path / "one-line.json"
    tuner.save(indented)
    one_line.write_text(json.dumps(json.loads(indented.read_text())))  # no newline at all
    for path in (indented, one_line):
        with pytest.raises(JournalError, match=r"a snapshot study .* Tuner.load\(path\)"):
            Tuner.open(path)
    (tmp_path / "empty.jsonl").touch()
    with pytest.raises(JournalError, match=r"not a carbs_lite journal \(empty file\)"):
        Tuner.open(tmp_path / "empty.jsonl")
    assert "unterminated" not in caplog.text


READ_ONLY_READER = textwrap.dedent(
    """
    import sys
    from carbs_lite import Tuner
    study = Tuner.open(sys.argv[1])
    print(study.read_only, len(study.observations), study.best().output,
          len(study.pareto_front()), len(study.to_state().observations))
    study.report(sys.argv[2])
    writes = (
        study.suggest,
        lambda: study.observe(study.best(), 1.0, 1.0),
        lambda: study.retract(0, "no"),
    )
    for write in writes:
        try:
            write()
        except PermissionError as error:
            print(error)
    """
)


def _without_write_override() -> list[str]:
    """A command prefix under which file permissions bind: as root, one that drops the
    capabilities that let root write any file (skips the test without ``setpriv``)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("as root this needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
    caps = "-dac_override,-fowner"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


def test_a_read_only_journal_opens_for_reading_and_refuses_writes(tmp_path, params):
    path = tmp_path / "study.jsonl"
    study = Tuner.open(path, params, FAST)
    for width in (16, 64):
        study.observe({"lr": 1e-3, "width": width}, *objective({"lr": 1e-3, "width": width}))
    path.chmod(0o444)
    before = path.read_bytes()
    reader = subprocess.run(
        [
            *_without_write_override(),
            sys.executable,
            "-c",
            READ_ONLY_READER,
            str(path),
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reader.returncode == 0, reader.stderr
    lines = reader.stdout.splitlines()
    assert lines[0].split()[:2] == ["True", "2"] and lines[0].split()[3:] == ["2", "2"]
    assert len(lines) == 4 and all("is open read-only" in line for line in lines[1:])
    assert path.read_bytes() == before


def test_kill_9_during_observe_keeps_every_completed_observation(tmp_path, params):
    path = tmp_path / "study.jsonl"
    Tuner.open(path, params, FAST)
    rng = random.Random(0)
    completed: set[tuple[int, int]] = set()
    for run in range(3):
        worker = _worker(OBSERVE_WORKER, path, 10_000, run)
        target = rng.randint(5, 40)
        printed = [int(worker.stdout.readline()) for _ in range(target)]
        time.sleep(rng.uniform(0.0, 0.02))
        worker.send_signal(signal.SIGKILL)
        rest, _ = worker.communicate(timeout=30)
        printed += [int(line) for line in rest.split()]
        assert worker.returncode == -signal.SIGKILL
        completed |= {(run, i) for i in printed}
        found = [(o.extra["run"], o.extra["i"]) for o in Tuner.open(path).observations]
        assert completed <= set(found), "an observation that returned was lost"
        assert len(found) == len(set(found))
        assert len(found) - len(completed) <= run + 1  # at most one unreported per kill


def test_four_processes_share_one_study(tmp_path):
    path = tmp_path / "study.jsonl"
    workers = [_worker(CYCLE_WORKER, path, 6) for _ in range(4)]
    for worker in workers:
        _, errors = worker.communicate(timeout=300)
        assert worker.returncode == 0, errors
    observations = Tuner.open(path).observations
    assert len(observations) == 24  # the soak test (slow) runs 8 processes, 500 cycles
    ids = [o.suggestion_id for o in observations]
    assert None not in ids and len(set(ids)) == 24
    assert len({json.dumps(o.params, sort_keys=True) for o in observations}) == 24
    assert Tuner.open(path).outstanding == []


def test_journal_and_tuner_answer_the_study_interface_alike(tmp_path, params):
    from carbs_lite import Study

    journal = Tuner.open(tmp_path / "study.jsonl", params, FAST, seed=3)
    memory = Tuner(params, FAST, seed=3)
    for study in (journal, memory):
        assert isinstance(study, Study)
        for _ in range(6):
            suggestion = study.suggest()
            study.observe(suggestion, *objective(suggestion.params))
        study.suggest()
    assert [o.params for o in journal.observations] == [o.params for o in memory.observations]
    assert [s.params for s in journal.outstanding] == [s.params for s in memory.outstanding]
    assert journal.best() == memory.best() and journal.pareto_front() == memory.pareto_front()
    assert journal.to_state() == memory.to_state()
    pages = [s.report(tmp_path / f"{i}.html").read_text() for i, s in enumerate((journal, memory))]
    assert pages[0] == pages[1]
    journal.save(tmp_path / "copy.json")
    assert Tuner.load(tmp_path / "copy.json").to_state() == memory.to_state()
    assert Tuner.load(tmp_path / "study.jsonl").to_state() == memory.to_state()


def test_a_journal_made_before_a_default_changed_still_opens_with_its_settings(tmp_path, params):
    # a journal header written while failure_imputation was a bool, off by default
    path = tmp_path / "study.jsonl"
    with Tuner.open(path, params, FAST) as study:
        study.observe(study.suggest(), 1.0, 1.0)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["state"]["heuristics"]["failure_imputation"] = False
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with Tuner.open(path, params, FAST) as reopened:
        assert reopened.heuristics.failure_imputation.value == "none"
        assert len(reopened.observations) == 1
    with pytest.raises(ValueError, match="heuristics differs"):
        Tuner.open(path, params, FAST, Heuristics())
    with pytest.raises(ValueError, match="config differs"):
        Tuner.open(path, params, TunerConfig(direction="maximize"))
