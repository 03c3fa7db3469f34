"""Param spaces and their maps to the basic space the surrogates work in.

A *param* value is what the user sees; its *basic* value is a vector of floats in which the
search radius and GP lengthscales are measured. Scalar spaces have one basic dimension:

    LinearSpace:     basic = x / scale
    LogSpace:        basic = log10(x) / scale
    LogitSpace:      basic = log10(x / (1 - x)) / scale
    PowerOfTwoSpace: basic = log2(x) / scale, values are integer powers of two

Integer spaces round to a multiple of ``rounding_factor``. ``ParamSpace`` stacks the basic
vectors of several named params into one row.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
import reprlib
import sys
from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbs_lite.deferred import numpy_types

if TYPE_CHECKING:
    import numpy as np
else:
    from carbs_lite.deferred import numpy as np


INTEGER_BOUND_PADDING = 0.1
"""CARBS widens integer bounds by this much (in param units) before mapping them to basic."""

MAX_BASIC_RANGE = math.sqrt(sys.float_info.max)
"""Widest basic range of a bounded space (about 1.3e154): the surrogates square basic
distances, and a wider range overflows them (and the initial design's uniform draws)."""


class Space(ABC):
    """A set of admissible param values and its map to a ``dim``-dimensional basic space."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Number of basic dimensions."""

    @abstractmethod
    def validate(self, value: Any) -> Any:
        """Return ``value`` in canonical form, or raise ``ValueError`` saying what is wrong."""

    def key(self, value: Any) -> Hashable:
        """A hashable identity of a param value, equal exactly for the same value of the space
        (``canonical_key`` of ``validate``'s canonical form); ``validate``'s ValueError for an
        invalid one."""
        return self.canonical_key(self.validate(value))

    def canonical_key(self, value: Any) -> Hashable:
        """``key`` of a value already in ``validate``'s canonical form (not checked again):
        the value itself unless it is unhashable or has another form of the same choice."""
        return value

    @abstractmethod
    def to_basic(self, value: Any) -> np.ndarray:
        """Map a valid param value to its basic vector, shape (dim,)."""

    @abstractmethod
    def from_basic(self, x: np.ndarray) -> Any:
        """Map a basic vector (dim,) to the nearest valid param value (clipped and rounded)."""

    @abstractmethod
    def round_basic(self, x: np.ndarray) -> np.ndarray:
        """Snap basic rows (n, dim) to representable values without clipping to the bounds."""

    @abstractmethod
    def basic_bounds(self, pad_integers: bool) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper basic bounds, each (dim,); integers widened by the padding if asked."""

    @abstractmethod
    def min_step_in_basic(self, x: np.ndarray) -> np.ndarray:
        """Basic distance from rows (n, dim) to their nearest distinct representable value.

        Zero for continuous dimensions. The candidate sampler never uses a smaller standard
        deviation, so an integer can always reach its neighbours whatever its scale.
        """

    def compass_moves(self, x: np.ndarray, step: np.ndarray) -> np.ndarray:
        """The moves of compass search from rows x (n, dim) by ``step`` (n, dim): (n, 2 dim,
        dim), each row moved by +step then by -step along one basic coordinate at a time
        (Kolda, Lewis and Torczon, "Optimization by direct search", SIAM Review 2003, section
        3). Unrounded and unclipped; a space whose basic coordinates are not each an axis of
        its own (a one-hot choice) moves to its neighbouring values instead."""
        eye = np.eye(self.dim)
        moves = np.concatenate([eye, -eye])
        return x[:, None, :] + moves[None, :, :] * step[:, None, :]

    def surrogate_inputs(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, dim) as the surrogate models see them; the identity unless the space has
        inactive (conditional) dimensions, which are set to a fixed "absent" value."""
        return x

    def coarse_draws(self, x: np.ndarray) -> np.ndarray:
        """Uniform basic draws (n, dim) reduced to the space's coarse structure for a
        space-filling design; the identity unless the space has one (``ArchSpace``)."""
        return x

    def simplified(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, dim) moved to the nearest value of the space's coarse structure, keeping
        each part's size; the identity unless the space has one (``ArchSpace``)."""
        return x

    def step_groups(self) -> list[np.ndarray]:
        """Index arrays of basic dimensions that a search step may also move together, by one
        shared shift (``Heuristics.coherent_steps``); none unless the space has such structure
        (``ArchSpace``)."""
        return []

    def size_inputs(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, dim) -> (n, k): what a cost model sees of this param. The surrogate inputs,
        unless the space knows a smaller description of a value's size (``ArchSpace``)."""
        return self.surrogate_inputs(x)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description from which ``records.space_from_json`` rebuilds this space."""
        return {"type": type(self).__name__, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class ScalarSpace(Space):
    """A one-dimensional space ``[min, max]``; subclasses define the monotone map to basic."""

    min: float = -math.inf
    max: float = math.inf
    scale: float = 1.0
    is_integer: bool = False
    rounding_factor: int = 1

    def __post_init__(self) -> None:
        self._check_types()
        if not self.scale > 0 or not math.isfinite(self.scale):
            raise ValueError(
                f"{type(self).__name__}: scale must be finite and > 0, got {self.scale}"
            )
        if not self.min < self.max:
            raise ValueError(f"{type(self).__name__}: min ({self.min}) must be < max ({self.max})")
        for bound in (self.min, self.max):
            if math.isfinite(bound) and not self._in_domain(bound) and bound not in self._domain():
                raise ValueError(f"{type(self).__name__}: bound {bound} is outside its domain")
        if self.rounding_factor < 1:
            raise ValueError(f"{type(self).__name__}: rounding_factor must be >= 1")
        if self.rounding_factor != 1 and not self.is_integer:
            raise ValueError(
                f"{type(self).__name__}: rounding_factor applies to integer spaces only"
            )
        self._check_basic_range()
        if self.is_integer and not self._has_integer():
            above = self._domain()[0]
            raise ValueError(
                f"{self!r} holds no value: no multiple of rounding_factor "
                f"{self.rounding_factor} lies in [{self.min}, {self.max}]"
                + (f" above {above}" if math.isfinite(above) else "")
            )

    def _check_types(self) -> None:
        """ValueError naming a field of the wrong type (a bool is not a number here)."""
        name = type(self).__name__
        for field in ("min", "max", "scale"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"{name}: {field} must be a real number, got {value!r}")
            object.__setattr__(self, field, _plain_number(name, field, value, self.is_integer))
        if not isinstance(self.is_integer, bool):
            raise ValueError(f"{name}: is_integer must be True or False, got {self.is_integer!r}")
        if isinstance(self.rounding_factor, bool) or not isinstance(self.rounding_factor, int):
            raise ValueError(
                f"{name}: rounding_factor must be an integer, got {self.rounding_factor!r}"
            )

    def _check_basic_range(self) -> None:
        """ValueError if finite bounds lie more than ``MAX_BASIC_RANGE`` apart in basic units."""
        bounds = (float(self.min), float(self.max))
        if not all(math.isfinite(b) and self._in_domain(b) for b in bounds):
            return  # an infinite or open bound: the initial design draws near the center instead
        low, high = (self._forward_value(b) for b in bounds)
        if not high - low <= MAX_BASIC_RANGE:
            raise ValueError(
                f"{type(self).__name__}: [{self.min}, {self.max}] spans {high - low:.3g} basic "
                f"units at scale {self.scale}; the models square basic distances, which "
                f"overflows past {MAX_BASIC_RANGE:.3g}: narrow the bounds or raise scale"
            )

    def _has_integer(self) -> bool:
        """Whether some multiple of ``rounding_factor`` lies in [min, max] and in the domain."""
        factor, domain_low = self.rounding_factor, self._domain()[0]
        low = max(self.min, domain_low)
        if math.isinf(low):
            return True  # min = -inf on an unbounded domain: every multiple <= max will do
        first = math.ceil(low / factor) * factor
        if first < low:  # low / factor rounded down (it underflows to 0 for a subnormal min)
            first += factor
        if first <= domain_low:  # the domain is open: LogSpace(min=0) starts above 0
            first += factor
        return first <= self.max and self._in_domain(first)

    @property
    def dim(self) -> int:
        return 1

    def _domain(self) -> tuple[float, float]:
        """Open interval on which the transform is defined."""
        return (-math.inf, math.inf)

    def _in_domain(self, value: float) -> bool:
        lo, hi = self._domain()
        return lo < value < hi

    @abstractmethod
    def _forward(self, x: np.ndarray) -> np.ndarray:
        """Param -> basic, elementwise."""

    @abstractmethod
    def _inverse(self, b: np.ndarray) -> np.ndarray:
        """Basic -> param, elementwise."""

    @abstractmethod
    def _forward_value(self, value: float) -> float:
        """``_forward`` of one value inside the domain, in ``math``: checking a space's bounds
        needs no numpy. Only for that check: ``to_basic`` keeps numpy's arithmetic."""

    def _round_param(self, x: np.ndarray) -> np.ndarray:
        if not self.is_integer:
            return x
        return np.round(x / self.rounding_factor) * self.rounding_factor

    def _on_grid(self, value: float) -> bool:
        """Whether an integer space's ``_round_param`` keeps ``value``, in numpy's float
        arithmetic done by Python (round half to even, then a float product), so that
        validating a value needs no numpy."""
        return float(round(value / self.rounding_factor)) * self.rounding_factor == value

    def validate(self, value: Any) -> float | int:
        name = type(self).__name__
        if isinstance(value, bool) or not isinstance(
            value, (int, float, *numpy_types("integer", "floating"))
        ):
            raise ValueError(f"{name}: expected a number, got {value!r}")
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(f"{name}: {reprlib.repr(value)} is too large") from None
        if not math.isfinite(value) or not self._in_domain(value):
            raise ValueError(f"{name}: {value} is outside the domain of the transform")
        if not self.min <= value <= self.max:
            raise ValueError(f"{name}: {value} is outside [{self.min}, {self.max}]")
        if self.is_integer:
            if not self._on_grid(value):
                raise ValueError(
                    f"{name}: {value} is not a multiple of the rounding factor "
                    f"{self.rounding_factor}"
                )
            return int(value)
        return value

    def to_basic(self, value: Any) -> np.ndarray:
        return self._forward(np.array([float(self.validate(value))]))

    def from_basic(self, x: np.ndarray) -> float | int:
        value = float(self._inverse(np.asarray(x, dtype=float).reshape(1))[0])
        value = float(self._round_param(np.array(min(max(value, self.min), self.max))))
        if self.is_integer:
            value = _integer_inside(value, self.min, self.max, self.rounding_factor)
        # a bound on the edge of the domain (LogSpace min=0) is open: stay strictly inside
        lo, hi = self._domain()
        if value <= lo:
            value = lo + self.rounding_factor if self.is_integer else float(np.nextafter(lo, hi))
        elif value >= hi:
            value = hi - self.rounding_factor if self.is_integer else float(np.nextafter(hi, lo))
        return int(value) if self.is_integer else value

    def round_basic(self, x: np.ndarray) -> np.ndarray:
        if not self.is_integer:
            return x
        with np.errstate(invalid="ignore", over="ignore"):
            return self._forward(self._round_param(self._inverse(x)))

    def basic_bounds(self, pad_integers: bool) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.min, self.max
        if self.is_integer and pad_integers:
            lo, hi = lo - INTEGER_BOUND_PADDING, hi + INTEGER_BOUND_PADDING
            domain_lo, domain_hi = self._domain()
            lo, hi = max(lo, (domain_lo + self.min) / 2), min(hi, (domain_hi + self.max) / 2)
        with np.errstate(divide="ignore"):
            return self._forward(np.array([lo])), self._forward(np.array([hi]))

    def min_step_in_basic(self, x: np.ndarray) -> np.ndarray:
        if not self.is_integer:
            return np.zeros_like(x)
        value = self._round_param(self._inverse(x))
        up = np.abs(self._forward(value + self.rounding_factor) - self._forward(value))
        down_value = np.maximum(value - self.rounding_factor, self._domain()[0] + 1e-12)
        down = np.abs(self._forward(value) - self._forward(down_value))
        return np.fmin(up, down)


def _plain_number(space: str, field: str, value: numbers.Real, integer: bool) -> int | float:
    """A bound or scale as a Python int (integral values, numpy's included) or float (the
    rest), as a study file stores it; ValueError if it is beyond a float's range, or, in an
    integer space, beyond 2^53, where floats skip integers and values would silently change."""
    try:
        as_float = float(value)
    except OverflowError:
        raise ValueError(f"{space}: {field} {reprlib.repr(value)} is too large") from None
    if not isinstance(value, numbers.Integral):
        return as_float
    if integer and abs(value) > 2**53:
        raise ValueError(
            f"{space}: {field} {value} is beyond 2**53, where floats skip integers: an integer "
            "space holds its values exactly only inside +-2**53"
        )
    return int(value)


def _integer_inside(value: float, lo: float, hi: float, factor: int) -> float:
    """Move a rounded integer back inside [lo, hi] by whole multiples of ``factor``."""
    while value < lo:
        value += factor
    while value > hi:
        value -= factor
    return value


@dataclass(frozen=True)
class LinearSpace(ScalarSpace):
    """basic = x / scale."""

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return x / self.scale

    def _forward_value(self, value: float) -> float:
        return value / self.scale

    def _inverse(self, b: np.ndarray) -> np.ndarray:
        return b * self.scale


@dataclass(frozen=True)
class LogSpace(ScalarSpace):
    """basic = log10(x) / scale, for 0 < min <= x <= max."""

    min: float = 0.0

    def _domain(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(x) / self.scale

    def _forward_value(self, value: float) -> float:
        return math.log10(value) / self.scale

    def _inverse(self, b: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.power(10.0, b * self.scale)


@dataclass(frozen=True)
class LogitSpace(ScalarSpace):
    """basic = log10(x / (1 - x)) / scale, for 0 < x < 1."""

    min: float = 0.0
    max: float = 1.0

    def __post_init__(self) -> None:
        if self.is_integer:
            raise ValueError("LogitSpace cannot be an integer space")
        super().__post_init__()
        if self.max > 1.0:
            raise ValueError(f"LogitSpace: max {self.max} is outside (0, 1)")

    def _domain(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(x / (1.0 - x)) / self.scale

    def _forward_value(self, value: float) -> float:
        return math.log10(value / (1.0 - value)) / self.scale

    def _inverse(self, b: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.power(10.0, -b * self.scale))


@dataclass(frozen=True)
class PowerOfTwoSpace(ScalarSpace):
    """Integer powers of two in [min, max] (batch sizes); basic = log2(x) / scale."""

    min: float = 1.0
    is_integer: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.is_integer or self.rounding_factor != 1:
            raise ValueError("PowerOfTwoSpace is an integer space with rounding_factor 1")
        for bound in (self.min, self.max):
            if not math.isfinite(bound) or bound < 1 or 2 ** round(math.log2(bound)) != bound:
                raise ValueError(f"PowerOfTwoSpace: bound {bound} is not a power of two >= 1")

    def _domain(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log2(x) / self.scale

    def _forward_value(self, value: float) -> float:
        return math.log2(value) / self.scale

    def _inverse(self, b: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.power(2.0, b * self.scale)

    def _round_param(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.power(2.0, np.round(np.log2(x)))

    def _on_grid(self, value: float) -> bool:
        # an int power: exact, and no overflow for a value just below the float maximum
        return 2 ** round(math.log2(value)) == value

    def validate(self, value: Any) -> int:
        try:
            positive = (
                isinstance(value, (int, float, *numpy_types("integer", "floating")))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and value > 0
            )
        except OverflowError:  # an int too large for a float: refused below as too large
            positive = False
        if positive and not self._on_grid(value):
            raise ValueError(f"PowerOfTwoSpace: {value} is not a power of two")
        return int(super().validate(value))

    def from_basic(self, x: np.ndarray) -> int:
        exponent = round(float(np.asarray(x).reshape(1)[0]) * self.scale)
        exponent = min(max(exponent, round(math.log2(self.min))), round(math.log2(self.max)))
        return 2**exponent

    def min_step_in_basic(self, x: np.ndarray) -> np.ndarray:
        return np.full_like(x, 1.0 / self.scale)


@dataclass(frozen=True)
class Param:
    """A named parameter: its space and its search center, the study's first suggestion (the
    initial design then moves its draws toward it; see ``Heuristics.initial_design``)."""

    name: str
    space: Space
    search_center: Any

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"param name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.space, Space):
            raise TypeError(
                f"param {self.name!r}: space must be a Space such as LinearSpace(min=0, max=1), "
                f"got {type(self.space).__name__} {reprlib.repr(self.space)}"
            )
        try:
            center = self.space.validate(self.search_center)
        except ValueError as error:
            raise ValueError(f"param {self.name!r}: search_center invalid: {error}") from None
        object.__setattr__(self, "search_center", center)


def _check_param_list(params: Any) -> None:
    """TypeError naming what ``params`` is, unless it is a list or tuple of ``Param``."""
    if isinstance(params, dict):
        raise TypeError("params must be a list of Param, got a dict; pass list(params.values())")
    if not isinstance(params, list | tuple):
        raise TypeError(f"params must be a list of Param, got {type(params).__name__}")
    for i, param in enumerate(params):
        if not isinstance(param, Param):
            shown = reprlib.repr(param)
            raise TypeError(f"params[{i}] must be a Param, got {type(param).__name__} {shown}")


class ParamSpace:
    """Several named params stacked into one basic row of width ``dim``."""

    def __init__(self, params: list[Param]) -> None:
        """TypeError unless ``params`` is a list (or tuple) of ``Param``; ValueError if it is
        empty or repeats a name."""
        _check_param_list(params)
        if not params:
            raise ValueError("at least one Param is required")
        names = [p.name for p in params]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate parameter names: {duplicates}")
        self.params = list(params)
        self.names = names
        edges = list(itertools.accumulate((p.space.dim for p in params), initial=0))
        self.slices = [slice(a, b) for a, b in itertools.pairwise(edges)]
        self.dim = edges[-1]

    def validate(self, values: dict[str, Any]) -> dict[str, Any]:
        """Check names and values; return canonical values or raise ``ValueError``."""
        if not isinstance(values, dict):
            raise ValueError(f"params must be a dict, got {type(values).__name__}")
        unknown = sorted(set(values) - set(self.names))
        missing = [n for n in self.names if n not in values]
        if unknown or missing:
            raise ValueError(f"params do not match the space: unknown {unknown}, missing {missing}")
        result = {}
        for param in self.params:
            try:
                result[param.name] = param.space.validate(values[param.name])
            except ValueError as error:
                raise ValueError(f"param {param.name!r}: {error}") from None
        return result

    def key(self, values: dict[str, Any]) -> tuple[Hashable, ...]:
        """A hashable identity of a param dict, equal exactly for the same point of the space
        (each param's ``Space.key``): runs of equal keys form one group of the front.
        ``validate``'s ValueError for invalid params."""
        values = self.validate(values)
        return tuple(p.space.canonical_key(values[p.name]) for p in self.params)

    def to_basic(self, values: dict[str, Any]) -> np.ndarray:
        """Valid param dict -> basic row (dim,)."""
        values = self.validate(values)
        return np.concatenate([p.space.to_basic(values[p.name]) for p in self.params])

    def from_basic(self, x: np.ndarray) -> dict[str, Any]:
        """Basic row (dim,) -> nearest valid param dict."""
        return {
            p.name: p.space.from_basic(x[s]) for p, s in zip(self.params, self.slices, strict=True)
        }

    def _per_param(self, x: np.ndarray, method: str) -> np.ndarray:
        """Each param's space's ``method`` on its columns of rows (n, dim), side by side."""
        return np.concatenate(
            [
                getattr(p.space, method)(x[:, s])
                for p, s in zip(self.params, self.slices, strict=True)
            ],
            axis=1,
        )

    def round_basic(self, x: np.ndarray) -> np.ndarray:
        """Snap rows (n, dim) to representable values, param by param."""
        return self._per_param(x, "round_basic")

    def basic_bounds(self, pad_integers: bool) -> tuple[np.ndarray, np.ndarray]:
        """Stacked lower and upper basic bounds, each (dim,)."""
        bounds = [p.space.basic_bounds(pad_integers) for p in self.params]
        return np.concatenate([b[0] for b in bounds]), np.concatenate([b[1] for b in bounds])

    def min_step_in_basic(self, x: np.ndarray) -> np.ndarray:
        """Stacked per-dimension neighbour distances for rows (n, dim)."""
        return self._per_param(x, "min_step_in_basic")

    def compass_moves(self, x: np.ndarray, step: np.ndarray) -> np.ndarray:
        """Each param's ``Space.compass_moves`` from rows x (n, dim) by ``step`` (n, dim), the
        other params' columns kept: (n, m, dim), m the sum of the params' move counts."""
        blocks = []
        for param, part in zip(self.params, self.slices, strict=True):
            moved = param.space.compass_moves(x[:, part], step[:, part])
            block = np.repeat(x[:, None, :], moved.shape[1], axis=1)
            block[:, :, part] = moved
            blocks.append(block)
        return np.concatenate(blocks, axis=1)

    def surrogate_inputs(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, dim) with each param's inactive dimensions imputed (see ``Space``)."""
        return self._per_param(x, "surrogate_inputs")

    def coarse_draws(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, dim) -> each param's ``Space.coarse_draws``, side by side."""
        return self._per_param(x, "coarse_draws")

    def size_inputs(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, dim) -> each param's ``Space.size_inputs``, side by side."""
        return self._per_param(x, "size_inputs")

    def simplified(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, dim) -> each param's ``Space.simplified``, side by side."""
        return self._per_param(x, "simplified")

    def step_basis(self, variance: float) -> np.ndarray:
        """(dim, g): one column per ``Space.step_groups`` group of every param, sqrt(variance)
        on the group's dimensions and 0 elsewhere; (dim, 0) if no space has groups."""
        columns = []
        for param, part in zip(self.params, self.slices, strict=True):
            for group in param.space.step_groups():
                column = np.zeros(self.dim)
                column[part.start + np.asarray(group)] = math.sqrt(variance)
                columns.append(column)
        return np.array(columns).reshape(-1, self.dim).T

    def center_in_basic(self) -> np.ndarray:
        """Basic row of the search centers."""
        return self.to_basic({p.name: p.search_center for p in self.params})
