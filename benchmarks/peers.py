"""carbs_lite side by side with Optuna's GP, TPE and random samplers on the benchmark problems.

    python benchmarks/peers.py [--problems NAME ...] [--seeds 10] [--tries 15 30]
                               [--methods carbs gp tpe random] [--workers 2] [--out results.jsonl]
                               [--switch NAME=VALUE ...] [--tables-only]

Every (problem, seed, method) run makes max(--tries) tries, one at a time, starting from the
search center; all methods of a seed draw their evaluation noise from the same stream
(``default_rng([seed, 7919])``), and each method is seeded with ``seed``. Finished runs are
appended to ``--out`` (a run already there is skipped), then the tables are printed from it.

- carbs: ``Tuner(params, TunerConfig(direction, max_suggestion_cost=cap), seed=seed)``,
  suggest -> evaluate -> observe. ``--switch`` sets a ``Heuristics`` field (e.g.
  ``success_model=gp_classification``); give it its own ``--out``, since runs are keyed
  without it.
- gp / tpe / random: ``GPSampler(seed, constraints_func)``, ``TPESampler(multivariate=True,
  group=True, seed, constraints_func)``, ``RandomSampler(seed)``, Optuna's other defaults (10
  startup trials: with one seed, GP and TPE make the same first 10 tries as random, the center
  and 9 random draws). The constraint is [cost - cap], kept in a trial user attr. A failed run
  (diverged) returns the problem's reference value (the center's true output) with the
  constraint set to max(cost - cap, 0.01 cap): the sampler learns the point is infeasible and
  no better than the center, rather than never hearing of it (a FAIL trial is ignored by
  both model-based samplers). ``group=True`` lets TPE model each conditional branch of the
  ads archs (as benchmarks/ads_tries.py does); on fixed spaces it changes nothing.
- Spaces: LinearSpace -> Int/FloatDistribution (step = rounding_factor), LogSpace -> log=True,
  PowerOfTwoSpace -> an integer exponent, CategoricalSpace -> suggest_categorical,
  ArchSpace -> sub_arches, depth_i, w_i_j (log=True), the encoding of benchmarks/ads_tries.py. GPSampler models only the params every finished
  trial has (for an arch, soon just sub_arches, depth_0 and w_0_0) and draws the rest at random.

A method's pick after T tries is its best *observed* feasible try among the first T (feasible:
not a failure and cost < cap); its score is ``problem.normalized_regret(true output of the
pick)`` (1.0 if no try is feasible). carbs vs a peer: wins/losses paired by seed and the
two-sided Wilcoxon signed-rank p (scipy, zero differences dropped: zero_method="wilcox", exact
null distribution of the remaining pairs: method="exact").
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

from carbs_lite.arch import ArchSpace
from carbs_lite.bench.problem import Evaluation, Problem
from carbs_lite.bench.suite import PROBLEMS, make_problem
from carbs_lite.categorical import CategoricalSpace
from carbs_lite.config import heuristics_from_switches
from carbs_lite.spaces import LinearSpace, LogSpace, Param, PowerOfTwoSpace

METHODS = ["carbs", "gp", "tpe", "random"]
PEERS = METHODS[1:]
LONG_PROBLEMS = {"bump-10d"}
"""Problems left out by default: made for 100 tries, run on their own
(``--problems bump-10d --tries 25 50 100``)."""
FAILURE_VIOLATION = 0.01
"""Constraint violation (fraction of the cap) reported to Optuna for a failed run under the cap."""
Suggest = Callable[[Any], Any]


# -- Optuna encodings of carbs_lite spaces: param -> (suggest(trial), enqueued center) ---------


def _linear(param: Param) -> tuple[Suggest, dict[str, Any]]:
    space, name = param.space, param.name
    if space.is_integer:
        low, high, step = int(space.min), int(space.max), space.rounding_factor
        return lambda t: t.suggest_int(name, low, high, step=step), {name: param.search_center}
    return lambda t: t.suggest_float(name, space.min, space.max), {name: param.search_center}


def _log(param: Param) -> tuple[Suggest, dict[str, Any]]:
    space, name = param.space, param.name
    if space.is_integer:
        if space.rounding_factor != 1:
            raise ValueError(f"{name}: Optuna has no log-scale integers with a step")
        low, high = int(space.min), int(space.max)
        return lambda t: t.suggest_int(name, low, high, log=True), {name: param.search_center}
    return (
        lambda t: t.suggest_float(name, space.min, space.max, log=True),
        {name: param.search_center},
    )


def _power_of_two(param: Param) -> tuple[Suggest, dict[str, Any]]:
    key = f"log2_{param.name}"
    low, high = round(math.log2(param.space.min)), round(math.log2(param.space.max))
    center = {key: round(math.log2(param.search_center))}
    return lambda t: 2 ** t.suggest_int(key, low, high), center


def _arch(param: Param) -> tuple[Suggest, dict[str, Any]]:
    space, name = param.space, param.name

    def suggest(trial: Any) -> list[list[int]]:
        arch = []
        for i in range(trial.suggest_int(f"{name}.sub_arches", 1, space.max_sub_arches)):
            depth = trial.suggest_int(f"{name}.depth_{i}", 1, space.max_layers)
            arch.append(
                [
                    trial.suggest_int(f"{name}.w_{i}_{j}", space.min_size, space.max_size, log=True)
                    for j in range(depth)
                ]
            )
        return arch

    center = {f"{name}.sub_arches": len(param.search_center)}
    for i, sub in enumerate(param.search_center):
        center[f"{name}.depth_{i}"] = len(sub)
        center.update({f"{name}.w_{i}_{j}": width for j, width in enumerate(sub)})
    return suggest, center


def _categorical(param: Param) -> tuple[Suggest, dict[str, Any]]:
    name, choices = param.name, list(param.space.choices)
    return lambda t: t.suggest_categorical(name, choices), {name: param.search_center}


ENCODINGS = {
    LinearSpace: _linear,
    LogSpace: _log,
    PowerOfTwoSpace: _power_of_two,
    ArchSpace: _arch,
    CategoricalSpace: _categorical,
}


def optuna_encoding(params: list[Param]) -> tuple[Callable[[Any], dict[str, Any]], dict[str, Any]]:
    """(trial -> params dict, Optuna values of the search center) for carbs_lite params."""
    parts = []
    for param in params:
        if type(param.space) not in ENCODINGS:
            raise ValueError(f"{param.name}: no Optuna encoding for {type(param.space).__name__}")
        parts.append((param.name, *ENCODINGS[type(param.space)](param)))
    center = {key: value for _, _, values in parts for key, value in values.items()}
    return lambda trial: {name: suggest(trial) for name, suggest, _ in parts}, center


# -- one run -------------------------------------------------------------------------------


class Recorder:
    """Evaluates params on the problem and keeps one row per try, timing the evaluations."""

    def __init__(self, problem: Problem, seed: int) -> None:
        self.problem = problem
        self.rng = np.random.default_rng([seed, 7919])
        self.rows: list[dict[str, Any]] = []
        self.eval_seconds = 0.0

    def __call__(self, params: dict[str, Any]) -> Evaluation:
        start = time.perf_counter()
        evaluation = self.problem.evaluate(params, self.rng)
        self.eval_seconds += time.perf_counter() - start
        self.rows.append(
            {
                "params": params,
                "output": evaluation.output,
                "cost": evaluation.cost,
                "failure": evaluation.is_failure,
                "feasible": self.problem.is_feasible(evaluation),
                "true": evaluation.true_output,
            }
        )
        return evaluation


def run_carbs(
    problem: Problem, seed: int, tries: int, evaluate: Recorder, switches: tuple[str, ...] = ()
) -> None:
    from carbs_lite import Tuner, TunerConfig

    config = TunerConfig(direction=problem.direction, max_suggestion_cost=problem.max_cost)
    tuner = Tuner(problem.params(), config, heuristics_from_switches(list(switches)), seed=seed)
    for _ in range(tries):
        suggestion = tuner.suggest()
        evaluation = evaluate(suggestion.params)
        tuner.observe(suggestion, evaluation.output, evaluation.cost, evaluation.is_failure)


def _sampler(method: str, seed: int) -> Any:
    import optuna

    def constraints(trial: optuna.trial.FrozenTrial) -> list[float]:
        return trial.user_attrs["constraint"]

    samplers = {
        "gp": lambda: optuna.samplers.GPSampler(seed=seed, constraints_func=constraints),
        "tpe": lambda: optuna.samplers.TPESampler(
            multivariate=True, group=True, seed=seed, constraints_func=constraints
        ),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    return samplers[method]()


def run_optuna(method: str, problem: Problem, seed: int, tries: int, evaluate: Recorder) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    to_params, center = optuna_encoding(problem.params())
    cap = problem.max_cost if problem.max_cost is not None else math.inf

    def objective(trial: optuna.Trial) -> float:
        evaluation = evaluate(to_params(trial))
        violation = evaluation.cost - cap
        if evaluation.is_failure:
            trial.set_user_attr("constraint", [max(violation, FAILURE_VIOLATION * cap)])
            return problem.reference
        trial.set_user_attr("constraint", [violation])
        return evaluation.output

    study = optuna.create_study(direction=problem.direction.value, sampler=_sampler(method, seed))
    study.enqueue_trial(center)
    study.optimize(objective, n_trials=tries)


@functools.cache
def problem_named(name: str) -> Problem:
    """One instance per process: building some takes seconds (the ads optimum estimates, the
    digits reference); evaluating keeps no state between calls but the digits memo."""
    return make_problem(name)


def run_one(
    problem_name: str, method: str, seed: int, tries: int, switches: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Run ``method`` on ``problem_name`` for ``tries`` tries (carbs with the ``Heuristics``
    ``switches``); every try and the timings."""
    import torch

    torch.set_num_threads(1)
    problem = problem_named(problem_name)
    recorder = Recorder(problem, seed)
    start = time.perf_counter()
    if method == "carbs":
        run_carbs(problem, seed, tries, recorder, switches)
    else:
        run_optuna(method, problem, seed, tries, recorder)
    return {
        "key": run_key(problem_name, method, seed),
        "problem": problem_name,
        "method": method,
        "seed": seed,
        "tries": recorder.rows,
        "seconds": time.perf_counter() - start,
        "eval_seconds": recorder.eval_seconds,
    }


