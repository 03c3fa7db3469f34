"""Suggest/observe cycles per second on one study journal: 4 worker processes versus 1 (the
peer), and an in-memory ``Tuner`` in one process for the journal's own overhead.

    python benchmarks/journal_throughput.py [--cycles 48] [--repeats 3] [--work 0 0.2]

Every run does ``--cycles`` cycles in total, split evenly over its processes; each cycle is
suggest -> ``--work`` seconds of sleep standing in for training -> observe. Workers import and
warm up (a first model fit) and open the study, then start together; the time runs from the start signal to the last worker's
last cycle. Problem: log-scale lr and integer width, default TunerConfig, one torch thread per
process. The table gives the median of ``--repeats`` fresh runs.
"""

from __future__ import annotations

import argparse
import logging
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROCESS_COUNTS = (("memory", 1), ("journal", 1), ("journal", 4))


def _params() -> list:
    from carbs_lite import LinearSpace, LogSpace, Param

    return [
        Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3),
        Param("width", LinearSpace(min=8, max=512, is_integer=True, scale=100.0), 32),
    ]


def _study(kind: str, path: str):
    from carbs_lite import Tuner, TunerConfig

    config = TunerConfig(direction="minimize")
    if kind == "memory":
        return Tuner(_params(), config)
    return Tuner.open(path, _params(), config)


def _cycle(study, work: float) -> None:
    suggestion = study.suggest()
    time.sleep(work)
    params = suggestion.params
    loss = 1.0 / math.sqrt(params["width"]) + (math.log10(params["lr"]) + 2.0) ** 2
    study.observe(suggestion, loss, params["width"] / 100.0)


def worker(kind: str, path: str, cycles: int, work: float) -> None:
    """Warm up, open the study, print "ready", wait for a line on stdin, run ``cycles`` cycles."""
    import torch

    torch.set_num_threads(1)
    logging.getLogger("carbs_lite").setLevel(logging.ERROR)  # GP fit fallbacks are expected
    warm_up = _study("memory", path)
    for _ in range(6):  # past the random phase, so the first model fit is not timed
        _cycle(warm_up, 0.0)
    study = _study(kind, path)
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(cycles):
        _cycle(study, work)


def run(kind: str, processes: int, cycles: int, work: float) -> float:
    """Cycles per second of one fresh run with ``processes`` workers."""
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "study.jsonl")
        command = [sys.executable, __file__, "--worker", kind, path, str(cycles // processes)]
        workers = [
            subprocess.Popen(
                [*command, str(work)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            for _ in range(processes)
        ]
        for process in workers:
            assert process.stdout.readline().strip() == "ready"
        start = time.perf_counter()
        for process in workers:
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in workers:
            process.wait()
            assert process.returncode == 0
        return cycles / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=float, nargs="+", default=[0.0, 0.2])
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, path, cycles, work = args.worker
        worker(kind, path, int(cycles), float(work))
        return
    print("| work per cycle (s) | study | processes | cycles/s (median) | runs | vs journal x1 |")
    print("|---|---|---|---|---|---|")
    for work in args.work:
        rates = {
            (kind, processes): [
                run(kind, processes, args.cycles, work) for _ in range(args.repeats)
            ]
            for kind, processes in PROCESS_COUNTS
        }
        peer = statistics.median(rates[("journal", 1)])
        for (kind, processes), runs in rates.items():
            median = statistics.median(runs)
            shown = ", ".join(f"{r:.2f}" for r in runs)
            print(
                f"| {work:g} | {kind} | {processes} | {median:.2f} | {shown} | "
                f"{median / peer:.2f} |"
            )


if __name__ == "__main__":
    main()
