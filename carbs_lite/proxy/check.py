"""The proxy-task check: choose candidates, run them at every fidelity, correlate, recommend.

How candidates are chosen (``select_candidates``). A check wants 10-20 configs whose
full-fidelity scores span the range, but ranking a pool by full-fidelity score would take a
full run of every pool config, more than the check itself. The cheapest proxy stands in: a
pool of random configs (drawn as the tuner's space-filling design draws them) is run once at
the cheapest proxy fidelity, and the candidates are the pool configs at evenly spaced ranks of
that score, from the worst to the best. With a cost cap only pool configs whose screening run
was under the cap take part (a config over the cap is never picked, so how a proxy ranks it
does not matter), topped up with the cheapest others if too few are. The pool is capped so
that screening costs at most half of the check's own runs (counted in fidelity units); when
that leaves no more configs than candidates, the candidates are random draws, unscreened.
Screening only chooses who takes part: every candidate is then run afresh at every fidelity,
so a proxy unrelated to the full runs still shows a correlation near 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from carbs_lite.proxy.problem import MIN_CANDIDATES, FidelityProblem, ProxyRun, ProxySettings
from carbs_lite.proxy.stats import RankCorrelation, noise_share, rank_correlations
from carbs_lite.records import Metrics, is_feasible
from carbs_lite.spaces import ParamSpace

POOL_PER_CANDIDATE = 4
"""Default pool size per candidate."""
SCREENING_SHARE = 0.5
"""Screening may cost at most this share of the check's own runs, in fidelity units."""


@dataclass(frozen=True)
class Selection:
    """How the candidates were chosen: ``rule`` in words, ``pool`` configs drawn, screened at
    ``screening_fidelity`` (None: not screened) by ``screening`` runs costing ``run_cost``."""

    rule: str
    pool: int
    screening_fidelity: float | None
    screening: tuple[ProxyRun, ...]
    run_cost: float


@dataclass(frozen=True)
class FidelityCheck:
    """One fidelity's runs and verdict. ``runs``: one per candidate; ``repeats``: every run of
    each repeated config (its run in ``runs`` first). ``kendall``/``spearman`` against the full
    runs' outputs and ``cost_kendall``/``cost_spearman`` against their costs (None at the full
    fidelity, and for costs without a cap). ``relative_cost``: the run cost of this fidelity's
    runs over the full runs'. ``passes``: whether it may stand in for the full run."""

    fidelity: float
    runs: tuple[ProxyRun, ...]
    repeats: tuple[tuple[ProxyRun, ...], ...]
    noise_share: float
    relative_cost: float
    kendall: RankCorrelation | None = None
    spearman: RankCorrelation | None = None
    cost_kendall: RankCorrelation | None = None
    cost_spearman: RankCorrelation | None = None
    passes: bool = False


@dataclass(frozen=True)
class ProxyCheck:
    """A finished check. ``candidates`` are the configs in run order, ``repeated`` the indices
    of those in the variance check. ``recommended``: the cheapest passing proxy fidelity, None
    if none passes. ``check_run_cost`` sums the check's own runs (candidates and repeats),
    ``full_run_cost`` is the mean run cost of one full run (what the other costs are measured
    in when the report speaks of full runs)."""

    problem: str
    metrics: Metrics
    fidelity_name: str
    run_cost_name: str
    max_cost: float | None
    settings: ProxySettings
    candidates: tuple[dict[str, Any], ...]
    repeated: tuple[int, ...]
    selection: Selection
    full: FidelityCheck
    proxies: tuple[FidelityCheck, ...]
    recommended: float | None
    check_run_cost: float
    full_run_cost: float


class _Runner:
    """Calls ``problem.evaluate`` with a fresh seed per run, in a fixed order (so a seeded
    check is reproducible), and checks what it returns."""

    def __init__(self, problem: FidelityProblem, rng: np.random.Generator) -> None:
        self.problem, self.rng = problem, rng

    def __call__(self, params: dict[str, Any], fidelity: float) -> ProxyRun:
        result = self.problem.evaluate(params, fidelity, int(self.rng.integers(2**31)))
        if isinstance(result, int | float | np.number) and not isinstance(result, bool):
            result = ProxyRun(float(result))
        if not isinstance(result, ProxyRun):
            raise TypeError(
                f"evaluate must return a ProxyRun or a number, got {type(result).__name__}"
            )
        if not (math.isnan(result.run_cost) or 0 < result.run_cost < math.inf):
            raise ValueError(f"evaluate returned run_cost {result.run_cost!r}: it must be > 0")
        measured = math.isfinite(result.cost) and result.cost > 0
        if self.problem.max_cost is not None and not result.failed and not measured:
            raise ValueError(
                f"evaluate returned cost {result.cost!r} for {params} at {fidelity}: a "
                "problem with a cost cap needs the cost (> 0) of every run that did not fail"
            )
        return result


