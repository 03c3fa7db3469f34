"""Param spaces: exact transforms, round trips, rounding, bounds, neighbour steps, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbs_lite import ArchSpace
from carbs_lite.records import params_from_json, params_to_json, space_from_json
from carbs_lite.spaces import (
    INTEGER_BOUND_PADDING,
    LinearSpace,
    LogitSpace,
    LogSpace,
    Param,
    ParamSpace,
    PowerOfTwoSpace,
)

FAST = settings(max_examples=100, deadline=None)
scales = st.floats(0.01, 50.0)
finite_basic = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


# --- exact transforms -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "space, value, basic",
    [
        (LinearSpace(min=-5, max=5, scale=2.0), 3.0, 1.5),
        (LinearSpace(min=-5, max=5, scale=0.5), -2.0, -4.0),
        (LinearSpace(min=0, max=1000, scale=100.0, is_integer=True), 250, 2.5),
        (LogSpace(min=1e-6, max=1.0, scale=0.5), 1e-3, -6.0),
        (LogSpace(min=1, max=1e4, scale=2.0, is_integer=True), 100, 1.0),
        (LogSpace(min=1e-5, max=1.0), 0.01, -2.0),
        (LogitSpace(min=0.01, max=0.99), 0.9, math.log10(9.0)),
        (LogitSpace(min=0.01, max=0.99, scale=0.5), 0.01, 2 * math.log10(0.01 / 0.99)),
        (LogitSpace(min=0.01, max=0.99), 0.5, 0.0),
        (PowerOfTwoSpace(min=8, max=1024), 64, 6.0),
        (PowerOfTwoSpace(min=1, max=1024, scale=2.0), 1024, 5.0),
        (PowerOfTwoSpace(min=1, max=1024), 1, 0.0),
    ],
)
def test_documented_transforms(space, value, basic):
    assert space.to_basic(value).shape == (1,)
    assert space.to_basic(value)[0] == pytest.approx(basic, rel=1e-12, abs=1e-12)
    back = space.from_basic(np.array([basic]))
    assert back == pytest.approx(value, rel=1e-12)
    if space.is_integer:
        assert type(back) is int and back == value


# --- round trips ----------------------------------------------------------------------------


@FAST
@given(st.floats(-1e4, 1e4), scales)
def test_linear_round_trip(value, scale):
    space = LinearSpace(min=-1e4, max=1e4, scale=scale)
    assert space.to_basic(value)[0] == pytest.approx(value / scale, rel=1e-12)
    assert space.from_basic(space.to_basic(value)) == pytest.approx(value, rel=1e-9, abs=1e-300)


@FAST
@given(st.floats(1e-5, 1e-1), st.floats(0.1, 3.0))
def test_log_round_trip(value, scale):
    space = LogSpace(min=1e-5, max=1e-1, scale=scale)
    assert space.to_basic(value)[0] == pytest.approx(math.log10(value) / scale, rel=1e-12)
    assert space.from_basic(space.to_basic(value)) == pytest.approx(value, rel=1e-9)


@FAST
@given(st.floats(1e-3, 1 - 1e-3), st.floats(0.1, 3.0))
def test_logit_round_trip(value, scale):
    space = LogitSpace(min=1e-3, max=1 - 1e-3, scale=scale)
    expected = math.log10(value / (1 - value)) / scale
    assert space.to_basic(value)[0] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert space.from_basic(space.to_basic(value)) == pytest.approx(value, rel=1e-9)


@FAST
@given(st.integers(0, 30), st.floats(0.1, 5.0))
def test_power_of_two_round_trip_is_exact(exponent, scale):
    space = PowerOfTwoSpace(min=1, max=2**30, scale=scale)
    assert space.to_basic(2**exponent)[0] == pytest.approx(exponent / scale)
    assert space.from_basic(space.to_basic(2**exponent)) == 2**exponent


@FAST
@given(st.integers(0, 100), st.sampled_from([1, 2, 5, 8]), scales)
def test_integer_linear_round_trip_is_exact(multiple, factor, scale):
    space = LinearSpace(min=0, max=800, is_integer=True, rounding_factor=factor, scale=scale)
    value = multiple * factor
    back = space.from_basic(space.to_basic(value))
    assert type(back) is int and back == value


@FAST
@given(st.integers(1, 250), st.sampled_from([1, 2, 4]), st.floats(0.1, 5.0))
def test_integer_log_round_trip_is_exact(multiple, factor, scale):
    space = LogSpace(min=factor, max=1000, is_integer=True, rounding_factor=factor, scale=scale)
    value = multiple * factor
    assert space.from_basic(space.to_basic(value)) == value


# --- from_basic always gives a valid value --------------------------------------------------

VALID_EVERYWHERE = [
    LinearSpace(min=2, max=40, is_integer=True, rounding_factor=2),
    LinearSpace(min=0.5, max=3.7, is_integer=True),
    LinearSpace(min=-1, max=1, scale=0.01),
    LinearSpace(min=1, max=10, is_integer=True, scale=0.01),
    LogSpace(min=1, max=1e4, is_integer=True),
    LogSpace(min=3, max=1e4, is_integer=True, rounding_factor=5),
    LogSpace(min=1e-8, max=1e-2, scale=0.1),
    LogSpace(max=1.0),  # min 0 is an open bound
    LogSpace(min=0, max=100, is_integer=True),
    LogitSpace(min=0.1, max=0.9),
    LogitSpace(min=1e-6, max=1 - 1e-6, scale=3.0),
    LogitSpace(),  # (0, 1) open at both ends
    PowerOfTwoSpace(min=4, max=256),
    PowerOfTwoSpace(min=1, max=2**20, scale=0.05),
]


@FAST
@given(finite_basic)
def test_from_basic_always_returns_a_valid_value(basic):
    for space in VALID_EVERYWHERE:
        value = space.from_basic(np.array([basic]))
        assert space.validate(value) == value
        assert np.isfinite(space.to_basic(value)).all()
        if space.is_integer:
            assert type(value) is int


@pytest.mark.parametrize("space", VALID_EVERYWHERE, ids=repr)
def test_from_basic_clips_to_the_bounds(space):
    low = space.from_basic(np.array([-1e9]))
    high = space.from_basic(np.array([1e9]))
    assert space.min <= low <= high <= space.max
    for basic in np.linspace(-5, 5, 41):
        assert low <= space.from_basic(np.array([basic])) <= high


def test_from_basic_rounds_to_the_nearest_multiple():
    space = LinearSpace(min=0, max=100, is_integer=True, rounding_factor=5, scale=10.0)
    assert space.from_basic(np.array([0.62])) == 5
    assert space.from_basic(np.array([0.78])) == 10
    assert space.from_basic(np.array([11.0])) == 100  # clipped after rounding
    assert PowerOfTwoSpace(min=1, max=64).from_basic(np.array([3.4])) == 8


# --- round_basic ----------------------------------------------------------------------------


def test_round_basic_snaps_to_multiples_without_clipping():
    space = LinearSpace(min=0, max=100, is_integer=True, rounding_factor=5, scale=10.0)
    rounded = space.round_basic(np.array([[0.62], [11.0], [-0.26]]))
    assert rounded.shape == (3, 1)
    assert rounded.ravel().tolist() == pytest.approx([0.5, 11.0, -0.5])


def test_round_basic_leaves_floats_alone():
    x = np.array([[0.123456], [-3.3]])
    for space in (LinearSpace(min=-10, max=10), LogSpace(min=1e-5, max=1.0), LogitSpace()):
        assert np.array_equal(space.round_basic(x), x)


def test_round_basic_of_log_and_power_of_two_spaces():
    log = LogSpace(min=1, max=1000, is_integer=True)
    assert log.round_basic(np.array([[math.log10(12.4)]]))[0, 0] == pytest.approx(math.log10(12))
    power = PowerOfTwoSpace(min=1, max=1024, scale=2.0)
    assert power.round_basic(np.array([[1.3], [1.2]])).ravel().tolist() == pytest.approx([1.5, 1.0])


@FAST
@given(finite_basic.filter(lambda b: abs(b) < 1e4), st.sampled_from([1, 2, 3, 8]), scales)
def test_round_basic_gives_multiples_and_is_idempotent(basic, factor, scale):
    space = LinearSpace(min=0, max=100, is_integer=True, rounding_factor=factor, scale=scale)
    rounded = space.round_basic(np.array([[basic]]))
    param = rounded[0, 0] * scale
    assert param / factor == pytest.approx(round(param / factor), abs=1e-6)
    assert space.round_basic(rounded)[0, 0] == pytest.approx(rounded[0, 0], rel=1e-12)
    # a rounded in-bounds row decodes to exactly the value it encodes
    if 0 <= param <= 100:
        assert space.from_basic(rounded[0]) == pytest.approx(param, abs=1e-6)


# --- bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "space, transform",
    [
        (LinearSpace(min=3, max=40, is_integer=True, scale=2.0), lambda x: x / 2.0),
        (LogSpace(min=2, max=64, is_integer=True), math.log10),
        (LogSpace(min=1, max=1000, is_integer=True, scale=0.5), lambda x: math.log10(x) / 0.5),
        (PowerOfTwoSpace(min=8, max=512), math.log2),
        (PowerOfTwoSpace(min=1, max=512, scale=3.0), lambda x: math.log2(x) / 3.0),
    ],
)
def test_integer_bound_padding(space, transform):
    (lo_pad,), (hi_pad,) = space.basic_bounds(pad_integers=True)
    (lo, hi), pad = space.basic_bounds(pad_integers=False), INTEGER_BOUND_PADDING
    assert pad == 0.1
    assert lo_pad == pytest.approx(transform(space.min - 0.1))
    assert hi_pad == pytest.approx(transform(space.max + 0.1))
    assert lo[0] == pytest.approx(transform(space.min))
    assert hi[0] == pytest.approx(transform(space.max))


@pytest.mark.parametrize(
    "space",
    [
        LinearSpace(min=3, max=40, scale=2.0),
        LogSpace(min=2, max=64),
        LogitSpace(min=0.05, max=0.95),
    ],
)
def test_float_bounds_are_never_padded(space):
    padded, exact = space.basic_bounds(True), space.basic_bounds(False)
    assert padded[0][0] == exact[0][0] == pytest.approx(space.to_basic(space.min)[0])
    assert padded[1][0] == exact[1][0] == pytest.approx(space.to_basic(space.max)[0])


def test_bounds_cover_every_valid_value():
    space = LinearSpace(min=0, max=20, is_integer=True, rounding_factor=4)
    lower, upper = space.basic_bounds(False)
    for value in range(0, 21, 4):
        assert lower[0] <= space.to_basic(value)[0] <= upper[0]


# --- min_step_in_basic ----------------------------------------------------------------------


def test_integer_linear_steps_undo_the_scale():
    space = LinearSpace(min=1, max=10, is_integer=True, scale=0.01)
    steps = space.min_step_in_basic(np.array([[500.0], [300.0]]))
    assert steps.shape == (2, 1)
    assert steps.ravel().tolist() == pytest.approx([100.0, 100.0])
    factor = LinearSpace(min=0, max=100, is_integer=True, rounding_factor=5, scale=10.0)
    assert factor.min_step_in_basic(np.array([[2.0]]))[0, 0] == pytest.approx(0.5)


@pytest.mark.parametrize("value", [2, 10, 57, 999])
@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_integer_log_steps_are_the_smaller_neighbour_distance(value, scale):
    space = LogSpace(min=1, max=1000, is_integer=True, scale=scale)
    step = space.min_step_in_basic(space.to_basic(value)[None, :])[0, 0]
    expected = min(math.log10((value + 1) / value), math.log10(value / (value - 1))) / scale
    assert step == pytest.approx(expected)


def test_power_of_two_steps_are_one_doubling():
    space = PowerOfTwoSpace(min=1, max=1024, scale=2.0)
    assert space.min_step_in_basic(np.array([[3.0]]))[0, 0] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "space", [LinearSpace(min=0, max=1), LogSpace(min=1, max=100), LogitSpace(min=0.1, max=0.9)]
)
def test_float_spaces_have_no_minimum_step(space):
    steps = space.min_step_in_basic(np.array([[0.0], [-0.3], [1.0]]))
    assert steps.shape == (3, 1) and np.all(steps == 0.0)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Param("lr", LogSpace(min=1e-5, max=1e-1), 1.0), "lr.*search_center invalid"),
        (lambda: Param("lr", LogSpace(min=1e-5, max=1e-1), 0.0), "search_center invalid"),
        (lambda: Param("w", LinearSpace(min=0, max=10, is_integer=True), 11), "outside"),
        (lambda: LogSpace(min=-1, max=1), "outside its domain"),
        (lambda: LogitSpace(min=-0.1, max=0.5), "outside its domain"),
        (lambda: LogitSpace(min=0.1, max=1.5), "outside"),
        (lambda: LogitSpace(min=0.1, max=0.5, is_integer=True), "cannot be an integer"),
        (
            lambda: LinearSpace(min=0, max=10, is_integer=True, rounding_factor=2.5),
            "rounding_factor must be an integer",
        ),
        (
            lambda: LinearSpace(min=0, max=10, is_integer=True, rounding_factor=0),
            "rounding_factor must be >= 1",
        ),
        (lambda: LinearSpace(min=0, max=10, rounding_factor=2), "integer spaces only"),
        (lambda: LinearSpace(min=3, max=3), "must be <"),
        (lambda: LinearSpace(min=5, max=3), "must be <"),
        (lambda: LogSpace(min=1, max=10, scale=0.0), "scale must be"),
        (lambda: LinearSpace(min=0, max=1, scale=math.inf), "scale must be"),
        (lambda: PowerOfTwoSpace(min=3, max=64), "not a power of two"),
        (lambda: PowerOfTwoSpace(min=4, max=100), "not a power of two"),
        (lambda: PowerOfTwoSpace(min=0.5, max=64), "not a power of two >= 1"),
        (lambda: PowerOfTwoSpace(min=1, max=64, rounding_factor=2), "rounding_factor 1"),
        (
            lambda: ParamSpace([Param("a", LinearSpace(min=0, max=1), 0.5)] * 2),
            r"duplicate parameter names: \['a'\]",
        ),
        (lambda: ParamSpace([]), "at least one"),
        (lambda: Param("", LinearSpace(min=0, max=1), 0.5), "non-empty string"),
    ],
)
def test_construction_errors_name_the_problem(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    "space, value, message",
    [
        (LogSpace(min=1e-5, max=1.0), 0.0, "domain"),
        (LogSpace(min=1e-5, max=1.0), -1.0, "domain"),
        (LogSpace(max=1.0), 0.0, "domain"),
        (LogitSpace(min=0.01, max=0.99), 1.0, "domain"),
        (LogitSpace(min=0.01, max=0.99), 0.0, "domain"),
        (LogitSpace(), 1.0, "domain"),
        (LogitSpace(min=0.01, max=0.99), 0.995, r"outside \[0.01, 0.99\]"),
        (LinearSpace(min=0, max=10), 10.5, r"outside \[0, 10\]"),
        (LinearSpace(min=0, max=10), True, "expected a number"),
        (LinearSpace(min=0, max=10), False, "expected a number"),
        (PowerOfTwoSpace(min=1, max=64), True, "expected a number"),
        (LinearSpace(min=0, max=10), "5", "expected a number"),
        (LinearSpace(min=0, max=10), None, "expected a number"),
        (LinearSpace(min=0, max=10, is_integer=True), 2.5, "not a multiple"),
        (LinearSpace(min=0, max=10, is_integer=True, rounding_factor=2), 3, "rounding factor 2"),
        (PowerOfTwoSpace(min=1, max=64), 12, "12 is not a power of two"),
        (PowerOfTwoSpace(min=1, max=64), 3.0, "not a power of two"),
        (PowerOfTwoSpace(min=4, max=64), 2, "outside"),
        (LinearSpace(min=0, max=10), math.nan, "domain"),
        (LinearSpace(), math.inf, "domain"),
        (LinearSpace(), 10**400, "too large"),
    ],
)
def test_value_errors(space, value, message):
    with pytest.raises(ValueError, match=message):
        space.validate(value)


def test_validate_returns_canonical_values():
    integer = LinearSpace(min=0, max=10, is_integer=True)
    assert type(integer.validate(4.0)) is int and integer.validate(np.int64(4)) == 4
    assert type(LinearSpace(min=0, max=10).validate(np.float32(0.5))) is float
    assert type(PowerOfTwoSpace(min=1, max=64).validate(16.0)) is int
    assert Param("w", integer, 6.0).search_center == 6


def test_edge_bounds_are_open():
    # a bound on the edge of the domain is allowed and means "anything inside the domain"
    assert LogitSpace(min=0.2).max == 1.0 and LogSpace(max=5.0).min == 0.0
    assert LogitSpace().validate(0.999) == 0.999
    lower, upper = LogSpace(max=5.0).basic_bounds(False)
    assert lower[0] == -math.inf and upper[0] == pytest.approx(math.log10(5))


# --- ParamSpace -----------------------------------------------------------------------------


def make_param_space() -> ParamSpace:
    return ParamSpace(
        [
            Param("lr", LogSpace(min=1e-5, max=1e-1, scale=0.5), 1e-3),
            Param("batch", PowerOfTwoSpace(min=8, max=512), 64),
            Param("arch", ArchSpace(max_sub_arches=2, max_layers=2), [[128]]),
            Param("dropout", LogitSpace(min=0.01, max=0.5), 0.1),
            Param("width", LinearSpace(min=8, max=512, is_integer=True, rounding_factor=8), 64),
        ]
    )


def test_param_space_dim_and_slices():
    space = make_param_space()
    assert space.names == ["lr", "batch", "arch", "dropout", "width"]
    assert space.dim == 1 + 1 + 7 + 1 + 1
    assert space.slices == [slice(0, 1), slice(1, 2), slice(2, 9), slice(9, 10), slice(10, 11)]
    row = space.to_basic({"lr": 1e-3, "batch": 64, "arch": [[128]], "dropout": 0.5, "width": 8})
    assert row.shape == (11,)
    assert row[0] == pytest.approx(-6.0) and row[1] == pytest.approx(6.0)
    assert row[9] == pytest.approx(0.0) and row[10] == pytest.approx(8.0)
    assert space.center_in_basic()[:2].tolist() == pytest.approx([-6.0, 6.0])
    lower, upper = space.basic_bounds(True)
    assert lower.shape == upper.shape == (11,) and np.all(lower < upper)
    assert space.min_step_in_basic(row[None, :]).shape == (1, 11)
    assert np.allclose(space.round_basic(row[None, :])[0], row)


@FAST
@given(
    st.floats(1e-5, 1e-1),
    st.integers(3, 9),
    st.lists(st.lists(st.integers(64, 2048), min_size=1, max_size=2), min_size=1, max_size=2),
    st.floats(0.01, 0.5),
    st.integers(1, 64),
)
def test_param_space_round_trip(lr, batch_exponent, arch, dropout, width_multiple):
    space = make_param_space()
    values = {
        "lr": lr,
        "batch": 2**batch_exponent,
        "arch": arch,
        "dropout": dropout,
        "width": 8 * width_multiple,
    }
    back = space.from_basic(space.to_basic(values))
    assert list(back) == space.names
    assert back["lr"] == pytest.approx(lr, rel=1e-9)
    assert back["dropout"] == pytest.approx(dropout, rel=1e-9)
    assert back["batch"] == values["batch"] and back["arch"] == arch
    assert back["width"] == values["width"]
    assert space.validate(back) == back


@FAST
@given(st.lists(finite_basic, min_size=11, max_size=11))
def test_param_space_from_any_row_is_valid(row):
    space = make_param_space()
    values = space.from_basic(np.array(row))
    assert space.validate(values) == values


def test_param_space_validate_names_unknown_and_missing_params():
    space = make_param_space()
    good = {"lr": 1e-3, "batch": 64, "arch": [[128]], "dropout": 0.1, "width": 64}
    assert space.validate(good) == good
    with pytest.raises(ValueError, match=r"unknown \['momentum'\], missing \['dropout'\]"):
        space.validate({**{k: v for k, v in good.items() if k != "dropout"}, "momentum": 0.9})
    with pytest.raises(ValueError, match=r"unknown \[\], missing \['width'\]"):
        space.validate({k: v for k, v in good.items() if k != "width"})
    with pytest.raises(ValueError, match=r"unknown \['extra'\], missing \[\]"):
        space.validate({**good, "extra": 1})
    with pytest.raises(ValueError, match="param 'batch'.*not a power of two"):
        space.validate({**good, "batch": 48})
    with pytest.raises(ValueError, match="param 'width'.*not a multiple"):
        space.validate({**good, "width": 60})
    with pytest.raises(ValueError, match="must be a dict"):
        space.validate([1e-3, 64])


def test_param_space_json_round_trip():
    space = make_param_space()
    text = json.dumps(params_to_json(space.params))
    rebuilt = ParamSpace(params_from_json(json.loads(text)))
    assert rebuilt.names == space.names
    assert [p.space for p in rebuilt.params] == [p.space for p in space.params]
    assert [p.search_center for p in rebuilt.params] == [1e-3, 64, [[128]], 0.1, 64]
    values = {"lr": 2e-4, "batch": 128, "arch": [[256, 64]], "dropout": 0.2, "width": 96}
    assert np.array_equal(rebuilt.to_basic(values), space.to_basic(values))


def test_space_from_json_round_trips_each_kind_and_rejects_unknown_ones():
    for space in VALID_EVERYWHERE + [ArchSpace(rounding_factor=8)]:
        assert space_from_json(json.loads(json.dumps(space.to_json()))) == space
    with pytest.raises(ValueError, match="unknown space type 'CubeSpace'"):
        space_from_json({"type": "CubeSpace"})


# --- keys: which runs are the same point ----------------------------------------------------


def test_param_keys_are_equal_exactly_for_the_same_point():
    from carbs_lite import CategoricalSpace

    space = ParamSpace(
        [
            Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3),
            Param("n", LinearSpace(min=1, max=9, is_integer=True), 3),
            Param("opt", CategoricalSpace(["adam", 1, True]), "adam"),
            Param("arch", ArchSpace(), [[64]]),
        ]
    )
    run = {"lr": 1e-3, "n": 3, "opt": 1, "arch": [[64, 64]]}
    key = space.key(run)
    hash(key)
    # the same point written differently: an int as a float, a choice 1 as 1.0, a tuple layer
    assert space.key({"lr": 0.001, "n": 3.0, "opt": 1.0, "arch": [(64, 64)]}) == key
    assert space.key({**run, "lr": 0.001 + 1e-12}) != key
    assert space.key({**run, "opt": True}) != key  # True is its own choice, not 1
    assert space.key({**run, "arch": [[64], [64]]}) != key
    with pytest.raises(ValueError, match="param 'n'"):
        space.key({**run, "n": 3.5})


def test_a_power_of_two_too_large_for_a_float_is_refused_by_name():
    with pytest.raises(ValueError, match="PowerOfTwoSpace: .* is too large"):
        PowerOfTwoSpace(min=1, max=512).validate(10**400)


@pytest.mark.parametrize(
    "space, values",
    [
        (LinearSpace(min=-5.0, max=5.0, scale=0.3), [-5.0, 0.25, 4.5]),
        (LogSpace(min=1e-6, max=10.0, scale=0.7), [1e-6, 3e-3, 10.0]),
        (LogitSpace(min=0.01, max=0.99, scale=1.3), [0.01, 0.4, 0.99]),
        (PowerOfTwoSpace(min=1, max=1024, scale=2.0), [1.0, 64.0, 1024.0]),
    ],
)
def test_the_bounds_check_maps_values_as_the_basic_space_does(space, values):
    """``_forward_value`` (math, for checking bounds without numpy) is ``_forward`` (numpy)."""
    expected = space._forward(np.array(values))
    assert [space._forward_value(v) for v in values] == pytest.approx(expected.tolist(), rel=1e-12)
