"""What a proxy-task check takes: a problem with a fidelity knob, and the check's settings."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from carbs_lite.records import Metrics
from carbs_lite.spaces import Param, ParamSpace

MIN_CANDIDATES = 5
"""The fewest candidates a check takes: a rank correlation needs at least 5 pairs (the
minimum Vertex AI NAS's proxy-task tool asks for)."""


@dataclass(frozen=True)
class ProxyRun:
    """One run of a config at one fidelity.

    ``output``: the metric the check ranks by (NaN or inf: the run failed). ``cost``: the cost
    that the problem's cap applies to, as this run measured it (NaN: not measured). ``run_cost``:
    what the run itself cost, e.g. GPU-days; NaN counts it as its fidelity, i.e. a cost
    proportional to the days, steps or data fraction.
    """

    output: float
    cost: float = math.nan
    run_cost: float = math.nan

    @property
    def failed(self) -> bool:
        """Whether the run gave no output (NaN or inf)."""
        return not math.isfinite(self.output)


def _positive(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


@dataclass(frozen=True)
class FidelityProblem:
    """A black box with a fidelity knob (training days, steps, a data fraction).

    ``evaluate(params, fidelity, seed)`` runs ``params`` at ``fidelity`` with its noise seeded
    by ``seed`` (an int in [0, 2**31)) and returns a ``ProxyRun`` or a bare output. ``params`` is
    the space candidates are drawn from. ``full_fidelity`` is the run the proxies stand in for;
    ``proxy_fidelities`` are the cheaper ones to check, each in (0, full_fidelity); they are
    kept in increasing order. ``max_cost``: the cost cap (None: no cap); with a cap every run
    that did not fail must return its ``cost``. ``metrics``, ``fidelity_name`` (e.g. "training
    days") and ``run_cost_name`` (e.g. "GPU-days"; "" counts runs in fidelity units) name
    things in reports. ValueError for a bad field.
    """

    evaluate: Callable[[dict[str, Any], Any, int], ProxyRun | float]
    params: list[Param]
    full_fidelity: float
    proxy_fidelities: tuple[float, ...]
    max_cost: float | None = None
    name: str = "problem"
    metrics: Metrics = field(default_factory=Metrics)
    fidelity_name: str = "fidelity"
    run_cost_name: str = ""

    def __post_init__(self) -> None:
        if not callable(self.evaluate):
            raise TypeError(f"evaluate must be callable, got {type(self.evaluate).__name__}")
        if not all(isinstance(p, Param) for p in self.params):
            raise TypeError("params must be a list of Param")
        ParamSpace(self.params)
        if not isinstance(self.metrics, Metrics):
            raise TypeError(f"metrics must be a Metrics, got {type(self.metrics).__name__}")
        for name in ("name", "fidelity_name", "run_cost_name"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be text, got {getattr(self, name)!r}")
        if not _positive(self.full_fidelity):
            raise ValueError(f"full_fidelity must be a number > 0, got {self.full_fidelity!r}")
        proxies = tuple(self.proxy_fidelities)
        if not proxies:
            raise ValueError("proxy_fidelities is empty: give at least one fidelity to check")
        for value in proxies:
            if not (_positive(value) and value < self.full_fidelity):
                raise ValueError(
                    f"proxy fidelity {value!r} must be a number in (0, {self.full_fidelity}), "
                    "below the full fidelity"
                )
        if len(set(proxies)) < len(proxies):
            raise ValueError(f"proxy_fidelities has duplicates: {list(proxies)}")
        object.__setattr__(self, "proxy_fidelities", tuple(sorted(proxies)))
        if self.max_cost is not None and not _positive(self.max_cost):
            raise ValueError(f"max_cost must be a number > 0 or None, got {self.max_cost!r}")

    @property
    def fidelities(self) -> tuple[float, ...]:
        """The full fidelity, then the proxies in increasing order."""
        return (self.full_fidelity, *self.proxy_fidelities)


@dataclass(frozen=True)
class ProxySettings:
    """How big a check is.

    ``candidates`` configs (at least 5) take part; ``pool`` random configs are screened to
    choose them (None: 4 per candidate, fewer when screening would cost more than half the
    check's own runs; see ``check.select_candidates``). ``repeated_configs`` of them are run
    ``repeats`` times in all at every fidelity for the variance check. A proxy passes when its
    Kendall's tau with the full runs is at least ``threshold`` (0.65, the value at which the
    Vertex AI NAS proxy-task guide stops its proxy search), and so is the tau of its costs when
    there is a cap. CIs are percentile bootstraps with ``resamples`` resamples at
    ``confidence``. ``seed`` seeds the pool, every run's noise and the bootstrap. ValueError
    for a bad field.
    """

    candidates: int = 16
    pool: int | None = None
    repeated_configs: int = 3
    repeats: int = 3
    threshold: float = 0.65
    resamples: int = 2000
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        _check_int("candidates", self.candidates, MIN_CANDIDATES)
        if self.pool is not None:
            _check_int("pool", self.pool, self.candidates)
        _check_int("repeated_configs", self.repeated_configs, 1)
        if self.repeated_configs > self.candidates:
            raise ValueError(
                f"repeated_configs ({self.repeated_configs}) cannot exceed candidates "
                f"({self.candidates})"
            )
        _check_int("repeats", self.repeats, 2)
        _check_int("resamples", self.resamples, 100)
        _check_int("seed", self.seed, 0)
        if not (isinstance(self.threshold, int | float) and -1 <= self.threshold <= 1):
            raise ValueError(f"threshold must be a correlation in [-1, 1], got {self.threshold!r}")
        if not (isinstance(self.confidence, float) and 0 < self.confidence < 1):
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence!r}")


def _check_int(name: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
