"""ArchSpace: exact round trips, canonical encoding, nearby perturbations, clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbs_lite import ArchSpace, LogSpace, Param
from carbs_lite.spaces import ParamSpace

SPACE = ArchSpace()
FAST = settings(max_examples=100, deadline=None)
archs = st.lists(st.lists(st.integers(64, 2048), min_size=1, max_size=5), min_size=1, max_size=5)
rows = st.lists(st.floats(-50, 50), min_size=31, max_size=31).map(np.array)


def encode_by_hand(arch: list[list[int]], space: ArchSpace = SPACE) -> np.ndarray:
    """The documented layout, with inactive entries repeating the last active one."""
    s, layers = space.max_sub_arches, space.max_layers
    padded = arch + [arch[-1]] * (s - len(arch))
    counts = [len(arch)] + [len(sub) for sub in padded]
    widths = [math.log2(w) for sub in padded for w in sub + [sub[-1]] * (layers - len(sub))]
    return np.array(
        [c / space.count_scale for c in counts] + [w / space.width_scale for w in widths]
    )


def test_default_dim_and_documented_layout():
    assert SPACE.dim == 31 and ArchSpace(max_sub_arches=2, max_layers=3).dim == 9
    basic = SPACE.to_basic([[512, 256], [128]])
    assert basic.shape == (31,)
    assert basic[:6].tolist() == [2, 2, 1, 1, 1, 1]
    widths = basic[6:].reshape(5, 5)
    assert widths[0].tolist() == [9, 8, 8, 8, 8]
    assert widths[1].tolist() == [7] * 5
    assert widths[2:].tolist() == [[7] * 5] * 3
    scaled = ArchSpace(count_scale=2.0, width_scale=0.5)
    assert np.allclose(
        scaled.to_basic([[512, 256], [128]]), encode_by_hand([[512, 256], [128]], scaled)
    )


@FAST
@given(archs)
def test_every_arch_round_trips_and_encodes_canonically(arch):
    basic = SPACE.to_basic(arch)
    assert np.allclose(basic, encode_by_hand(arch))
    assert SPACE.from_basic(basic) == arch
    assert np.allclose(SPACE.round_basic(basic[None, :])[0], basic)


@FAST
@given(archs, archs)
def test_different_archs_have_different_encodings(a, b):
    assert (a == b) == np.allclose(SPACE.to_basic(a), SPACE.to_basic(b))


@FAST
@given(st.lists(st.lists(st.integers(8, 256), min_size=1, max_size=5), min_size=1, max_size=5))
def test_round_trip_with_a_rounding_factor(multiples):
    space = ArchSpace(rounding_factor=8)
    arch = [[8 * m for m in sub] for sub in multiples]
    basic = space.to_basic(arch)
    assert space.from_basic(basic) == arch
    assert np.allclose(space.round_basic(basic[None, :])[0], basic)


@FAST
@given(archs, st.floats(0.2, 5.0), st.floats(0.2, 5.0))
def test_round_trip_with_other_scales(arch, count_scale, width_scale):
    space = ArchSpace(count_scale=count_scale, width_scale=width_scale)
    basic = space.to_basic(arch)
    assert space.from_basic(basic) == arch
    assert np.allclose(space.round_basic(basic[None, :])[0], basic)


def test_tuples_and_numpy_integers_are_accepted_as_lists_of_ints():
    arch = SPACE.validate(((np.int64(128), 256.0), [np.int32(64)]))
    assert arch == [[128, 256], [64]]
    assert all(type(w) is int for sub in arch for w in sub)


@FAST
@given(rows)
def test_any_vector_decodes_to_a_valid_arch(row):
    arch = SPACE.from_basic(row)
    assert SPACE.validate(arch) == arch


@FAST
@given(st.lists(st.floats(-1e6, 1e6), min_size=31, max_size=31).map(np.array))
def test_any_far_vector_decodes_to_a_valid_arch(row):
    for space in (SPACE, ArchSpace(rounding_factor=8)):
        arch = space.from_basic(row)
        assert space.validate(arch) == arch


@FAST
@given(rows)
def test_rounding_does_not_change_the_decoded_arch_and_is_idempotent(row):
    rounded = SPACE.round_basic(row[None, :])
    assert rounded.shape == (1, 31)
    assert SPACE.from_basic(rounded[0]) == SPACE.from_basic(row)
    assert np.allclose(SPACE.round_basic(rounded), rounded, equal_nan=True)


@FAST
@given(archs, st.lists(st.floats(-1.0, 1.0), min_size=31, max_size=31).map(np.array))
def test_rounded_rows_inside_the_bounds_are_canonical_encodings(arch, step):
    rounded = SPACE.round_basic((SPACE.to_basic(arch) + step)[None, :])[0]
    lower, upper = SPACE.basic_bounds(True)
    if np.all((rounded >= lower) & (rounded <= upper)):
        assert np.allclose(SPACE.to_basic(SPACE.from_basic(rounded)), rounded)


@pytest.mark.parametrize(
    "center",
    [
        [[512, 256], [256, 128]],
        [[128, 256, 512]],
        [[100, 200], [300], [400, 500, 600]],
        [[1024, 1024, 1024, 1024], [512, 512, 512, 512]],
    ],
)
def test_gaussian_steps_give_nearby_archs(center):
    rng = np.random.default_rng(0)
    basic = SPACE.to_basic(center)
    lower, upper = SPACE.basic_bounds(True)
    rounded = SPACE.round_basic(basic + 0.3 * rng.standard_normal((2000, 31)))
    rounded = rounded[np.all((rounded >= lower) & (rounded <= upper), axis=1)]
    assert len(rounded) > 1500
    decoded = [SPACE.from_basic(r) for r in rounded]
    shape = [len(sub) for sub in center]
    same_shape = [a for a in decoded if [len(sub) for sub in a] == shape]
    changes = [
        abs(a[i][j] / center[i][j] - 1)
        for a in same_shape
        for i, sub in enumerate(center)
        for j in range(len(sub))
    ]
    assert 0.05 < np.median(changes) < 0.35
    count_changed = np.mean([len(a) != len(center) for a in decoded])
    assert 0.03 < count_changed < 0.30
    depth_changed = np.mean([len(a[0]) != shape[0] for a in decoded])
    assert 0.03 < depth_changed < 0.30


def test_a_new_sub_arch_or_layer_copies_its_neighbour():
    basic = SPACE.to_basic([[512, 256], [128]])
    grown = basic.copy()
    grown[0] += 1  # one more sub-arch
    assert SPACE.from_basic(grown) == [[512, 256], [128], [128]]
    deeper = basic.copy()
    deeper[1] += 1  # one more layer in the first sub-arch
    assert SPACE.from_basic(deeper) == [[512, 256, 256], [128]]


def test_bounds_cover_every_arch_in_range():
    lower, upper = SPACE.basic_bounds(False)
    assert lower.shape == upper.shape == (31,)
    assert lower[:6].tolist() == [1] * 6 and upper[:6].tolist() == [5] * 6
    assert np.allclose(lower[6:], 6.0) and np.allclose(upper[6:], 11.0)
    for arch in ([[64]], [[2048] * 5] * 5, [[64, 2048], [128]], [[64] * 5, [2048]]):
        basic = SPACE.to_basic(arch)
        assert np.all(basic >= lower - 1e-12) and np.all(basic <= upper + 1e-12)
    padded = SPACE.basic_bounds(True)
    assert np.all(padded[0] < lower) and np.all(padded[1] > upper)
    assert padded[0][0] == pytest.approx(0.9) and padded[1][0] == pytest.approx(5.1)
    assert padded[1][-1] == pytest.approx(math.log2(2048.1))


@FAST
@given(archs)
def test_bounds_cover_random_archs(arch):
    lower, upper = SPACE.basic_bounds(False)
    basic = SPACE.to_basic(arch)
    assert np.all(basic >= lower - 1e-12) and np.all(basic <= upper + 1e-12)


def test_min_steps_reach_the_neighbouring_counts_and_widths():
    basic = SPACE.to_basic([[64, 1024]])
    steps = SPACE.min_step_in_basic(basic[None, :])
    assert steps.shape == (1, 31)
    assert np.all(steps[0, :6] == 1.0)
    widths = steps[0, 6:]
    assert widths[0] == pytest.approx(math.log2(65 / 64))
    assert widths[1] == pytest.approx(math.log2(1025 / 1024))
    coarse = ArchSpace(rounding_factor=8, count_scale=2.0, width_scale=0.5)
    steps = coarse.min_step_in_basic(coarse.to_basic([[64]])[None, :])
    assert steps[0, 0] == pytest.approx(0.5) and steps[0, 6] == pytest.approx(
        2 * math.log2(72 / 64)
    )


@pytest.mark.parametrize(
    "arch, message",
    [
        ("[[64]]", "list of lists"),
        (64, "list of lists"),
        ([], "0 sub-arches"),
        ([[64]] * 6, "6 sub-arches"),
        ([64], r"arch\[0\] must be a list"),
        ([[64], []], r"arch\[1\] has 0 layers"),
        ([[64] * 6], r"arch\[0\] has 6 layers"),
        ([[64], [64, 64, 63]], r"arch\[1\]\[2\] = 63 is outside 64..2048"),
        ([[2049]], r"arch\[0\]\[0\] = 2049 is outside"),
        ([[64], [64, 64, 100.5]], r"arch\[1\]\[2\] = 100.5 is not an integer"),
        ([[64], [64, 64, True]], r"arch\[1\]\[2\] = True is not an integer"),
        ([[64], [64, 64, "64"]], r"arch\[1\]\[2\] = '64' is not an integer"),
        ([[64, None]], r"arch\[0\]\[1\] = None is not an integer"),
        ([[math.inf]], r"arch\[0\]\[0\] = inf is not an integer"),
        ([[math.nan]], r"arch\[0\]\[0\] = nan is not an integer"),
        ([[10**400]], r"arch\[0\]\[0\] = \d+ is outside"),
    ],
)
def test_invalid_archs_name_the_bad_part(arch, message):
    with pytest.raises(ValueError, match=message):
        SPACE.validate(arch)
    with pytest.raises(ValueError, match=message):
        SPACE.to_basic(arch)


def test_sizes_must_be_multiples_of_the_rounding_factor():
    with pytest.raises(ValueError, match=r"arch\[0\]\[1\] = 100 is not a multiple of 8"):
        ArchSpace(rounding_factor=8).validate([[64, 100]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_sub_arches": 0}, "max_sub_arches must be an integer >= 1"),
        ({"max_layers": 2.5}, "max_layers must be an integer"),
        ({"min_size": True}, "min_size must be an integer"),
        ({"min_size": 256, "max_size": 128}, "min_size 256 > max_size 128"),
        ({"rounding_factor": 48}, "multiples of rounding_factor"),
        ({"width_scale": 0.0}, "width_scale must be finite and > 0"),
        ({"count_scale": -1.0}, "count_scale must be finite and > 0"),
    ],
)
def test_bad_space_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ArchSpace(**kwargs)


def test_coarse_draws_are_brick_towers_that_fill_counts_depths_and_sizes():
    rng = np.random.default_rng(0)
    lower, upper = SPACE.basic_bounds(pad_integers=False)
    draws = rng.uniform(lower, upper, (2000, SPACE.dim))
    coarse = SPACE.coarse_draws(draws)
    assert np.array_equal(coarse[:, :6], draws[:, :6])  # counts and depths as drawn
    archs = [SPACE.from_basic(row) for row in SPACE.round_basic(coarse)]
    assert all(len(set(sub)) == 1 for arch in archs for sub in arch)
    assert {len(a) for a in archs} == {1, 2, 3, 4, 5}
    assert {len(sub) for a in archs for sub in a} == {1, 2, 3, 4, 5}
    widths = [sub[0] for a in archs for sub in a]
    assert min(widths) < 70 and max(widths) > 1900  # log-uniform over 64..2048 per sub-arch
    assert np.median(widths) == pytest.approx(362, rel=0.1)  # 2^8.5
    # independent widths: the widest of a sub-arch's layers sets its size
    spiky = [max(sub) for row in SPACE.round_basic(draws) for sub in SPACE.from_basic(row)]
    assert np.median(spiky) > 1.5 * np.median(widths)


def test_surrogate_inputs_mark_absent_layers_and_towers():
    one = SPACE.to_basic([[128]])
    two = SPACE.to_basic([[128], [128]])
    # the sampler's encoding: growing by a copied tower changes only the sub-arch count
    assert np.flatnonzero(one != two).tolist() == [0]
    seen = SPACE.surrogate_inputs(np.stack([one, two]))
    assert seen[0, :6].tolist() == [1, 1, 0, 0, 0, 0]
    assert seen[1, :6].tolist() == [2, 1, 1, 0, 0, 0]
    widths = seen[:, 6:].reshape(2, 5, 5)
    assert widths[0, 0].tolist() == [7, 5, 5, 5, 5]  # log2 128, then "absent" = log2(64) - 1
    assert (widths[0, 1:] == 5).all()
    assert widths[1, 1].tolist() == [7, 5, 5, 5, 5]
    # active dimensions pass through unchanged, whatever the scales
    scaled = ArchSpace(count_scale=2.0, width_scale=3.0)
    row = scaled.to_basic([[512, 256], [128, 64, 64]])
    seen = scaled.surrogate_inputs(row[None, :])[0]
    assert seen[:3].tolist() == row[:3].tolist() and (seen[3:6] == 0).all()
    widths = seen[6:].reshape(5, 5) * 3.0
    assert widths[0].tolist() == [9, 8, 5, 5, 5] and widths[1].tolist() == [7, 6, 6, 5, 5]
    assert (widths[2:] == 5).all()
    assert SPACE.surrogate_inputs(np.empty((0, 31))).shape == (0, 31)


def test_param_space_surrogate_inputs_leave_scalars_alone():
    space = ParamSpace(
        [Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3), Param("arch", SPACE, [[64, 64]])]
    )
    row = space.to_basic({"lr": 1e-3, "arch": [[256]]})
    seen = space.surrogate_inputs(row[None, :])[0]
    assert seen[0] == row[0]
    assert np.array_equal(seen[1:], SPACE.surrogate_inputs(row[None, 1:])[0])


def test_step_groups_are_each_towers_widths_then_all_widths():
    groups = SPACE.step_groups()
    assert len(groups) == 6
    for tower, group in enumerate(groups[:5]):
        assert group.tolist() == list(range(6 + 5 * tower, 11 + 5 * tower))
    assert groups[5].tolist() == list(range(6, 31))
    # one shared shift along a tower's group scales every layer of that tower alike
    row = SPACE.to_basic([[512, 256, 128], [64]])
    shifted = row.copy()
    shifted[groups[0]] += 1.0
    assert SPACE.from_basic(shifted) == [[1024, 512, 256], [64]]
    shifted[groups[5]] -= 1.0
    assert SPACE.from_basic(shifted) == [[512, 256, 128], [64]]


def test_param_space_step_basis_places_each_group_and_scales_it():
    space = ParamSpace(
        [Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3), Param("arch", SPACE, [[64, 64]])]
    )
    basis = space.step_basis(4.0)
    assert basis.shape == (32, 6)
    assert np.flatnonzero(basis[:, 0]).tolist() == list(range(7, 12))  # after lr's column
    assert np.flatnonzero(basis[:, 5]).tolist() == list(range(7, 32))
    assert set(basis[basis != 0]) == {2.0}  # sqrt of the variance
    scalars = ParamSpace([Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3)])
    assert scalars.step_basis(4.0).shape == (1, 0)


def test_simplified_flattens_each_tower_to_its_mean_log_width():
    row = SPACE.to_basic([[1024, 256, 64], [128], [512, 128]])
    flat = SPACE.simplified(row[None, :])[0]
    assert np.array_equal(flat[:6], row[:6])  # counts and depths unchanged
    assert SPACE.from_basic(SPACE.round_basic(flat[None, :])[0]) == [[256] * 3, [128], [256] * 2]
    # a brick tower is its own simplified version; the input rows are left alone
    brick = SPACE.to_basic([[300, 300], [77]])
    assert SPACE.simplified(brick[None, :])[0] == pytest.approx(brick)
    assert SPACE.from_basic(row) == [[1024, 256, 64], [128], [512, 128]]
    scalars = ParamSpace([Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3)])
    assert np.array_equal(scalars.simplified(np.array([[-3.0]])), np.array([[-3.0]]))
