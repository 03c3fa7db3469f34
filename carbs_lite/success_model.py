"""The success model: the chance that a run at a point finishes without failing.

Two models, chosen by ``Heuristics.success_model``, each fit on the surrogate inputs (n, d) of
the runs and whether each failed (n,):

- ``LabelRegression`` (CARBS): a GP regression (``surrogate.fit_gp``) on the labels +1 (failed)
  and -1 (succeeded), and P(success) = Phi(-mu / sigma) with mu and sigma^2 the posterior mean
  and variance of the regression's latent function at the point. This is the least-squares
  classification of Rasmussen and Williams (2006, section 6.5). The probability is not
  calibrated: the latent variance goes to 0 at the observed points, so P(success) is near 0 or
  1 almost everywhere and crosses 1/2 in a thin band. Binary labels also favour ARD fits with
  one lengthscale run down to a few hundredths, which then call a point past the failures a
  sure success.
- ``LaplaceClassifier``: GP classification with the probit likelihood p(failed | f) =
  Phi(m + f), f ~ GP(0, k) and a constant m. The posterior of f is approximated by a Gaussian
  at its mode (the Laplace approximation, Rasmussen and Williams 2006, section 3.4, algorithms
  3.1 and 3.2). Then P(success) = Phi(-(m + mu) / sqrt(1 + sigma^2)) (their eq. 3.82 for the
  probit). The kernel is that of the other GPs (``surrogate.make_kernel``), under the same
  lengthscale prior and a prior of that width on its variances. Its hyperparameters are the
  MAP of the approximate marginal likelihood (section 5.5.1).

The prior mean m is Phi^-1 of the failure share by the rule of succession,
(failures + 1) / (runs + 2), just as the regression centres its labels on their mean.

Both models see the surrogate inputs, in basic-space units. With inputs near 1e9 (a
``LinearSpace`` spanning 1e10 at its default ``scale`` of 1) the linear kernel part reaches
1e17, Newton's method for the classifier's mode diverges, and the fit raises LinAlgError; the
search then falls back to sampling around the front, as on any numerical failure of its
models (the other GPs' fits already fail there too).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyro.contrib.gp as gp
import torch

from carbs_lite.surrogate import (
    DTYPE,
    FittedGP,
    covariance,
    fit_gp,
    fit_subset,
    lengthscale_prior_nlp,
    make_kernel,
    minimize_or_restore,
    module_local_params,
    variance_prior_nlp,
)

NEWTON_ITERATIONS = 30
NEWTON_TOLERANCE = 1e-10
"""Newton's method for the posterior mode stops after this many steps or once the log
posterior of the mode changes by less than the tolerance. The log likelihood is concave, so
the posterior has a single mode; the undamped steps of algorithm 3.1 took 7-11 steps to it
from zero and 2-7 from the previous mode during the hyperparameter fit."""


class FittedSuccessModel(Protocol):
    """A fitted success model."""

    kernel: gp.kernels.Kernel
    """Its covariance, a ``surrogate.make_kernel`` kernel with fitted hyperparameters."""

    def log_success_probability(self, x: torch.Tensor) -> torch.Tensor:
        """log P(success) (m,) at surrogate-input rows x (m, d)."""
        ...


class LabelRegression:
    """CARBS's success model: a GP regression on +1 (failed) / -1 (succeeded) labels."""

    def __init__(self, regression: FittedGP) -> None:
        self.regression = regression
        self.kernel = regression.model.kernel

    def log_success_probability(self, x: torch.Tensor) -> torch.Tensor:
        """log Phi(-mu / sigma) (m,) of the latent's posterior at rows x (m, d); LinAlgError
        if the prediction is not finite."""
        mean, var = self.regression.predict(x)
        return torch.special.log_ndtr(-mean / var.sqrt())


