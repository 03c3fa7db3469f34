"""A search space written as TOML: one table per param, read by ``carbs-lite init --space``.

    [lr]
    kind = "log"          # linear, log, logit, pow2, architecture or categorical (KINDS)
    min = 1e-5
    max = 1e-1
    center = 1e-3         # optional: the first suggestion; default the middle in basic space
                          # (required when a bound is open: log min = 0, logit 0 or 1)

    [width]
    kind = "linear"
    min = 16
    max = 1024
    integer = true
    rounding = 16         # integers only: values are multiples of this (arch too)
    scale = 100.0         # optional: the param's unit length in basic space

    [arch]
    kind = "architecture" # nested-list architectures (ArchSpace)
    max_sub_arches = 3
    max_layers = 4
    min_size = 64
    max_size = 2048
    center = [[64, 64]]

    [optimizer]
    kind = "categorical"  # one of the choices, unordered (CategoricalSpace)
    choices = ["adam", "sgd", "lion"]
    center = "adam"       # optional: default the first choice

A new kind is one entry in ``KINDS``: a function from the table to a ``Space``. Every error is a
``SpaceFileError`` naming the param and the field.
"""

from __future__ import annotations

import math
import reprlib
import tomllib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carbs_lite.arch import ArchSpace
from carbs_lite.categorical import CategoricalSpace
from carbs_lite.spaces import LinearSpace, LogitSpace, LogSpace, Param, PowerOfTwoSpace, Space

if TYPE_CHECKING:
    import numpy as np
else:
    from carbs_lite.deferred import numpy as np


class SpaceFileError(ValueError):
    """A space file that cannot be read; the message names the param and the field."""


SCALAR_KINDS: dict[str, type[Space]] = {
    "linear": LinearSpace,
    "log": LogSpace,
    "logit": LogitSpace,
    "pow2": PowerOfTwoSpace,
}
SCALAR_FIELDS = {"min": "min", "max": "max", "scale": "scale", "integer": "is_integer"}
SCALAR_FIELDS["rounding"] = "rounding_factor"
ARCH_FIELDS = {f: f for f in ("max_sub_arches", "max_layers", "min_size", "max_size")}
ARCH_FIELDS |= {"rounding": "rounding_factor", "count_scale": "count_scale"}
ARCH_FIELDS["width_scale"] = "width_scale"


def _number(name: str, field: str, value: Any) -> float:
    try:
        number = not isinstance(value, bool) and isinstance(value, int | float)
        number = number and math.isfinite(value)
    except OverflowError:  # an int too large for a float
        number = False
    if not number:
        shown = reprlib.repr(value)
        raise SpaceFileError(f"param {name!r}: field {field!r}: expected a number, got {shown}")
    return value


def _scalar(space_type: type[Space], name: str, table: dict[str, Any]) -> Space:
    """A linear/log/logit/pow2 space from ``min``, ``max`` and the optional fields."""
    fields = {}
    for key, value in table.items():
        if key == "integer":
            if not isinstance(value, bool):
                raise SpaceFileError(f"param {name!r}: field 'integer': expected true or false")
        elif key == "rounding":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpaceFileError(f"param {name!r}: field 'rounding': expected an integer >= 1")
        else:
            _number(name, key, value)
        fields[SCALAR_FIELDS[key]] = value
    for key in ("min", "max"):
        if key not in table:
            raise SpaceFileError(f"param {name!r}: field {key!r} is missing")
    if not table["min"] < table["max"]:
        raise SpaceFileError(f"param {name!r}: field 'min' must be < 'max'")
    return space_type(**fields)


def _arch(name: str, table: dict[str, Any]) -> Space:
    """An ``ArchSpace`` from its optional size and count fields."""
    for key, value in table.items():
        _number(name, key, value)
    return ArchSpace(**{ARCH_FIELDS[k]: v for k, v in table.items()})


