"""GP surrogates: fit quality, robustness, outstanding folding."""

from __future__ import annotations

import numpy as np
import pyro.contrib.gp as gp
import pytest
import torch

from carbs_lite.arch import ArchSpace
from carbs_lite.heuristics import OutstandingEstimator
from carbs_lite.surrogate import (
    _cholesky,
    _positive,
    covariance,
    fit_gp,
    fold_outstanding,
    make_kernel,
    module_local_params,
)

D = torch.float64


def test_gp_fits_a_smooth_function_and_is_uncertain_far_away():
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.uniform(-1, 1, (40, 2)), dtype=D)
    y = torch.sin(2 * x[:, 0]) + x[:, 1] ** 2
    model = fit_gp(x, y)
    test = torch.as_tensor(rng.uniform(-0.8, 0.8, (50, 2)), dtype=D)
    mean, var = model.predict(test)
    truth = torch.sin(2 * test[:, 0]) + test[:, 1] ** 2
    assert float((mean - truth).abs().mean()) < 0.05
    far = model.predict(torch.tensor([[8.0, 8.0]], dtype=D))[1]
    assert float(far) > 10 * float(var.mean())


@pytest.mark.parametrize("case", ["duplicates", "constant", "single", "huge_scale"])
def test_gp_fit_is_robust(case):
    x = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]], dtype=D)
    y = torch.tensor([1.0, 1.1, 2.0, 2.0], dtype=D)
    if case == "constant":
        y = torch.full((4,), 3.0, dtype=D)
    if case == "single":
        x, y = x[:1], y[:1]
    if case == "huge_scale":
        x = x * 1e6
    mean, var = fit_gp(x, y).predict(torch.tensor([[0.5, 0.5]], dtype=D))
    assert torch.isfinite(mean).all() and torch.isfinite(var).all() and float(var) > 0


def test_cholesky_raises_jitter_until_it_factorizes():
    singular = torch.ones(3, 3, dtype=D)  # rank 1: plain Cholesky fails
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.cholesky(singular)
    tril = _cholesky(singular)
    rebuilt = tril @ tril.T
    assert torch.allclose(rebuilt, singular, atol=1e-5)
    with pytest.raises(torch.linalg.LinAlgError, match="not positive definite"):
        _cholesky(-torch.eye(3, dtype=D))


def test_predictions_factorize_whenever_the_fit_did():
    """Duplicated inputs at a huge kernel variance: K + (noise + 1e-6) I is singular in float64,
    the fit's relative jitter is not, and prediction (pyro adds ``model.jitter``) uses it."""
    x = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]], dtype=D)
    model = fit_gp(x, torch.tensor([1.0, 1.1, 2.0, 2.0], dtype=D))
    assert model.model.jitter == 1e-6  # the usual case keeps pyro's default
    with module_local_params():  # set them on this model, not in pyro's global store
        model.model.kernel.kern0.variance = torch.tensor(1e14, dtype=D)
        model.model.noise = torch.tensor(1e-9, dtype=D)
    query = torch.tensor([[0.5, 0.5]], dtype=D)
    with torch.no_grad(), module_local_params():
        at_default = model.model.kernel(model.model.X) + (1e-9 + 1e-6) * torch.eye(4, dtype=D)
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.cholesky(at_default)
    model.condition_on(x[:1], torch.tensor([1.05], dtype=D))  # re-derives the jitter
    assert model.model.jitter > 1e-6
    mean, var = model.predict(query)
    assert torch.isfinite(mean).all() and torch.isfinite(var).all()


