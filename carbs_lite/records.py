"""Frozen records that travel between the tuner and its users."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Diagnostics:
    """Why a suggestion was made: model predictions at the pick and its acquisition terms.

    ``source`` is one of "center" (the first suggestion of a study is the search center),
    "random" (around the search center), "search" (acquisition),
    "resample" (a front point re-run) or "fallback" (random around the front after a model
    failure). Model fields are NaN where no model was used.
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


@dataclass(frozen=True)
class Suggestion:
    """A point to evaluate next; pass it (or its ``params``) back to ``Tuner.observe``."""

    id: str
    params: dict[str, Any]
    diagnostics: Diagnostics

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "params": self.params, "diagnostics": self.diagnostics.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Suggestion:
        return cls(data["id"], data["params"], Diagnostics.from_json(data["diagnostics"]))


@dataclass(frozen=True)
class Observation:
    """A finished evaluation; ``cost`` is finite and > 0, ``output`` NaN if it was not finite.

    ``diagnostics`` are those of the suggestion it answers (None for points the user chose);
    ``extra`` holds JSON-ready user data such as a training curve.
    """

    params: dict[str, Any]
    output: float
    cost: float
    is_failure: bool = False
    suggestion_id: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    diagnostics: Diagnostics | None = None

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["output"] = None if _is_nan(self.output) else self.output
        data["diagnostics"] = self.diagnostics.to_json() if self.diagnostics else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Observation:
        fields = dict(data)
        fields["output"] = math.nan if fields.get("output") is None else fields["output"]
        if fields.get("diagnostics") is not None:
            fields["diagnostics"] = Diagnostics.from_json(fields["diagnostics"])
        return cls(**fields)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


@dataclass(frozen=True)
class ParetoPoint:
    """A point on the cost/output front: mean output and mean cost of its ``count`` runs."""

    params: dict[str, Any]
    output: float
    cost: float
    count: int
