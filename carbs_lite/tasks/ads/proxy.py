"""The ads-architecture task as a proxy-task check: does a short training run rank archs like
the 60-day run?

The fidelity is the run length in training days. A run is one ``train_model`` call of the
built-in simulator with its own noise seed: output NE (NaN when it diverged), cost 1/QPS under
the cap 1/min_qps, and run cost the simulator's GPU-days for that run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from carbs_lite.arch import ArchSpace
from carbs_lite.proxy import FidelityProblem, ProxyRun
from carbs_lite.spaces import Param
from carbs_lite.tasks.ads.simulator import MAX_TRAINING_DAYS, ModelPerformanceAPI
from carbs_lite.tasks.ads.tuning import BASELINE_ARCH, METRICS

FULL_DAYS = 60
"""The ads team's full run (shared/ads_simulator.md)."""
PROXY_DAYS = (7, 14, 30)
"""The shorter runs checked by default."""


class SimulatedTraining:
    """``evaluate`` for ``FidelityProblem``: one simulator run of ``params["arch"]`` for
    ``days`` days on the config ``overrides`` (defaults otherwise), its noise seeded by
    ``seed``."""

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self.overrides = dict(overrides or {})

    def __call__(self, params: dict[str, Any], days: int, seed: int) -> ProxyRun:
        api = ModelPerformanceAPI({**self.overrides, "SEED": seed})
        ne, qps, _ = api.train_model(days, params["arch"], ignore_budget=True)
        return ProxyRun(ne, 1.0 / qps, api.true_metrics(params["arch"], days).gpu_days)


def training_days(value: Any, what: str) -> int:
    """``value`` as a whole number of days in 1..MAX_TRAINING_DAYS; ValueError naming
    ``what`` otherwise (7.0 is 7; 7.5 is refused)."""
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
    if not (math.isfinite(number) and number == int(number) and 1 <= number <= MAX_TRAINING_DAYS):
        raise ValueError(
            f"{what} must be whole training days in 1..{MAX_TRAINING_DAYS}, got {value!r}"
        )
    return int(number)


def ads_proxy_problem(
    overrides: dict[str, Any] | None = None,
    min_qps: float = 3500.0,
    full_days: Any = FULL_DAYS,
    proxy_days: Sequence[Any] = PROXY_DAYS,
) -> FidelityProblem:
    """The check of ``proxy_days`` against ``full_days`` on the simulator config ``overrides``,
    QPS above ``min_qps``. ValueError for days that are not whole days in range, or a bad
    ``min_qps`` or config key."""
    if not (isinstance(min_qps, int | float) and math.isfinite(min_qps) and min_qps > 0):
        raise ValueError(f"min_qps must be a finite number > 0, got {min_qps!r}")
    ModelPerformanceAPI(overrides)
    return FidelityProblem(
        evaluate=SimulatedTraining(overrides),
        params=[Param("arch", ArchSpace(), BASELINE_ARCH)],
        full_fidelity=training_days(full_days, "the full run"),
        proxy_fidelities=tuple(training_days(d, "a proxy run") for d in proxy_days),
        max_cost=1.0 / min_qps,
        name="ads-arch (built-in simulator)",
        metrics=METRICS,
        fidelity_name="training days",
        run_cost_name="GPU-days",
    )