def test_success_gp_of_an_ads_run_fits_without_falling_back(caplog):
    """Eight archs of a real ads run, +1 = diverged: this fit used to hit a non-positive-definite
    covariance mid-search and fall back to its initial hyperparameters."""
    archs = [
        [[64, 64]],
        [[83, 291, 1741], [489, 133, 177]],
        [[88, 1328, 633], [1964, 1387, 203], [277, 1493]],
        [[365, 506]],
        [[392, 588, 407], [350, 544]],
        [[329, 572, 370, 489], [360, 583]],
        [[254, 645, 369, 606, 552], [295, 654]],
        [[464, 806, 300, 389], [287, 614, 479]],
    ]
    space = ArchSpace()
    x = torch.as_tensor(space.surrogate_inputs(np.array([space.to_basic(a) for a in archs])))
    y = torch.tensor([-1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0, -1.0], dtype=D)
    with caplog.at_level("WARNING", logger="carbs_lite.surrogate"):
        model = fit_gp(x, y)
    assert "fit failed" not in caplog.text
    assert np.all((model.lengthscale > 1e-3) & (model.lengthscale < 1e3))  # it ran to 1e-8..1e13
    mean, _ = model.predict(x)
    assert torch.all(torch.sign(mean) == y)


def test_fit_on_capped_subset_predicts_with_all_points():
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.uniform(-1, 1, (300, 3)), dtype=D)
    y = x.sum(1)
    model = fit_gp(x, y, max_fit_points=50, rng=rng)
    assert model.model.X.shape[0] == 300
    assert float((model.predict(x[:20])[0] - y[:20]).abs().max()) < 0.05


def test_fold_outstanding_collapses_variance_at_pending_points():
    x = torch.tensor([[0.0], [1.0], [2.0]], dtype=D)
    model = fit_gp(x, torch.tensor([0.0, 1.0, 0.0], dtype=D))
    pending = torch.tensor([[3.0]], dtype=D)
    before = float(model.predict(pending)[1])
    fold_outstanding(model, pending, OutstandingEstimator.MEAN, np.random.default_rng(0))
    assert float(model.predict(pending)[1]) < 0.1 * before


def test_cached_predictions_equal_pyros_own():
    """``FittedGP.predict`` factorizes the conditioning rows once; its mean and variance are
    pyro's ``GPRegression`` forward pass, before and after conditioning on more rows."""
    rng = np.random.default_rng(3)
    x = torch.as_tensor(rng.uniform(-1, 1, (40, 3)), dtype=D)
    y = torch.sin(3 * x[:, 0]) + x[:, 1] ** 2 + 0.05 * torch.as_tensor(rng.standard_normal(40))
    model = fit_gp(x, y)
    query = torch.as_tensor(rng.uniform(-1, 1, (7, 3)), dtype=D)

    def pyro_predict() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad(), module_local_params():
            mean, var = model.model(query - model.x_offset, full_cov=False, noiseless=True)
        return mean + model.y_offset, var

    for _ in range(2):
        mean, var = model.predict(query)
        expected_mean, expected_var = pyro_predict()
        assert torch.allclose(mean, expected_mean, rtol=1e-12, atol=1e-12)
        assert torch.allclose(var, expected_var.clamp_min(1e-12), rtol=1e-10, atol=1e-12)
        model.condition_on(query[:2], mean[:2] + 0.3)


