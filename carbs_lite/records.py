"""Frozen records that travel between the tuner, its files and its users.

``Suggestion`` and ``Observation`` are what a user handles; ``StudyState`` is everything
needed to continue a study, and its JSON form is the study file's content. The same history as
arrays in the basic space, for the search, is ``study_data.StudyData``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import reprlib
from dataclasses import dataclass
from typing import Any

from carbs_lite.arch import ArchSpace
from carbs_lite.categorical import CategoricalSpace
from carbs_lite.config import TunerConfig
from carbs_lite.curves import ProgressPoint, check_next_point
from carbs_lite.heuristics import Heuristics
from carbs_lite.spaces import (
    LinearSpace,
    LogitSpace,
    LogSpace,
    Param,
    PowerOfTwoSpace,
    Space,
)

STATE_FORMAT = "carbs_lite.tuner"
STATE_VERSION = 1

SPACE_TYPES: dict[str, type[Space]] = {
    cls.__name__: cls
    for cls in (LinearSpace, LogSpace, LogitSpace, PowerOfTwoSpace, ArchSpace, CategoricalSpace)
}
"""Space classes by the name ``Space.to_json`` writes."""


class StateFileError(ValueError):
    """A study file that cannot be read: corrupted, not ours, or from a newer version."""


@dataclass(frozen=True)
class Diagnostics:
    """Why a suggestion was made: model predictions at the pick and its acquisition terms.

    ``source`` is one of "center" (the first suggestion of a study is the search center),
    "random" (the initial design), "search" (acquisition), "resample" (a front point re-run)
    or "fallback" (random around the front after a model failure). Model fields are NaN
    where no model was used.
    """

    source: str
    predicted_output: float = math.nan
    predicted_cost: float = math.nan
    expected_improvement: float = math.nan
    p_search: float = math.nan
    p_success: float = math.nan
    acquisition: float = math.nan
    search_radius: float = math.nan
    num_candidates: int = 0

    def to_json(self) -> dict[str, Any]:
        """Plain values; NaN becomes None so the file stays standard JSON."""
        return {k: (None if _is_nan(v) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Diagnostics:
        return cls(**{k: (math.nan if v is None else v) for k, v in data.items()})


def suggestion_id(count: int, tag: str) -> str:
    """A suggestion's id: the number of suggestions made before it (5 digits at least, so
    that ids sort in order) and a random ``tag``, e.g. "00012-3fa2c1"."""
    return f"{count:05d}-{tag}"


def suggestion_key(suggestion: Any) -> str:
    """The id of ``suggestion`` (a ``Suggestion`` or its id); ValueError for anything else."""
    wanted = suggestion.id if isinstance(suggestion, Suggestion) else suggestion
    if not isinstance(wanted, str):
        raise ValueError(f"expected a Suggestion or its id, got {type_name(suggestion)}")
    return wanted


@dataclass(frozen=True)
class Suggestion:
    """A point to evaluate next; pass it (or its ``params``) back to ``observe``.

    ``progress`` holds the intermediate results of its running try, oldest first
    (``Study.observe_progress``): its learning curve so far, moved into ``Observation.curve``
    when it is observed.
    """

    id: str
    params: dict[str, Any]
    diagnostics: Diagnostics
    progress: tuple[ProgressPoint, ...] = ()

    def copy(self) -> Suggestion:
        """This suggestion with its own ``params``: the caller may change the copy's dict
        (e.g. add fixed settings) without changing what the study recorded."""
        return dataclasses.replace(self, params=json_copy(self.params))

    def renumbered(self, count: int) -> Suggestion:
        """This suggestion with the id it gets as suggestion number ``count`` (its tag kept)."""
        return dataclasses.replace(self, id=suggestion_id(count, self.id.partition("-")[2]))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON; ``progress`` only when there is some, so files without learning curves
        stay as earlier versions wrote and read them."""
        data = {"id": self.id, "params": self.params, "diagnostics": self.diagnostics.to_json()}
        if self.progress:
            data["progress"] = [p.to_json() for p in self.progress]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Suggestion:
        """Parse ``to_json`` output; TypeError for a field of the wrong type, ValueError for a
        learning curve ``Study.observe_progress`` would have refused."""
        progress = _curve_from_json(data.get("progress", []), f"suggestion {data['id']!r}")
        _expect(data["id"], str, "suggestion id")
        _expect(data["params"], dict, f"suggestion {data['id']!r}: params")
        return cls(data["id"], data["params"], Diagnostics.from_json(data["diagnostics"]), progress)


