"""The journal's suggest fits without the lock: what others append meanwhile is kept, ids stay
unique, points stay distinct, and a suggest always finishes."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import queue
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import pytest
from conftest import objective
from test_journal import WORKER_PRELUDE

from carbs_lite import Tuner, TunerConfig
from carbs_lite.journal import OPTIMISTIC_ATTEMPTS

FAST = TunerConfig(direction="minimize", num_candidates_per_dim=10, fit_iterations=5)


class InterruptedTuner(Tuner):
    """A Tuner that calls ``during_fit`` (if set) at the start of each suggest, standing in
    for another process that appends while this one fits its models."""

    during_fit: Callable[[], None] | None = None

    def suggest(self, stream: int = 0):
        if InterruptedTuner.during_fit is not None:
            InterruptedTuner.during_fit()
        return super().suggest(stream)


@pytest.fixture
def interrupted():
    yield InterruptedTuner
    InterruptedTuner.during_fit = None


def _journal_is_locked(path) -> bool:
    with open(path, "rb") as stream:
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(stream, fcntl.LOCK_UN)
        return False


def _started(path, params, steps: int) -> Tuner:
    """A journal at ``path`` with ``steps`` observed suggestions, and its plain-Tuner twin."""
    study = Tuner.open(path, params, FAST, seed=5)
    for _ in range(steps):
        suggestion = study.suggest()
        study.observe(suggestion, *objective(suggestion.params))
    return study


def test_suggest_fits_with_the_journal_unlocked(tmp_path, params, interrupted):
    path = tmp_path / "study.jsonl"
    _started(path, params, 5)
    locked = []
    interrupted.during_fit = lambda: locked.append(_journal_is_locked(path))
    interrupted.open(path).suggest()
    assert locked == [False]


def test_records_appended_during_a_fit_are_kept_and_ids_stay_unique(tmp_path, params, interrupted):
    path = tmp_path / "study.jsonl"
    other = _started(path, params, 5)
    pending = other.suggest()
    mine = interrupted.open(path)

    def another_process() -> None:
        interrupted.during_fit = None
        assert not _journal_is_locked(path)  # else the appends below would wait forever
        other.observe(pending, *objective(pending.params))
        other.suggest()
        other.forget(other.outstanding[0].id)
        other.retract(0, "rerun on a clean machine")
        other.suggest()

    interrupted.during_fit = another_process
    suggestion = mine.suggest()
    fresh = Tuner.open(path)
    ids = [o.suggestion_id for o in fresh.observations] + [s.id for s in fresh.outstanding]
    assert len(ids) == len(set(ids)) == 8
    assert suggestion.id.startswith("00008-")  # numbered after the 8 made before it
    assert [s.id for s in fresh.outstanding][-1] == suggestion.id
    assert pending.id in {o.suggestion_id for o in fresh.observations}
    assert fresh.outstanding == mine.outstanding == other.outstanding
    for study in (fresh, mine, other):
        assert study.to_state().retracted == {0: "rerun on a clean machine"}
    assert fresh.suggest().id.startswith("00009-")
    params_seen = [s.params for s in fresh.outstanding] + [o.params for o in fresh.observations]
    assert params_seen.count(suggestion.params) == 1


def test_a_suggestion_whose_point_was_taken_meanwhile_is_made_again(tmp_path, params, interrupted):
    path = tmp_path / "study.jsonl"
    other = _started(path, params, 6)
    twin = Tuner.from_state(other.to_state())
    mine = interrupted.open(path)
    taken = []

    def same_suggestion_elsewhere() -> None:
        interrupted.during_fit = None
        assert not _journal_is_locked(path)
        taken.append(other.suggest())  # the same state and count: the same point

    interrupted.during_fit = same_suggestion_elsewhere
    suggestion = mine.suggest()
    expected_taken, on_the_same_stream = twin.suggest(), twin.suggest()
    assert taken[0].params == expected_taken.params  # it would have collided
    # made again on the new state, from a stream of its own: a third worker that fitted the
    # same state as these two would otherwise draw this point too, and retry once more
    assert suggestion.params not in (taken[0].params, on_the_same_stream.params)
    assert suggestion.id.startswith("00007-")
    fresh = Tuner.open(path)
    assert [s.id for s in fresh.outstanding] == [taken[0].id, suggestion.id]
    assert [o.params for o in fresh.observations] == [o.params for o in twin.observations]


def test_suggest_finishes_under_the_lock_when_every_unlocked_try_is_taken(
    tmp_path, params, interrupted, monkeypatch
):
    import carbs_lite.journal

    path = tmp_path / "study.jsonl"
    other = _started(path, params, 6)
    mine = interrupted.open(path)
    unlocked_fits, taken = [], []

    def collide_whenever_unlocked() -> None:
        if _journal_is_locked(path):
            return  # the last try, made under the lock
        unlocked_fits.append(True)
        taken.append(other.suggest())

    interrupted.during_fit = collide_whenever_unlocked
    # a retry draws from a stream of its own, so two workers seldom collide twice; this test
    # makes every unlocked try collide, to reach the last resort
    monkeypatch.setattr(carbs_lite.journal, "_taken_since", lambda *_: True)
    suggestion = mine.suggest()
    assert len(unlocked_fits) == OPTIMISTIC_ATTEMPTS
    assert suggestion.params not in [s.params for s in taken]
    fresh = Tuner.open(path)
    assert [s.id for s in fresh.outstanding] == [s.id for s in taken] + [suggestion.id]


SOAK_WORKER = WORKER_PRELUDE + textwrap.dedent(
    """
    study = Tuner.open(path)
    for _ in range(cycles):
        suggestion = study.suggest()
        print("suggested", suggestion.id, flush=True)
        p = suggestion.params
        loss = 1.0 / math.sqrt(p["width"]) + (math.log10(p["lr"]) + 2.0) ** 2
        print("observing", suggestion.id, flush=True)
        study.observe(suggestion, loss, p["width"] / 100.0)
        print("acked", suggestion.id, flush=True)
    """
)


class Soak:
    """Worker processes on one journal, restarted with the cycles they had left when killed;
    what each printed (suggested, observing, acked) is collected from their output."""

    def __init__(self, path, folder) -> None:
        self.path, self.folder = path, folder
        self.events: queue.Queue = queue.Queue()
        self.workers: dict[subprocess.Popen, dict] = {}
        self.acked: set[str] = set()
        self.in_flight: set[str] = set()  # the last id a killed worker printed, not acked
        self.kills = self.restarts = 0

    def start(self, cycles: int) -> None:
        log_path = self.folder / f"worker-{len(self.workers)}.log"
        log = open(log_path, "w")  # noqa: SIM115 (the worker writes it until it exits)
        process = subprocess.Popen(
            [sys.executable, "-c", SOAK_WORKER, str(self.path), str(cycles)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        self.workers[process] = {
            "cycles": cycles,
            "acked": 0,
            "last": None,
            "killed": False,
            "log": log_path,
        }
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.events.put((process, line.split()))
        self.events.put((process, None))

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            self.workers[process]["killed"] = True
            self.kills += 1

    def handle(self, process: subprocess.Popen, words: list[str] | None) -> None:
        """Book one line of output; at a worker's end, restart it with its cycles left."""
        worker = self.workers[process]
        if words is not None:
            worker["last"] = words
            if words[0] == "acked":
                self.acked.add(words[1])
                worker["acked"] += 1
            return
        process.wait()
        worker["done"] = True
        if not worker["killed"]:
            assert process.returncode == 0, worker["log"].read_text()
            return
        if worker["last"] and worker["last"][0] != "acked":
            self.in_flight.add(worker["last"][1])
        left = worker["cycles"] - worker["acked"]
        if left:
            self.restarts += 1
            self.start(left)

    def running(self) -> list[subprocess.Popen]:
        return [p for p, w in self.workers.items() if not w.get("done")]


