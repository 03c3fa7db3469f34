"""What CarbsSearch reads from Ray Tune's own objects: a ``param_space`` in Tune's syntax as
carbs_lite params (``param_maps``), nested configs, and the finished trials of an experiment.

    tune.uniform(a, b)        LinearSpace [a, b]
    tune.loguniform(a, b)     LogSpace [a, b]
    tune.quniform(a, b, q)    the multiples of q in [a, b] (grid index space)
    tune.randint(a, b)        integers in [a, b - 1] (Tune excludes b)
    tune.lograndint(a, b)     integers in [a, b - 1], log scale
    tune.qrandint(a, b, q)    the multiples of q in [a, b] (b excluded when q = 1, as in Tune)
    tune.choice(values)       CategoricalSpace(values)

A param inside nested dicts is named by its path joined with "/"; ``nest`` turns a suggestion
back into Tune's nesting. Constants stay in the ``param_space`` and Tune merges them in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ray.tune.search.sample import (
    Categorical,
    Domain,
    Float,
    Integer,
    LogUniform,
    Quantized,
    Uniform,
)
from ray.tune.search.variant_generator import parse_spec_vars

from carbs_lite.integrations.param_maps import ParamMap, choice_map, numeric_map

SUPPORTED = (
    "tune.uniform, tune.loguniform, tune.quniform, tune.randint, tune.lograndint, "
    "tune.qrandint and tune.choice"
)
SEPARATOR = "/"


def domain_maps(param_space: dict[str, Any]) -> dict[str, ParamMap]:
    """The ``ParamMap`` of every search domain in ``param_space``, by path name.

    ValueError naming the param for ``tune.grid_search``, a domain inside a list, a key holding
    "/", or a sampler outside ``SUPPORTED`` (the message lists them).
    """
    _, domains, grids = parse_spec_vars(param_space)
    for path, _ in grids:
        raise ValueError(
            f"param {_name(path)!r}: CarbsSearch does not take tune.grid_search (it would run "
            f"every value); use tune.choice. CarbsSearch supports {SUPPORTED}"
        )
    return {_name(path): domain_map(_name(path), domain) for path, domain in domains}


def domain_map(name: str, domain: Domain) -> ParamMap:
    """The ``ParamMap`` of one Tune domain; ValueError naming the param and what is supported."""
    sampler, q = domain.get_sampler(), None
    if isinstance(sampler, Quantized):
        sampler, q = sampler.get_sampler(), sampler.q
    if isinstance(domain, Float) and isinstance(sampler, Uniform):
        if q is None:
            return numeric_map(name, domain.lower, domain.upper)
        low, high = _grid_bounds(domain.lower, domain.upper, q)
        return numeric_map(name, low, high, step=q, origin=0.0)
    if isinstance(domain, Float) and isinstance(sampler, LogUniform) and q is None:
        return numeric_map(name, domain.lower, domain.upper, log=True)
    if isinstance(domain, Integer) and isinstance(sampler, Uniform):
        if q is None or q == 1:
            return numeric_map(name, domain.lower, domain.upper - 1, integer=True)
        low, high = _grid_bounds(domain.lower, domain.upper, q)
        return numeric_map(name, int(low), int(high), integer=True, step=q, origin=0)
    if isinstance(domain, Integer) and isinstance(sampler, LogUniform) and q is None:
        return numeric_map(name, domain.lower, domain.upper - 1, integer=True, log=True)
    if isinstance(domain, Categorical) and isinstance(sampler, Uniform):
        return choice_map(name, domain.categories)
    kind = type(domain).__name__
    how = type(sampler).__name__.strip("_") + (" quantized" if q is not None else "")
    raise ValueError(
        f"param {name!r}: CarbsSearch does not support a {kind} domain sampled {how}; "
        f"it supports {SUPPORTED}"
    )


def _grid_bounds(lower: float, upper: float, q: float) -> tuple[float, float]:
    """The first and last multiple of ``q`` in ``[lower, upper]``, as Tune's ``Quantized``
    rounds a bound inward unless it is (close to) a multiple already."""

    def index(bound: float, inward: Callable[[float], float]) -> float:
        scaled = bound / q
        return round(scaled) if math.isclose(scaled, round(scaled)) else inward(scaled)

    return index(lower, math.ceil) * q, index(upper, math.floor) * q


def _name(path: tuple[Any, ...]) -> str:
    """A param's name: its path in the ``param_space`` joined with "/"."""
    if not all(isinstance(key, str) for key in path):
        raise ValueError(
            f"param at {list(path)}: CarbsSearch takes search domains in nested dicts only, "
            "not inside lists"
        )
    if any(SEPARATOR in key for key in path):
        raise ValueError(
            f"param at {list(path)}: a key holds {SEPARATOR!r}, which CarbsSearch uses to join paths"
        )
    return SEPARATOR.join(path)


def nest(params: dict[str, Any]) -> dict[str, Any]:
    """A dict of path names as Tune's nested config (Ray's own helper is deprecated)."""
    config: dict[str, Any] = {}
    for name, value in params.items():
        *parents, leaf = name.split(SEPARATOR)
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return config


def flat(config: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """A nested Tune config (or a flat one) as a dict of path names."""
    names: dict[str, Any] = {}
    for key, value in config.items():
        path = (*prefix, str(key))
        if isinstance(value, dict):
            names.update(flat(value, path))
        else:
            names[SEPARATOR.join(path)] = value
    return names


def finished_trials(trials_or_analysis: Any) -> list[tuple[dict, dict, bool]]:
    """(config, last result, errored) of each finished trial of a ``ResultGrid``, an
    ``ExperimentAnalysis``, a ``Trial`` or a list of trials; TypeError for anything else."""
    from ray.tune import ResultGrid
    from ray.tune.analysis import ExperimentAnalysis
    from ray.tune.experiment import Trial

    if isinstance(trials_or_analysis, ResultGrid):
        return [(r.config or {}, r.metrics or {}, r.error is not None) for r in trials_or_analysis]
    trials = trials_or_analysis
    if isinstance(trials, ExperimentAnalysis):
        trials = trials.trials
    elif isinstance(trials, Trial):
        trials = [trials]
    if not isinstance(trials, list | tuple) or not all(isinstance(t, Trial) for t in trials):
        raise TypeError(
            "add_evaluated_trials takes a ResultGrid, an ExperimentAnalysis, a Trial or a list "
            f"of Trials, got {type(trials_or_analysis).__name__}"
        )
    finished = (Trial.TERMINATED, Trial.ERROR)
    return [
        (t.config, t.last_result, t.status == Trial.ERROR) for t in trials if t.status in finished
    ]