def _probit_terms(
    f: torch.Tensor, labels: torch.Tensor, prior_mean: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """log p(labels | f) (n,), its gradient in f (n,) and W, minus its second derivative (n,),
    for the probit likelihood Phi(t (m + f)) (Rasmussen and Williams 2006, eqs. 3.16)."""
    z = labels * (f + prior_mean)
    log_cdf = torch.special.log_ndtr(z)
    # N(z) / Phi(z) through logs: stable far in the lower tail, where both underflow
    ratio = torch.exp(-0.5 * z * z - 0.5 * np.log(2.0 * np.pi) - log_cdf)
    return log_cdf, labels * ratio, ratio * (ratio + z)


class _ModeStep:
    """One Newton step towards the posterior mode f of the latent (Rasmussen and Williams 2006,
    algorithm 3.1) from f, and the Laplace approximation of log p(labels) at the step's end."""

    def __init__(
        self, kernel: torch.Tensor, labels: torch.Tensor, prior_mean: float, f: torch.Tensor
    ) -> None:
        self.kernel = kernel
        _, grad, w = _probit_terms(f, labels, prior_mean)
        self.sqrt_w, self.tril = self._factor(w)
        b = w * f + grad
        solved = torch.cholesky_solve((self.sqrt_w * kernel.matmul(b)).unsqueeze(1), self.tril)
        self.a = b - self.sqrt_w * solved.squeeze(1)
        self.f = kernel.matmul(self.a)
        log_lik, self.grad, self.w = _probit_terms(self.f, labels, prior_mean)
        self.log_posterior = -0.5 * self.a.dot(self.f) + log_lik.sum()

    def _factor(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """W^1/2 (n,) and the Cholesky factor L of B = I + W^1/2 K W^1/2, whose eigenvalues
        are at least 1, so it takes no jitter (the module's note says where rounding still
        breaks it)."""
        sqrt_w = w.clamp_min(1e-12).sqrt()
        n = self.kernel.shape[0]
        b_matrix = torch.eye(n, dtype=DTYPE) + sqrt_w[:, None] * self.kernel * sqrt_w
        return sqrt_w, torch.linalg.cholesky(b_matrix)

    def log_marginal_likelihood(self) -> torch.Tensor:
        """-a'f / 2 + log p(labels | f) - sum log diag L (algorithm 3.1's last line) at the
        step's end f, with L the factor of B = I + W^1/2 K W^1/2 and W taken at f too, so
        that the gradient carries the dependence of W on the mode."""
        return self.log_posterior - self._factor(self.w)[1].diagonal().log().sum()


def _mode(
    kernel: torch.Tensor, labels: torch.Tensor, prior_mean: float, start: torch.Tensor
) -> torch.Tensor:
    """The posterior mode of the latent (n,) by Newton's method from ``start`` (n,)."""
    f, previous = start, -torch.inf
    for _ in range(NEWTON_ITERATIONS):
        step = _ModeStep(kernel, labels, prior_mean, f)
        f = step.f
        if abs(float(step.log_posterior) - previous) < NEWTON_TOLERANCE:
            break
        previous = float(step.log_posterior)
    return f


class LaplaceClassifier:
    """Probit GP classification of failed runs under the Laplace approximation."""

    def __init__(
        self,
        kernel: gp.kernels.Kernel,
        rows: torch.Tensor,
        labels: torch.Tensor,
        prior_mean: float,
        x_offset: torch.Tensor,
        start: torch.Tensor | None = None,
    ) -> None:
        """The mode of the latent at ``rows`` (n, d) (the inputs less ``x_offset``), found by
        Newton's method from ``start`` (n,), zeros if None."""
        self.kernel, self.rows, self.prior_mean, self.x_offset = kernel, rows, prior_mean, x_offset
        start = torch.zeros(len(rows), dtype=DTYPE) if start is None else start
        with torch.no_grad(), module_local_params():
            cov = covariance(kernel, rows)
            mode = _mode(cov, labels, prior_mean, start)
            self._step = _ModeStep(cov, labels, prior_mean, mode)

    def latent(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The approximate posterior mean and variance (m,), (m,) of the latent f (without the
        prior mean m) at rows x (m, d) (algorithm 3.2); LinAlgError if they are not finite."""
        step = self._step
        with torch.no_grad(), module_local_params():
            rows = x - self.x_offset
            cross = covariance(self.kernel, self.rows, rows)
            mean = cross.t().matmul(step.grad)
            v = torch.linalg.solve_triangular(step.tril, step.sqrt_w[:, None] * cross, upper=False)
            var = (covariance(self.kernel, rows, diag=True) - v.pow(2).sum(0)).clamp_min(0.0)
        if not (torch.isfinite(mean).all() and torch.isfinite(var).all()):
            raise torch.linalg.LinAlgError("success probability is not finite")
        return mean, var

    def log_success_probability(self, x: torch.Tensor) -> torch.Tensor:
        """log Phi(-(m + mu) / sqrt(1 + sigma^2)) (m,) at rows x (m, d), with mu and sigma^2
        of ``latent``; LinAlgError if they are not finite."""
        mean, var = self.latent(x)
        return torch.special.log_ndtr(-(self.prior_mean + mean) / (1.0 + var).sqrt())


def _fit_hyperparameters(
    kernel: gp.kernels.Kernel,
    rows: torch.Tensor,
    labels: torch.Tensor,
    prior_mean: float,
    iterations: int,
) -> None:
    """Short L-BFGS on -log q(labels) - log p(lengthscales) - log p(variances), q the Laplace
    approximation. The prior on the kernel variances keeps the line search away from kernel
    variances in the e^60s: without it, on separable failures, one line search tried such a
    point, where B could no longer be factorized, and the whole fit fell back to its initial
    values.

    Each evaluation finds the mode without gradients, then takes one more Newton step with
    them. Newton's update has a zero derivative in f at the mode, so that step's derivative in
    the hyperparameters is the mode's, and the objective's gradient includes the mode's
    dependence on them (Rasmussen and Williams 2006, eq. 5.23's implicit term). Keeps the
    initial values, with a warning, if the fit fails."""
    mode = torch.zeros(len(rows), dtype=DTYPE)

    def loss() -> torch.Tensor:
        nonlocal mode
        cov = covariance(kernel, rows)
        with torch.no_grad():
            mode = _mode(cov, labels, prior_mean, mode)
        step = _ModeStep(cov, labels, prior_mean, mode)
        prior = lengthscale_prior_nlp(kernel) + variance_prior_nlp(kernel)
        return -step.log_marginal_likelihood() + prior

    minimize_or_restore(kernel, loss, iterations, "GP classifier fit")


def fit_laplace_classifier(
    x: torch.Tensor,
    failed: torch.Tensor,
    kind: str = "matern52_linear",
    iterations: int = 20,
    max_fit_points: int = 128,
    rng: np.random.Generator | None = None,
) -> LaplaceClassifier:
    """Fit the probit GP classifier to rows x (n, d) and ``failed`` (n,) booleans, the kernel
    one of ``surrogate.KERNELS`` (ValueError for another). As for the regressions, the
    hyperparameters are fit on a random ``max_fit_points`` of the rows at most, and the mode
    on all of them, from the latent mean that the subset predicts there (Newton's method then
    takes a few steps instead of a dozen)."""
    labels = torch.where(failed, 1.0, -1.0).to(DTYPE)
    share = (float(failed.sum()) + 1.0) / (len(failed) + 2.0)
    prior_mean = float(torch.special.ndtri(torch.tensor(share, dtype=DTYPE)))
    x_offset = x.mean(0)
    rows = x - x_offset
    subset = fit_subset(len(x), max_fit_points, rng)
    with module_local_params():
        kernel = make_kernel(kind, x.shape[1])
        _fit_hyperparameters(kernel, rows[subset], labels[subset], prior_mean, iterations)
    start = None
    if len(subset) < len(x):
        fitted = LaplaceClassifier(kernel, rows[subset], labels[subset], prior_mean, x_offset)
        start = fitted.latent(x)[0]
    return LaplaceClassifier(kernel, rows, labels, prior_mean, x_offset, start)


def fit_label_regression(
    x: torch.Tensor,
    failed: torch.Tensor,
    kind: str = "matern52_linear",
    iterations: int = 20,
    max_fit_points: int = 128,
    rng: np.random.Generator | None = None,
) -> LabelRegression:
    """Fit CARBS's label regression to rows x (n, d) and ``failed`` (n,) booleans (the
    arguments of ``surrogate.fit_gp``)."""
    labels = torch.where(failed, 1.0, -1.0).to(DTYPE)
    return LabelRegression(
        fit_gp(x, labels, kind=kind, iterations=iterations, max_fit_points=max_fit_points, rng=rng)
    )
