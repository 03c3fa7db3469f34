"""Does a proxy or early stopping pay? The ads task under a GPU-day budget (issue #18 item 5).

    python benchmarks/ads_budget.py [--seeds 20] [--out results.jsonl] [--methods carbs random tpe]
                                    [--arms full proxy50 proxy25 early_stop] [--tables-only]

Budget rule, the same for every seed, method and arm: B = 10 x the GPU-days of one 60-day run of
the largest arch the QPS floor allows (P_total where qps = MIN_QPS), i.e. what 10 full tries of
feasible archs cost at most: 1448.6 GPU-days on the default config. A run costs the simulator's
GPU-days (``days (1 + 0.5 P_total / 1e6)``, read from ``true_metrics``, used only for
accounting) for the days it trained. A run starts only if its whole length still fits in B; the
first run that does not fit ends the arm. Every arm stops a diverged run on the day its NE turns
NaN and pays only the days trained (a team sees a NaN loss at once), so the arms differ only in
what the issue asks about.

Arms, each run for every method on a simulator seeded alike (SEED = seed):
- ``full``: 60-day tries until B is spent, as today.
- ``proxy50`` / ``proxy25``: the method searches at the proxy fidelity that ``carbs_lite.proxy``
  recommends for the simulator (7 days; one check, seed 0, default settings, shared by all
  seeds: its GPU-days are a one-off cost, printed apart and not charged to B) until 50% / 25%
  of B is spent; then the distinct archs of its feasible screening runs (not diverged, QPS above
  the floor), best 7-day NE first, run for 60 days while B lasts.
- ``early_stop``: 60-day tries as in ``full``, each fed day by day to a stopping rule; a stopped
  run pays the days it trained and is no candidate for the pick. random and TPE: the median
  stopping rule as Optuna's ``MedianPruner`` defines it with its defaults (Golovin et al., KDD
  2017): stop after day d if the run's best NE so far is worse than the median NE on day d of
  the runs that trained all 60 days, once 5 have. carbs_lite: its own rule
  (``Heuristics.early_stopping``, ``Study.observe_progress`` / ``stop_decision`` / ``stop``);
  skipped, with a message, while this checkout's ``Heuristics`` has no such field.

Methods: carbs_lite (``arch_tuner``, as ``tune_arch`` builds it), random search and TPE
(Optuna ``TPESampler(multivariate=True, group=True, n_startup_trials=4)`` over the encoding of
benchmarks/ads_tries.py, infeasible runs scored 0, plus the QPS floor and divergence as
``constraints_func``), each starting from ``[[64, 64]]``. The pick is the best observed feasible
60-day run; its true score is the simulator's noiseless 60-day score, 0 (the baseline) if there
is none; the pick is feasible if there is one and its noiseless QPS is above the floor. Regret =
CEILING - true score. Each arm is paired by seed with the ``full`` arm of the same method:
wins/losses on regret and the two-sided exact Wilcoxon p (as benchmarks/peers.py). Finished
(seed, method, arm) runs are appended to ``--out`` and skipped when found there.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from carbs_lite.heuristics import Heuristics
from carbs_lite.proxy import ProxySettings, check_proxy
from carbs_lite.tasks.ads.proxy import ads_proxy_problem
from carbs_lite.tasks.ads.simulator import ModelPerformanceAPI
from carbs_lite.tasks.ads.tuning import BASELINE_ARCH, arch_tuner, observe_try

try:  # run as a script: benchmarks/ is on sys.path
    from ads_tries import CEILING, DAYS, MIN_QPS, _api, _true_score, random_arch
    from peers import machine, paired_test
except ImportError:  # imported as benchmarks.ads_budget
    from benchmarks.ads_tries import CEILING, DAYS, MIN_QPS, _api, _true_score, random_arch
    from benchmarks.peers import machine, paired_test

Arch = list[list[int]]
FULL_TRIES = 10
"""The ads team's tries; the budget is what this many full runs cost at most."""
MEDIAN_STARTUP = 5
"""Runs that must train all 60 days before the median rule stops one (MedianPruner's
``n_startup_trials`` default)."""
CHECK_SEED = 0


