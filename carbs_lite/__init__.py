"""carbs_lite: cost-aware Pareto-region Bayesian search with an ablation switch per heuristic."""

from carbs_lite.ads_task import ArchTry, ArchTuningResult, tune_arch
from carbs_lite.arch import ArchSpace
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
from carbs_lite.records import Diagnostics, Observation, ParetoPoint, Suggestion
from carbs_lite.spaces import LinearSpace, LogitSpace, LogSpace, Param, PowerOfTwoSpace
from carbs_lite.state import StateFileError
from carbs_lite.tuner import Tuner

__all__ = [
    "ArchSpace",
    "ArchTry",
    "ArchTuningResult",
    "CandidateRounding",
    "CostMask",
    "Diagnostics",
    "Direction",
    "FinalPick",
    "Heuristics",
    "InitialDesign",
    "LinearSpace",
    "LogSpace",
    "LogitSpace",
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
    "Suggestion",
    "Tuner",
    "TunerConfig",
    "tune_arch",
]
