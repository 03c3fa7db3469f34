"""Fitted surrogate models: pyro-ppl Gaussian processes and the Pareto-value models.

Every GP sees centered inputs and centered targets. Hyperparameters are the MAP under a
LogNormal(log 1e-2, 2) noise prior and a N(0, 2^2) prior on each log lengthscale, found by a
short L-BFGS run on at most ``max_fit_points`` points; predictions then condition on every
point. The fit factorizes with a jitter relative to the covariance's scale, raised until the
Cholesky succeeds, so a line-search step to a huge variance does not end the fit; predictions
use the jitter with which the fitted model's data factorizes.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pyro
import pyro.contrib.gp as gp
import torch

from carbs_lite.heuristics import OutstandingEstimator, ParetoModel
from carbs_lite.pareto import isotonic_increasing, running_best

logger = logging.getLogger(__name__)

DTYPE = torch.float64
NOISE_PRIOR_LOC = math.log(1e-2)
NOISE_PRIOR_SCALE = 2.0
"""Every GP's noise variance has the prior LogNormal(``NOISE_PRIOR_LOC``, ``NOISE_PRIOR_SCALE``),
in the units of its own targets (the output GP's standardized goodness, the cost GP's scaled
log cost, the success GP's +-1 labels). CARBS uses a scale of 0.5 (its ``model.py``, crediting
HEBO), which puts 95% of the prior's mass in [0.004, 0.027]. Fit on 40 rows of a smooth 2-D
function with it, the noise came out 5e-4-6e-4 without noise, so EI could not tell points near
an optimum apart, and 0.008-0.16 with a true noise variance of 0.31-0.37, fit as less noisy
than it is. A scale of 2 keeps the median and spreads 95% of the mass over [2e-4, 0.5]: the
same fits give about 1e-6 and 0.23-0.28. With the Matern 5/2 kernel it was better on the suite
at 15 and 30 tries and on the ads task; with Matern 3/2 it was better on the suite at 30 tries
only and worse on the ads task (ablations/RESULTS.md, "Matern 5/2 and a wider noise
prior")."""
LENGTHSCALE_PRIOR_SCALE = 2.0
JITTER = 1e-6
LINEAR_VARIANCE = 0.1
"""The initial variance of the linear kernel part."""
LOG_2PI = math.log(2.0 * math.pi)
MAX_JITTER = 1e-3

_PYRO_SETTINGS_LOCK = threading.RLock()


@contextmanager
def module_local_params() -> Iterator[None]:
    """Keep GP parameters inside their modules, not in pyro's global param store.

    By default pyro reads a PyroModule's parameters from the global store by name while the
    module runs, so one fit would leak its values into the next model of the same shape.
    """
    with _PYRO_SETTINGS_LOCK, pyro.settings.context(module_local_params=True):
        yield


ParetoFunction = Callable[[torch.Tensor], torch.Tensor]
"""Maps scaled log costs (n,) to the best achievable goodness (n,), in surrogate units."""


class FittedGP:
    """A pyro ``GPRegression`` with fitted hyperparameters; ``predict`` gives latent mean, var.

    The conditioning rows are factorized once, when the model is made or conditioned on more
    rows, not on every ``predict``: pyro's ``GPRegression.forward`` re-factorizes K + (noise +
    jitter) I, an O(n^3) step, on each call, and a suggestion predicts dozens of times. The
    cached predictor does the same arithmetic as pyro's (``GPRegression.forward`` and
    ``contrib.gp.util.conditional``), so predictions are unchanged; each costs O(n m) after.
    """

    def __init__(self, model: gp.models.GPRegression, x_offset: torch.Tensor, y_offset: float):
        self.model = model
        self.x_offset = x_offset
        self.y_offset = y_offset
        self._factorize_conditioning_rows()

    def _factorize_conditioning_rows(self) -> None:
        """Cache L = chol(K + (noise + jitter) I) of the rows and L^-1 (y - mean(X)).

        ``model.jitter`` stays pyro's default when that factorizes, else it becomes the
        jitter of ``_factorize``, so predictions work whenever the fit did. Raises
        ``torch.linalg.LinAlgError`` if K is not positive definite even then."""
        model = self.model
        with torch.no_grad(), module_local_params():
            n = model.X.size(0)
            kernel = covariance(model.kernel, model.X)
            noise = _positive(model, "noise")
            tril = _cholesky_or_none(kernel, float(model.jitter + noise))
            if tril is None:
                noisy = kernel + noise * torch.eye(n, dtype=kernel.dtype)
                model.jitter = _factorize(noisy)[1]
                tril = _cholesky_or_none(kernel, float(model.jitter + noise))
                if tril is None:
                    raise torch.linalg.LinAlgError("GP covariance not positive definite")
            self._tril = tril
            residual = (model.y - model.mean_function(model.X)).reshape(n, 1)
            self._whitened_y = torch.linalg.solve_triangular(tril, residual, upper=False)

    def log_marginal_likelihood(self) -> float:
        """log N(y | mean(X), K + (noise + jitter) I) of the conditioning rows' targets under
        the fitted hyperparameters (Rasmussen and Williams 2006, eq. 2.30), from the cached
        factorization: -|L^-1 r|^2 / 2 - sum log diag L - n log(2 pi) / 2."""
        n = self._tril.shape[0]
        log_det = torch.log(torch.diagonal(self._tril)).sum()
        return float(-0.5 * self._whitened_y.pow(2).sum() - log_det - 0.5 * n * LOG_2PI)

    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and variance of f at rows (m, d): two tensors of shape (m,), the mean
        in the units of the fitted targets; LinAlgError if either is not finite."""
        model = self.model
        with torch.no_grad(), module_local_params():
            rows = x - self.x_offset
            cross = torch.linalg.solve_triangular(
                self._tril, covariance(model.kernel, model.X, rows), upper=False
            ).t()
            mean = cross.matmul(self._whitened_y).reshape(-1) + model.mean_function(rows)
            prior_var = covariance(model.kernel, rows, diag=True)
            var = (prior_var - cross.pow(2).sum(dim=-1)).clamp(min=0)
        if not (torch.isfinite(mean).all() and torch.isfinite(var).all()):
            raise torch.linalg.LinAlgError("GP prediction is not finite")
        return mean + self.y_offset, var.clamp_min(1e-12)

    def condition_on(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Add pseudo-observations (n, d), (n,) without refitting hyperparameters."""
        inputs = torch.cat([self.model.X, x - self.x_offset])
        self.model.set_data(inputs, torch.cat([self.model.y, y - self.y_offset]))
        self._factorize_conditioning_rows()

    @property
    def lengthscale(self) -> np.ndarray:
        """Per-dimension lengthscales of the stationary kernel part, (d,)."""
        stationary = _stationary_part(self.model.kernel)
        with torch.no_grad(), module_local_params():
            scale = stationary.lengthscale.detach().reshape(-1).numpy()
        return np.broadcast_to(scale, (self.model.X.shape[1],)).copy()


class AtFullProgress:
    """A GP fit on rows with a trailing progress column (``fit_with_progress``) that predicts
    and conditions at progress 1, a finished run: the model of finished runs, having learned
    from partial ones. ``lengthscale`` (d,) leaves out the progress column's."""

    def __init__(self, model: FittedGP) -> None:
        self.model = model

    def log_marginal_likelihood(self) -> float:
        """``FittedGP.log_marginal_likelihood`` of every row, finished and partial."""
        return self.model.log_marginal_likelihood()

    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``FittedGP.predict`` of rows (m, d) at progress 1."""
        return self.model.predict(at_full_progress(x))

    def condition_on(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """``FittedGP.condition_on`` of rows (n, d) at progress 1."""
        self.model.condition_on(at_full_progress(x), y)

    @property
    def lengthscale(self) -> np.ndarray:
        return self.model.lengthscale[:-1]


Surrogate = FittedGP | AtFullProgress
"""A fitted GP of finished runs, with or without partial runs in its data."""


def with_progress(x: torch.Tensor, progress: torch.Tensor) -> torch.Tensor:
    """Rows (n, d) with their progress (n,) appended as a last column: (n, d + 1)."""
    return torch.cat([x, progress.to(x.dtype).reshape(-1, 1)], dim=1)


def at_full_progress(x: torch.Tensor) -> torch.Tensor:
    """Rows (n, d) of finished runs, progress 1 appended: (n, d + 1)."""
    return with_progress(x, torch.ones(len(x), dtype=x.dtype))


def fit_with_progress(
    x: torch.Tensor,
    y: torch.Tensor,
    partial_x: torch.Tensor,
    partial_progress: torch.Tensor,
    partial_y: torch.Tensor,
    kind: str = "matern52_linear",
    iterations: int = 20,
    max_fit_points: int = 128,
    rng: np.random.Generator | None = None,
) -> AtFullProgress:
    """``fit_gp`` with the kernel ``kind`` (ValueError if not in ``KERNELS``) on finished rows
    (n, d) with targets (n,) at progress 1 and partial rows (k, d) at their progress (k,) in
    (0, 1] with targets (k,), wrapped to predict finished runs. The progress input is the
    fidelity of multi-fidelity BO; Protein (PufferLib) gets the same effect by observing a
    partial run with its training-steps param set to the steps so far."""
    finished = at_full_progress(x)
    rows = torch.cat([finished, with_progress(partial_x, partial_progress)])
    targets = torch.cat([y, partial_y])
    return AtFullProgress(fit_gp(rows, targets, kind, iterations, max_fit_points, rng))


_MATERN = {"matern52_linear": gp.kernels.Matern52, "matern32_linear": gp.kernels.Matern32}

KERNELS = (*_MATERN, "rbf")
"""The kernels ``fit_gp`` builds: a Matern 5/2 or 3/2 ARD kernel plus a linear kernel, or an
isotropic RBF (the 1-D Pareto models)."""


def make_kernel(kind: str, dim: int) -> gp.kernels.Kernel:
    """A kernel of ``KERNELS`` on ``dim`` inputs, unit variance and lengthscales (the linear
    part's variance 0.1); ValueError for another name."""
    ones = torch.ones(dim, dtype=DTYPE)
    if kind == "rbf":
        return gp.kernels.RBF(dim, variance=torch.tensor(1.0, dtype=DTYPE), lengthscale=ones[:1])
    if kind not in _MATERN:
        raise ValueError(f"unknown kernel {kind!r}; known: {', '.join(KERNELS)}")
    matern = _MATERN[kind](dim, variance=torch.tensor(1.0, dtype=DTYPE), lengthscale=ones)
    linear = gp.kernels.Linear(dim, variance=torch.tensor(LINEAR_VARIANCE, dtype=DTYPE))
    return gp.kernels.Sum(matern, linear)


_MIRRORED_KERNELS = (gp.kernels.RBF, gp.kernels.Matern32, gp.kernels.Matern52, gp.kernels.Linear)


def covariance(
    kernel: gp.kernels.Kernel, x: torch.Tensor, z: torch.Tensor | None = None, diag: bool = False
) -> torch.Tensor:
    """k(x, z) (n, m) of a kernel made by ``make_kernel``, for rows x (n, d) and z (m, d) with d its
    ``input_dim``, or with ``diag`` the diagonal k(x, x) (n,); z defaults to x. TypeError for
    another kernel class or one that acts on only some columns (``active_dims``); ValueError
    for rows that are not (n, input_dim).

    The tensor operations of pyro's ``forward`` of ``RBF``, ``Matern32``, ``Matern52``,
    ``Linear`` and ``Sum`` (pyro 1.9, ``contrib/gp/kernels``), in the same order, so values and
    gradients are pyro's to the bit while the module keeps its own parameters, as inside
    ``module_local_params`` (outside it pyro reads them from its global param store). Calling
    the modules takes about a third more time per MAP evaluation on 128 rows of 10 columns
    (2.8-3.0 ms against 2.0-2.2 ms), in ``PyroModule.__getattr__`` and module-call hooks; a
    suggestion makes some 60 evaluations.
    """
    if type(kernel) is gp.kernels.Sum:
        return covariance(kernel.kern0, x, z, diag) + covariance(kernel.kern1, x, z, diag)
    if type(kernel) not in _MIRRORED_KERNELS or kernel.active_dims != list(range(kernel.input_dim)):
        raise TypeError(f"no covariance for this {type(kernel).__name__} kernel")
    z = x if z is None else z
    for rows in (x, z):
        if rows.dim() != 2 or rows.size(1) != kernel.input_dim:
            raise ValueError(
                f"rows of shape {tuple(rows.shape)} for a kernel of {kernel.input_dim} inputs"
            )
    if type(kernel) is gp.kernels.Linear:
        variance = _positive(kernel, "variance")
        return variance * ((x**2).sum(-1) if diag else x.matmul(z.t()))
    if diag:
        return _positive(kernel, "variance").expand(x.size(0))
    # pyro reads the lengthscale once per side; two reads keep its gradient's rounding
    scaled_x = x / _positive(kernel, "lengthscale")
    scaled_z = z / _positive(kernel, "lengthscale")
    x2 = (scaled_x**2).sum(1, keepdim=True)
    z2 = (scaled_z**2).sum(1, keepdim=True)
    r2 = (x2 - 2 * scaled_x.matmul(scaled_z.t()) + z2.t()).clamp(min=0)
    if type(kernel) is gp.kernels.RBF:
        return _positive(kernel, "variance") * torch.exp(-0.5 * r2)
    # pyro's _torch_sqrt: the 1e-12 keeps the gradient of the square root finite at 0
    r = (r2 + 1e-12).sqrt()
    if type(kernel) is gp.kernels.Matern52:
        sqrt5_r = 5**0.5 * r
        return _positive(kernel, "variance") * (1 + sqrt5_r + (5 / 3) * r2) * torch.exp(-sqrt5_r)
    sqrt3_r = 3**0.5 * r
    return _positive(kernel, "variance") * (1 + sqrt3_r) * torch.exp(-sqrt3_r)


def _positive(module: torch.nn.Module, name: str) -> torch.Tensor:
    """The value of ``module``'s positive ``PyroParam`` ``name``: exp of its unconstrained
    tensor, as pyro's ``transform_to(constraints.positive)`` maps it."""
    return module.get_parameter(f"{name}_unconstrained").exp()


def _cholesky(cov: torch.Tensor) -> torch.Tensor:
    """Cholesky factor of cov + jitter I with the jitter of ``_factorize``."""
    return _factorize(cov)[0]


def _factorize(cov: torch.Tensor) -> tuple[torch.Tensor, float]:
    """(Cholesky factor of cov + jitter I, jitter), jitter = s * mean(diag cov) with s raised
    x10 from ``JITTER`` up to ``MAX_JITTER`` until the factorization succeeds; LinAlgError if it
    never does (or cov is not finite)."""
    scale = float(cov.detach().diagonal().mean().abs().clamp_min(1e-12))
    relative = JITTER
    while (tril := _cholesky_or_none(cov, relative * scale)) is None:
        if relative >= MAX_JITTER:
            raise torch.linalg.LinAlgError(
                f"covariance not positive definite at relative jitter {relative:g}"
            )
        relative *= 10
    return tril, relative * scale


def _cholesky_or_none(cov: torch.Tensor, jitter: float) -> torch.Tensor | None:
    """Cholesky factor of cov + jitter I, or None if it fails or is not finite."""
    # the jitter goes onto the diagonal in place, as pyro's GPRegression adds it: the same
    # numbers as adding jitter * I, without building and adding an n x n identity
    shifted = cov.clone()
    shifted.diagonal().add_(jitter)
    tril, info = torch.linalg.cholesky_ex(shifted)
    # row i of the factor enters its diagonal entry as sqrt(a_ii - sum_k l_ik^2), so a
    # non-finite entry anywhere shows on the diagonal: an O(n) check, not O(n^2)
    return tril if not info.any() and torch.isfinite(tril.diagonal()).all() else None


def _stationary_part(kernel: gp.kernels.Kernel) -> gp.kernels.Isotropy:
    """The Matern/RBF part of a kernel made by ``make_kernel``."""
    return kernel.kern0 if isinstance(kernel, gp.kernels.Sum) else kernel


def _negative_log_posterior(model: gp.models.GPRegression) -> torch.Tensor:
    """-log N(y | 0, K + noise I) - log p(noise) - sum log N(log lengthscale | 0, 2^2), the MAP
    objective; the lengthscale prior keeps few-point ARD fits from running off to 0 or inf.

    The densities are written out (Rasmussen and Williams 2006, eq. 2.30, with L the Cholesky
    factor: 1/2 |L^-1 y|^2 + sum log L_ii + n/2 log 2 pi) rather than built as torch
    distributions: the same numbers, at about 60% of the time per evaluation, which the
    optimizer makes some 20 of per fit."""
    n = model.X.shape[0]
    kernel = covariance(model.kernel, model.X)
    tril = _cholesky(kernel + _positive(model, "noise") * torch.eye(n, dtype=DTYPE))
    white = torch.linalg.solve_triangular(tril, model.y.reshape(n, 1), upper=False)
    nll = 0.5 * white.pow(2).sum() + tril.diagonal().log().sum() + 0.5 * n * LOG_2PI
    log_noise = _positive(model, "noise").log()
    # log N(log noise | loc, s^2) - log noise: the LogNormal density of the noise itself
    noise_nlp = _normal_nlp(log_noise, NOISE_PRIOR_LOC, NOISE_PRIOR_SCALE) + log_noise
    return nll + noise_nlp + lengthscale_prior_nlp(model.kernel)


def lengthscale_prior_nlp(kernel: gp.kernels.Kernel) -> torch.Tensor:
    """-sum log N(log lengthscale | 0, 2^2) over the lengthscales of a kernel made by
    ``make_kernel``: the prior every GP here puts on them, a scalar tensor."""
    log_lengthscale = _positive(_stationary_part(kernel), "lengthscale").log()
    return _normal_nlp(log_lengthscale, 0.0, LENGTHSCALE_PRIOR_SCALE).sum()


def variance_prior_nlp(kernel: gp.kernels.Kernel) -> torch.Tensor:
    """-sum log N(log variance - log initial variance | 0, 2^2) over the variances of the
    parts of a kernel made by ``make_kernel`` (initial variances 1 and, for the linear part,
    0.1), a scalar tensor: the lengthscales' prior, centred on the initial values."""
    parts = (kernel.kern0, kernel.kern1) if isinstance(kernel, gp.kernels.Sum) else (kernel,)
    return sum(
        _normal_nlp(_positive(part, "variance").log(), math.log(initial), LENGTHSCALE_PRIOR_SCALE)
        for part, initial in zip(parts, (1.0, LINEAR_VARIANCE), strict=False)
    )


def _normal_nlp(x: torch.Tensor, loc: float, scale: float) -> torch.Tensor:
    """-log N(x | loc, scale^2), elementwise."""
    return 0.5 * ((x - loc) / scale) ** 2 + math.log(scale) + 0.5 * LOG_2PI


def _optimize(model: gp.models.GPRegression, iterations: int) -> None:
    """Short L-BFGS on the MAP objective; restores the initial values if it fails."""
    minimize_or_restore(
        model, lambda: _negative_log_posterior(model), iterations, "GP hyperparameter fit"
    )


def minimize_or_restore(
    module: torch.nn.Module, loss: Callable[[], torch.Tensor], iterations: int, what: str
) -> None:
    """At most ``iterations`` of L-BFGS (strong Wolfe line search) on ``module``'s parameters
    for the scalar ``loss()``. If a step raises LinAlgError, or leaves a parameter or the loss
    non-finite, the initial values come back and ``what`` is logged as a failed fit."""
    initial = {k: v.clone() for k, v in module.state_dict().items()}
    optimizer = torch.optim.LBFGS(
        module.parameters(), lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = loss()
        value.backward()
        return value

    try:
        optimizer.step(closure)
        finite = all(torch.isfinite(p).all() for p in module.parameters())
        if not finite or not torch.isfinite(loss()):
            raise torch.linalg.LinAlgError("non-finite hyperparameters")
    except torch.linalg.LinAlgError as error:
        logger.warning("%s failed (%s); keeping initial values", what, error)
        module.load_state_dict(initial)


def fit_subset(count: int, max_fit_points: int, rng: np.random.Generator | None) -> np.ndarray:
    """Sorted indices of the rows a hyperparameter fit uses: all ``count``, or a random
    ``max_fit_points`` of them (drawn from ``rng``, default seed 0) when there are more."""
    if count <= max_fit_points:
        return np.arange(count)
    rng = rng if rng is not None else np.random.default_rng(0)
    return np.sort(rng.choice(count, size=max_fit_points, replace=False))


def fit_gp(
    x: torch.Tensor,
    y: torch.Tensor,
    kind: str = "matern52_linear",
    iterations: int = 20,
    max_fit_points: int = 128,
    rng: np.random.Generator | None = None,
) -> FittedGP:
    """Fit a GP to rows x (n, d), targets y (n,) with a kernel of ``KERNELS`` (``kind``;
    ValueError for another)."""
    with module_local_params():
        return _fit_gp(x, y, kind, iterations, max_fit_points, rng)


def _fit_gp(
    x: torch.Tensor,
    y: torch.Tensor,
    kind: str,
    iterations: int,
    max_fit_points: int,
    rng: np.random.Generator | None,
) -> FittedGP:
    x_offset = x.mean(0)
    y_offset = float(y.mean())
    inputs, targets = x - x_offset, y - y_offset
    subset = fit_subset(len(x), max_fit_points, rng)
    model = gp.models.GPRegression(
        inputs[subset],
        targets[subset],
        make_kernel(kind, x.shape[1]),
        noise=torch.tensor(math.exp(NOISE_PRIOR_LOC), dtype=DTYPE),
        jitter=JITTER,
    )
    _optimize(model, iterations)
    model.set_data(inputs, targets)
    return FittedGP(model, x_offset, y_offset)


def fold_outstanding(
    model: Surrogate,
    outstanding: torch.Tensor,
    estimator: OutstandingEstimator,
    rng: np.random.Generator,
) -> None:
    """Condition the output model on outstanding inputs (m, d) at a posterior draw or mean."""
    if estimator is OutstandingEstimator.NONE or len(outstanding) == 0:
        return
    mean, var = model.predict(outstanding)
    if estimator is OutstandingEstimator.THOMPSON:
        noise = torch.as_tensor(rng.standard_normal(len(outstanding)), dtype=DTYPE)
        mean = mean + var.sqrt() * noise
    model.condition_on(outstanding, mean)


def _front_gp(front_x: np.ndarray, front_y: np.ndarray, **_: np.ndarray) -> ParetoFunction:
    fitted = fit_gp(
        torch.as_tensor(front_x[:, None], dtype=DTYPE), torch.as_tensor(front_y, dtype=DTYPE), "rbf"
    )
    return lambda c: fitted.predict(c[:, None])[0]


def _envelope_gp(success_x: np.ndarray, success_y: np.ndarray, **_: np.ndarray) -> ParetoFunction:
    cost, best = running_best(success_x, success_y)
    return _front_gp(cost, best)


def _interpolate(knots: np.ndarray, values: np.ndarray) -> ParetoFunction:
    """Piecewise-linear in scaled log cost, flat beyond the ends."""
    knots_t = torch.as_tensor(knots, dtype=DTYPE)
    values_t = torch.as_tensor(values, dtype=DTYPE)
    if len(knots) == 1:
        return lambda c: values_t[0].expand(c.shape)

    def predict(c: torch.Tensor) -> torch.Tensor:
        c = c.clamp(knots_t[0], knots_t[-1])
        right = torch.searchsorted(knots_t, c).clamp(1, len(knots) - 1)
        left = right - 1
        width = (knots_t[right] - knots_t[left]).clamp_min(1e-12)
        weight = (c - knots_t[left]) / width
        return values_t[left] + weight * (values_t[right] - values_t[left])

    return predict


def _isotonic(success_x: np.ndarray, success_y: np.ndarray, **_: np.ndarray) -> ParetoFunction:
    order = np.argsort(success_x, kind="stable")
    fitted = isotonic_increasing(success_y[order])
    knots, first = np.unique(success_x[order], return_index=True)
    last = np.r_[first[1:], len(order)] - 1
    return _interpolate(knots, fitted[last])


def _linear(front_x: np.ndarray, front_y: np.ndarray, **_: np.ndarray) -> ParetoFunction:
    slope = 0.0
    if len(front_x) > 1 and np.ptp(front_x) > 0:
        slope = max(float(np.polyfit(front_x, front_y, 1)[0]), 0.0)
    intercept = float(np.mean(front_y) - slope * np.mean(front_x))
    return lambda c: intercept + slope * c


def _logistic(front_x: np.ndarray, front_y: np.ndarray, **_: np.ndarray) -> ParetoFunction:
    """y = low + (high - low) * sigmoid(a + b c): saturating improvement with log cost."""
    x = torch.as_tensor(front_x, dtype=DTYPE)
    y = torch.as_tensor(front_y, dtype=DTYPE)
    spread = max(float(y.max() - y.min()), 1e-3)
    theta = torch.tensor(
        [float(y.min()) - 0.1 * spread, float(y.max()) + 0.1 * spread, 0.0, 1.0],
        dtype=DTYPE,
        requires_grad=True,
    )

    def curve(c: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return t[0] + (t[1] - t[0]) * torch.sigmoid(t[2] + t[3].abs() * (c - x.mean()) * 4)

    optimizer = torch.optim.LBFGS([theta], max_iter=50, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = ((curve(x, theta) - y) ** 2).sum() + 1e-3 * (theta[2:] ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    fitted = theta.detach()
    if not torch.isfinite(fitted).all():
        return _linear(front_x, front_y)
    return lambda c: curve(c, fitted)


def _step(front_x: np.ndarray, front_y: np.ndarray, **_: np.ndarray) -> ParetoFunction:
    knots = torch.as_tensor(front_x, dtype=DTYPE)
    values = torch.as_tensor(front_y, dtype=DTYPE)
    return lambda c: values[(torch.searchsorted(knots, c, right=True) - 1).clamp_min(0)]


_PARETO_MODELS = {
    ParetoModel.FRONT_GP: _front_gp,
    ParetoModel.ENVELOPE_GP: _envelope_gp,
    ParetoModel.ISOTONIC: _isotonic,
    ParetoModel.LINEAR: _linear,
    ParetoModel.LOGISTIC: _logistic,
    ParetoModel.STEP: _step,
}


def fit_pareto_model(
    kind: ParetoModel,
    front_x: np.ndarray,
    front_y: np.ndarray,
    success_x: np.ndarray,
    success_y: np.ndarray,
) -> ParetoFunction:
    """Pareto value as a function of scaled log cost, fit on front points or all successes."""
    return _PARETO_MODELS[kind](
        front_x=front_x, front_y=front_y, success_x=success_x, success_y=success_y
    )