def run_cost(run: ProxyRun, fidelity: float) -> float:
    """What ``run`` cost: its ``run_cost``, or its fidelity when it did not say."""
    return run.run_cost if math.isfinite(run.run_cost) else float(fidelity)


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _draw(space: ParamSpace, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    """Up to ``count`` distinct configs, uniform in the basic space reduced to each space's
    coarse structure (``Space.coarse_draws``) as the tuner's space-filling design draws."""
    for param in space.params:
        if not np.isfinite(np.concatenate(param.space.basic_bounds(pad_integers=False))).all():
            raise ValueError(
                f"param {param.name!r} has an infinite bound: give it bounds, or the candidates"
            )
    lower, upper = space.basic_bounds(pad_integers=False)
    rows = space.round_basic(space.coarse_draws(rng.uniform(lower, upper, (count, len(lower)))))
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        params = space.from_basic(row)
        unique.setdefault(_key(params), params)
    return list(unique.values())


def evenly_spaced(count: int, length: int) -> list[int]:
    """``count`` distinct indices of a sorted list of ``length`` at evenly spaced ranks, first
    and last included (rounding half up, so neighbours a rank apart never collide)."""
    if count >= length:
        return list(range(length))
    if count == 1:
        return [(length - 1) // 2]
    return [int(math.floor(k * (length - 1) / (count - 1) + 0.5)) for k in range(count)]


def pool_size(problem: FidelityProblem, settings: ProxySettings) -> int:
    """Pool configs to screen: ``settings.pool`` (default 4 per candidate), at most as many as
    ``SCREENING_SHARE`` of the check's own runs pays for at the cheapest proxy fidelity."""
    wanted = settings.pool or POOL_PER_CANDIDATE * settings.candidates
    own = settings.candidates * sum(problem.fidelities)
    return min(wanted, int(SCREENING_SHARE * own / problem.proxy_fidelities[0]))


def select_candidates(
    problem: FidelityProblem, settings: ProxySettings, runner: _Runner
) -> tuple[list[dict[str, Any]], Selection]:
    """The candidates and how they were chosen (see the module docstring)."""
    space, n = ParamSpace(problem.params), settings.candidates
    pool = pool_size(problem, settings)
    if pool <= n:
        drawn = _draw(space, runner.rng, n)
        rule = (
            f"{len(drawn)} random configs, unscreened (screening a larger pool would cost "
            "more than half of the check's own runs)"
        )
        return drawn, Selection(rule, len(drawn), None, (), 0.0)
    drawn = _draw(space, runner.rng, pool)
    cheapest = problem.proxy_fidelities[0]
    screening = [runner(params, cheapest) for params in drawn]
    ok = [i for i, run in enumerate(screening) if not run.failed]
    usable = [i for i in ok if is_feasible(False, screening[i].cost, problem.max_cost)]
    over = sorted(set(ok) - set(usable), key=lambda i: screening[i].cost)
    usable += over[: max(0, n - len(usable))]
    usable.sort(key=lambda i: screening[i].output)
    chosen = [usable[k] for k in evenly_spaced(n, len(usable))]
    failed = [i for i in range(len(drawn)) if i not in ok]
    chosen += failed[: n - len(chosen)]
    cap = " under the cost cap" if problem.max_cost is not None else ""
    rule = (
        f"{len(chosen)} of {len(drawn)} random configs at evenly spaced ranks of their score "
        f"at {cheapest:g} {problem.fidelity_name}{cap} ({len(ok)} screening runs succeeded)"
    )
    cost = sum(run_cost(run, cheapest) for run in screening)
    return [drawn[i] for i in chosen], Selection(rule, len(drawn), cheapest, tuple(screening), cost)


def _given(problem: FidelityProblem, candidates: Sequence[dict[str, Any]]) -> list[dict]:
    space = ParamSpace(problem.params)
    given = [space.validate(params) for params in candidates]
    if len(given) < MIN_CANDIDATES:
        raise ValueError(f"give at least {MIN_CANDIDATES} candidates, got {len(given)}")
    if len({_key(p) for p in given}) < len(given):
        raise ValueError("the candidates have duplicates")
    return given


def _repeated(full_runs: list[ProxyRun], count: int) -> list[int]:
    """Indices of ``count`` candidates at evenly spaced ranks of their full-run output (the
    worst, the median, the best for 3), among those whose full run succeeded."""
    ok = sorted(
        (i for i, run in enumerate(full_runs) if not run.failed), key=lambda i: full_runs[i].output
    )
    return [ok[k] for k in evenly_spaced(count, len(ok))]


def _fidelity_check(
    problem: FidelityProblem,
    settings: ProxySettings,
    fidelity: float,
    runs: list[ProxyRun],
    repeats: list[list[ProxyRun]],
    full: FidelityCheck | None,
    rng: np.random.Generator,
) -> FidelityCheck:
    """One fidelity's correlations with the ``full`` runs (None: this is the full fidelity),
    noise share, relative cost and verdict."""
    share = noise_share([[r.output for r in group] for group in repeats], [r.output for r in runs])
    cost = sum(run_cost(run, fidelity) for run in runs)
    check = FidelityCheck(fidelity, tuple(runs), tuple(map(tuple, repeats)), share, 1.0)
    if full is None:
        return check
    relative = cost / sum(run_cost(run, full.fidelity) for run in full.runs)
    outputs = [r.output for r in runs], [r.output for r in full.runs]
    kendall, spearman = rank_correlations(*outputs, settings.resamples, settings.confidence, rng)
    passes = kendall.defined and kendall.value >= settings.threshold
    cost_kendall = cost_spearman = None
    if problem.max_cost is not None:
        costs = [_cost(r) for r in runs], [_cost(r) for r in full.runs]
        cost_kendall, cost_spearman = rank_correlations(
            *costs, settings.resamples, settings.confidence, rng
        )
        passes = passes and cost_kendall.defined and cost_kendall.value >= settings.threshold
    return FidelityCheck(
        fidelity,
        tuple(runs),
        tuple(map(tuple, repeats)),
        share,
        relative,
        kendall,
        spearman,
        cost_kendall,
        cost_spearman,
        bool(passes),
    )


def _cost(run: ProxyRun) -> float:
    """A run's capped cost for the cost correlation; a failed run's cost is left out too."""
    return math.nan if run.failed else run.cost


def check_proxy(
    problem: FidelityProblem,
    settings: ProxySettings | None = None,
    candidates: Sequence[dict[str, Any]] | None = None,
) -> ProxyCheck:
    """Check whether each of ``problem.proxy_fidelities`` ranks configs as the full fidelity
    does, and recommend the cheapest that passes (``ProxySettings`` says when one passes).

    ``candidates`` (at least 5 distinct configs of ``problem.params``) replaces the choice of
    candidates by screening (module docstring). Each candidate runs once at every fidelity;
    ``settings.repeated_configs`` of them (evenly spaced over the full-run ranks) run
    ``settings.repeats`` times in all at every fidelity. A pair with a failed run is left out
    of a correlation. Runs happen in a fixed order with seeds drawn from ``settings.seed``, so
    the same seed gives the same check for a seeded ``evaluate``. ValueError/TypeError for bad
    candidates or a bad ``evaluate`` result, before or at the run that shows it.
    """
    settings = settings or ProxySettings()
    given = None if candidates is None else _given(problem, candidates)
    run_seeds, bootstrap_seeds = np.random.SeedSequence(settings.seed).spawn(2)
    runner = _Runner(problem, np.random.default_rng(run_seeds))
    if given is None:
        chosen, selection = select_candidates(problem, settings, runner)
    else:
        chosen = given
        selection = Selection(f"{len(given)} configs given", len(given), None, (), 0.0)
    if len(chosen) < MIN_CANDIDATES:
        raise ValueError(
            f"the space has {len(chosen)} distinct configs; a check needs {MIN_CANDIDATES}"
        )
    runs, repeated, repeats = _run_candidates(problem, settings, runner, chosen)
    rng = np.random.default_rng(bootstrap_seeds)
    full_fidelity = problem.full_fidelity
    full = _fidelity_check(
        problem, settings, full_fidelity, runs[full_fidelity], repeats[full_fidelity], None, rng
    )
    proxies = tuple(
        _fidelity_check(problem, settings, f, runs[f], repeats[f], full, rng)
        for f in problem.proxy_fidelities
    )
    passing = [p for p in proxies if p.passes]
    own = sum(
        run_cost(run, f)
        for f in problem.fidelities
        for run in [*runs[f], *(r for group in repeats[f] for r in group[1:])]
    )
    return ProxyCheck(
        problem.name,
        problem.metrics,
        problem.fidelity_name,
        problem.run_cost_name,
        problem.max_cost,
        settings,
        tuple(chosen),
        tuple(repeated),
        selection,
        full,
        proxies,
        min(passing, key=lambda p: p.relative_cost).fidelity if passing else None,
        own,
        sum(run_cost(r, full_fidelity) for r in full.runs) / len(full.runs),
    )


def _run_candidates(
    problem: FidelityProblem,
    settings: ProxySettings,
    runner: _Runner,
    chosen: list[dict[str, Any]],
) -> tuple[dict[float, list[ProxyRun]], list[int], dict[float, list[list[ProxyRun]]]]:
    """Every candidate once at every fidelity (fidelity -> runs in candidate order), the
    repeated candidates (``_repeated``), and their runs at every fidelity, the first being
    the candidate's run."""
    runs = {f: [runner(params, f) for params in chosen] for f in problem.fidelities}
    count = min(settings.repeated_configs, len(chosen))
    repeated = _repeated(runs[problem.full_fidelity], count)
    repeats = {
        f: [
            [runs[f][i]] + [runner(chosen[i], f) for _ in range(settings.repeats - 1)]
            for i in repeated
        ]
        for f in problem.fidelities
    }
    return runs, repeated, repeats
