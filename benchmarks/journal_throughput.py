"""Suggest/observe cycles per second on one study journal, 4 worker processes versus 1 (the
peer), with an in-memory ``Tuner`` for the journal's own overhead; and how long ``suggest()``
takes with 16 workers on one journal versus 1.

    python benchmarks/journal_throughput.py [--cycles 48] [--repeats 3] [--work 0 0.2]
        [--wait-workers 16] [--wait-cycles 4] [--wait-work 0.2] [--wait-seed 12]

Every throughput run does ``--cycles`` cycles in total, split evenly over its processes; each
cycle is suggest -> ``--work`` seconds of sleep standing in for training -> observe. Workers
import and warm up (a first model fit) and open the study, then start together. The rate is
the cycles finished from the start signal until the first worker has done its share, over
that time: the throughput of all the processes at work. The whole-run rate, until the last
worker's last cycle ends, is shown beside it; it also counts the tail in which fewer
processes are left, which weighs more the fewer cycles a run has. Neither counts the workers'
exit. The wait runs start from a journal
with ``--wait-seed`` observations (so that every timed call fits the models), give each of
``--wait-workers`` workers (and, as the peer, one worker) ``--wait-cycles`` cycles with
``--wait-work`` seconds of work, and time every ``suggest()`` call. Problem: log-scale lr and
integer width, default TunerConfig, one torch thread per process. Tables give the median of
``--repeats`` fresh runs; "renumbered" and "redone" count suggestions that others' records
overtook during their fit (``carbs_lite.journal``), as a share of all suggestions; "CPU s"
is the workers' CPU time per cycle, which, unlike the rates, other jobs on the machine do not
change much.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PROCESS_COUNTS = (("memory", 1), ("journal", 1), ("journal", 4))


@dataclass
class RunResult:
    """One run: cycles per second while every worker was running and over the whole run,
    every suggest() duration (s), the journal's counts of suggestions appended renumbered and
    made again, and the workers' CPU seconds in all."""

    rate: float
    whole_rate: float
    suggest_seconds: list[float] = field(default_factory=list)
    renumbered: int = 0
    redone: int = 0
    cpu_seconds: float = 0.0


class _Counter(logging.Handler):
    """Counts the journal's debug messages about overtaken suggestions."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.renumbered = self.redone = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.renumbered += "appended as" in message
        self.redone += "taken meanwhile" in message


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


def _cycle(study, work: float) -> float:
    """One suggest -> work -> observe cycle; returns the suggest() duration in seconds."""
    started = time.monotonic()
    suggestion = study.suggest()
    waited = time.monotonic() - started
    time.sleep(work)
    params = suggestion.params
    loss = 1.0 / math.sqrt(params["width"]) + (math.log10(params["lr"]) + 2.0) ** 2
    study.observe(suggestion, loss, params["width"] / 100.0)
    return waited


def worker(kind: str, path: str, cycles: int, work: float) -> None:
    """Warm up, open the study, print "ready", wait for a line on stdin, run ``cycles`` cycles,
    print a JSON line with the suggest() durations and the journal's counts."""
    import torch

    torch.set_num_threads(1)
    logging.getLogger("carbs_lite").setLevel(logging.ERROR)  # GP fit fallbacks are expected
    counter = _Counter()
    journal_log = logging.getLogger("carbs_lite.journal")
    journal_log.setLevel(logging.DEBUG)
    journal_log.addHandler(counter)
    warm_up = _study("memory", path)
    for _ in range(6):  # past the random phase, so the first model fit is not timed
        _cycle(warm_up, 0.0)
    study = _study(kind, path)
    print("ready", flush=True)
    sys.stdin.readline()
    cpu = time.process_time()
    waits, ends = [], []
    for _ in range(cycles):
        waits.append(_cycle(study, work))
        ends.append(time.monotonic())  # one clock for every process (CLOCK_MONOTONIC)
    report = {"waits": waits, "ends": ends, "renumbered": counter.renumbered}
    print(json.dumps({**report, "redone": counter.redone, "cpu": time.process_time() - cpu}))


def _seed(path: str, cycles: int) -> None:
    """Start the journal at ``path`` with ``cycles`` observed suggestions."""
    import torch

    torch.set_num_threads(1)
    with _study("journal", path) as study:
        for _ in range(cycles):
            _cycle(study, 0.0)