def run_key(problem: str, method: str, seed: int) -> str:
    return f"{problem}|{method}|{seed}"


# -- the sweep -----------------------------------------------------------------------------


def read_results(path: Path) -> dict[str, dict[str, Any]]:
    """Runs in ``path`` by key (the longest run of a key wins); a cut-off line is skipped."""
    runs: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return runs
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if len(record["tries"]) >= len(runs.get(record["key"], {"tries": []})["tries"]):
            runs[record["key"]] = record
    return runs


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def run_sweep(
    path: Path,
    problems: list[str],
    methods: list[str],
    seeds: int,
    tries: int,
    workers: int,
    switches: tuple[str, ...] = (),
) -> None:
    """Run every (problem, seed, method) not yet in ``path`` with ``tries`` tries, appending."""
    done = read_results(path)
    jobs = [
        (problem, method, seed, tries)
        for seed in range(seeds)  # seed-major: a cut-off sweep still pairs every problem
        for problem in problems
        for method in methods
        if len(done.get(run_key(problem, method, seed), {"tries": []})["tries"]) < tries
    ]
    if path.exists() and path.read_bytes()[-1:] not in (b"", b"\n"):
        with path.open("a") as stream:
            stream.write("\n")
    started = time.perf_counter()
    with (
        ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool,
        path.open("a") as stream,
    ):
        pending = {pool.submit(run_one, *job, switches) for job in jobs}
        finished = 0
        while pending:
            complete, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in complete:
                record = future.result()
                stream.write(json.dumps(record) + "\n")
                stream.flush()
                os.fsync(stream.fileno())
                finished += 1
                sys.stderr.write(
                    f"[{finished}/{len(jobs)}] {time.perf_counter() - started:6.0f} s  "
                    f"{record['key']} {record['seconds']:.1f} s\n"
                )


