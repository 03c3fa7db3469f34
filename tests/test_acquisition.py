"""Acquisition terms against hand-computed numbers (stub posteriors, no GP)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from carbs_lite import acquisition as acq
from carbs_lite.heuristics import (
    CandidateRounding,
    CostMask,
    FinalPick,
    ParetoClamp,
    SearchProbability,
)

T = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731


def _phi(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


@pytest.mark.parametrize(
    "mean, std, best, bias", [(1.0, 0.5, 0.2, 0.0), (0.0, 1.0, 0.0, 1.0), (-3.0, 0.2, 1.0, 1.0)]
)
def test_expected_improvement_matches_closed_form(mean, std, best, bias):
    z = (mean - best - bias) / std
    expected = std * (z * _cdf(z) + _phi(z))
    log_ei = acq.log_expected_improvement(T(mean), T(std), T(best), bias)
    assert math.exp(float(log_ei)) == pytest.approx(expected, rel=1e-9)


def test_log_expected_improvement_stays_finite_and_ordered_far_below_best():
    means = T(-10.0, -20.0, -40.0)
    log_ei = acq.log_expected_improvement(means, T(0.1, 0.1, 0.1), T(0.0, 0.0, 0.0), 1.0)
    assert torch.isfinite(log_ei).all()
    assert log_ei[0] > log_ei[1] > log_ei[2]


def test_search_probability_is_max_over_centers_of_relative_density():
    centers = T(0.0, 0.0, 1.0, 1.0).reshape(2, 2)
    candidates = T(0.1, 0.0, 1.0, 0.7).reshape(2, 2)
    log_p = acq.log_search_probability(candidates, centers, T(0.5, 0.5))
    assert log_p[0] == pytest.approx(-0.5 * (0.1 / 0.5) ** 2)
    assert log_p[1] == pytest.approx(-0.5 * (0.3 / 0.5) ** 2)
    off = acq.log_search_probability(candidates, centers, T(0.5, 0.5), SearchProbability.OFF)
    assert off.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("dim", [1, 2, 5, 31])
def test_search_tail_probability_is_the_chi_square_survival_of_the_nearest_distance(dim):
    rng = np.random.default_rng(dim)
    centers = torch.as_tensor(rng.normal(size=(3, dim)))
    std = T(0.5)
    draws = centers[0] + std * torch.as_tensor(rng.standard_normal((20_000, dim)))
    log_p = acq.log_search_probability(draws, centers[:1], std, SearchProbability.TAIL)
    # P(chi^2_d >= r^2) of a draw from the Gaussian itself is uniform on (0, 1)
    p = log_p.exp().numpy()
    assert np.mean(p) == pytest.approx(0.5, abs=0.01)
    assert np.mean(p < 0.1) == pytest.approx(0.1, abs=0.01)
    assert float(acq.log_search_probability(centers[:1], centers, std, SearchProbability.TAIL)) == 0
    # far out, where Q underflows, the asymptotic term keeps the order (no tie at -inf)
    far = centers[:1] + T(30.0, *([0.0] * (dim - 1))) * torch.arange(1.0, 4.0)[:, None]
    tail = acq.log_search_probability(far, centers[:1], std, SearchProbability.TAIL)
    assert torch.isfinite(tail).all() and tail[0] > tail[1] > tail[2]


def test_cost_mask_and_combination():
    mean, std = T(0.5, 1.0, 2.0), T(0.5, 0.5, 0.5)
    assert acq.log_cost_mask(mean, std, 1.0, CostMask.HARD).tolist() == [0.0, -math.inf, -math.inf]
    soft = acq.log_cost_mask(mean, std, 1.0, CostMask.PROBABILITY).exp()
    assert soft.tolist() == pytest.approx([_cdf(1.0), 0.0, 0.0])
    assert acq.log_cost_mask(T(5.0), T(1.0), None, CostMask.HARD).tolist() == [0.0]
    # confidence 0.9: mean + 1.28 std must be under the cap
    sure = acq.log_cost_mask(T(0.2, 0.5), T(0.5, 0.5), 1.0, CostMask.HARD, confidence=0.9)
    assert sure.tolist() == [0.0, -math.inf]
    loose = acq.log_cost_mask(T(1.2), T(0.5), 1.0, CostMask.HARD, confidence=0.2)
    assert loose.tolist() == [0.0]  # P(cost < cap) = 0.34 >= 0.2
    log_acq = acq.log_acquisition(T(-1.0), T(-2.0), T(-0.5), T(0.0))
    assert float(log_acq) == pytest.approx(-3.5)
    assert float(acq.log_acquisition(T(-1.0), T(-2.0), T(-0.5), T(-math.inf))) == -math.inf


def test_prepare_candidates_rounds_then_drops_out_of_bounds():
    raw = np.array([[0.4], [2.6], [3.6]])
    lower, upper = np.array([0.0]), np.array([3.0])
    rounded = acq.prepare_candidates(raw, CandidateRounding.BEFORE_SCORING, np.round, lower, upper)
    assert rounded.ravel().tolist() == [0.0, 3.0]
    unrounded = acq.prepare_candidates(
        raw, CandidateRounding.FINAL_PICK_ONLY, np.round, lower, upper
    )
    assert unrounded.ravel().tolist() == [0.4, 2.6]


def test_drop_duplicates_against_existing_and_within():
    candidates = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    existing = np.array([[1.0, 1.0]])
    kept = acq.drop_duplicates(candidates, existing, 1e-6, enabled=True)
    assert kept.tolist() == [[0.0, 0.0], [2.0, 2.0]]
    assert len(acq.drop_duplicates(candidates, existing, 1e-6, enabled=False)) == 4


def test_pick_modes():
    log_acq = torch.log(T(0.1, 0.6, 0.3))
    rng = np.random.default_rng(0)
    assert acq.pick(log_acq, FinalPick.ARGMAX, 0.1, rng) == 1
    draws = [acq.pick(log_acq, FinalPick.PROPORTIONAL, 0.1, rng) for _ in range(3000)]
    assert np.bincount(draws, minlength=3) / 3000 == pytest.approx([0.1, 0.6, 0.3], abs=0.03)
    soft = [acq.pick(log_acq, FinalPick.SOFTMAX, 0.1, rng) for _ in range(3000)]
    # p ~ exp(acq / (0.1 * 0.6)): (0.1, 0.6, 0.3) -> weights exp(-8.33), 1, exp(-5)
    assert np.mean(np.array(soft) == 1) == pytest.approx(
        1 / (1 + math.exp(-5) + math.exp(-25 / 3)), abs=0.01
    )


def test_threshold_costs_follow_their_distribution():
    rng = np.random.default_rng(1)
    costs = np.array([1.0, 100.0])
    log_uniform = [acq.threshold_cost(costs, ParetoClamp.LOG_UNIFORM, rng) for _ in range(4000)]
    uniform = [acq.threshold_cost(costs, ParetoClamp.UNIFORM, rng) for _ in range(4000)]
    assert min(log_uniform) >= 1.0 and max(log_uniform) <= 100.0
    assert np.median(log_uniform) == pytest.approx(10.0, rel=0.1)
    assert np.median(uniform) == pytest.approx(50.5, rel=0.05)


def test_pareto_threshold_value_modes():
    pareto = lambda c: 2.0 * c  # noqa: E731
    front_scaled, front_costs = np.array([0.0, 1.0]), np.array([1.0, 10.0])
    rng = np.random.default_rng(2)
    scale = lambda log_cost: log_cost / math.log(10.0)  # noqa: E731
    args = (pareto, front_scaled, front_costs, scale)
    values = np.array([0.5, 2.5])  # the front points' own values, above the model's at the top
    assert acq.pareto_threshold_value(*args, ParetoClamp.OFF, rng, values) == -math.inf
    assert acq.pareto_threshold_value(*args, ParetoClamp.ALWAYS_BEST, rng, values) == 2.0
    assert acq.pareto_threshold_value(*args, ParetoClamp.INCUMBENT, rng, values) == 2.5
    value = acq.pareto_threshold_value(*args, ParetoClamp.LOG_UNIFORM, rng, values)
    assert 0.0 <= value <= 2.0


def test_sample_candidates_centered_with_given_std():
    rng = np.random.default_rng(3)
    centers = np.array([[0.0, 10.0]])
    samples = acq.sample_candidates(centers, np.array([0.1, 2.0]), 20000, rng)
    assert samples.mean(0) == pytest.approx([0.0, 10.0], abs=0.05)
    assert samples.std(0) == pytest.approx([0.1, 2.0], rel=0.03)


def _two_group_basis() -> np.ndarray:
    """(3, 2): dimensions 0 and 1 share one shift (variance 2), all three another (variance 1)."""
    return np.array([[2**0.5, 2**0.5, 0.0], [1.0, 1.0, 1.0]]).T


def test_sample_candidates_add_one_shared_shift_per_basis_column():
    rng = np.random.default_rng(4)
    std, basis = np.array([0.5, 1.0, 2.0]), _two_group_basis()
    samples = acq.sample_candidates(np.zeros((1, 3)), std, 200_000, rng, basis)
    expected = np.diag(std) @ (np.eye(3) + basis @ basis.T) @ np.diag(std)
    assert np.cov(samples.T) == pytest.approx(expected, rel=0.02)
    plain = acq.sample_candidates(np.zeros((1, 3)), std, 1000, np.random.default_rng(4))
    empty = acq.sample_candidates(
        np.zeros((1, 3)), std, 1000, np.random.default_rng(4), np.zeros((3, 0))
    )
    assert np.array_equal(plain, empty)


def test_search_probability_with_a_basis_is_the_mahalanobis_distance_of_the_sampler():
    rng = np.random.default_rng(5)
    std, basis = np.array([0.5, 1.0, 2.0]), _two_group_basis()
    centers, candidates = rng.normal(size=(2, 3)), rng.normal(size=(6, 3))
    covariance = np.diag(std) @ (np.eye(3) + basis @ basis.T) @ np.diag(std)
    delta = candidates[:, None, :] - centers[None, :, :]
    r2 = np.einsum("nmi,ij,nmj->nm", delta, np.linalg.inv(covariance), delta).min(axis=1)
    log_p = acq.log_search_probability(
        torch.as_tensor(candidates), torch.as_tensor(centers), T(*std), basis=torch.as_tensor(basis)
    )
    assert log_p.numpy() == pytest.approx(-0.5 * r2)
    # a shift along a shared direction is far likelier than one of the same length across it
    along = torch.as_tensor([[1.0, 1.0, 0.0]]) * torch.as_tensor(std)
    across = torch.as_tensor([[1.0, -1.0, 0.0]]) * torch.as_tensor(std)
    zero = torch.zeros((1, 3), dtype=torch.float64)
    scores = [
        float(acq.log_search_probability(x, zero, T(*std), basis=torch.as_tensor(basis)))
        for x in (along, across)
    ]
    assert scores[0] > scores[1] + 0.5


def test_under_cost_cap_follows_the_cost_model_and_the_confidence():
    from carbs_lite import Heuristics, LinearSpace, Param, TunerConfig
    from carbs_lite.search import Search
    from carbs_lite.spaces import ParamSpace
    from carbs_lite.study_data import StudyData

    space = ParamSpace([Param("x", LinearSpace(min=0.0, max=4.0), 0.0)])
    x = np.linspace(0.0, 4.0, 9)[:, None]
    # log cost x plus seeded noise, so that the cost GP stays uncertain between runs
    log_cost = x[:, 0] + 0.1 * np.random.default_rng(1).standard_normal(9)
    data = StudyData(x, np.exp(log_cost), np.zeros(9, dtype=bool), -x[:, 0], np.zeros((0, 1)))
    rng = np.random.default_rng(0)
    model, log_range = Search(space, TunerConfig(), Heuristics()).cost_model(data, rng)

    def under_cap(rows, config):
        return Search(space, config, Heuristics()).under_cap(model, log_range, rows)

    queries = np.array([[0.5], [1.5], [2.5], [3.5]])
    cap = TunerConfig(max_suggestion_cost=math.exp(2.0))
    assert under_cap(queries, cap).tolist() == [True, True, False, False]
    assert under_cap(queries, TunerConfig()).all()  # no cap
    near = np.array([[2.25]])  # between two runs, predicted just under the cap
    scaled_mean, scaled_var = model.predict(torch.as_tensor(near))
    low, high = log_range
    predicted = low + float(scaled_mean) * (high - low)
    margin = 0.5 * float(scaled_var.sqrt()) * (high - low)
    lenient = TunerConfig(max_suggestion_cost=math.exp(predicted + margin), cost_cap_confidence=0.5)
    strict = TunerConfig(max_suggestion_cost=math.exp(predicted + margin), cost_cap_confidence=0.99)
    assert under_cap(near, lenient).all()
    assert not under_cap(near, strict).any()


def test_drop_duplicates_keeps_rows_with_infinite_coordinates():
    candidates = np.array([[-np.inf, 1.0], [0.0, 1.0], [2.0, 2.0]])
    existing = np.array([[-np.inf, 1.0], [0.0, 1.0]])
    kept = acq.drop_duplicates(candidates, existing, 1e-6, True)
    assert kept.tolist() == [[-np.inf, 1.0], [2.0, 2.0]]