@pytest.mark.parametrize("dim", [1, 4])
@pytest.mark.parametrize("kind", ["matern52_linear", "matern32_linear", "rbf"])
def test_covariance_and_its_gradients_are_pyros_to_the_bit(kind, dim):
    """The MAP fit and the predictions use ``covariance``, not the kernel modules, for speed;
    its values and hyperparameter gradients must be exactly pyro's, or every suggestion moves.
    """
    rng = np.random.default_rng(4)
    x = torch.as_tensor(rng.uniform(-1, 1, (30, dim)), dtype=D)
    z = torch.as_tensor(rng.uniform(-1, 1, (9, dim)), dtype=D)
    with module_local_params():
        kernel = make_kernel(kind, dim)
    with torch.no_grad():
        for value in kernel.parameters():
            value.copy_(torch.as_tensor(rng.normal(0.0, 0.5, value.shape), dtype=D))
    weights = [
        torch.as_tensor(rng.standard_normal(shape), dtype=D) for shape in [(30, 30), (30, 9), 9]
    ]

    def values_and_gradients(compute) -> list[torch.Tensor]:
        kernel.zero_grad(set_to_none=True)
        with module_local_params():
            parts = [compute(x, None, False), compute(x, z, False), compute(z, None, True)]
            sum(
                (part * weight).sum() for part, weight in zip(parts, weights, strict=True)
            ).backward()
        return [part.detach() for part in parts] + [p.grad.clone() for p in kernel.parameters()]

    ours = values_and_gradients(lambda a, b, d: covariance(kernel, a, b, d))
    pyros = values_and_gradients(lambda a, b, d: kernel(a, b, diag=d))
    assert len(ours) == len(pyros) == 3 + len(list(kernel.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(ours, pyros, strict=True))


def test_covariance_refuses_what_it_does_not_mirror():
    rows = torch.zeros(3, 2, dtype=D)
    with module_local_params():
        kernel = make_kernel("matern52_linear", 2)
        with pytest.raises(TypeError, match="Exponential"):
            covariance(gp.kernels.Exponential(2), rows)
        with pytest.raises(TypeError, match="RBF"):
            covariance(gp.kernels.RBF(1, active_dims=[1]), rows)
        with pytest.raises(ValueError, match=r"\(3,\)"):
            covariance(kernel, torch.zeros(3, dtype=D), diag=True)
        with pytest.raises(ValueError, match=r"\(3, 3\)"):
            covariance(kernel, rows, torch.zeros(3, 3, dtype=D))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_variance_follows_the_data(seed):
    """The noise prior is wide enough that a deterministic output is fit almost exactly (EI
    can then tell points near an optimum apart) and a noisy one is fit as noisy (EI does not
    chase lucky draws): 40 rows of a smooth 2-D function, standardized, as the output GP sees
    them."""
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.uniform(0, 1, (40, 2)), dtype=D)
    smooth = torch.sin(3 * x[:, 0]) + x[:, 1] ** 2
    fitted = {}
    for noise in (0.0, 0.3):
        y = smooth + noise * torch.as_tensor(rng.standard_normal(40), dtype=D)
        y = (y - y.mean()) / y.std()
        with torch.no_grad(), module_local_params():
            fitted[noise] = float(_positive(fit_gp(x, y).model, "noise"))
    assert fitted[0.0] < 1e-4
    # the true noise variance, 0.3^2 / var(y), is 0.31-0.37 on these seeds; fits 0.23-0.28
    assert fitted[0.3] > 0.05


def test_fit_gp_refuses_an_unknown_kernel():
    x = torch.zeros(3, 2, dtype=D)
    with pytest.raises(ValueError, match="unknown kernel 'matern12'.*matern52_linear"):
        fit_gp(x, torch.tensor([0.0, 1.0, 2.0], dtype=D), kind="matern12")


def test_log_marginal_likelihood_is_that_of_the_conditioning_rows():
    rng = np.random.default_rng(3)
    x = torch.as_tensor(rng.uniform(-1, 1, (25, 2)), dtype=D)
    y = torch.sin(3 * x[:, 0]) + 0.1 * torch.as_tensor(rng.standard_normal(25), dtype=D)
    fitted = fit_gp(x, y, rng=rng)
    model = fitted.model
    with torch.no_grad(), module_local_params():
        noise = float(_positive(model, "noise")) + model.jitter
        cov = covariance(model.kernel, model.X) + noise * torch.eye(25, dtype=D)
        expected = torch.distributions.MultivariateNormal(
            torch.zeros(25, dtype=D) + model.mean_function(model.X), cov
        ).log_prob(model.y)
    assert fitted.log_marginal_likelihood() == pytest.approx(float(expected), rel=1e-9)
    # a worse explanation of the same rows (targets shuffled) is less likely under its own fit
    shuffled = fit_gp(x, y[torch.as_tensor(rng.permutation(25))], rng=rng)
    assert shuffled.log_marginal_likelihood() < fitted.log_marginal_likelihood()
