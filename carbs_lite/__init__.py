"""carbs_lite: cost-aware Pareto-region Bayesian search with an ablation switch per heuristic."""

from carbs_lite.arch import ArchSpace
from carbs_lite.categorical import CategoricalSpace
from carbs_lite.config import Direction, TunerConfig
from carbs_lite.heuristics import (
    CandidateRounding,
    CostMask,
    FinalPick,
    Heuristics,
    InitialDesign,
    OutputTransform,
    OutstandingEstimator,
    ParetoClamp,
    ParetoModel,
    SearchProbability,
    SearchRadius,
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

__all__ = [
    "ArchSpace",
    "ArchTry",
    "ArchTuningResult",
    "CandidateRounding",
    "CategoricalSpace",
    "CostMask",
    "Diagnostics",
    "Direction",
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
    "SearchProbability",
    "SearchRadius",
    "StateFileError",
    "Study",
    "StudyState",
    "Suggestion",
    "Tuner",
    "TunerConfig",
    "tune_arch",
]