def budget_gpu_days(api: ModelPerformanceAPI) -> float:
    """B: FULL_TRIES 60-day runs of the largest feasible arch, P_total = REF (QPS_MAX/MIN_QPS - 1)."""
    c = api.config
    largest = c["QPS_REF_PARAMS"] * (c["QPS_MAX"] / c["MIN_QPS"] - 1)
    return FULL_TRIES * DAYS * (1 + c["GPU_DAYS_PER_DAY_PER_MPARAM"] * largest / 1e6)


@functools.cache
def proxy_check() -> tuple[int, float]:
    """(recommended proxy days, GPU-days of the check incl. screening) of the one-off check."""
    check = check_proxy(ads_proxy_problem(), ProxySettings(seed=CHECK_SEED))
    if check.recommended is None:
        raise RuntimeError("the proxy check recommends no proxy: the proxy arms cannot run")
    return int(check.recommended), check.check_run_cost + check.selection.run_cost


@dataclass
class Budget:
    """GPU-days: ``total`` to spend, ``spent`` so far."""

    total: float
    spent: float = 0.0

    def fits(self, gpu_days: float) -> bool:
        return self.spent + gpu_days <= self.total * (1 + 1e-12)


@dataclass(frozen=True)
class Run:
    """One training run of ``days`` days that trained ``days_run``; ``stop``: None (finished),
    "diverged" or "rule" (stopped early). ``ne`` is NaN unless it finished."""

    arch: Arch
    days: int
    days_run: int
    ne: float
    qps: float
    curve: list[float]
    gpu_days: float
    stop: str | None

    @property
    def feasible(self) -> bool:
        return self.stop is None and self.qps > MIN_QPS


class Searcher(Protocol):
    """One method's study: ask an arch, hear its daily NE (may ask to stop it), hear the run."""

    def ask(self) -> Arch: ...

    def progress(self, day: int, ne: float, qps: float) -> bool: ...

    def tell(self, run: Run) -> None: ...

    def drop(self) -> None: ...


class MedianRule:
    """Optuna ``MedianPruner`` (defaults) on NE, lower is better: stop after ``day`` if the
    run's best NE so far is above the median NE on that day of the runs that trained all days."""

    def __init__(self) -> None:
        self.finished: list[list[float]] = []
        self.best = math.inf

    def start(self) -> None:
        self.best = math.inf

    def stops(self, day: int, ne: float) -> bool:
        self.best = min(self.best, ne)
        if len(self.finished) < MEDIAN_STARTUP:
            return False
        return self.best > statistics.median(c[day - 1] for c in self.finished)

    def finish(self, run: Run) -> None:
        if run.stop is None and run.days == DAYS:
            self.finished.append(run.curve)


class RandomSearch:
    """ads_tries' random search: the baseline, then ``random_arch`` draws."""

    def __init__(self, seed: int, api: ModelPerformanceAPI, early_stopping: bool) -> None:
        self.rng, self.queue, self.rule = (
            np.random.default_rng(10_000 + seed),
            [BASELINE_ARCH],
            MedianRule(),
        )

    def ask(self) -> Arch:
        self.rule.start()
        return self.queue.pop() if self.queue else random_arch(self.rng)

    def progress(self, day: int, ne: float, qps: float) -> bool:
        return self.rule.stops(day, ne)

    def tell(self, run: Run) -> None:
        self.rule.finish(run)

    def drop(self) -> None:
        pass