# -- the tables ----------------------------------------------------------------------------


def pick_regret(problem: Problem, rows: list[dict[str, Any]]) -> float:
    """Normalized regret of the best observed feasible row (1.0 if none is feasible)."""
    feasible = [r for r in rows if r["feasible"]]
    if not feasible:
        return 1.0
    sign = 1.0 if problem.direction.value == "maximize" else -1.0
    pick = max(feasible, key=lambda r: sign * r["output"])
    return problem.normalized_regret(pick["true"])


def repeat_share(rows: list[dict[str, Any]]) -> float:
    """Share of rows whose params equal an earlier row's."""
    seen, repeats = set(), 0
    for row in rows:
        key = json.dumps(row["params"], sort_keys=True)
        repeats += key in seen
        seen.add(key)
    return repeats / len(rows)


def paired_test(ours: list[float], theirs: list[float]) -> tuple[int, int, float]:
    """(wins, losses, two-sided exact Wilcoxon p) of ``ours`` vs ``theirs`` (lower is better)."""
    from scipy.stats import wilcoxon

    differences = np.asarray(ours) - np.asarray(theirs)
    wins, losses = int((differences < 0).sum()), int((differences > 0).sum())
    if wins + losses == 0:
        return wins, losses, 1.0
    result = wilcoxon(differences, zero_method="wilcox", method="exact")
    return wins, losses, float(result.pvalue)


def _p(value: float) -> str:
    return f"{value:.2g}" if value < 0.01 else f"{value:.2f}"


