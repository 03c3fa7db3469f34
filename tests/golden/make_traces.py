"""Regenerate the golden suggestion traces (run only on purpose, when behaviour is meant to change).

    python tests/golden/make_traces.py [--seeds 5] [--tries 15]

Each trace is every suggestion's params for one (problem, seed): the default Tuner on the
suite problem, suggestions made two at a time as in the ablation runs, observed with the
problem's evaluation drawn from ``numpy.random.default_rng([seed, 7919])``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from trace_run import PROBLEM_NAMES, trace  # noqa: E402

OUT = Path(__file__).resolve().parent / "traces.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tries", type=int, default=15)
    args = parser.parse_args()
    traces = {}
    for name in PROBLEM_NAMES:
        for seed in range(args.seeds):
            traces[f"{name}|{seed}"] = trace(name, seed, args.tries)
            print(name, seed, flush=True)
    OUT.write_text(json.dumps({"tries": args.tries, "traces": traces}, indent=0) + "\n")


if __name__ == "__main__":
    main()
