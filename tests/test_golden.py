"""Golden traces: the default Tuner's suggestions on every suite problem are exactly those
recorded in ``tests/golden/traces.json``, so a refactor that keeps behaviour keeps them.

Regenerate only on purpose, when a change is meant to alter suggestions:
``python tests/golden/make_traces.py``. CI checks the first ``CI_TRIES`` suggestions of seed 0
of each problem (the center, the initial design and several search steps with outstanding
points; a trace is made in order, so its start is a trace of its own). Whole traces of every
seed are marked slow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))

from trace_run import trace  # noqa: E402

RECORDED = json.loads((GOLDEN / "traces.json").read_text())
CI_TRIES = 10
"""Suggestions checked in CI: past the center and 3 of the initial design, 6 search steps,
every second one made while another suggestion is outstanding (two workers)."""


def _cases() -> list:
    cases = []
    for key in RECORDED["traces"]:
        problem, seed = key.split("|")
        if int(seed) == 0:
            cases.append(pytest.param(problem, 0, CI_TRIES, id=f"{key}|first{CI_TRIES}"))
        whole = RECORDED["tries"]
        cases.append(pytest.param(problem, int(seed), whole, id=key, marks=pytest.mark.slow))
    return cases


@pytest.mark.parametrize(("problem", "seed", "tries"), _cases())
def test_suggestions_match_the_golden_trace(problem, seed, tries):
    if problem.startswith("bbob"):
        pytest.importorskip("cocoex")
    expected = RECORDED["traces"][f"{problem}|{seed}"][:tries]
    assert trace(problem, seed, tries) == expected
