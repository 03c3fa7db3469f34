"""Named benchmark problems: the registry behind ``carbs-lite ablate --problem NAME``."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from carbs_lite.bench.categorical import CategoricalProblem
from carbs_lite.bench.problem import Problem
from carbs_lite.bench.synthetic import GaussianBumpProblem, QuadraticCostProblem, ScalingProblem
from carbs_lite.tasks.ads.problem import AdsArchProblem

ADS_SHALLOW = {"DEPTH_FACTOR": [0.9, 1.0, 0.8, 0.6, 0.45]}
"""Shallow towers win: one- and two-layer sub-arches are the most effective."""
ADS_INPUT_HEAVY = {"INPUT_LAYER_WEIGHT": 1.0, "DIVERSITY_GAIN": 0.004}
"""Input projections count fully and several towers pay: wide first layers, many sub-arches."""


def _bbob(suite: str, function: int, dimension: int) -> Callable[[], Problem]:
    def build() -> Problem:
        from carbs_lite.bench.bbob import BBOBProblem

        return BBOBProblem(suite, function, dimension)

    return build


def _digits() -> Problem:
    from carbs_lite.bench.digits import DigitsMLPProblem

    return DigitsMLPProblem()


PROBLEMS: dict[str, Callable[[], Problem]] = {
    "ads-default": lambda: AdsArchProblem(None, "ads-default"),
    "ads-shallow": lambda: AdsArchProblem(ADS_SHALLOW, "ads-shallow"),
    "ads-input-heavy": lambda: AdsArchProblem(ADS_INPUT_HEAVY, "ads-input-heavy"),
    "scaling": lambda: ScalingProblem(),
    "scaling-noisy": lambda: ScalingProblem(noise=0.02),
    "quadratic-cost-4d": lambda: QuadraticCostProblem(dim=4),
    "categorical-4x2d": lambda: CategoricalProblem(),
    "bbob-f8-d5": _bbob("bbob", 8, 5),
    "bbob-f15-d5": _bbob("bbob", 15, 5),
    "bbob-mixint-f1-d5": _bbob("bbob-mixint", 1, 5),
    "digits-mlp": _digits,
    "bump-10d": lambda: GaussianBumpProblem(dim=10),
}
DEFAULT_SUITE = [
    "ads-default",
    "ads-shallow",
    "ads-input-heavy",
    "scaling",
    "scaling-noisy",
    "bbob-f8-d5",
    "bbob-mixint-f1-d5",
]


NEEDS = {name: "coco-experiment" for name in PROBLEMS if name.startswith("bbob")}
NEEDS["digits-mlp"] = "scikit-learn"
"""Problems that need an optional package (``pip install 'carbs_lite[bench]'``), which the
tuner itself never uses: the BBOB functions come from COCO's ``cocoex``, the digits data set
from scikit-learn."""
MODULES = {"coco-experiment": "cocoex", "scikit-learn": "sklearn"}


def missing_package(name: str) -> str | None:
    """The package problem ``name`` needs and that is not installed, or None."""
    package = NEEDS.get(name)
    if package is None or importlib.util.find_spec(MODULES[package]) is not None:
        return None
    return package


def make_problem(name: str) -> Problem:
    """Build a problem by name; unknown names raise ValueError listing the known ones."""
    if name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; known: {sorted(PROBLEMS)}")
    return PROBLEMS[name]()
