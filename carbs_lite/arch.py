"""ArchSpace: nested-list architectures ``[[w11, w12, ...], [w21, ...], ...]`` as basic vectors.

Encoding, for S = max_sub_arches and L = max_layers, a basic row of 1 + S + S*L numbers:

    [n_sub_arches, depth_1 .. depth_S, log2(w_11) .. log2(w_1L), ..., log2(w_S1) .. log2(w_SL)]

divided by ``count_scale`` (counts) and ``width_scale`` (log2 widths). With the default scales
and the default search radius of 0.6 (``TunerConfig.initial_search_radius``), an independent
Gaussian step of one dimension changes a width by a factor of about 2^0.6 = 1.5, and changes a
count (adds or removes a layer or sub-arch) with probability P(|N(0, 0.6^2)| > 0.5) = 0.4.

Inactive dimensions (sub-arches past n, layers past a sub-arch's depth) are filled canonically:
an inactive layer repeats the last active layer's width and an inactive sub-arch repeats the
last active sub-arch, so that growing an arch by one step duplicates its neighbour and every
arch has exactly one encoding (encode -> decode is the identity on valid archs).

Those copies serve the sampler, not the surrogates: to a GP, a one-tower arch encoded with five
identical towers looks like five towers. ``surrogate_inputs`` therefore gives the models each
inactive width as log2(min_size) - 1 (one halving below the smallest layer, "absent") and each
inactive sub-arch's depth as 0, so that size-like quantities (parameters, latency) vary smoothly
with the model inputs.

A space-filling design draws brick towers (``coarse_draws``): one width per sub-arch. Independent
log-uniform widths per layer make nearly every random arch spiky, its widest layer setting its
cost, and its wide or expanding layers the ones most likely to diverge or to count for little.

A search step (``step_groups``) may also shift all of one sub-arch's widths, or all widths, by
a shared amount: in the independent encoding, scaling a whole arch by 1.5x is a step of ~0.6 in
every width dimension (inactive ones copy active widths), far out in the tails of the sampling
Gaussian; as one shared shift it is an ordinary step.

The search scores each Gaussian candidate's brick version too (``simplified``: every layer of
a tower at the tower's mean log2 width), so a run can move from a spiky tower to a flat one of
about the same size in one step.

The cost model sees less: ``size_inputs`` reduces an arch to two numbers, its weights past the
input layer and its total first-layer width (both log2), which is what parameter-bound costs
depend on; with a handful of runs a GP learns a cost from two inputs far better than from 31.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbs_lite.deferred import numpy_types
from carbs_lite.spaces import INTEGER_BOUND_PADDING, Space

if TYPE_CHECKING:
    import numpy as np
else:
    from carbs_lite.deferred import numpy as np

Arch = list[list[int]]


@dataclass(frozen=True)
class ArchSpace(Space):
    """Architectures of 1..max_sub_arches sub-arches of 1..max_layers layers each."""

    max_sub_arches: int = 5
    max_layers: int = 5
    min_size: int = 64
    max_size: int = 2048
    rounding_factor: int = 1
    count_scale: float = 1.0
    width_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("max_sub_arches", "max_layers", "min_size", "max_size", "rounding_factor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ArchSpace: {name} must be an integer >= 1, got {value!r}")
        if self.min_size > self.max_size:
            raise ValueError(f"ArchSpace: min_size {self.min_size} > max_size {self.max_size}")
        if self.min_size % self.rounding_factor or self.max_size % self.rounding_factor:
            raise ValueError(
                "ArchSpace: min_size and max_size must be multiples of rounding_factor"
            )
        for name in ("count_scale", "width_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"ArchSpace: {name} must be a number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"ArchSpace: {name} must be finite and > 0, got {value!r}")
            plain = int(value) if isinstance(value, numbers.Integral) else float(value)
            object.__setattr__(self, name, plain)

    @property
    def dim(self) -> int:
        return 1 + self.max_sub_arches + self.max_sub_arches * self.max_layers

    def canonical_key(self, value: Arch) -> tuple[tuple[int, ...], ...]:
        """The arch as a tuple of tuples of layer sizes."""
        return tuple(tuple(layers) for layers in value)

    def validate(self, value: Any) -> Arch:
        if not isinstance(value, list | tuple):
            raise ValueError(f"arch must be a list of lists, got {type(value).__name__}")
        if not 1 <= len(value) <= self.max_sub_arches:
            raise ValueError(
                f"arch has {len(value)} sub-arches; it needs 1 to {self.max_sub_arches}"
            )
        arch = []
        for i, sub in enumerate(value):
            if not isinstance(sub, list | tuple):
                raise ValueError(f"arch[{i}] must be a list of layer sizes, got {sub!r}")
            if not 1 <= len(sub) <= self.max_layers:
                raise ValueError(
                    f"arch[{i}] has {len(sub)} layers; it needs 1 to {self.max_layers}"
                )
            arch.append(
                [self._validate_size(size, f"arch[{i}][{j}]") for j, size in enumerate(sub)]
            )
        return arch

    def _validate_size(self, size: Any, where: str) -> int:
        is_integral = isinstance(size, (int, *numpy_types("integer"))) or (
            isinstance(size, (float, *numpy_types("floating"))) and float(size).is_integer()
        )
        if isinstance(size, bool) or not is_integral:
            raise ValueError(f"{where} = {size!r} is not an integer layer size")
        if not self.min_size <= size <= self.max_size:
            raise ValueError(f"{where} = {size} is outside {self.min_size}..{self.max_size}")
        if int(size) % self.rounding_factor:
            raise ValueError(f"{where} = {size} is not a multiple of {self.rounding_factor}")
        return int(size)

    def to_basic(self, value: Any) -> np.ndarray:
        arch = self.validate(value)
        row = np.empty(self.dim)
        row[0] = len(arch)
        row[1 : 1 + len(arch)] = [len(sub) for sub in arch]
        log_widths = np.empty((self.max_sub_arches, self.max_layers))
        for i, sub in enumerate(arch):
            log_widths[i, : len(sub)] = np.log2(sub)
        self._fill_inactive(row, log_widths)
        return self._scaled(row, log_widths)

    def _fill_inactive(self, counts: np.ndarray, log_widths: np.ndarray) -> None:
        """Fill inactive depths and widths in place by repeating the last active ones."""
        n = int(counts[0])
        counts[1 + n : 1 + self.max_sub_arches] = counts[n]
        log_widths[n:] = log_widths[n - 1]
        for i in range(self.max_sub_arches):
            depth = int(counts[1 + i])
            log_widths[i, depth:] = log_widths[i, depth - 1]

    def _scaled(self, counts: np.ndarray, log_widths: np.ndarray) -> np.ndarray:
        row = counts.copy()
        row[: 1 + self.max_sub_arches] /= self.count_scale
        row[1 + self.max_sub_arches :] = log_widths.ravel() / self.width_scale
        return row

    def _split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Basic row -> (unscaled counts row with room for widths, log2 widths (S, L))."""
        counts = np.array(x, dtype=float)
        counts[: 1 + self.max_sub_arches] *= self.count_scale
        log_widths = (
            counts[1 + self.max_sub_arches :].reshape(self.max_sub_arches, self.max_layers)
            * self.width_scale
        )
        return counts, log_widths

    def _round_width(self, log_width: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            width = np.round(np.power(2.0, log_width) / self.rounding_factor) * self.rounding_factor
        return width

    def from_basic(self, x: np.ndarray) -> Arch:
        counts, log_widths = self._split(np.asarray(x, dtype=float))
        n = int(np.clip(np.round(counts[0]), 1, self.max_sub_arches))
        depths = np.clip(np.round(counts[1 : 1 + n]), 1, self.max_layers).astype(int)
        widths = np.clip(self._round_width(log_widths), self.min_size, self.max_size).astype(int)
        return [[int(w) for w in widths[i, : depths[i]]] for i in range(n)]

    def round_basic(self, x: np.ndarray) -> np.ndarray:
        rows = []
        for row in np.asarray(x, dtype=float):
            counts, log_widths = self._split(row)
            counts[: 1 + self.max_sub_arches] = np.round(counts[: 1 + self.max_sub_arches])
            with np.errstate(divide="ignore"):
                log_widths = np.log2(self._round_width(log_widths))
            clipped = counts.copy()
            clipped[0] = np.clip(counts[0], 1, self.max_sub_arches)
            clipped[1 : 1 + self.max_sub_arches] = np.clip(
                counts[1 : 1 + self.max_sub_arches], 1, self.max_layers
            )
            self._fill_inactive(clipped, log_widths)
            clipped[0] = counts[0]
            n = int(np.clip(counts[0], 1, self.max_sub_arches))
            clipped[1 : 1 + n] = counts[1 : 1 + n]
            rows.append(self._scaled(clipped, log_widths))
        return np.array(rows).reshape(np.shape(x))

    def basic_bounds(self, pad_integers: bool) -> tuple[np.ndarray, np.ndarray]:
        pad = INTEGER_BOUND_PADDING if pad_integers else 0.0
        counts_lo = np.full(1 + self.max_sub_arches, 1 - pad)
        counts_hi = np.concatenate(
            [[self.max_sub_arches + pad], np.full(self.max_sub_arches, self.max_layers + pad)]
        )
        size = self.max_sub_arches * self.max_layers
        widths_lo = np.full(size, math.log2(self.min_size - pad))
        widths_hi = np.full(size, math.log2(self.max_size + pad))
        return (
            np.concatenate([counts_lo / self.count_scale, widths_lo / self.width_scale]),
            np.concatenate([counts_hi / self.count_scale, widths_hi / self.width_scale]),
        )

    def _active_counts(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows (n, dim) -> (which sub-arches are active (n, S), every sub-arch's depth (n, S)),
        counts rounded and clipped to their ranges as ``from_basic`` decodes them."""
        s = self.max_sub_arches
        counts = x[:, : 1 + s] * self.count_scale
        n = np.clip(np.round(counts[:, 0]), 1, s)
        depths = np.clip(np.round(counts[:, 1:]), 1, self.max_layers).astype(int)
        return np.arange(s)[None, :] < n[:, None], depths

    def surrogate_inputs(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, dim) with inactive widths at log2(min_size) - 1 and inactive depths at 0."""
        x = np.array(x, dtype=float)
        s, layers = self.max_sub_arches, self.max_layers
        active_sub, depths = self._active_counts(x)
        active = active_sub[:, :, None] & (np.arange(layers)[None, None, :] < depths[:, :, None])
        x[:, 1 : 1 + s] = np.where(active_sub, x[:, 1 : 1 + s], 0.0)
        absent = (math.log2(self.min_size) - 1) / self.width_scale
        x[:, 1 + s :] = np.where(active.reshape(len(x), s * layers), x[:, 1 + s :], absent)
        return x

    def _widths(self, x: np.ndarray) -> np.ndarray:
        """The basic width entries of rows (n, dim) as (n, S, L)."""
        s, layers = self.max_sub_arches, self.max_layers
        return x[:, 1 + s :].reshape(len(x), s, layers)

    def _bricks(self, x: np.ndarray, tower_widths: np.ndarray) -> np.ndarray:
        """Rows (n, dim) with every layer of sub-arch i at ``tower_widths[:, i]`` (basic units)."""
        x = np.array(x, dtype=float)
        s, layers = self.max_sub_arches, self.max_layers
        x[:, 1 + s :] = np.repeat(tower_widths[:, :, None], layers, axis=2).reshape(
            len(x), s * layers
        )
        return x

    def coarse_draws(self, x: np.ndarray) -> np.ndarray:
        """Uniform draws (n, dim) as brick towers: every layer of a sub-arch takes its first
        layer's width, so a draw fills (sub-arch count, depths, one width per sub-arch)."""
        return self._bricks(x, self._widths(np.asarray(x, dtype=float))[:, :, 0])

    def simplified(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, dim) with brick towers: every layer of a sub-arch takes the mean log2 width
        of its layers (so the tower keeps about its size); counts and depths unchanged."""
        x = np.asarray(x, dtype=float)
        _, depths = self._active_counts(x)
        active = np.arange(self.max_layers)[None, None, :] < depths[:, :, None]
        mean = (self._widths(x) * active).sum(axis=2) / active.sum(axis=2)
        return self._bricks(x, mean)

    def step_groups(self) -> list[np.ndarray]:
        """Each sub-arch's width dimensions, then all width dimensions: a step can widen or
        narrow one tower, or the whole arch, by a common factor."""
        s, layers = self.max_sub_arches, self.max_layers
        towers = [1 + s + i * layers + np.arange(layers) for i in range(s)]
        return [*towers, 1 + s + np.arange(s * layers)]

    def size_inputs(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, dim) -> (n, 2): log2 of the weights past the input layer, the sum over
        sub-arches of (sum_j w_j w_j+1 + w_last), and log2 of the total first-layer width sum w_1.
        An arch reading a d-wide input has d * 2^(second) + 2^(first) weights, so parameter-bound
        costs (latency, memory, QPS) are smooth in these two numbers whatever d is."""
        x = np.asarray(x, dtype=float)
        active_sub, depths = self._active_counts(x)
        widths = np.power(2.0, self._widths(x) * self.width_scale)
        next_active = np.arange(1, self.max_layers)[None, None, :] < depths[:, :, None]
        hidden = (widths[:, :, :-1] * widths[:, :, 1:] * next_active).sum(axis=2)
        last = np.take_along_axis(widths, depths[:, :, None] - 1, axis=2)[:, :, 0]
        past_input = ((hidden + last) * active_sub).sum(axis=1)
        first = (widths[:, :, 0] * active_sub).sum(axis=1)
        return np.stack([np.log2(past_input), np.log2(first)], axis=1)

    def min_step_in_basic(self, x: np.ndarray) -> np.ndarray:
        counts = np.full((x.shape[0], 1 + self.max_sub_arches), 1.0 / self.count_scale)
        width = np.power(2.0, x[:, 1 + self.max_sub_arches :] * self.width_scale)
        step = np.log2((width + self.rounding_factor) / width) / self.width_scale
        return np.concatenate([counts, step], axis=1)