@dataclass(frozen=True)
class Observation:
    """A finished evaluation; ``cost`` is finite and > 0, ``output`` NaN if it was not finite.

    ``diagnostics`` are those of the suggestion it answers (None for points the user chose);
    ``extra`` holds JSON-ready user data. ``counts_as_try``: a point the user chose that still
    uses one of the study's tries (an answered suggestion always does; see
    ``StudyState.tries_used``). ``curve`` is the try's learning curve, its intermediate results
    (``Study.observe_progress``) in step order; ``curves.learning_curve`` also reads the older
    ``extra["curve"]`` lists. ``stopped`` is why the try was stopped early (``Study.stop``),
    None if it ran to the end: a stopped try is a failure (``is_failure``) whose output and cost
    are those of its last intermediate result.
    """

    params: dict[str, Any]
    output: float
    cost: float
    is_failure: bool = False
    suggestion_id: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    diagnostics: Diagnostics | None = None
    counts_as_try: bool = False
    curve: tuple[ProgressPoint, ...] = ()
    stopped: str | None = None

    def copy(self) -> Observation:
        """This observation with its own ``params`` and ``extra`` (see ``Suggestion.copy``)."""
        return dataclasses.replace(self, params=json_copy(self.params), extra=json_copy(self.extra))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON; ``curve`` and ``stopped`` only when set, so that a study without
        learning curves reads as earlier versions wrote it."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["output"] = None if _is_nan(self.output) else self.output
        data["diagnostics"] = self.diagnostics.to_json() if self.diagnostics else None
        data["curve"] = [p.to_json() for p in self.curve]
        for name in ("curve", "stopped"):
            if not data[name]:
                del data[name]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Observation:
        """Parse ``to_json`` output; TypeError for a field of the wrong type, ValueError for a
        null output that is not a failure or a learning curve ``observe_progress`` would have
        refused."""
        fields = dict(data)
        where = f"observation of suggestion {fields.get('suggestion_id')!r}"
        output = fields.get("output")
        if output is not None:
            _expect(output, int | float, f"{where}: output")
        elif not fields.get("is_failure"):
            raise ValueError(f"{where}: a null output is a failure, but is_failure is not true")
        fields["output"] = math.nan if output is None else output
        _expect(fields["params"], dict, f"{where}: params")
        for name, kind in (("is_failure", bool), ("counts_as_try", bool), ("extra", dict)):
            if name in fields:
                _expect(fields[name], kind, f"{where}: {name}")
        for name in ("suggestion_id", "stopped"):
            if fields.get(name) is not None:
                _expect(fields[name], str, f"{where}: {name}")
        if fields.get("diagnostics") is not None:
            fields["diagnostics"] = Diagnostics.from_json(fields["diagnostics"])
        fields["curve"] = _curve_from_json(fields.get("curve", []), where)
        return cls(**fields)


def _expect(value: Any, kind: type | Any, what: str) -> None:
    """TypeError naming ``what`` unless ``value`` is a ``kind`` (a bool is not a number)."""
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise TypeError(f"{what} has the wrong type: {reprlib.repr(value)}")


def _curve_from_json(points: Any, where: str) -> tuple[ProgressPoint, ...]:
    """A learning curve read from a file, each point checked as ``observe_progress`` would."""
    _expect(points, list, f"{where}: learning curve")
    curve: list[ProgressPoint] = []
    for data in points:
        point = ProgressPoint.from_json(data)
        check_next_point(f"{where}: learning curve", curve[-1] if curve else None, point)
        curve.append(point)
    return tuple(curve)


