"""The journal's suggest fits without the lock: what others append meanwhile is kept, ids stay
unique, points stay distinct, and a suggest always finishes."""

from __future__ import annotations

import fcntl
from collections.abc import Callable

import pytest
from conftest import objective

from carbs_lite import Tuner, TunerConfig
from carbs_lite.journal import OPTIMISTIC_ATTEMPTS

FAST = TunerConfig(direction="minimize", num_candidates_per_dim=10, fit_iterations=5)


class InterruptedTuner(Tuner):
    """A Tuner that calls ``during_fit`` (if set) at the start of each suggest, standing in
    for another process that appends while this one fits its models."""

    during_fit: Callable[[], None] | None = None

    def suggest(self):
        if InterruptedTuner.during_fit is not None:
            InterruptedTuner.during_fit()
        return super().suggest()


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
    expected_taken, expected_mine = twin.suggest(), twin.suggest()
    assert taken[0].params == expected_taken.params  # it would have collided
    assert (suggestion.id, suggestion.params) == (expected_mine.id, expected_mine.params)
    assert Tuner.open(path).to_state() == twin.to_state()


def test_suggest_finishes_under_the_lock_when_every_unlocked_try_is_taken(
    tmp_path, params, interrupted
):
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
    suggestion = mine.suggest()
    assert len(unlocked_fits) == OPTIMISTIC_ATTEMPTS
    assert suggestion.params not in [s.params for s in taken]
    fresh = Tuner.open(path)
    assert [s.id for s in fresh.outstanding] == [s.id for s in taken] + [suggestion.id]
