"""The success models: CARBS's label regression and the Laplace GP classifier."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from carbs_lite import LinearSpace, Param, Tuner, TunerConfig
from carbs_lite.success_model import (
    _mode,
    _ModeStep,
    fit_label_regression,
    fit_laplace_classifier,
)
from carbs_lite.surrogate import covariance, make_kernel, module_local_params

D = torch.float64


def _stochastic_failures(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Rows x in [-2, 2] (n, 1) whose runs fail with probability Phi(2 x), and a grid."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, n)
    p_fail = torch.special.ndtr(torch.as_tensor(2.0 * x)).numpy()
    failed = torch.as_tensor(rng.random(n) < p_fail)
    return torch.as_tensor(x, dtype=D).reshape(-1, 1), failed, np.linspace(-1.5, 1.5, 13)


@pytest.mark.parametrize("seed", range(3))
def test_classifier_probabilities_follow_failures_that_happen_by_chance(seed):
    x, failed, grid = _stochastic_failures(60, seed)
    query = torch.as_tensor(grid, dtype=D).reshape(-1, 1)
    truth = torch.special.ndtr(torch.as_tensor(-2.0 * grid))
    classifier = fit_laplace_classifier(x, failed, rng=np.random.default_rng(0))
    regression = fit_label_regression(x, failed, rng=np.random.default_rng(0))
    p_success, called = (
        model.log_success_probability(query).exp() for model in (classifier, regression)
    )
    # mean absolute errors measured 0.045, 0.058, 0.084 (seeds 0-2), the regression's
    # 0.112, 0.117, 0.118
    assert (p_success - truth).abs().mean() < 0.1
    assert (p_success - truth).abs().mean() < (called - truth).abs().mean()
    assert (p_success[1:] <= p_success[:-1] + 0.02).all()  # falls as failures grow likelier
    # the regression calls 11-12 of the 13 points a sure outcome either way, the classifier 2-5
    sure = lambda p: int(((p < 0.02) | (p > 0.98)).sum())  # noqa: E731
    assert sure(called) > sure(p_success) + 4


def test_classifier_doubts_points_past_the_failures_that_the_regression_calls_safe():
    """Rows of the 2-D failure case (sum(x) > 1.2 fails) after 26 tries, where the label
    regression fit one lengthscale to 0.03 and called the next pick (0.277, 0.997), sum 1.27,
    a sure success; it failed."""
    rows = [
        (0.3, 0.3), (0.89, 0.557), (0.081, 0.402), (0.895, 0.86), (0.366, 0.327),
        (0.424, 0.309), (0.51, 0.301), (0.572, 0.315), (0.622, 0.37), (0.663, 0.402),
        (0.775, 0.474), (0.687, 0.601), (0.92, 0.378), (0.622, 0.437), (0.642, 0.002),
        (0.127, 0.002), (0.018, 0.724), (0.081, 0.923), (0.202, 1.0), (0.03, 0.999),
        (0.655, 0.41), (0.422, 0.501), (0.274, 0.659), (0.255, 0.79), (0.266, 0.867),
        (0.266, 0.917),
    ]  # fmt: skip
    x = torch.tensor(rows, dtype=D)
    failed = x.sum(1) > 1.2
    # the pick, a point past the edge (sum 1.3) and one well inside it (sum 0.8)
    query = torch.tensor([[0.277, 0.997], [0.65, 0.65], [0.4, 0.4]], dtype=D)
    regression = fit_label_regression(x, failed, rng=np.random.default_rng(0))
    classifier = fit_laplace_classifier(x, failed, rng=np.random.default_rng(0))
    called, p_success = (
        model.log_success_probability(query).exp().tolist() for model in (regression, classifier)
    )
    # measured: the regression 1.000, 1.000, 0.992; the classifier 0.58, 0.41, 0.96
    assert called[0] > 0.99 and called[1] > 0.99
    assert p_success[0] < 0.8 and p_success[1] < 0.5
    assert p_success[2] > 0.9


def test_hyperparameter_gradient_includes_the_modes_dependence():
    """The fit's gradient (one differentiable Newton step from the mode) matches central
    differences of the Laplace log marginal likelihood with the mode found anew."""
    x, failed, _ = _stochastic_failures(30, 0)
    labels = torch.where(failed, 1.0, -1.0).to(D)
    with module_local_params():
        kernel = make_kernel("matern52_linear", 1)

        def log_q(mode: torch.Tensor | None = None) -> torch.Tensor:
            cov = covariance(kernel, x)
            with torch.no_grad():
                start = torch.zeros(len(x), dtype=D) if mode is None else mode
                mode = _mode(cov, labels, -0.3, start)
            return _ModeStep(cov, labels, -0.3, mode).log_marginal_likelihood()

        log_q().backward()
        for name, param in kernel.named_parameters():
            analytic = float(param.grad.reshape(-1)[0])
            with torch.no_grad():
                flat = param.reshape(-1)
                flat[0] += 1e-5
                upper = float(log_q())
                flat[0] -= 2e-5
                lower = float(log_q())
                flat[0] += 1e-5
            assert analytic == pytest.approx((upper - lower) / 2e-5, rel=1e-4, abs=1e-6), name


def test_inputs_near_1e9_leave_the_search_running_and_every_run_recorded():
    """The module's documented limit: there the classifier raises LinAlgError, and the search
    falls back to sampling around the front instead of failing the call."""
    params = [Param("n", LinearSpace(min=0.0, max=1e10), 1e9)]
    tuner = Tuner(params, TunerConfig(direction="maximize"), seed=0)
    for _ in range(8):
        suggestion = tuner.suggest()
        n = suggestion.params["n"]
        assert 0.0 <= n <= 1e10
        failed = n > 6e9
        tuner.observe(suggestion, math.nan if failed else n / 1e10, 1.0, is_failure=failed)
    assert len(tuner.observations) == 8
    assert any(o.is_failure for o in tuner.observations)