def json_extra(extra: Any) -> dict[str, Any]:
    """``extra`` (a dict, or None for {}) as it reads back from a study file: tuples become
    lists and numpy floats floats. TypeError naming the first part that is not JSON data
    (dicts with string keys, lists, tuples, strings, finite numbers, booleans, None)."""
    if extra is None:
        return {}
    if not isinstance(extra, dict):
        raise TypeError(f"extra must be a dict, got {type(extra).__name__}")
    try:
        problem = _non_json(extra, "extra", set())
    except RecursionError:
        problem = "extra is nested too deeply to write"
    if problem:
        raise TypeError(problem)
    return json.loads(json.dumps(extra))


def json_copy(value: Any) -> Any:
    """A copy of JSON data (dicts, lists, tuples of scalars) that shares no container with it."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(json_copy(item) for item in value)
    return value


def _non_json(value: Any, where: str, containers: set[int]) -> str | None:
    """What makes ``value`` (at ``where``) not JSON data, or None if it is JSON data."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} is {value}: JSON has no NaN or infinity; record None instead"
    if isinstance(value, int) and value.bit_length() > 14_000:
        # Python writes ints of at most 4,300 digits (sys.set_int_max_str_digits)
        return f"{where} is an integer of {value.bit_length()} bits, too long to write"
    if value is None or isinstance(value, str | int | float):
        return None
    if not isinstance(value, dict | list | tuple):
        return (
            f"{where} is a {type_name(value)}, not JSON data (dict, list, str, number, bool or None); "
            "convert it first, e.g. with .tolist() or float()"
        )
    if id(value) in containers:
        return f"{where} contains itself"
    containers = containers | {id(value)}
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has a key {key!r} that is not a string"
            problem = _non_json(item, f"{where}[{key!r}]", containers)
            if problem:
                return problem
        return None
    for i, item in enumerate(value):
        problem = _non_json(item, f"{where}[{i}]", containers)
        if problem:
            return problem
    return None


def type_name(value: Any) -> str:
    """The qualified name of ``value``'s type for messages: "numpy.ndarray", "str"."""
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def is_feasible(is_failure: bool, cost: float, cap: float | None) -> bool:
    """A run counts if it did not fail and cost < cap (any cost when there is no cap)."""
    return not is_failure and (cap is None or cost < cap)


def best_feasible(observations: list[Observation], config: TunerConfig) -> Observation | None:
    """The feasible observation (``is_feasible`` under ``config.max_suggestion_cost``) with the
    best output in ``config.direction``; the earliest on ties; None if none is feasible."""
    cap = config.max_suggestion_cost
    feasible = [o for o in observations if is_feasible(o.is_failure, o.cost, cap)]
    if not feasible:
        return None
    return max(feasible, key=lambda o: config.sign * o.output)


@dataclass(frozen=True)
class ParetoPoint:
    """A point on the cost/output front: mean output and mean cost of its ``count`` runs."""

    params: dict[str, Any]
    output: float
    cost: float
    count: int