def run(kind: str, processes: int, cycles: int, work: float, seed: int = 0) -> RunResult:
    """One fresh run of ``cycles`` cycles in all over ``processes`` workers, on a journal
    started with ``seed`` observations."""
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "study.jsonl")
        if seed:
            _seed(path, seed)
        command = [sys.executable, __file__, "--worker", kind, path, str(cycles // processes)]
        workers = [
            subprocess.Popen(
                [*command, str(work)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            for _ in range(processes)
        ]
        for process in workers:
            assert process.stdout.readline().strip() == "ready"
        start = time.monotonic()
        for process in workers:
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = [json.loads(process.communicate()[0]) for process in workers]
        assert all(process.returncode == 0 for process in workers)
    ends = [report["ends"] for report in reports]
    # to the last cycle's end, not the workers' exit: tearing down 4 processes that hold torch
    # took 2-3 s on 2 cores, which no user's study waits for
    whole_rate = sum(map(len, ends)) / (max(worker[-1] for worker in ends) - start)
    result = RunResult(_rate_while_all_run(start, ends), whole_rate)
    for report in reports:
        result.suggest_seconds += report["waits"]
        result.renumbered += report["renumbered"]
        result.redone += report["redone"]
        result.cpu_seconds += report["cpu"]
    return result


def _rate_while_all_run(start: float, ends: list[list[float]]) -> float:
    """Cycles per second from ``start`` until the first worker finished its last cycle: the
    rate of all the processes at work, without the tail in which the others finish theirs
    (for one process, the whole run). ``ends``: each worker's cycle end times. The others'
    cycles under way at that moment are not counted, so with several processes the rate is
    low by up to a cycle each (about 6% for 4 workers of 12 cycles)."""
    until = min(worker[-1] for worker in ends)
    done = sum(1 for worker in ends for end in worker if end <= until)
    return done / (until - start)


def _overtaken(runs: list[RunResult]) -> str:
    """Table cells: renumbered and redone suggestions as shares of all, CPU s per cycle."""
    total = sum(len(r.suggest_seconds) for r in runs)
    renumbered, redone = sum(r.renumbered for r in runs), sum(r.redone for r in runs)
    cpu = sum(r.cpu_seconds for r in runs) / total
    return f"{100 * renumbered / total:.0f}% | {100 * redone / total:.0f}% | {cpu:.3f}"


def throughput_table(args: argparse.Namespace) -> None:
    print(
        "| work per cycle (s) | study | processes | cycles/s while all run (median) | runs "
        "| vs journal x1 | whole run: cycles/s (median) | vs journal x1 | renumbered | redone "
        "| CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for work in args.work:
        results = {
            (kind, processes): [
                run(kind, processes, args.cycles, work) for _ in range(args.repeats)
            ]
            for kind, processes in PROCESS_COUNTS
        }
        peer = statistics.median(r.rate for r in results[("journal", 1)])
        whole_peer = statistics.median(r.whole_rate for r in results[("journal", 1)])
        for (kind, processes), runs in results.items():
            median = statistics.median(r.rate for r in runs)
            whole = statistics.median(r.whole_rate for r in runs)
            shown = ", ".join(f"{r.rate:.2f}" for r in runs)
            print(
                f"| {work:g} | {kind} | {processes} | {median:.2f} | {shown} | "
                f"{median / peer:.2f} | {whole:.2f} | {whole / whole_peer:.2f} | "
                f"{_overtaken(runs)} |"
            )


def wait_table(args: argparse.Namespace) -> None:
    print(
        "\n| workers | suggest() s: mean | median | p90 | max | mean vs 1 worker "
        "| renumbered | redone | CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    peer = None
    for workers in (1, args.wait_workers):
        runs = [
            run("journal", workers, workers * args.wait_cycles, args.wait_work, args.wait_seed)
            for _ in range(args.repeats)
        ]
        waits = sorted(w for r in runs for w in r.suggest_seconds)
        mean = statistics.mean(waits)
        peer = peer or mean
        p90 = statistics.quantiles(waits, n=10, method="inclusive")[-1]
        print(
            f"| {workers} | {mean:.2f} | {statistics.median(waits):.2f} | {p90:.2f} | "
            f"{waits[-1]:.2f} | {mean / peer:.1f} | {_overtaken(runs)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=float, nargs="*", default=[0.0, 0.2])
    parser.add_argument("--wait-workers", type=int, default=16, help="0: no wait table")
    parser.add_argument("--wait-cycles", type=int, default=4)
    parser.add_argument("--wait-work", type=float, default=0.2)
    parser.add_argument("--wait-seed", type=int, default=12)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, path, cycles, work = args.worker
        worker(kind, path, int(cycles), float(work))
        return
    most = max(processes for _, processes in PROCESS_COUNTS)
    if args.cycles < most or args.wait_cycles < 1:
        parser.error(f"--cycles must be at least {most} and --wait-cycles at least 1")
    if args.work:
        throughput_table(args)
    if args.wait_workers:
        wait_table(args)


if __name__ == "__main__":
    main()
