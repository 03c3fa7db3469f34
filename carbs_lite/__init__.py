"""carbs_lite: cost-aware Pareto-region Bayesian search with an ablation switch per heuristic.

The public names below are imported on first use (PEP 562 module ``__getattr__``), so that
``import carbs_lite.cli`` and other light entry points do not pay for numpy, torch and pyro
before they need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS: dict[str, str] = {
    "ArchSpace": "carbs_lite.arch",
    "ArchTry": "carbs_lite.tasks.ads.tuning",
    "ArchTuningResult": "carbs_lite.tasks.ads.tuning",
    "CandidateRounding": "carbs_lite.heuristics",
    "CategoricalSpace": "carbs_lite.categorical",
    "CostMask": "carbs_lite.heuristics",
    "Diagnostics": "carbs_lite.records",
    "Direction": "carbs_lite.config",
    "FailureImputation": "carbs_lite.heuristics",
    "FinalPick": "carbs_lite.heuristics",
    "Heuristics": "carbs_lite.heuristics",
    "InitialDesign": "carbs_lite.heuristics",
    "JournalStudy": "carbs_lite.journal",
    "LinearSpace": "carbs_lite.spaces",
    "LogSpace": "carbs_lite.spaces",
    "LogitSpace": "carbs_lite.spaces",
    "Metrics": "carbs_lite.records",
    "Observation": "carbs_lite.records",
    "OutputTransform": "carbs_lite.heuristics",
    "OutstandingEstimator": "carbs_lite.heuristics",
    "Param": "carbs_lite.spaces",
    "ParetoClamp": "carbs_lite.heuristics",
    "ParetoModel": "carbs_lite.heuristics",
    "ParetoPoint": "carbs_lite.records",
    "PowerOfTwoSpace": "carbs_lite.spaces",
    "ProgressPoint": "carbs_lite.curves",
    "SearchProbability": "carbs_lite.heuristics",
    "SearchRadius": "carbs_lite.heuristics",
    "StateFileError": "carbs_lite.records",
    "StopDecision": "carbs_lite.early_stopping",
    "Study": "carbs_lite.study",
    "StudyState": "carbs_lite.records",
    "Suggestion": "carbs_lite.records",
    "SuccessModel": "carbs_lite.heuristics",
    "SurrogateKernel": "carbs_lite.heuristics",
    "Tuner": "carbs_lite.tuner",
    "TunerConfig": "carbs_lite.config",
    "tune_arch": "carbs_lite.tasks.ads.tuning",
}

__all__ = [
    "ArchSpace",
    "ArchTry",
    "ArchTuningResult",
    "CandidateRounding",
    "CategoricalSpace",
    "CostMask",
    "Diagnostics",
    "Direction",
    "FailureImputation",
    "FinalPick",
    "Heuristics",
    "InitialDesign",
    "JournalStudy",
    "LinearSpace",
    "LogSpace",
    "LogitSpace",
    "Metrics",
    "Observation",
    "OutputTransform",
    "OutstandingEstimator",
    "Param",
    "ParetoClamp",
    "ParetoModel",
    "ParetoPoint",
    "PowerOfTwoSpace",
    "ProgressPoint",
    "SearchProbability",
    "SearchRadius",
    "StateFileError",
    "StopDecision",
    "Study",
    "StudyState",
    "Suggestion",
    "SuccessModel",
    "SurrogateKernel",
    "Tuner",
    "TunerConfig",
    "tune_arch",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'carbs_lite' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from carbs_lite.arch import ArchSpace
    from carbs_lite.categorical import CategoricalSpace
    from carbs_lite.config import Direction, TunerConfig
    from carbs_lite.curves import ProgressPoint
    from carbs_lite.early_stopping import StopDecision
    from carbs_lite.heuristics import (
        CandidateRounding,
        CostMask,
        FailureImputation,
        FinalPick,
        Heuristics,
        InitialDesign,
        OutputTransform,
        OutstandingEstimator,
        ParetoClamp,
        ParetoModel,
        SearchProbability,
        SearchRadius,
        SuccessModel,
        SurrogateKernel,
    )
    from carbs_lite.journal import JournalStudy
    from carbs_lite.records import (
        Diagnostics,
        Metrics,
        Observation,
        ParetoPoint,
        StateFileError,
        StudyState,
        Suggestion,
    )
    from carbs_lite.spaces import LinearSpace, LogitSpace, LogSpace, Param, PowerOfTwoSpace
    from carbs_lite.study import Study
    from carbs_lite.tasks.ads.tuning import ArchTry, ArchTuningResult, tune_arch
    from carbs_lite.tuner import Tuner