@dataclass(frozen=True)
class Metrics:
    """How a study names what it measures, for reports and the command line.

    ``output`` and ``cost`` name the two metrics (``*_unit`` their units), ``step`` the x axis
    of learning curves (``curves.learning_curve``). When ``cost_inverse`` is set, reports
    show 1 / cost under that name (e.g. "QPS" for a cost of 1/QPS). ``task`` names a preset in
    ``carbs_lite.tasks`` (e.g. "ads-arch") that adds its own report panels and CLI flags.
    """

    output: str = "output"
    output_unit: str = ""
    cost: str = "cost"
    cost_unit: str = ""
    cost_inverse: str | None = None
    step: str = "step"
    task: str | None = None

    def __post_init__(self) -> None:
        """ValueError for a field that is not text (``task`` and ``cost_inverse`` may be None)
        or a ``task`` that names no preset, at construction, not when a report is drawn."""
        from carbs_lite.tasks import PRESETS

        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            optional = field.name in ("task", "cost_inverse")
            if not (isinstance(value, str) or (optional and value is None)):
                raise ValueError(f"Metrics.{field.name} must be text, got {value!r}")
        if self.task is not None and self.task not in PRESETS:
            raise ValueError(f"Metrics.task: unknown task {self.task!r}; known: {sorted(PRESETS)}")

    @property
    def cost_name(self) -> str:
        """The name costs are shown under: ``cost_inverse`` if set, else ``cost``."""
        return self.cost_inverse or self.cost

    def shown_cost(self, cost: float) -> float:
        """A cost (> 0) as users read it: itself, or 1 / cost under ``cost_inverse``."""
        return 1.0 / cost if self.cost_inverse else cost

    @property
    def limit_name(self) -> str:
        """What the cost cap is called as costs are shown: "cost cap", or a floor of the
        shown name under ``cost_inverse`` ("QPS floor": the cap on 1/QPS)."""
        return f"{self.cost_inverse} floor" if self.cost_inverse else "cost cap"

    @property
    def shown_cost_unit(self) -> str:
        """The unit shown costs are in: ``cost_unit``, or none under ``cost_inverse``, whose
        name (e.g. "QPS") says what it counts."""
        return "" if self.cost_inverse else self.cost_unit

    def output_value(self, output: float, sep: str = " ") -> str:
        """An output as shown in text, with its unit: "accuracy 71.5 %"."""
        return f"{self.output}{sep}{output:.6g}" + (f" {self.output_unit}" * bool(self.output_unit))

    def cost_value(self, cost: float, sep: str = " ") -> str:
        """A cost as shown in text, with its unit: "GPU hours 2.5 h", or "QPS 4000" under
        ``cost_inverse``."""
        unit = self.shown_cost_unit
        return f"{self.cost_name}{sep}{self.shown_cost(cost):.6g}" + (f" {unit}" * bool(unit))

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Metrics:
        """Parse ``to_json`` output; ValueError for unknown or non-text fields (or task)."""
        if not isinstance(data, dict):
            raise ValueError(f"metrics must be an object, got {data!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown Metrics fields: {unknown}; known: {sorted(known)}")
        return cls(**data)


@dataclass(frozen=True)
class StudyState:
    """Everything needed to continue a study: its definition, its history and its counters.

    ``suggestion_count`` counts suggestions ever made (it seeds each suggestion's randomness),
    ``resample_count`` the front re-runs made, ``search_radius`` the adaptive search radius
    (``Heuristics.search_radius``). ``tries`` is the budget of tries (None: no budget) and
    ``retracted`` maps the index of each retracted observation to the reason given; a retracted
    observation stays in ``observations`` but no model, front or best pick sees it.
    ``search_center`` is the params the search was re-centered on (``Study.set_search_center``),
    None while the params' own search centers apply.
    """

    params: list[Param]
    config: TunerConfig
    heuristics: Heuristics
    seed: int
    observations: list[Observation]
    outstanding: list[Suggestion]
    suggestion_count: int
    resample_count: int
    search_radius: float
    metrics: Metrics = Metrics()
    tries: int | None = None
    retracted: dict[int, str] = dataclasses.field(default_factory=dict)
    search_center: dict[str, Any] | None = None

    @property
    def active_observations(self) -> list[Observation]:
        """The observations that are not retracted, oldest first."""
        return [o for i, o in enumerate(self.observations) if i not in self.retracted]

    @property
    def tries_used(self) -> int:
        """Tries spent: answered and outstanding suggestions, and chosen points that count."""
        answered = sum(o.suggestion_id is not None or o.counts_as_try for o in self.observations)
        return answered + len(self.outstanding)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values, tagged with the file format and its version."""
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "seed": self.seed,
            "params": params_to_json(self.params),
            "config": self.config.to_json(),
            "heuristics": self.heuristics.to_json(),
            "metrics": self.metrics.to_json(),
            "suggestion_count": self.suggestion_count,
            "resample_count": self.resample_count,
            "search_radius": self.search_radius,
            "observations": [o.to_json() for o in self.observations],
            "outstanding": [s.to_json() for s in self.outstanding],
            "tries": self.tries,
            "retracted": retractions_to_json(self.retracted),
            "search_center": self.search_center,
        }

    @classmethod
    def from_json(cls, data: Any) -> StudyState:
        """Parse ``to_json`` output; ``StateFileError`` if it is not ours, newer, or corrupted."""
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise StateFileError("not a carbs_lite tuner state (missing 'format')")
        version = data.get("version")
        if not isinstance(version, int) or version > STATE_VERSION:
            raise StateFileError(
                f"state format version {version!r} is newer than this carbs_lite reads "
                f"({STATE_VERSION}); upgrade carbs_lite"
            )
        try:
            return cls(
                params=params_from_json(data["params"]),
                config=TunerConfig.from_json(data["config"]),
                heuristics=Heuristics.from_json(data["heuristics"]),
                seed=_count(data["seed"], "seed"),
                observations=[Observation.from_json(r) for r in data["observations"]],
                outstanding=_outstanding_from_json(data["outstanding"]),
                suggestion_count=_count(data["suggestion_count"], "suggestion_count"),
                resample_count=_count(data["resample_count"], "resample_count"),
                search_radius=_radius(data["search_radius"]),
                metrics=Metrics.from_json(data.get("metrics", {})),
                tries=_budget(data.get("tries")),
                retracted=retractions_from_json(data.get("retracted", []), data["observations"]),
                search_center=_center(data.get("search_center")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise StateFileError(f"corrupted tuner state: {error!r}") from None


def _count(value: Any, name: str) -> int:
    """A counter read from a file: an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {reprlib.repr(value)}")
    return value


