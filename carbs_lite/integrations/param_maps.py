"""Params of another tool's search space (Optuna distributions, Ray Tune domains) as carbs_lite
params, each with the map between the tool's values and the carbs_lite space's.

Both tools describe a numeric param by its bounds, whether it is an integer, whether it is
searched on a log scale, and an optional step (a grid of values). ``numeric_map`` turns that
into a ``ParamMap``, and ``choice_map`` a choice among values into a ``CategoricalSpace``:

    log scale            LogSpace(low, high), integer or not (basic unit: one decade)
    linear, no step      LinearSpace(low, high), integer or not
    integer grid on multiples of the step   LinearSpace(low, high, rounding_factor=step)
    any other grid       an integer LinearSpace over the grid index k; value = origin + k * step

A linear space gets ``scale = (high - low) / LINEAR_BASIC_WIDTH``, so the search radius (0.6
by default) means the same share of every linear param's range whatever its units. The search
center is the middle of the space in basic coordinates, as in a space file without ``center``
(for a choice: the first one).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from carbs_lite.categorical import CategoricalSpace
from carbs_lite.spaces import LinearSpace, LogSpace, Param, Space

LINEAR_BASIC_WIDTH = 2.0
"""Basic-space width of a linear param's range: that of the suite's linear params on [-1, 1]
(``carbs_lite.bench.synthetic``) and of a log param spanning two decades."""


@dataclass(frozen=True)
class Grid:
    """The tool's values ``origin + k * step`` for integer k, within ``[low, high]``."""

    origin: float
    step: float
    low: float
    high: float

    def value(self, index: int) -> float:
        """The value of grid index ``index``, clipped to ``[low, high]`` (float rounding)."""
        return min(max(self.origin + index * self.step, self.low), self.high)

    def index(self, value: Any) -> int:
        """The grid index of ``value``; ValueError if it is not a number on the grid."""
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ValueError(f"expected a number, got {value!r}")
        index = (float(value) - self.origin) / self.step
        if not math.isfinite(index) or abs(index - round(index)) > 1e-8:
            raise ValueError(f"{value!r} is not on the grid {self.origin} + k * {self.step}")
        return int(round(index))


@dataclass(frozen=True)
class ParamMap:
    """A carbs_lite ``param`` and the map between its values and the tool's.

    With a ``grid``, the carbs_lite value is the grid index; without one the values are the
    same. ``integer``: the tool's values are ints.
    """

    param: Param
    integer: bool = False
    grid: Grid | None = None

    def to_tool(self, value: Any) -> Any:
        """The tool's value for a valid carbs_lite value."""
        if self.grid is None:
            return value
        grid_value = self.grid.value(int(value))
        return int(round(grid_value)) if self.integer else grid_value

    def from_tool(self, value: Any) -> Any:
        """The carbs_lite value for a tool's value; ValueError naming the param if it is not in
        the space."""
        try:
            if self.grid is not None:
                value = self.grid.index(value)
            return self.param.space.validate(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"param {self.param.name!r}: {error}") from None

    def to_json(self) -> dict[str, Any]:
        """The map without its param (which travels with the tuner's state)."""
        grid = dataclasses.asdict(self.grid) if self.grid else None
        return {"integer": self.integer, "grid": grid}

    @classmethod
    def from_json(cls, param: Param, data: dict[str, Any]) -> ParamMap:
        """The map ``to_json`` wrote, for ``param``."""
        grid = Grid(**data["grid"]) if data["grid"] else None
        return cls(param, data["integer"], grid)


def numeric_map(
    name: str,
    low: float,
    high: float,
    *,
    integer: bool = False,
    log: bool = False,
    step: float | None = None,
    origin: float | None = None,
) -> ParamMap:
    """The map of a numeric param on ``[low, high]`` (both included).

    ``step``: the values are ``origin + k * step`` (``origin`` defaults to ``low``; Ray's grids
    start at 0), and ``low``/``high`` are on that grid. A log scale takes no step. ValueError
    names the param when the range holds one value or a log scale has a step or ``low <= 0``.
    """
    if step is not None and step <= 0:
        raise ValueError(f"param {name!r}: step must be > 0, got {step}")
    if log and step is not None:
        raise ValueError(f"param {name!r}: a log scale with a step is not supported")
    origin = low if origin is None else origin
    if step is None or (integer and step == 1):
        space = _plain_space(name, low, high, integer, log)
        return ParamMap(_centered(name, space), integer)
    if integer and float(origin / step).is_integer():
        # the grid is the multiples of the step: carbs_lite rounds to them itself
        space = _plain_space(name, low, high, True, False, rounding_factor=int(step))
        return ParamMap(_centered(name, space), True)
    grid = Grid(origin, step, low, high)
    try:
        first, last = grid.index(low), grid.index(high)
    except ValueError as error:
        raise ValueError(f"param {name!r}: a bound is off its grid: {error}") from None
    return ParamMap(_centered(name, _plain_space(name, first, last, True, False)), integer, grid)


def choice_map(name: str, choices: Sequence[Any]) -> ParamMap:
    """The map of a choice among ``choices`` (strings, finite numbers or booleans, at least
    two); ValueError naming the param otherwise."""
    try:
        space = CategoricalSpace(tuple(choices))
    except ValueError as error:
        raise ValueError(f"param {name!r}: {error}") from None
    return ParamMap(_centered(name, space))


def _plain_space(
    name: str, low: float, high: float, integer: bool, log: bool, rounding_factor: int = 1
) -> Space:
    """LogSpace or LinearSpace on ``[low, high]``; ValueError naming the param."""
    if not low < high:
        raise ValueError(f"param {name!r}: its range [{low}, {high}] holds one value")
    if log:
        if not low > 0:
            raise ValueError(f"param {name!r}: a log scale needs low > 0, got {low}")
        return LogSpace(min=low, max=high, is_integer=integer)
    scale = (high - low) / LINEAR_BASIC_WIDTH
    return LinearSpace(
        min=low, max=high, scale=scale, is_integer=integer, rounding_factor=rounding_factor
    )


def _centered(name: str, space: Space) -> Param:
    """``Param`` with its search center in the middle of the space in basic coordinates."""
    low, high = space.basic_bounds(pad_integers=False)
    return Param(name, space, space.from_basic((np.asarray(low) + np.asarray(high)) / 2))


def params_of(maps: dict[str, ParamMap]) -> list[Param]:
    """The carbs_lite params of ``maps``, in its order."""
    return [m.param for m in maps.values()]


def to_tool(maps: dict[str, ParamMap], params: dict[str, Any]) -> dict[str, Any]:
    """A carbs_lite params dict as the tool's values."""
    return {name: m.to_tool(params[name]) for name, m in maps.items()}


def from_tool(maps: dict[str, ParamMap], values: dict[str, Any]) -> dict[str, Any]:
    """The tool's values of every param of ``maps`` as a carbs_lite params dict; ValueError
    naming a missing param or a value outside its space. Other keys are ignored."""
    missing = [name for name in maps if name not in values]
    if missing:
        raise ValueError(f"missing params {missing}")
    return {name: m.from_tool(values[name]) for name, m in maps.items()}