class TpeSearch:
    """ads_tries' TPE with the QPS floor and divergence as a constraint; ask/tell, so that a run
    can be left out when it does not fit, and a stopped run is a pruned trial."""

    def __init__(self, seed: int, api: ModelPerformanceAPI, early_stopping: bool) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        self.optuna, self.api, self.rule = optuna, api, MedianRule()
        sampler = optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            group=True,
            n_startup_trials=4,
            constraints_func=lambda trial: [trial.user_attrs.get("constraint", 1.0)],
        )
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self.study.enqueue_trial({"sub_arches": 1, "depth_0": 2, "w_0_0": 64, "w_0_1": 64})
        self.trial: Any = None

    def ask(self) -> Arch:
        self.trial = self.study.ask()
        self.rule.start()
        arch = []
        for i in range(self.trial.suggest_int("sub_arches", 1, 5)):
            depth = self.trial.suggest_int(f"depth_{i}", 1, 5)
            arch.append(
                [self.trial.suggest_int(f"w_{i}_{j}", 64, 2048, log=True) for j in range(depth)]
            )
        return arch

    def progress(self, day: int, ne: float, qps: float) -> bool:
        self.trial.report(self.api.get_score(ne), day)
        return self.rule.stops(day, ne)

    def tell(self, run: Run) -> None:
        self.rule.finish(run)
        self.trial.set_user_attr(
            "constraint", 0.0 if run.qps > MIN_QPS and run.stop != "diverged" else 1.0
        )
        if run.stop == "rule":
            self.study.tell(self.trial, state=self.optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(self.trial, self.api.get_score(run.ne) if run.feasible else 0.0)

    def drop(self) -> None:
        self.study.tell(self.trial, state=self.optuna.trial.TrialState.FAIL)


def early_stopping_available() -> bool:
    """Whether this checkout has carbs_lite's early stopping (branch ``curves``)."""
    from carbs_lite.tuner import Tuner

    names = {f.name for f in dataclasses.fields(Heuristics)}
    return "early_stopping" in names and hasattr(Tuner, "stop_decision")


class CarbsSearch:
    """carbs_lite's ``arch_tuner``; with ``early_stopping`` its own rule (``Study.observe_progress``
    -> ``stop_decision`` -> ``stop``, the API of branch ``curves``)."""

    def __init__(self, seed: int, api: ModelPerformanceAPI, early_stopping: bool) -> None:
        heuristics = Heuristics(early_stopping=True) if early_stopping else None
        self.tuner = arch_tuner(MIN_QPS, seed, heuristics)
        self.suggestion: Any = None
        self.reason: str | None = None

    def ask(self) -> Arch:
        self.suggestion, self.reason = self.tuner.suggest(), None
        return self.suggestion.params["arch"]

    def progress(self, day: int, ne: float, qps: float) -> bool:
        self.tuner.observe_progress(self.suggestion, day, ne, 1.0 / qps)
        decision = self.tuner.stop_decision(self.suggestion)
        if decision.stop:
            self.reason = decision.reason
        return decision.stop

    def tell(self, run: Run) -> None:
        if run.stop == "rule":
            self.tuner.stop(self.suggestion, self.reason)
        else:
            observe_try(self.tuner, self.suggestion, run.ne, run.qps)

    def drop(self) -> None:
        self.tuner.forget(self.suggestion.id)


SEARCHERS: dict[str, Callable[[int, ModelPerformanceAPI, bool], Searcher]] = {
    "carbs": CarbsSearch,
    "random": RandomSearch,
    "tpe": TpeSearch,
}


def train(
    api: ModelPerformanceAPI,
    arch: Arch,
    days: int,
    budget: Budget,
    progress: Callable[[int, float, float], bool] | None = None,
) -> Run | None:
    """Run ``arch`` for ``days`` days if that fits the budget (None if not), day by day: stop
    on the first NaN day (diverged) or when ``progress(day, ne, qps)`` says so; pay the days run."""
    full_cost = api.true_metrics(arch, days).gpu_days
    if not budget.fits(full_cost):
        return None
    ne, qps, curve = api.train_model(training_days=days, arch=arch, ignore_budget=True)
    days_run, stop = days, None
    for day, value in enumerate(curve, start=1):
        if math.isnan(value):
            days_run, stop = day, "diverged"
            break
        if day < days and progress is not None and progress(day, value, qps):
            days_run, stop = day, "rule"
            break
    gpu_days = full_cost * days_run / days
    budget.spent += gpu_days
    final = ne if stop is None else math.nan
    return Run(arch, days, days_run, final, qps, curve[:days_run], gpu_days, stop)


@dataclass
class Outcome:
    """What one arm did: every run in order, and the GPU-days it had."""

    budget: Budget
    runs: list[Run] = field(default_factory=list)


def _search(
    searcher: Searcher,
    api: ModelPerformanceAPI,
    outcome: Outcome,
    days: int,
    budget: Budget,
    early_stopping: bool = False,
) -> None:
    """ask -> train -> tell at ``days`` until the next run does not fit ``budget``."""
    while True:
        arch = searcher.ask()
        run = train(api, arch, days, budget, searcher.progress if early_stopping else None)
        if run is None:
            searcher.drop()
            return
        searcher.tell(run)
        outcome.runs.append(run)


def full_arm(searcher: Searcher, api: ModelPerformanceAPI, budget: Budget) -> Outcome:
    """60-day tries until the budget is spent."""
    outcome = Outcome(budget)
    _search(searcher, api, outcome, DAYS, budget)
    return outcome


def early_stop_arm(searcher: Searcher, api: ModelPerformanceAPI, budget: Budget) -> Outcome:
    """60-day tries fed day by day to the searcher's stopping rule, until the budget is spent."""
    outcome = Outcome(budget)
    _search(searcher, api, outcome, DAYS, budget, early_stopping=True)
    return outcome


def proxy_arm(
    searcher: Searcher, api: ModelPerformanceAPI, budget: Budget, share: float
) -> Outcome:
    """Search at the proxy fidelity with ``share`` of the budget, then 60-day runs of the
    distinct feasible screened archs, best proxy NE first, while the budget lasts."""
    days, _ = proxy_check()
    outcome = Outcome(budget)
    screening = Budget(share * budget.total)
    _search(searcher, api, outcome, days, screening)
    budget.spent = screening.spent
    finalists: dict[str, Run] = {}
    for run in sorted((r for r in outcome.runs if r.feasible), key=lambda r: r.ne):
        finalists.setdefault(json.dumps(run.arch), run)
    for candidate in finalists.values():
        run = train(api, candidate.arch, DAYS, budget)
        if run is None:
            break
        outcome.runs.append(run)
    return outcome


ARMS: dict[str, Callable[[Searcher, ModelPerformanceAPI, Budget], Outcome]] = {
    "full": full_arm,
    "proxy50": functools.partial(proxy_arm, share=0.5),
    "proxy25": functools.partial(proxy_arm, share=0.25),
    "early_stop": early_stop_arm,
}


def run_one(seed: int, method: str, arm: str) -> dict[str, Any]:
    """One (seed, method, arm): its pick's true score and what it spent."""
    api = _api(seed, {})
    searcher = SEARCHERS[method](seed, api, arm == "early_stop")
    start = time.perf_counter()
    outcome = ARMS[arm](searcher, api, Budget(budget_gpu_days(api)))
    full = [r for r in outcome.runs if r.days == DAYS]
    feasible = [r for r in full if r.feasible]
    pick = min(feasible, key=lambda r: r.ne).arch if feasible else None
    score = _true_score(api, pick)
    return {
        "seed": seed,
        "method": method,
        "arm": arm,
        "score": score,
        "regret": CEILING - score,
        "pick": pick,
        "pick_feasible": pick is not None and api.true_metrics(pick, DAYS).qps > MIN_QPS,
        "gpu_days": outcome.budget.spent,
        "budget": outcome.budget.total,
        "full_runs": len(full),
        "full_feasible": len(feasible),
        "stopped": sum(r.stop == "rule" for r in full),
        "diverged": sum(r.stop == "diverged" for r in full),
        "screening_runs": sum(r.days < DAYS for r in outcome.runs),
        "seconds": time.perf_counter() - start,
    }


def read_results(path: Path) -> dict[tuple[int, str, str], dict[str, Any]]:
    """Finished runs in ``path`` by (seed, method, arm); a cut-off line is skipped."""
    runs: dict[tuple[int, str, str], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            runs[(record["seed"], record["method"], record["arm"])] = record
    return runs


def run_sweep(path: Path, seeds: int, methods: list[str], arms: list[str]) -> None:
    """Seed-major: every (seed, method, arm) not yet in ``path``, appended as it finishes."""
    done = read_results(path)
    if "early_stop" in arms and "carbs" in methods and not early_stopping_available():
        print(
            "carbs early_stop: skipped, Heuristics has no early_stopping field in this checkout "
            "(it comes with branch curves)",
            file=sys.stderr,
        )
    for seed in range(seeds):
        for method in methods:
            for arm in arms:
                skip = arm == "early_stop" and method == "carbs" and not early_stopping_available()
                if skip or (seed, method, arm) in done:
                    continue
                record = run_one(seed, method, arm)
                with path.open("a") as stream:
                    stream.write(json.dumps(record) + "\n")
                print(
                    f"seed {seed} {method} {arm}: score {record['score']:.5f}, "
                    f"{record['full_runs']} full runs, {record['gpu_days']:.0f} GPU-days, "
                    f"{record['seconds']:.1f} s",
                    file=sys.stderr,
                )


def _p(value: float) -> str:
    return f"{value:.2g}" if value < 0.01 else f"{value:.2f}"


def print_tables(runs: dict, seeds: int, methods: list[str], arms: list[str]) -> None:
    """One row per (arm, method) with every seed in 0..seeds-1 done, paired against ``full``."""
    print(
        "| arm | method | seeds | median true score | median regret | picks feasible "
        "| 60-day runs (mean) | of them stopped early | feasible | proxy runs (mean) "
        "| GPU-days (mean) | vs full: wins/losses, p |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for arm in arms:
        for method in methods:
            rows = [runs[(s, method, arm)] for s in range(seeds) if (s, method, arm) in runs]
            if not rows:
                continue
            full = [runs.get((r["seed"], method, "full")) for r in rows]
            pairs = [(a, b) for a, b in zip(rows, full, strict=True) if b] if arm != "full" else []
            versus = "-"
            if pairs:
                wins, losses, p = paired_test(
                    [a["regret"] for a, _ in pairs], [b["regret"] for _, b in pairs]
                )
                versus = f"{wins}/{losses}, p={_p(p)}"
            full_runs = statistics.mean(r["full_runs"] for r in rows)
            stopped = statistics.mean(r["stopped"] for r in rows)
            feasible = sum(r["full_feasible"] for r in rows) / sum(r["full_runs"] for r in rows)
            screening = statistics.mean(r["screening_runs"] for r in rows)
            print(
                f"| {arm} | {method} | {len(rows)} | {statistics.median(r['score'] for r in rows):.5f} "
                f"| {statistics.median(r['regret'] for r in rows):.5f} "
                f"| {statistics.mean(r['pick_feasible'] for r in rows):.0%} "
                f"| {full_runs:.1f} | {stopped:.1f} | {feasible:.0%} | {screening:.1f} "
                f"| {statistics.mean(r['gpu_days'] for r in rows):.0f} | {versus} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("ads_budget.jsonl"))
    parser.add_argument("--methods", nargs="+", default=list(SEARCHERS), choices=list(SEARCHERS))
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--tables-only", action="store_true", help="print --out, run nothing")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    if not args.tables_only:
        run_sweep(args.out, args.seeds, args.methods, args.arms)
    days, check_cost = proxy_check()
    api = _api(0, {})
    print(f"    python benchmarks/ads_budget.py {' '.join(sys.argv[1:])}\n")
    print(f"{machine()}; {args.seeds} seeds.")
    print(
        f"Budget B = {budget_gpu_days(api):.1f} GPU-days per run; proxy fidelity {days} days "
        f"(one check, seed {CHECK_SEED}: {check_cost:.0f} GPU-days, "
        f"{check_cost / budget_gpu_days(api):.1f} B, not charged).\n"
    )
    print_tables(read_results(args.out), args.seeds, args.methods, args.arms)


if __name__ == "__main__":
    main()
