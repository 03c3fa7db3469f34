"""TunerConfig: the user's settings and the numeric magnitudes the heuristics use."""

from __future__ import annotations

import dataclasses
import math
import numbers
import reprlib
from dataclasses import dataclass
from enum import Enum
from typing import Any

from carbs_lite.heuristics import Heuristics, _plain, coerce_fields

RADIUS_GROWTH, RADIUS_SHRINK, RADIUS_RANGE = 1.25, 0.8, (0.05, 1.0)
"""The adaptive radius's factors on joining the front and on failure, and its range."""


class Direction(Enum):
    """Whether a larger or a smaller output is better."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


@dataclass(frozen=True)
class TunerConfig:
    """Settings of one study. Strings are accepted for ``direction``."""

    direction: Direction = Direction.MAXIMIZE
    num_random_samples: int = 4
    """Suggestions of the initial design (the search center first, then the design of
    ``Heuristics.initial_design``) before the surrogates are used; results recorded without
    a suggestion count too, and a re-centered study skips the rest (``Study.set_search_center``)."""
    max_suggestion_cost: float | None = None
    """The cost cap: candidates likely to cost this or more are masked out
    (``cost_cap_confidence``, ``Heuristics.cost_mask``), and only runs cheaper than it count
    as feasible. None: no cap."""
    cost_cap_confidence: float = 0.7
    """A candidate passes the cost cap only if the cost model gives P(cost < cap) >= this.
    CARBS uses 0.5 (predicted mean cost below the cap); 0.7 wasted 4-13 points fewer tries over
    the cap at equal regret on six of the suite's seven problems (ablations/RESULTS.md)."""
    success_confidence: float = 0.5
    """With ``Heuristics.success_mask``, a candidate is ruled out when the success model gives
    it P(success) below this: the constraint Pr(success) >= 1 - delta of Gelbart, Snoek and
    Adams (2014), "Bayesian optimization with unknown constraints", at delta = 0.5, i.e. a
    failure must not be the likelier outcome."""
    min_pareto_cost_fraction: float = 0.2
    """Fraction of the cheapest costs bucketed together on the front."""
    initial_search_radius: float = 0.6
    """Std (basic space) of the Gaussians that candidates are drawn from. CARBS uses 0.3; the
    ablation sweep found 0.6 better across the suite (ablations/RESULTS.md)."""
    step_group_variance: float = 2.0
    """Variance of a step group's shared shift relative to a dimension's own step variance
    (``Heuristics.coherent_steps``)."""
    num_candidates_per_dim: int = 100
    resample_frequency: int = 5
    """Every this many observations a front point is re-run (0: never)."""
    exploration_bias: float = 0.01
    """Subtracted from the improvement inside EI when ``Heuristics.exploration_bias`` is on (off
    by default: plain EI), in the output model's units (standard deviations of the outputs under
    the default ``output_transform``): the xi of Lizotte's "Practical Bayesian optimization"
    (2008), 0.01, also scikit-optimize's default for EI. CARBS uses 1.0, which asks every
    candidate to beat the best run by a whole standard deviation, so only the most uncertain
    far-off points keep any EI and the search never closes in; 1.0 was worse on the suite at 30
    tries (9/47 problem-seed pairs better/worse than without a bias, p = 4e-6)
    (ablations/RESULTS.md)."""
    duplicate_tolerance: float = 1e-6
    softmax_temperature: float = 0.1
    max_fit_points: int = 128
    """GP hyperparameters are fit on at most this many points; predictions use all."""
    max_condition_points: int = 1000
    """The GPs condition on at most this many runs (the nearest the front and a uniform
    sample of the rest; ``search.Search.conditioning``): the cubic part of a suggestion."""
    fit_iterations: int = 20
    """L-BFGS iterations per GP fit."""
    refinement_rounds: int = 8
    """With ``Heuristics.acquisition_refinement``, the rounds of the acquisition's local
    search; round k draws at 2^-k of the search std, so the last step is 1/256 of it by
    default. 8 rounds, with ``Heuristics.cost_mask`` PROBABILITY, are the default: against 4
    rounds (last step 1/16) with the HARD mask they closed in further at 30 tries (all 11
    problems of ``benchmarks/peers.py``, 69/39 problem-seed pairs better/worse, p = 0.02), were
    even at 15 (50/55, p = 0.5), and kept more tries under the cost cap. 8 rounds with the HARD
    mask had put picks on the cap's edge, where half of them cost too much (ads tries 70%
    feasible against 74%) (ablations/RESULTS.md, "Refinement rounds")."""
    torch_threads: int = 1
    """Intra-op threads while fitting (one per worker process avoids oversubscription)."""
    early_stopping_probability: float = 0.05
    """With ``Heuristics.early_stopping``, a running try is stopped when its estimated
    probability of joining the front falls below this (``early_stopping.stop_decision``);
    0.05 is the threshold of Domhan, Springenberg and Hutter (IJCAI 2015)."""
    early_stopping_min_curves: int = 3
    """Finished learning curves that must reach past a running try's step before the rule
    compares it with the front; with fewer, it lets the try run."""

    def __post_init__(self) -> None:
        if not isinstance(self.direction, Direction):
            try:
                object.__setattr__(self, "direction", Direction(str(self.direction).lower()))
            except ValueError:
                raise ValueError(
                    f"direction must be 'maximize' or 'minimize', got {self.direction!r}"
                ) from None
        self._check_types()
        positive_ints = (
            "num_candidates_per_dim",
            "max_fit_points",
            "max_condition_points",
            "fit_iterations",
            "refinement_rounds",
            "torch_threads",
            "early_stopping_min_curves",
        )
        for name in positive_ints:
            if getattr(self, name) < 1:
                raise ValueError(f"TunerConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("num_random_samples", "resample_frequency"):
            if getattr(self, name) < 0:
                raise ValueError(f"TunerConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.min_pareto_cost_fraction < 1.0:
            raise ValueError("TunerConfig.min_pareto_cost_fraction must be in [0, 1)")
        for name in ("initial_search_radius", "softmax_temperature", "step_group_variance"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TunerConfig.{name} must be > 0")
        if not 0.0 < self.cost_cap_confidence < 1.0:
            raise ValueError(
                f"TunerConfig.cost_cap_confidence must be in (0, 1), got {self.cost_cap_confidence}"
            )
        if not 0.0 < self.success_confidence < 1.0:
            raise ValueError(
                f"TunerConfig.success_confidence must be in (0, 1), got {self.success_confidence}"
            )
        if not 0.0 < self.early_stopping_probability < 1.0:
            raise ValueError(
                "TunerConfig.early_stopping_probability must be in (0, 1), got "
                f"{self.early_stopping_probability}"
            )
        cap = self.max_suggestion_cost
        if cap is not None and not cap > 0:
            raise ValueError(f"TunerConfig.max_suggestion_cost must be finite and > 0, got {cap}")
        if not self.duplicate_tolerance >= 0:
            raise ValueError(
                f"TunerConfig.duplicate_tolerance must be >= 0, got {self.duplicate_tolerance}"
            )

    def _check_types(self) -> None:
        """Integer fields hold integers (numpy's included, stored as int) and the others
        finite real numbers (stored as float), so that a study saves and loads to the same
        values; TypeError naming a field of the wrong type, ValueError for a non-finite one."""
        for field in dataclasses.fields(self):
            name, value = field.name, getattr(self, field.name)
            if name == "direction" or (name == "max_suggestion_cost" and value is None):
                continue
            if isinstance(field.default, int):
                if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                    raise TypeError(f"TunerConfig.{name} must be an integer, got {value!r}")
                object.__setattr__(self, name, int(value))
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"TunerConfig.{name} must be a number, got {value!r}")
            try:
                value = float(value)
            except OverflowError:
                value = math.inf
            if not math.isfinite(value):
                raise ValueError(
                    f"TunerConfig.{name} must be finite, got {reprlib.repr(getattr(self, name))}"
                )
            object.__setattr__(self, name, value)

    @property
    def sign(self) -> float:
        """+1 when maximizing, -1 when minimizing: goodness = sign * output."""
        return 1.0 if self.direction is Direction.MAXIMIZE else -1.0

    def to_json(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TunerConfig:
        """Parse values written by ``to_json`` (or typed by a user); unknown names raise."""
        return cls(**coerce_fields(cls, data))


def adaptive_radius(radius: float, failed: bool, joined_front: bool) -> float:
    """The adaptive search radius after one observation: x0.8 on failure, x1.25 when it joined
    the front, clipped to [0.05, 1.0] (``SearchRadius.ADAPTIVE``)."""
    factor = RADIUS_SHRINK if failed else (RADIUS_GROWTH if joined_front else 1.0)
    return float(min(max(radius * factor, RADIUS_RANGE[0]), RADIUS_RANGE[1]))


STUDY_DEFINITION = ("direction", "max_suggestion_cost")
"""``TunerConfig`` fields that define a study (its goal and its cost cap), set by its own
arguments (`init --direction`, `--cost-cap`, a task's QPS floor), not by a switch."""


def settings_from_switches(switches: list[str]) -> tuple[dict[str, Any], Heuristics]:
    """The ``TunerConfig`` settings (field -> value, for ``TunerConfig(**settings)``) and the
    ``Heuristics`` that ``NAME=VALUE`` texts (a ``--switch`` option) set, each NAME a field of
    either (of ``Heuristics`` when of both), as `carbs-lite ablate --list` shows them.
    ValueError naming the text for one without "=", an unknown NAME, one of
    ``STUDY_DEFINITION``, or a value its field does not take or holds out of range
    (``TunerConfig``'s own checks)."""
    config_fields = {f.name for f in dataclasses.fields(TunerConfig)}
    heuristic_fields = {f.name for f in dataclasses.fields(Heuristics)}
    settings, heuristics = {}, {}
    for text in switches:
        name, sep, value = text.partition("=")
        if not sep:
            raise ValueError(f"takes NAME=VALUE, got {text!r}")
        if name in STUDY_DEFINITION:
            raise ValueError(f"{name} defines the study, it is not a switch")
        if name not in config_fields | heuristic_fields:
            raise ValueError(f"unknown switch {name!r}: not a Heuristics or TunerConfig field")
        # a name in both (exploration_bias: the switch, and its magnitude) is the
        # Heuristics switch, as in `carbs-lite ablate`
        (heuristics if name in heuristic_fields else settings)[name] = value
    settings = coerce_fields(TunerConfig, settings)
    TunerConfig(**settings)  # its range checks, at the switch rather than at first use
    return settings, Heuristics.from_json(heuristics)


def heuristics_from_switches(switches: list[str]) -> Heuristics:
    """``Heuristics`` from ``NAME=VALUE`` texts (``settings_from_switches``); ValueError as
    there, and for a ``TunerConfig`` setting, which the caller would otherwise ignore."""
    settings, heuristics = settings_from_switches(switches)
    if settings:
        raise ValueError(f"{sorted(settings)}: TunerConfig settings, not Heuristics switches")
    return heuristics
