"""The built-in simulator against the spec's reference table, its noise, errors and budget."""

from __future__ import annotations

import math

import numpy as np
import pytest

from carbs_lite.tasks.ads.simulator import (
    BudgetExceededError,
    ModelPerformanceAPI,
    get_default_model_config_dict,
)

# arch, ne, ne@7, qps, P_total, score, p_div (noiseless, 60 days), copied from the spec
REFERENCE = [
    ([[64, 64]], 0.811086, 0.813365, 18840.4, 36928, 0.00000, 0.0000),
    ([[2048]], 0.790143, 0.795369, 7270.0, 1050624, 0.02582, 0.0219),
    ([[64, 2048]], 0.812396, 0.814594, 15668.1, 165888, -0.00161, 0.0998),
    ([[1024, 512, 256]], 0.784946, 0.792538, 6741.9, 1179904, 0.03223, 0.0691),
    ([[1024, 1024, 512]], 0.783328, 0.792279, 4448.3, 2097664, 0.03422, 0.0691),
    ([[512, 256], [512, 256]], 0.786348, 0.792615, 8652.1, 786944, 0.03050, 0.0040),
    ([[768, 384, 192], [512, 256]], 0.784388, 0.791691, 6835.6, 1155520, 0.03292, 0.0333),
    (
        [[512, 512, 256], [512, 256], [256, 128]],
        0.783897,
        0.791300,
        6618.7,
        1213056,
        0.03352,
        0.0122,
    ),
    ([[256, 256, 256, 256, 256]], 0.789957, 0.795241, 12078.9, 393472, 0.02605, 0.0323),
    ([[128, 64]] * 5, 0.790156, 0.794924, 12384.4, 368960, 0.02581, 0.0002),
    ([[2048] * 5], 0.781847, 0.794215, 651.2, 17827840, 0.03605, 0.9309),
]


def _api(**overrides) -> ModelPerformanceAPI:
    return ModelPerformanceAPI({"GLOBAL_NOISE_SCALE": 0.0, **overrides})


def test_baseline_ne():
    assert _api().config["BASELINE_NE"] == pytest.approx(0.811086409190339, abs=1e-12)


@pytest.mark.parametrize("arch, ne, ne7, qps, total, score, p_div", REFERENCE)
def test_reference_table(arch, ne, ne7, qps, total, score, p_div):
    api = _api()
    metrics = api.true_metrics(arch, 60)
    assert metrics.ne == pytest.approx(ne, abs=5e-7)
    assert metrics.curve[6] == pytest.approx(ne7, abs=5e-7)
    assert metrics.qps == pytest.approx(qps, abs=0.05)
    assert metrics.total_params == total
    assert api.get_score(metrics.ne) == pytest.approx(score, abs=5e-6)
    assert metrics.divergence_probability == pytest.approx(p_div, abs=5e-5)


def test_train_model_at_zero_noise_returns_noiseless_values():
    api = _api()
    ne, qps, curve = api.train_model(60, [[512, 256], [512, 256]], ignore_budget=True)
    assert ne == pytest.approx(0.786348, abs=5e-7) and qps == pytest.approx(8652.1, abs=0.05)
    assert len(curve) == 60 and curve[-1] == ne


def _runs(seed: int, count: int = 5) -> list:
    api = ModelPerformanceAPI({"SEED": seed})
    return [api.train_model(60, [[256, 128]], ignore_budget=True)[:2] for _ in range(count)]


def test_noise_is_reproducible_from_seed():
    assert _runs(3) == _runs(3)
    assert _runs(3) != _runs(4)


def test_noise_magnitudes():
    api = ModelPerformanceAPI({"SEED": 1})
    runs = np.array([api.train_model(60, [[64, 64]], ignore_budget=True)[:2] for _ in range(400)])
    assert np.std(runs[:, 0]) == pytest.approx(0.0005, rel=0.2)
    assert np.std(runs[:, 1]) / 18840.4 == pytest.approx(0.02, rel=0.2)
    assert np.mean(runs[:, 0]) == pytest.approx(0.811086, abs=1e-4)


def test_divergence_frequency_and_nan_tail():
    api = ModelPerformanceAPI({"SEED": 2})
    runs = [api.train_model(60, [[2048] * 5], ignore_budget=True) for _ in range(400)]
    diverged = [r for r in runs if math.isnan(r[0])]
    # p = 0.9309, binomial std over 400 runs ~ 0.013
    assert len(diverged) / 400 == pytest.approx(0.9309, abs=0.05)
    for _ne, qps, curve in diverged:
        first = next(i for i, v in enumerate(curve) if math.isnan(v))
        assert all(math.isnan(v) for v in curve[first:]) and qps > 0


def test_divergence_happens_without_noise():
    api = _api()
    assert any(math.isnan(api.train_model(60, [[2048] * 5], True)[0]) for _ in range(20))


@pytest.mark.parametrize(
    "arch, message",
    [
        ("64", "list"),
        ([], "0 sub-arches"),
        ([[64]] * 6, "6 sub-arches"),
        ([[]], r"arch\[0\] has 0 layers"),
        ([[64] * 6], r"arch\[0\] has 6 layers"),
        ([[64], [64, 63]], r"arch\[1\]\[1\] = 63"),
        ([[2049]], r"arch\[0\]\[0\] = 2049"),
        ([[100.5]], "not an integer"),
        ([[True]], "not an integer"),
        ([["64"]], "not an integer"),
    ],
)
def test_invalid_archs_name_the_bad_part(arch, message):
    with pytest.raises(ValueError, match=message):
        _api().train_model(60, arch, ignore_budget=True)


@pytest.mark.parametrize("days", [0, 366, 1.5, True, "60"])
def test_training_days_must_be_an_integer_in_range(days):
    with pytest.raises(ValueError, match="training_days"):
        _api().train_model(days, [[64]], ignore_budget=True)


def test_budget_error_says_how_many_gpu_days_and_leaves_rng_alone():
    api = ModelPerformanceAPI({"SEED": 5})
    with pytest.raises(BudgetExceededError, match=r"needs 594\.8 GPU-days; the budget is 240"):
        api.train_model(60, [[2048] * 5])
    with pytest.raises(ValueError):
        api.train_model(60, [[7]], ignore_budget=True)
    assert api.train_model(60, [[256, 128]], True)[:2] == _runs(5, 1)[0]


def test_config_handling():
    config = get_default_model_config_dict()
    config["DEPTH_FACTOR"][0] = 9.0
    assert get_default_model_config_dict()["DEPTH_FACTOR"][0] == 0.45
    with pytest.raises(ValueError, match="NOT_A_KEY"):
        ModelPerformanceAPI({"NOT_A_KEY": 1})
    assert ModelPerformanceAPI({"BASELINE_NE": 0.8}).get_score(0.76) == pytest.approx(0.05)