def _categorical(name: str, table: dict[str, Any]) -> Space:
    """A ``CategoricalSpace`` from its ``choices`` array."""
    if "choices" not in table:
        raise SpaceFileError(f"param {name!r}: field 'choices' is missing")
    try:
        return CategoricalSpace(table["choices"])
    except ValueError as error:
        reason = str(error).removeprefix("CategoricalSpace: ")
        raise SpaceFileError(f"param {name!r}: field 'choices': {reason}") from None


KINDS: dict[str, tuple[Callable[[str, dict[str, Any]], Space], tuple[str, ...]]] = {
    **{kind: (partial(_scalar, cls), tuple(SCALAR_FIELDS)) for kind, cls in SCALAR_KINDS.items()},
    "architecture": (_arch, tuple(ARCH_FIELDS)),
    "categorical": (_categorical, ("choices",)),
}
"""kind -> (builder from the param's fields, the fields it takes besides kind and center)."""


def _default_center(name: str, space: Space) -> Any:
    """The middle of the space in basic coordinates (its first suggestion by default); the
    first choice of a categorical param. ``SpaceFileError`` if a bound is open (a log
    param's min = 0, a logit param's 0 or 1): the space then has no middle."""
    if isinstance(space, ArchSpace):
        return [[space.min_size]]
    if isinstance(space, CategoricalSpace):
        return space.choices[0]
    low, high = space.basic_bounds(pad_integers=False)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise SpaceFileError(
            f"param {name!r}: field 'center' is missing; with min = {space.min} and "
            f"max = {space.max} the space is unbounded in basic space, so it has no middle to "
            "start from: give a center (or bounds inside the transform's domain)"
        )
    return space.from_basic((np.asarray(low) + np.asarray(high)) / 2)


def param_from_table(name: str, table: Any) -> Param:
    """One ``Param`` from its TOML table; ``SpaceFileError`` naming the bad field."""
    if not isinstance(table, dict):
        raise SpaceFileError(f"param {name!r}: expected a table ([{name}]), got {table!r}")
    kind = table.get("kind")
    if kind is None:
        raise SpaceFileError(f"param {name!r}: field 'kind' is missing; one of {list(KINDS)}")
    if kind not in KINDS:
        raise SpaceFileError(f"param {name!r}: field 'kind': {kind!r} is not one of {list(KINDS)}")
    build, known = KINDS[kind]
    fields = {k: v for k, v in table.items() if k not in ("kind", "center")}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise SpaceFileError(
            f"param {name!r}: unknown field {unknown[0]!r}; a {kind} param takes "
            f"{[*known, 'center']}"
        )
    try:
        space = build(name, fields)
    except SpaceFileError:
        raise
    except (TypeError, ValueError) as error:
        raise SpaceFileError(f"param {name!r}: {_field_of(fields, str(error))}{error}") from None
    center = table["center"] if "center" in table else _default_center(name, space)
    try:
        return Param(name, space, space.validate(center))
    except ValueError as error:
        raise SpaceFileError(f"param {name!r}: field 'center': {error}") from None


def _field_of(fields: dict[str, Any], message: str) -> str:
    """ "field 'min': " when a space's own error is about a bound (it names the value only)."""
    for key in ("min", "max"):
        if key in fields and f"bound {fields[key]}" in message:
            return f"field {key!r}: "
    return ""


def params_from_toml(text: str) -> list[Param]:
    """Every param of a space file's text, in file order; ``SpaceFileError`` if any is bad."""
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpaceFileError(f"not valid TOML: {error}") from None
    if not tables:
        raise SpaceFileError("no params: write one [NAME] table per param")
    return [param_from_table(name, table) for name, table in tables.items()]


def load_space_file(path: str | Path) -> list[Param]:
    """``params_from_toml`` of the file at ``path``; errors are prefixed with the path
    (``SpaceFileError``, also for a file that is not UTF-8 text; OSError if unreadable)."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpaceFileError(
            f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8 TOML"
        ) from None
    try:
        return params_from_toml(text)
    except SpaceFileError as error:
        raise SpaceFileError(f"{path}: {error}") from None
