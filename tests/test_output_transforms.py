"""Output transforms: goodness to output-GP targets and back."""

from __future__ import annotations

import numpy as np
import pytest

from carbs_lite.heuristics import OutputTransform
from carbs_lite.output_transforms import (
    BoxCoxTransform,
    QuantileTransform,
    Standardize,
    normal_scores,
    output_transforms,
)


def test_normal_scores_and_transform():
    scores = normal_scores(np.array([3.0, 1.0, 2.0, 2.0]))
    assert scores[1] < scores[2] == scores[3] < scores[0]
    assert scores.sum() == pytest.approx(0.0, abs=1e-12)
    transform = QuantileTransform(np.array([1.0, 2.0, 3.0]))
    assert transform(np.array([2.0]))[0] == pytest.approx(0.0, abs=1e-12)
    assert transform.inverse(transform(np.array([2.5])))[0] == pytest.approx(2.5)
    assert QuantileTransform(np.array([5.0, 5.0]))(np.array([7.0])).tolist() == [0.0]


def test_standardize_keeps_the_sizes_of_differences():
    values = np.array([-0.811, -0.785, -0.784, -0.783])  # one far-worse run, three close ones
    z = Standardize(values)(values)
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and z.std() == pytest.approx(1.0)
    assert z[1] - z[0] == pytest.approx(26 * (z[2] - z[1]))  # affine: gaps keep their ratio
    ranks = QuantileTransform(values)(values)
    assert ranks[1] - ranks[0] < 2 * (ranks[2] - ranks[1])  # ranks: the outlier is one step away
    assert Standardize(values).inverse(z) == pytest.approx(values)
    assert Standardize(np.array([5.0, 5.0]))(np.array([7.0])).tolist() == [2.0]


def _increasing(goodness: np.ndarray, targets: np.ndarray) -> bool:
    order = np.argsort(goodness)
    return bool(np.all(np.diff(targets[order]) > 0))


def test_box_cox_log_targets_keep_apart_outputs_spread_over_orders_of_magnitude():
    # a narrow bump's rewards: log-uniform outputs, 1e-9 to 1, maximized
    goodness = np.exp(np.random.default_rng(0).uniform(np.log(1e-9), 0.0, 30))
    identity, log = output_transforms(goodness, OutputTransform.BOX_COX, 1.0)
    assert identity(goodness) == pytest.approx(Standardize(goodness)(goodness))
    targets = log(goodness)
    assert targets == pytest.approx(Standardize(np.log(goodness))(np.log(goodness)))
    assert log.inverse(targets) == pytest.approx(goodness, rel=1e-9)
    small = goodness < 1e-3
    assert np.ptp(identity(goodness)[small]) < 0.01 < 1.0 < np.ptp(targets[small])


@pytest.mark.parametrize("exponent", [0.0, 0.5])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_box_cox_targets_increase_with_goodness_also_outside_the_fitted_range(sign, exponent):
    outputs = np.array([0.01, 0.02, 0.05, 0.1, 0.5, 2.0, 40.0])
    transform = BoxCoxTransform(sign * outputs, sign, exponent=exponent)
    fitted = transform(sign * outputs)
    assert fitted.mean() == pytest.approx(0.0, abs=1e-12) and fitted.std() == pytest.approx(1.0)
    later = np.array([-3.0, 0.0, 0.001, 0.005, 60.0])  # below the smallest, even <= 0, and above
    goodness = sign * np.concatenate([later, outputs])
    targets = transform(goodness)
    assert np.isfinite(targets).all() and _increasing(goodness, targets)
    assert transform.inverse(targets) == pytest.approx(goodness)
    assert np.isfinite(transform.inverse(np.array([1e6, -1e6]))).all()


@pytest.mark.parametrize("exponent", [1.0, 0.5, 0.0])
def test_box_cox_log_jacobian_is_the_derivative_of_the_targets(exponent):
    goodness = -np.array([0.3, 0.5, 0.9, 2.0, 7.0])  # minimized losses
    transform = BoxCoxTransform(goodness, -1.0, exponent=exponent)
    step = 1e-6
    slope = (transform(goodness + step) - transform(goodness - step)) / (2 * step)
    # 1e-5: at the smallest output the curvature changes sides, so the central difference is
    # off by O(step) there
    assert transform.log_jacobian(goodness) == pytest.approx(np.log(slope), rel=1e-5)


def test_box_cox_square_root_lies_between_the_outputs_and_their_log():
    outputs = np.array([0.25, 1.0, 4.0, 16.0, 64.0])
    identity, root, log = output_transforms(outputs, OutputTransform.POWER, 1.0)
    assert (identity.exponent, root.exponent, log.exponent) == (1.0, 0.5, 0.0)
    assert root(outputs) == pytest.approx(Standardize(np.sqrt(outputs))(np.sqrt(outputs)))
    assert root.inverse(root(outputs)) == pytest.approx(outputs)
    # the gap between the two smallest outputs, relative to the whole spread, grows with the
    # bend: 0.75 / 63.75 as they are, 0.5 / 7.5 square-rooted, log 4 / log 256 in logs
    gaps = [(t(outputs)[1] - t(outputs)[0]) / np.ptp(t(outputs)) for t in (identity, root, log)]
    assert gaps == pytest.approx([0.75 / 63.75, 0.5 / 7.5, 0.25])
    assert len(output_transforms(outputs, OutputTransform.BOX_COX, 1.0)) == 2


@pytest.mark.parametrize("exponent", [-0.5, 1.5])
def test_box_cox_refuses_an_exponent_outside_zero_to_one(exponent):
    with pytest.raises(ValueError, match="outside"):
        BoxCoxTransform(np.array([1.0, 2.0]), 1.0, exponent=exponent)


@pytest.mark.parametrize(
    "outputs",
    [
        np.random.default_rng(2).normal(0.0, 1.0, 30),  # not all positive: no log
        np.array([2.0, 3.0, 2.0]),  # too few distinct values to choose
    ],
)
def test_box_cox_offers_only_the_identity_for_outputs_it_cannot_log(outputs):
    for kind in (OutputTransform.BOX_COX, OutputTransform.POWER):
        assert len(output_transforms(-outputs, kind, -1.0)) == 1
    if np.any(outputs <= 0):
        for exponent in (0.0, 0.5):
            with pytest.raises(ValueError, match="positive outputs"):
                BoxCoxTransform(-outputs, -1.0, exponent=exponent)


@pytest.mark.parametrize("kind", [OutputTransform.STANDARDIZE, OutputTransform.QUANTILE])
def test_the_other_switch_values_offer_one_transform(kind):
    goodness = np.array([0.1, 0.5, 2.0, 9.0])
    (transform,) = output_transforms(goodness, kind, 1.0)
    assert transform.inverse(transform(goodness)) == pytest.approx(goodness)
