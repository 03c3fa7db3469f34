"""Deprecated location of the ads simulator: use ``carbs_lite.tasks.ads.simulator``.

Kept so that scripts written against earlier releases still import; it warns once on import.
"""

from __future__ import annotations

import warnings

from carbs_lite.tasks.ads.simulator import (
    ArchMetrics,
    BudgetExceededError,
    ModelPerformanceAPI,
    get_default_model_config_dict,
    validate_arch,
)

warnings.warn(
    "carbs_lite.bench.ads moved to carbs_lite.tasks.ads.simulator",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "ArchMetrics",
    "BudgetExceededError",
    "ModelPerformanceAPI",
    "get_default_model_config_dict",
    "validate_arch",
]