def scores(
    runs: dict[str, dict[str, Any]], problems: list[str], methods: list[str], seeds: int, tries: int
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """problem -> method -> [(regret, feasible share)] by seed, for runs with >= tries tries."""
    table: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for name in problems:
        problem = problem_named(name)
        table[name] = {}
        for method in methods:
            cells = []
            for seed in range(seeds):
                run = runs.get(run_key(name, method, seed))
                if run is None or len(run["tries"]) < tries:
                    break
                rows = run["tries"][:tries]
                feasible = sum(r["feasible"] for r in rows) / tries
                cells.append((pick_regret(problem, rows), feasible))
            table[name][method] = cells
    return table


def print_tables(table: dict, methods: list[str], tries: int) -> None:
    problems = list(table)
    print(f"\n#### {tries} tries: median normalized regret (share of feasible tries)\n")
    print("| problem | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 1) + "|")
    for name in [*problems, None]:
        cells = []
        for method in methods:
            values = (
                table[name][method] if name else [v for p in problems for v in table[p][method]]
            )
            if not values:
                cells.append("-")
                continue
            regret = statistics.median(v[0] for v in values)
            cells.append(f"{regret:.4f} ({statistics.mean(v[1] for v in values):.0%})")
        print(f"| {name or f'**all ({len(problems)} problems)**'} | " + " | ".join(cells) + " |")
    peers = [m for m in methods if m != "carbs"]
    if "carbs" not in methods or not peers:
        return
    print(
        f"\n#### {tries} tries: carbs wins/losses against each peer (paired by seed), "
        "two-sided Wilcoxon p\n"
    )
    print("| problem | pairs | " + " | ".join(f"vs {m}" for m in peers) + " |")
    print("|---" * (len(peers) + 2) + "|")
    for name in [*problems, None]:
        cells, pairs = [], 0
        for peer in peers:
            chosen = problems if name is None else [name]
            ours = [v[0] for p in chosen for v in table[p]["carbs"][: len(table[p][peer])]]
            theirs = [v[0] for p in chosen for v in table[p][peer][: len(table[p]["carbs"])]]
            if not ours:
                cells.append("-")
                continue
            wins, losses, p = paired_test(ours, theirs)
            pairs = len(ours)
            cells.append(f"{wins}/{losses}, p={_p(p)}")
        label = name or "**pooled**"
        print(f"| {label} | {pairs} | " + " | ".join(cells) + " |")


def print_costs(
    runs: dict[str, dict[str, Any]], problems: list[str], methods: list[str], seeds: int
) -> None:
    """Wall time per method (total, evaluating, the method itself) and repeated tries."""
    print("\n#### Wall time per method (all runs) and tries that repeat an earlier config\n")
    print(
        "| method | runs | total s | evaluating s | method s | method s per try | repeated tries |"
    )
    print("|---|---|---|---|---|---|---|")
    for method in methods:
        chosen = [
            r
            for r in runs.values()
            if r["method"] == method and r["problem"] in problems and r["seed"] < seeds
        ]
        if not chosen:
            continue
        total = sum(r["seconds"] for r in chosen)
        evaluating = sum(r["eval_seconds"] for r in chosen)
        tries = sum(len(r["tries"]) for r in chosen)
        repeats = statistics.mean(repeat_share(r["tries"]) for r in chosen)
        print(
            f"| {method} | {len(chosen)} | {total:.0f} | {evaluating:.0f} | {total - evaluating:.0f} "
            f"| {(total - evaluating) / tries:.3f} | {repeats:.1%} |"
        )


def machine() -> str:
    """CPU count and model, Python, torch and Optuna versions, commit."""
    import optuna
    import torch

    model = "unknown CPU"
    if Path("/proc/cpuinfo").exists():
        lines = [
            line for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line
        ]
        model = lines[0].split(":", 1)[1].strip() if lines else model
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{os.cpu_count()} vCPUs ({model}), Python {platform.python_version()}, torch "
        f"{torch.__version__}, Optuna {optuna.__version__}, commit `{commit or 'unknown'}`"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--problems",
        nargs="+",
        default=[name for name in PROBLEMS if name not in LONG_PROBLEMS],
        choices=list(PROBLEMS),
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--tries", type=int, nargs="+", default=[15, 30])
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results.jsonl"))
    parser.add_argument("--switch", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--tables-only", action="store_true", help="print the tables of --out, run nothing"
    )
    args = parser.parse_args()
    try:
        heuristics_from_switches(args.switch)
    except ValueError as error:
        parser.error(f"--switch: {error}")
    _init_worker()
    if not args.tables_only:
        run_sweep(
            args.out,
            args.problems,
            args.methods,
            args.seeds,
            max(args.tries),
            args.workers,
            tuple(args.switch),
        )
    runs = read_results(args.out)
    print(f"    python benchmarks/peers.py {' '.join(sys.argv[1:])}\n")
    print(f"{machine()}; {args.seeds} seeds.")
    for tries in sorted(args.tries):
        print_tables(
            scores(runs, args.problems, args.methods, args.seeds, tries), args.methods, tries
        )
    print_costs(runs, args.problems, args.methods, args.seeds)


if __name__ == "__main__":
    main()
