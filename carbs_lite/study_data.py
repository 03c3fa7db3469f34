"""``StudyData``: a study's history as arrays in the basic space, what the search reads."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from carbs_lite.config import TunerConfig
from carbs_lite.curves import CurvePoints, curve_points, stopped_unbroken, stopped_while_spending
from carbs_lite.records import Observation
from carbs_lite.spaces import ParamSpace

if TYPE_CHECKING:
    import numpy as np
else:
    from carbs_lite.deferred import numpy as np


@dataclass(frozen=True)
class StudyData:
    """A study's history as arrays: n observations and m outstanding points in the basic space.

    ``inputs`` (n, d), ``cost`` (n,), ``failed`` (n,) bool, ``goodness`` (n,) = sign * output
    (larger is better, NaN for failures), ``outstanding`` (m, d). ``unfinished`` (n,) bool, or
    None for none: tries stopped early with a finite result (``curves.stopped_unbroken``), which are
    in ``failed`` (no final output: out of the front; the output model takes them at the
    worst value) but not in
    ``failures``. ``curves``: the tries' learning-curve points (``curves.curve_points``), or
    None for none, read from ``records`` (the observations, with the study's ``sign``) when
    first asked for, since only a search with ``curve_observations`` on needs them; only the
    output and cost models may see them, never the front or the best pick; a front re-run
    also repeats its point's params from ``records``. ``keys`` (n): each observation's
    ``ParamSpace.key``, by which the front groups runs (``pareto.data_groups``).
    """

    inputs: np.ndarray
    cost: np.ndarray
    failed: np.ndarray
    goodness: np.ndarray
    outstanding: np.ndarray
    unfinished: np.ndarray | None = None
    records: tuple[Observation, ...] = dataclasses.field(default=(), repr=False, compare=False)
    sign: float = 1.0
    keys: tuple[Hashable, ...] = dataclasses.field(default=(), repr=False, compare=False)

    @functools.cached_property
    def curves(self) -> CurvePoints | None:
        """The learning-curve points of ``records`` (see the class docstring)."""
        return curve_points(list(self.records), self.sign)

    @functools.cached_property
    def partial_cost(self) -> np.ndarray:
        """(n,) bool: the tries stopped early while their cost still grew
        (``curves.stopped_while_spending``), whose ``cost`` is a lower bound on a run's; none
        when the data has no ``records``."""
        partial = np.zeros(len(self.cost), dtype=bool)
        partial[: len(self.records)] = [stopped_while_spending(o) for o in self.records]
        return partial

    @property
    def successes(self) -> np.ndarray:
        """(n,) bool: the observations that did not fail."""
        return ~self.failed

    @property
    def failures(self) -> np.ndarray:
        """(n,) bool: the runs the success model counts as failed, ``failed`` less the
        ``unfinished`` ones: a try stopped early was judged not worth finishing, not broken."""
        return self.failed if self.unfinished is None else self.failed & ~self.unfinished

    @property
    def taken(self) -> np.ndarray:
        """Every observed and outstanding input, (n + m, d)."""
        return np.concatenate([self.inputs, self.outstanding])

    @classmethod
    def from_rows(
        cls,
        space: ParamSpace,
        config: TunerConfig,
        inputs: list[np.ndarray],
        observations: list[Observation],
        outstanding: list[np.ndarray],
        keys: list[Hashable],
    ) -> StudyData:
        """The arrays of ``observations`` and of the ``outstanding`` basic rows (m, d) in
        ``space``, given each observation's basic row (``space.to_basic``) and key
        (``space.key``), which the tuner keeps as it records them."""
        dim = space.dim
        outputs = np.array([o.output for o in observations], dtype=float)
        unfinished = np.array([stopped_unbroken(o) for o in observations], dtype=bool)
        return cls(
            inputs=np.array(inputs).reshape(-1, dim),
            cost=np.array([o.cost for o in observations], dtype=float),
            failed=np.array([o.is_failure for o in observations], dtype=bool),
            goodness=config.sign * outputs,
            outstanding=np.array(outstanding).reshape(-1, dim),
            unfinished=unfinished if unfinished.any() else None,
            records=tuple(observations),
            sign=config.sign,
            keys=tuple(keys),
        )
