"""Maps from goodness (sign x output, higher is better) to the output GP's targets, and back.

``output_transform`` builds the one ``Heuristics.output_transform`` chooses; every transform is
fit on the goodness of a study's successful runs, is increasing, and has an ``inverse`` (used for
the predicted output of a suggestion's diagnostics).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from carbs_lite.heuristics import OutputTransform

MIN_LOG_VALUES = 3
"""``output_transforms`` offers an exponent below 1 (the log, the square root) only for at
least this many distinct outputs: with fewer, any monotone map fits them equally well."""


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
    """The Box-Cox transform (Box and Cox 1964), (o^lambda - 1) / lambda and log o at lambda 0,
    then standardized; exponent 1 keeps the outputs as they are.

    It acts on the outputs o = sign x goodness in the user's units, whichever the direction:
    their spread, not the direction, decides how to model them. The result is multiplied by
    ``sign`` and standardized (mean 0, std 1 over the fitted values), so the targets increase
    with goodness; with exponent 1 they are ``Standardize``'s. An exponent below 1 needs
    positive outputs; below the smallest fitted output o_min the transform continues linearly
    with its slope there, o_min^(lambda - 1), so that a later value there (a learning-curve
    point, even one <= 0) stays finite and in order.

    values: goodness (n,) of the fitted runs; sign: +1 (maximize) or -1 (minimize); exponent:
    lambda in [0, 1]. ValueError for an exponent outside [0, 1], or below 1 for outputs that are
    not all positive.
    """

    def __init__(self, values: np.ndarray, sign: float, exponent: float = 1.0) -> None:
        goodness = np.asarray(values, dtype=float)
        outputs = sign * goodness
        if not 0.0 <= exponent <= 1.0:
            raise ValueError(f"Box-Cox exponent {exponent} is outside [0, 1]")
        if exponent < 1.0 and not np.all(outputs > 0):
            raise ValueError("a Box-Cox exponent below 1 needs positive outputs")
        self.sign, self.exponent = sign, float(exponent)
        self.low = float(outputs.min()) if len(outputs) else 1.0
        self.standardize = Standardize(self._powered(goodness))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return self.standardize(self._powered(np.asarray(values, dtype=float)))

    def inverse(self, scores: np.ndarray) -> np.ndarray:
        """Targets back to goodness."""
        powered = self.standardize.inverse(np.asarray(scores, dtype=float))
        if self.exponent == 1.0:
            return powered
        values, low = self.sign * powered, self.low
        # the power of the smallest fitted output: below it the transform is linear
        knee = self._power(low)
        below = low + (values - knee) / self._slope(low)
        if self.exponent == 0.0:
            # a prediction past the largest float's log stays finite: diagnostics are JSON
            top = math.log(np.finfo(float).max)
            above = np.exp(np.clip(values, knee, top))
        else:
            base = self.exponent * np.maximum(values, knee) + 1.0
            with np.errstate(over="ignore"):
                above = np.minimum(base ** (1.0 / self.exponent), np.finfo(float).max)
        outputs = np.where(values < knee, below, above)
        return self.sign * outputs

    def log_jacobian(self, values: np.ndarray) -> np.ndarray:
        """log |d target / d goodness| at goodness (n,): -log std + (lambda - 1) log max(o, o_min).
        Added over the fitted rows to a GP's log marginal likelihood of the targets, it gives
        the likelihood of the goodness itself, which compares transforms (the warped GP of
        Snelson, Rasmussen and Ghahramani, NeurIPS 2004)."""
        goodness = np.asarray(values, dtype=float)
        scale = np.full(goodness.shape, -math.log(self.standardize.std))
        if self.exponent == 1.0:
            return scale
        return scale + (self.exponent - 1.0) * np.log(np.maximum(self.sign * goodness, self.low))

    def _power(self, outputs: np.ndarray | float) -> np.ndarray:
        """(o^lambda - 1) / lambda, or log o at lambda 0, of positive outputs."""
        if self.exponent == 0.0:
            return np.log(outputs)
        return (np.power(outputs, self.exponent) - 1.0) / self.exponent

    def _slope(self, outputs: float) -> float:
        """d/do of ``_power`` at o: o^(lambda - 1)."""
        return outputs ** (self.exponent - 1.0)

    def _powered(self, goodness: np.ndarray) -> np.ndarray:
        """sign x the Box-Cox power of the outputs of ``goodness`` (n,)."""
        if self.exponent == 1.0:
            return goodness
        outputs, low = self.sign * goodness, self.low
        powered = self._power(np.maximum(outputs, low))
        linear = self._power(low) + (outputs - low) * self._slope(low)
        return self.sign * np.where(outputs < low, linear, powered)


BOX_COX_EXPONENTS = {OutputTransform.BOX_COX: (1.0, 0.0), OutputTransform.POWER: (1.0, 0.5, 0.0)}
"""The Box-Cox exponents each switch value compares, the identity first: BOX_COX the outputs
or their log; POWER their square root as well. HEBO (Cowen-Rivers et al., JAIR 2022) fits a
continuous exponent by maximum likelihood of the outputs alone (scikit-learn's
``PowerTransformer``); here each exponent costs an output-GP fit, and the GP's own likelihood of
the goodness chooses (``search.chosen_output_fit``)."""

OutputTransformer = QuantileTransform | Standardize | BoxCoxTransform
"""Any of the maps ``output_transform`` returns."""


def output_transforms(
    values: np.ndarray, kind: OutputTransform, sign: float
) -> list[OutputTransformer]:
    """The maps from goodness (n,) to output-GP targets fit on ``values`` that the switch
    offers, the first the one to use without a choice: one for QUANTILE and STANDARDIZE; for
    BOX_COX and POWER the identity and, for at least ``MIN_LOG_VALUES`` distinct outputs, all
    positive, the ``BoxCoxTransform`` of each lower exponent of ``BOX_COX_EXPONENTS``, among
    which the output GP's likelihood chooses (``search.Search.fit``). ``sign``: +1 when the
    study maximizes its output, -1 when it minimizes it."""
    if kind is OutputTransform.STANDARDIZE:
        return [Standardize(values)]
    if kind is OutputTransform.QUANTILE:
        return [QuantileTransform(values)]
    outputs = sign * np.asarray(values, dtype=float)
    exponents = BOX_COX_EXPONENTS[kind]
    if not np.all(outputs > 0) or len(np.unique(outputs)) < MIN_LOG_VALUES:
        exponents = exponents[:1]
    return [BoxCoxTransform(values, sign, exponent) for exponent in exponents]
