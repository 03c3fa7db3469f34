"""Maps from goodness (sign x output, higher is better) to the output GP's targets, and back.

``output_transform`` builds the one ``Heuristics.output_transform`` chooses; every transform is
fit on the goodness of a study's successful runs, is increasing, and has an ``inverse`` (used for
the predicted output of a suggestion's diagnostics).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats
import torch

from carbs_lite.heuristics import OutputTransform

MIN_BOX_COX_VALUES = 3
"""``BoxCoxTransform`` compares its two exponents only on at least this many distinct outputs;
with fewer both fit them equally well and it keeps the outputs' scale."""


def normal_scores(values: np.ndarray) -> np.ndarray:
    """Quantile transform to a standard normal: z_i = Phi^-1((rank_i + 0.5) / n), ties averaged."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    _, tie_group, ties = np.unique(values, return_inverse=True, return_counts=True)
    # the 0-based ranks of a tie group are first .. first + ties - 1; their mean is exact
    first = np.cumsum(ties) - ties
    ranks = (first + (ties - 1) / 2)[tie_group.ravel()]
    quantiles = torch.as_tensor((ranks + 0.5) / n, dtype=torch.float64)
    return torch.special.ndtri(quantiles).numpy()


class QuantileTransform:
    """Monotone map from goodness to normal scores, piecewise linear between observed values."""

    def __init__(self, values: np.ndarray) -> None:
        self.knots, index = np.unique(np.asarray(values, dtype=float), return_index=True)
        self.scores = normal_scores(values)[index]

    def __call__(self, values: np.ndarray) -> np.ndarray:
        if len(self.knots) == 1:
            return np.zeros_like(np.asarray(values, dtype=float))
        return np.interp(values, self.knots, self.scores)

    def inverse(self, scores: np.ndarray) -> np.ndarray:
        """Normal scores back to goodness, clipped to the observed range."""
        if len(self.knots) == 1:
            return np.full_like(np.asarray(scores, dtype=float), self.knots[0])
        return np.interp(scores, self.scores, self.knots)


class Standardize:
    """Affine map from goodness to z-scores, (g - mean) / std over the observed values."""

    def __init__(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=float)
        self.mean = float(values.mean())
        std = float(values.std())
        self.std = std if std > 0 else 1.0

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=float) - self.mean) / self.std

    def inverse(self, scores: np.ndarray) -> np.ndarray:
        """z-scores back to goodness."""
        return np.asarray(scores, dtype=float) * self.std + self.mean


class BoxCoxTransform:
    """Log outputs where the Box-Cox likelihood prefers them to the outputs themselves; then
    standardized.

    The Box-Cox family (Box and Cox 1964), (o^lambda - 1) / lambda with the log at lambda = 0,
    acts on the outputs o = sign x goodness in the user's units, whichever the direction, since
    their spread, not the direction, decides how to model them. Of its two classic members,
    lambda = 1 (the outputs as they are) and lambda = 0 (their log), the one with the higher
    Box-Cox log-likelihood on the fitted outputs (``scipy.stats.boxcox_llf``) is used; outputs
    that are not all positive, or have fewer than ``MIN_BOX_COX_VALUES`` distinct values, keep
    lambda = 1. The result is multiplied by ``sign`` and standardized (mean 0, std 1 over the
    fitted values), so the targets increase with goodness.

    Outputs spread over orders of magnitude (a reward that is ~0 far from a narrow optimum, a
    loss closing in on 0) choose the log, which keeps apart the small values a standardization
    squeezes together; outputs spread evenly choose lambda = 1 and get ``Standardize``'s
    targets. Only these two exponents, not lambda fit freely as HEBO (Cowen-Rivers et al., JAIR
    2022) does: the free fit is not invariant to the outputs' offset and on outputs far from 0
    (losses of 0.78-0.81, say) its maximum-likelihood lambda reached -200, a transform no
    smoother than ranks (ablations/RESULTS.md). Below the smallest fitted output o_min the log
    continues linearly with slope 1 / o_min, so that later values there (a learning-curve
    point, even one <= 0) stay finite and in order.

    values: goodness (n,); sign: +1 (maximize) or -1 (minimize).
    """

    def __init__(self, values: np.ndarray, sign: float) -> None:
        goodness = np.asarray(values, dtype=float)
        outputs = sign * goodness
        self.sign = sign
        self.low = float(outputs.min()) if len(outputs) else 1.0
        self.log = bool(
            np.all(outputs > 0)
            and len(np.unique(outputs)) >= MIN_BOX_COX_VALUES
            and scipy.stats.boxcox_llf(0.0, outputs) > scipy.stats.boxcox_llf(1.0, outputs)
        )
        self.standardize = Standardize(self._powered(goodness))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return self.standardize(self._powered(np.asarray(values, dtype=float)))

    def inverse(self, scores: np.ndarray) -> np.ndarray:
        """Targets back to goodness."""
        powered = self.standardize.inverse(np.asarray(scores, dtype=float))
        if not self.log:
            return powered
        logs, low = self.sign * powered, self.low
        below = low + (logs - math.log(low)) * low
        # a prediction past the largest float's log stays finite: diagnostics are JSON
        above = np.exp(np.clip(logs, math.log(low), math.log(np.finfo(float).max)))
        outputs = np.where(logs < math.log(low), below, above)
        return self.sign * outputs

    def _powered(self, goodness: np.ndarray) -> np.ndarray:
        """sign x the chosen power of the outputs of ``goodness`` (n,)."""
        if not self.log:
            return goodness
        outputs, low = self.sign * goodness, self.low
        logs = np.log(np.maximum(outputs, low))
        return self.sign * np.where(outputs < low, math.log(low) + (outputs - low) / low, logs)


OutputTransformer = QuantileTransform | Standardize | BoxCoxTransform
"""Any of the maps ``output_transform`` returns."""


def output_transform(values: np.ndarray, kind: OutputTransform, sign: float) -> OutputTransformer:
    """The map from goodness (n,) to output-GP targets fit on ``values``, per the switch;
    ``sign`` is +1 when the study maximizes its output, -1 when it minimizes it."""
    if kind is OutputTransform.STANDARDIZE:
        return Standardize(values)
    if kind is OutputTransform.BOX_COX:
        return BoxCoxTransform(values, sign)
    return QuantileTransform(values)