def _radius(value: Any) -> float:
    """The adaptive search radius read from a file: a finite number > 0."""
    _expect(value, int | float, "search_radius")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"search_radius must be finite and > 0, got {value!r}")
    return float(value)


def _outstanding_from_json(records: list[Any]) -> list[Suggestion]:
    """Outstanding suggestions read from a file; ValueError if two share an id."""
    outstanding = [Suggestion.from_json(r) for r in records]
    ids = [s.id for s in outstanding]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"outstanding suggestion {repeated[0]!r} appears twice")
    return outstanding


def _budget(value: Any) -> int | None:
    """A tries budget read from a file: None or an integer >= 1."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"tries must be an integer >= 1 or null, got {value!r}")
    return value


def _center(value: Any) -> dict[str, Any] | None:
    """A re-centered search center read from a file: None or a params object."""
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"search_center must be an object of params or null, got {value!r}")
    return value


def retractions_to_json(retracted: dict[int, str]) -> list[dict[str, Any]]:
    """``{index: why}`` as ``[{"observation": index, "why": why}, ...]`` in index order."""
    return [{"observation": i, "why": why} for i, why in sorted(retracted.items())]


def retractions_from_json(data: list[dict[str, Any]], observations: list[Any]) -> dict[int, str]:
    """Parse ``retractions_to_json`` output; ValueError for an index with no observation."""
    retracted = {}
    for record in data:
        index, why = record["observation"], record["why"]
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(f"retracted observation index must be an integer, got {index!r}")
        if not 0 <= index < len(observations) or not isinstance(why, str):
            raise ValueError(f"retraction of observation {index!r} does not fit the study")
        retracted[index] = why
    return retracted


def space_from_json(data: dict[str, Any]) -> Space:
    """Rebuild a space written by ``Space.to_json``; ValueError for an unknown type."""
    fields = dict(data)
    kind = fields.pop("type", None)
    if kind not in SPACE_TYPES:
        raise ValueError(f"unknown space type {kind!r}; known: {sorted(SPACE_TYPES)}")
    return SPACE_TYPES[kind](**fields)


def params_to_json(params: list[Param]) -> list[dict[str, Any]]:
    """JSON-ready list of params (name, space, search center)."""
    return [
        {"name": p.name, "space": p.space.to_json(), "search_center": p.search_center}
        for p in params
    ]


def params_from_json(data: list[dict[str, Any]]) -> list[Param]:
    """Rebuild params written by ``params_to_json``."""
    return [Param(d["name"], space_from_json(d["space"]), d["search_center"]) for d in data]
