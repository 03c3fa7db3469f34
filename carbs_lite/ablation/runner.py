"""Ablation runs: variants x problems x seeds in a process pool, resumable, with paired stats.

A *variant* sets one field of ``Heuristics`` or ``TunerConfig`` away from the defaults (the
baseline); the fields and their alternatives are TOML files shipped in ``specs/``. Each run
tunes one problem for a number of tries (suggestions are made two at a time, as two workers
would), feeds each evaluation's learning curve (``Evaluation.curve``) to the study point by
point before observing it, and records the best-so-far normalized regret after every try; a
run is scored by the area under that curve (its mean over tries, lower is better).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import multiprocessing
import os
import signal
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from carbs_lite.bench.suite import make_problem
from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import Heuristics, coerce_fields
from carbs_lite.tuner import Tuner

logger = logging.getLogger(__name__)

BASELINE = "baseline"
WORKERS_PER_RUN = 2
"""Suggestions made before observing, as two parallel workers would."""
Job = tuple[str, "Variant", int, int, "float | None"]
"""(problem, variant, seed, tries, cost budget): the arguments of ``run_one``."""


@dataclass(frozen=True)
class Variant:
    """One field of ``Heuristics`` (target "heuristics") or ``TunerConfig`` set to ``value``."""

    switch: str
    value: Any
    target: str

    @property
    def name(self) -> str:
        return BASELINE if self.switch == BASELINE else f"{self.switch}={self.value}"

    def build(self) -> tuple[TunerConfig, Heuristics]:
        """The (config, heuristics) of this variant: defaults with the one field replaced."""
        config, heuristics = TunerConfig(), Heuristics()
        if self.switch == BASELINE:
            return config, heuristics
        if self.target == "config":
            return dataclasses.replace(
                config, **coerce_fields(TunerConfig, {self.switch: self.value})
            ), heuristics
        return config, dataclasses.replace(
            heuristics, **coerce_fields(Heuristics, {self.switch: self.value})
        )


BASELINE_VARIANT = Variant(BASELINE, None, "heuristics")


def _target(field: str) -> str:
    if field in {f.name for f in dataclasses.fields(Heuristics)}:
        return "heuristics"
    if field in {f.name for f in dataclasses.fields(TunerConfig)}:
        return "config"
    raise ValueError(f"unknown switch {field!r}: not a Heuristics or TunerConfig field")


SPECS = "specs"
"""The switch TOMLs shipped in this package (``carbs_lite/ablation/specs/*.toml``)."""


def load_specs(folder: str | Path | Traversable) -> dict[str, dict[str, Any]]:
    """Every ``*.toml`` in ``folder``: switch name -> {question, alternatives, field}.
    ValueError for a file that is not TOML, lacks ``field`` or ``alternatives``, or whose
    ``alternatives`` is not a non-empty list."""
    specs = {}
    folder = Path(folder) if isinstance(folder, str) else folder
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".toml"):
            continue
        try:
            spec = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not a valid switch TOML ({error})") from None
        for key in ("field", "alternatives"):
            if key not in spec:
                raise ValueError(f"{path}: missing '{key}'")
        if not isinstance(spec["alternatives"], list) or not spec["alternatives"]:
            raise ValueError(f"{path}: 'alternatives' must be a list of values, e.g. [1, 2]")
        specs[spec["field"]] = spec
    return specs


def switch_specs(local: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The packaged switch specs, with those of the folder ``local`` added or replacing the
    packaged one of the same field; ValueError if ``local`` is given and is not a folder."""
    specs = load_specs(files("carbs_lite.ablation") / SPECS)
    if local is not None:
        if not Path(local).is_dir():
            raise ValueError(f"{local}: no such folder of switch TOMLs")
        specs.update(load_specs(local))
    return specs


def variants_from(switches: Iterable[str], specs: dict[str, dict[str, Any]]) -> list[Variant]:
    """``NAME`` (every alternative in its TOML) or ``NAME=VALUE``, values in canonical form.
    ValueError for an unknown name, a value its field does not take, or one out of the
    field's range (``TunerConfig``'s and ``Heuristics``' own checks)."""
    variants = []
    for text in switches:
        name, _, value = text.partition("=")
        values = [value] if value else specs.get(name, {}).get("alternatives")
        target = _target(name)  # an unknown name is named as such, not sent to =VALUE
        if values is None:
            raise ValueError(
                f"switch {name!r} has no spec TOML (carbs-lite ablate --list shows them); "
                f"give a value as {name}=VALUE"
            )
        cls = Heuristics if target == "heuristics" else TunerConfig
        for item in values:
            value = coerce_fields(cls, {name: item})[name]
            variant = Variant(name, value.value if isinstance(value, Enum) else value, target)
            variant.build()  # a value out of its field's range fails here, not in a worker
            variants.append(variant)
    return variants


def run_one(
    problem_name: str, variant: Variant, seed: int, tries: int, cost_budget: float | None
) -> dict:
    """Tune ``problem_name`` with ``variant``; per try: best feasible true value, cost, regret."""
    torch.set_num_threads(1)
    problem = make_problem(problem_name)
    config, heuristics = variant.build()
    config = dataclasses.replace(
        config, direction=problem.direction, max_suggestion_cost=problem.max_cost
    )
    tuner = Tuner(problem.params(), config, heuristics, seed=seed)
    rng = np.random.default_rng([seed, 7919])
    sign = 1.0 if problem.direction.value == "maximize" else -1.0
    best, spent, rows, start = math.nan, 0.0, [], time.perf_counter()
    while len(rows) < tries and (cost_budget is None or spent < cost_budget):
        batch = [tuner.suggest() for _ in range(min(WORKERS_PER_RUN, tries - len(rows)))]
        for suggestion in batch:
            evaluation = problem.evaluate(suggestion.params, rng)
            for point in evaluation.curve:
                tuner.observe_progress(suggestion, point.step, point.output, point.cost)
            tuner.observe(suggestion, evaluation.output, evaluation.cost, evaluation.is_failure)
            spent += evaluation.cost
            feasible = problem.is_feasible(evaluation)
            if feasible and (math.isnan(best) or sign * (evaluation.true_output - best) > 0):
                best = evaluation.true_output
            rows.append(
                {
                    "best": best,
                    "cost": evaluation.cost,
                    "feasible": feasible,
                    "regret": problem.normalized_regret(best),
                    "spent": spent,
                }
            )
    regrets = [r["regret"] for r in rows]
    return {
        "key": run_key(problem_name, variant, seed, tries, cost_budget),
        "problem": problem_name,
        "variant": variant.name,
        "switch": variant.switch,
        "value": variant.value,
        "seed": seed,
        "tries": rows,
        "auc": float(np.mean(regrets)),
        "final_regret": regrets[-1],
        "seconds": time.perf_counter() - start,
    }


def run_key(
    problem: str, variant: Variant, seed: int, tries: int, cost_budget: float | None
) -> str:
    return f"{problem}|{variant.name}|{seed}|{tries}|{cost_budget}"


def read_results(path: Path) -> list[dict]:
    """Finished runs in ``path``; an unreadable line (a run cut off mid-write) is skipped."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            logger.warning("%s:%d: unreadable record skipped (an interrupted write?)", path, number)
    return records


def plan_sweep(
    out: Path,
    problems: list[str],
    variants: list[Variant],
    seeds: int,
    tries: int,
    cost_budget: float | None,
) -> tuple[list[Job], list[Job]]:
    """Every (problem, variant, seed) job of the sweep, and those not yet in
    ``out/results.jsonl`` (a re-run skips finished runs)."""
    done = {r["key"] for r in read_results(out / "results.jsonl")}
    jobs = [
        (p, v, s, tries, cost_budget)
        for p in problems
        for v in [BASELINE_VARIANT, *variants]
        for s in range(seeds)
    ]
    return jobs, [job for job in jobs if run_key(*job) not in done]


def _ignore_interrupts() -> None:
    """Worker initializer: Ctrl-C reaches the whole process group, and only the parent should
    act on it (it stops the pool), so workers print no tracebacks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_job(job: Job) -> dict:
    return run_one(*job)


def run_jobs(out: Path, jobs: list[Job], workers: int) -> int:
    """Run ``jobs`` in ``workers`` processes, appending each finished run to
    ``out/results.jsonl`` at once, with a progress bar; returns how many finished. On Ctrl-C
    the pool is stopped and ``KeyboardInterrupt`` raised: finished runs stay in the file."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.jsonl"
    if path.exists() and path.read_bytes()[-1:] not in (b"", b"\n"):
        with path.open("a") as stream:
            stream.write("\n")
    finished = 0
    with (
        multiprocessing.Pool(workers, initializer=_ignore_interrupts) as pool,
        path.open("a") as stream,
        tqdm(total=len(jobs), unit="run", desc="ablation", disable=not jobs) as progress,
    ):
        for record in pool.imap_unordered(_run_job, jobs):
            stream.write(json.dumps(record) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
            finished += 1
            progress.update()
    return finished


def sweep_records(out: Path, jobs: list[Job]) -> list[dict]:
    """The finished runs of ``jobs`` in ``out/results.jsonl``."""
    wanted = {run_key(*job) for job in jobs}
    return [r for r in read_results(out / "results.jsonl") if r["key"] in wanted]
