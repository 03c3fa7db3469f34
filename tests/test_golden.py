"""Golden traces: the default Tuner's suggestions on every suite problem are exactly those
recorded in ``tests/golden/traces.json``, so a refactor that keeps behaviour keeps them.

Regenerate only on purpose, when a change is meant to alter suggestions:
``python tests/golden/make_traces.py``. Seed 0 of each problem runs in CI; seeds 1-4 are
marked slow.
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


def _cases() -> list:
    cases = []
    for key in RECORDED["traces"]:
        problem, seed = key.split("|")
        marks = [pytest.mark.slow] if int(seed) > 0 else []
        cases.append(pytest.param(problem, int(seed), id=key, marks=marks))
    return cases


@pytest.mark.parametrize(("problem", "seed"), _cases())
def test_suggestions_match_the_golden_trace(problem, seed):
    if problem.startswith("bbob"):
        pytest.importorskip("cocoex")
    expected = RECORDED["traces"][f"{problem}|{seed}"]
    assert trace(problem, seed, RECORDED["tries"]) == expected
