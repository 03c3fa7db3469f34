"""ArchSpace: exact round trips, canonical encoding, nearby perturbations, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbs_lite import ArchSpace

SPACE = ArchSpace()
archs = st.lists(st.lists(st.integers(64, 2048), min_size=1, max_size=5), min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(archs)
def test_every_arch_round_trips_and_encodes_canonically(arch):
    basic = SPACE.to_basic(arch)
    assert basic.shape == (31,)
    assert SPACE.from_basic(basic) == arch
    assert np.allclose(SPACE.round_basic(basic[None, :])[0], basic)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(8, 256), min_size=1, max_size=5), min_size=1, max_size=5))
def test_round_trip_with_a_rounding_factor(multiples):
    space = ArchSpace(rounding_factor=8)
    arch = [[8 * m for m in sub] for sub in multiples]
    assert space.from_basic(space.to_basic(arch)) == arch


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=31, max_size=31))
def test_any_vector_decodes_to_a_valid_arch(row):
    arch = SPACE.from_basic(np.array(row))
    assert SPACE.validate(arch) == arch


def test_gaussian_steps_give_nearby_archs():
    rng = np.random.default_rng(0)
    center = [[512, 256], [256, 128]]
    basic = SPACE.to_basic(center)
    lower, upper = SPACE.basic_bounds(True)
    rows = SPACE.round_basic(basic + 0.3 * rng.standard_normal((2000, 31)))
    rows = rows[np.all((rows >= lower) & (rows <= upper), axis=1)]
    decoded = [SPACE.from_basic(r) for r in rows]
    same_shape = [a for a in decoded if [len(s) for s in a] == [2, 2]]
    changes = [
        abs(a[i][j] / center[i][j] - 1) for a in same_shape for i in range(2) for j in range(2)
    ]
    assert np.median(changes) < 0.35
    count_changed = np.mean([len(a) != 2 for a in decoded])
    assert 0.03 < count_changed < 0.30


def test_bounds_cover_every_arch_in_range():
    lower, upper = SPACE.basic_bounds(False)
    for arch in ([[64]], [[2048] * 5] * 5, [[64, 2048], [128]]):
        basic = SPACE.to_basic(arch)
        assert np.all(basic >= lower - 1e-12) and np.all(basic <= upper + 1e-12)
    padded = SPACE.basic_bounds(True)
    assert np.all(padded[0] < lower) and np.all(padded[1] > upper)


@pytest.mark.parametrize(
    "arch, message",
    [
        ("[[64]]", "list of lists"),
        ([], "0 sub-arches"),
        ([[64]] * 6, "6 sub-arches"),
        ([[64], []], r"arch\[1\] has 0 layers"),
        ([[64] * 6], r"arch\[0\] has 6 layers"),
        ([[64], [64, 64, 63]], r"arch\[1\]\[2\] = 63 is outside"),
        ([[2049]], r"arch\[0\]\[0\] = 2049"),
        ([[100.5]], "not an integer"),
        ([[True]], "not an integer"),
        ([["64"]], "not an integer"),
    ],
)
def test_invalid_archs_name_the_bad_part(arch, message):
    with pytest.raises(ValueError, match=message):
        SPACE.validate(arch)
