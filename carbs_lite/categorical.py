"""CategoricalSpace: an unordered choice among a few values, one-hot in the basic space.

Encoding, for k choices: the basic vector of choice i is e_i, the i-th unit vector of k
numbers; any basic vector reads out as the choice at its largest coordinate (argmax), which is
also how ``round_basic`` snaps a Gaussian step back to a vertex. Every two distinct choices are
then equally far apart (squared distance 2), so the surrogates' kernels see an unordered
choice: for a shared lengthscale this is the Hamming-distance kernel that Optuna's GP sampler
uses on a choice stored as one index (``optuna/_gp/gp.py``), and per-coordinate lengthscales
let the output model learn that some choices are more alike than others. An index with
Gaussian steps (one dimension) would instead make choice 1 "between" choices 0 and 2.

A search step around a center with choice i adds N(0, s^2) to each coordinate and reads out the
argmax. The step's standard deviation s is at least 1 (``min_step_in_basic``, as an integer's
step is at least the distance to its neighbour), so that a step leaves the center's choice
often enough whatever the search radius: with s = 1 and k = 4, 45% of the steps do (25% at
the default radius 0.6 without that floor). On the ``categorical-4x2d`` benchmark problem (10
seeds, 20 tries) both settings ended on the best choice in every seed under CARBS's
acquisition; with the floor each seed first tried it by try 12, without it by try 17. Since
the acquisition became plain EI (issue #14), 7 of 10 seeds ended on it, and 10 of 10 since the
GPs' Matern 5/2 kernel and wider noise prior (ablations/RESULTS.md).

The basic bounds are the unit cube [0, 1]^k, which every vertex lies in. Scored unrounded
(``CandidateRounding.FINAL_PICK_ONLY``), a step must land inside that cube in every one-hot
coordinate, which few do (about 1% for k = 4 and s = 1), so that ablation variant searches a
categorical param mostly through its fallback steps.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carbs_lite.deferred import numpy_types
from carbs_lite.spaces import Space

if TYPE_CHECKING:
    import numpy as np
else:
    from carbs_lite.deferred import numpy as np

Choice = str | int | float | bool
"""What a categorical param's value may be (a JSON scalar other than null)."""


def _key(value: Any) -> tuple[str, Any] | None:
    """A type-aware identity for a choice: True is not 1, 1 is 1.0, 'a' is only 'a'; None for
    a value that cannot be a choice (not a string, a finite number or a boolean)."""
    if isinstance(value, (bool, *numpy_types("bool_"))):
        return ("bool", bool(value))
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, (int, *numpy_types("integer"))):
        # beyond 2^53 two integers can share a float: refused rather than merged
        return ("number", float(value)) if abs(int(value)) <= 2**53 else None
    if isinstance(value, (float, *numpy_types("floating"))) and math.isfinite(value):
        return ("number", float(value))
    return None


@dataclass(frozen=True, eq=False)
class CategoricalSpace(Space):
    """One of ``choices`` (at least 2 distinct strings, finite numbers or booleans), unordered.

    Basic vector (k,) with k = len(choices): one-hot, read out by argmax (see the module).
    P_search for a categorical step: a candidate that keeps the center's choice adds nothing to
    the squared step distance r^2; one that switches adds 2 / s^2 (two coordinates differ by 1,
    s >= 1 the step std), i.e. a factor of at most exp(-1) ~ 0.37 under CARBS's
    ``SearchProbability.DENSITY``, and barely any under the default ``TAIL``. Every other
    choice is equally likely, as in the sampler.
    ValueError at construction names a bad, repeated or missing choice. Two spaces are equal
    when their choices are, in order and by the same type-aware rule as ``validate`` (the
    choice True is not the choice 1).
    """

    choices: tuple[Choice, ...]

    def __post_init__(self) -> None:
        if isinstance(self.choices, str | bytes) or not isinstance(self.choices, list | tuple):
            raise ValueError(
                f"CategoricalSpace: choices must be a list of values, got {self.choices!r}"
            )
        keys = []
        for choice in self.choices:
            key = _key(choice)
            if key is None:
                raise ValueError(
                    "CategoricalSpace: each choice must be a string, a finite number (an "
                    f"integer within +-2**53) or a boolean, got {reprlib.repr(choice)}"
                )
            if key in keys:
                raise ValueError(f"CategoricalSpace: choice {choice!r} appears twice")
            keys.append(key)
        if len(keys) < 2:
            raise ValueError(
                f"CategoricalSpace: needs at least 2 choices, got {list(self.choices)!r}"
            )
        canonical = tuple(_plain(c) for c in self.choices)
        object.__setattr__(self, "choices", canonical)
        object.__setattr__(self, "_keys", tuple(keys))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CategoricalSpace) and self._keys == other._keys

    def __hash__(self) -> int:
        return hash(self._keys)

    @property
    def dim(self) -> int:
        return len(self.choices)

    def index(self, value: Any) -> int:
        """Position of ``value`` in ``choices``; ValueError listing the choices if absent."""
        key = _key(value)
        if key in self._keys:
            return self._keys.index(key)
        raise ValueError(f"{value!r} is not one of the choices {list(self.choices)!r}")

    def validate(self, value: Any) -> Choice:
        return self.choices[self.index(value)]

    def canonical_key(self, value: Choice) -> int:
        """The choice's position (``index``): 1 and 1.0 are one choice, True another."""
        return self.index(value)

    def to_basic(self, value: Any) -> np.ndarray:
        return np.eye(self.dim)[self.index(value)]

    def from_basic(self, x: np.ndarray) -> Choice:
        return self.choices[int(np.argmax(np.asarray(x, dtype=float).reshape(self.dim)))]

    def round_basic(self, x: np.ndarray) -> np.ndarray:
        return np.eye(self.dim)[np.argmax(x, axis=1)]

    def basic_bounds(self, pad_integers: bool) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(self.dim), np.ones(self.dim)

    def min_step_in_basic(self, x: np.ndarray) -> np.ndarray:
        return np.ones_like(x)

    def compass_moves(self, x: np.ndarray, step: np.ndarray) -> np.ndarray:
        """Every other choice's vertex from each row x (n, k): (n, k - 1, k). A one-hot
        coordinate is no axis to step along: +1 on another choice's coordinate ties it with
        the current one (argmax takes the first), and -1 on the current one reads as choice 0,
        so axis steps would reach only lower choices. ``step`` plays no part: every two
        choices are one move apart."""
        current = np.argmax(x, axis=1)
        others = np.array([[j for j in range(self.dim) if j != i] for i in current], dtype=int)
        return np.eye(self.dim)[others.reshape(len(x), self.dim - 1)]

    def to_json(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "choices": list(self.choices)}


def _plain(choice: Choice) -> Choice:
    """A numpy scalar as the Python value it holds (so the space writes plain JSON)."""
    return choice.item() if isinstance(choice, numpy_types("generic")) else choice
