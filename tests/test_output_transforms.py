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
    output_transform,
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


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_box_cox_takes_the_log_of_outputs_spread_over_orders_of_magnitude(sign):
    # a narrow bump's rewards (or a loss closing in on 0): log-uniform outputs, 1e-9 to 1
    outputs = np.exp(np.random.default_rng(0).uniform(np.log(1e-9), 0.0, 30))
    goodness = sign * outputs
    transform = output_transform(goodness, OutputTransform.BOX_COX, sign)
    targets = transform(goodness)
    assert transform.log
    assert targets == pytest.approx(Standardize(sign * np.log(outputs))(sign * np.log(outputs)))
    assert targets.mean() == pytest.approx(0.0, abs=1e-9) and targets.std() == pytest.approx(1.0)
    assert _increasing(goodness, targets)
    assert transform.inverse(targets) == pytest.approx(goodness, rel=1e-9)
    # standardized, the outputs below 1e-3 all sit within 0.01 of each other; logged, apart
    small = outputs < 1e-3
    assert np.ptp(Standardize(goodness)(goodness)[small]) < 0.01 < 1.0 < np.ptp(targets[small])


@pytest.mark.parametrize(
    "outputs",
    [
        np.random.default_rng(2).normal(0.0, 1.0, 30),  # not all positive: no log
        np.array([2.0, 3.0]),  # too few distinct values to choose
    ],
)
def test_box_cox_keeps_outputs_it_cannot_log_as_a_standardization(outputs):
    transform = BoxCoxTransform(-outputs, -1.0)
    assert not transform.log
    assert transform(-outputs) == pytest.approx(Standardize(-outputs)(-outputs))
    assert transform.inverse(transform(-outputs)) == pytest.approx(-outputs)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_box_cox_keeps_later_values_outside_the_fitted_range_finite_and_ordered(sign):
    outputs = np.array([0.01, 0.02, 0.05, 0.1, 0.5, 2.0, 40.0])
    transform = BoxCoxTransform(sign * outputs, sign)
    assert transform.log
    later = np.array([-3.0, 0.0, 0.001, 0.005, 60.0])  # below the smallest, even <= 0, and above
    goodness = sign * np.concatenate([later, outputs])
    targets = transform(goodness)
    assert np.isfinite(targets).all() and _increasing(goodness, targets)
    assert transform.inverse(targets) == pytest.approx(goodness)
    assert np.isfinite(transform.inverse(np.array([1e6, -1e6]))).all()


def test_box_cox_of_outputs_far_from_0_is_about_a_standardization():
    outputs = np.random.default_rng(1).uniform(0.78, 0.81, 30)  # losses of the ads task
    targets = BoxCoxTransform(-outputs, -1.0)(-outputs)
    assert np.corrcoef(-outputs, targets)[0, 1] > 0.9999