def _tear_the_tail(path) -> None:
    """Append a copy of the last record without its newline, holding the journal's lock as a
    writer does: a writer that died after writing a whole record but not its newline."""
    with open(path, "r+b") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        last = stream.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        stream.seek(0, os.SEEK_END)
        stream.write(last)
        stream.flush()
        fcntl.flock(stream, fcntl.LOCK_UN)


@pytest.mark.slow
def test_soak_8_workers_500_cycles_with_kills_and_a_torn_tail(tmp_path, params):
    path = tmp_path / "study.jsonl"
    watcher = Tuner.open(path, params, FAST, seed=7)  # a handle that stays open throughout
    rng = random.Random(15)
    soak = Soak(path, tmp_path)
    for cycles in [63] * 4 + [62] * 4:
        soak.start(cycles)
    kill_at = set(rng.sample(range(40, 1400), 8))
    tear_at, events = rng.randrange(200, 1200), 0
    while soak.running():
        process, words = soak.events.get(timeout=900)
        soak.handle(process, words)
        events += words is not None
        if words is not None and events in kill_at:
            time.sleep(rng.uniform(0.0, 0.03))  # land anywhere in the worker's next step
            soak.kill(process)
        if events == tear_at:
            _tear_the_tail(path)

    state = Tuner.open(path).to_state()
    assert watcher.to_state() == state
    observed = [o.suggestion_id for o in state.observations]
    outstanding = [s.id for s in state.outstanding]
    assert len(soak.acked) == 500 and soak.acked <= set(observed)
    assert len(set(observed + outstanding)) == len(observed) + len(outstanding)
    unacknowledged = set(observed) - soak.acked
    assert unacknowledged <= soak.in_flight and set(outstanding) <= soak.in_flight
    points = [json.dumps(o.params, sort_keys=True) for o in state.observations]
    points += [json.dumps(s.params, sort_keys=True) for s in state.outstanding]
    assert len(set(points)) == len(points)
    assert path.read_bytes().endswith(b"\n")
    logs = "".join(w["log"].read_text() for w in soak.workers.values())
    assert logs.count("cutting off the unterminated record") == 1  # the torn tail, once
    logging.getLogger(__name__).info(
        "soak: %d kills, %d restarts, %d acknowledged, %d recorded (%d of them observed by a "
        "worker killed before it printed the acknowledgement), %d left outstanding by kills, "
        "%d reads that ignored the torn tail before a writer cut it",
        soak.kills,
        soak.restarts,
        len(soak.acked),
        len(observed),
        len(unacknowledged),
        len(outstanding),
        logs.count("ignoring an unterminated last record"),
    )


def test_a_point_counts_as_taken_meanwhile_only_if_it_is_the_same_point():
    """The check a worker makes before appending its suggestion compares points as the
    study does (``ParamSpace.key``): a categorical True is not 1, while 2 and 2.0 are one."""
    from carbs_lite import CategoricalSpace, LinearSpace, Param
    from carbs_lite.journal import _taken_since
    from carbs_lite.spaces import ParamSpace

    space = ParamSpace(
        [
            Param("o", CategoricalSpace([1, True]), 1),
            Param("x", LinearSpace(min=0, max=4, is_integer=True), 2),
        ]
    )
    before = {"outstanding": [], "observations": []}
    now = {"outstanding": [{"id": "a", "params": {"o": 1, "x": 2}}], "observations": []}
    assert _taken_since(before, now, {"o": 1.0, "x": 2.0}, space)
    assert not _taken_since(before, now, {"o": True, "x": 2}, space)
    assert not _taken_since(now, now, {"o": 1, "x": 2}, space)  # it was there before
