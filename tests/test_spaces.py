"""Param spaces: exact transforms, round trips, rounding, bounds, neighbour steps, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbs_lite.spaces import (
    LinearSpace,
    LogitSpace,
    LogSpace,
    Param,
    ParamSpace,
    PowerOfTwoSpace,
    param_space_from_json,
)

FAST = settings(max_examples=100, deadline=None)


@pytest.mark.parametrize(
    "space, value, basic",
    [
        (LinearSpace(min=-5, max=5, scale=2.0), 3.0, 1.5),
        (LogSpace(min=1e-6, max=1.0, scale=0.5), 1e-3, -6.0),
        (LogitSpace(min=0.01, max=0.99), 0.9, math.log10(9.0)),
        (PowerOfTwoSpace(min=8, max=1024), 64, 6.0),
    ],
)
def test_documented_transforms(space, value, basic):
    assert space.to_basic(value)[0] == pytest.approx(basic)
    assert space.from_basic(np.array([basic])) == pytest.approx(value)


@FAST
@given(st.floats(1e-5, 1e-1), st.floats(0.1, 3.0))
def test_log_round_trip(value, scale):
    space = LogSpace(min=1e-5, max=1e-1, scale=scale)
    assert space.from_basic(space.to_basic(value)) == pytest.approx(value, rel=1e-9)


@FAST
@given(st.floats(1e-3, 1 - 1e-3))
def test_logit_round_trip(value):
    space = LogitSpace(min=1e-3, max=1 - 1e-3)
    assert space.from_basic(space.to_basic(value)) == pytest.approx(value, rel=1e-9)


@FAST
@given(st.integers(0, 100), st.sampled_from([1, 2, 5]), st.floats(0.01, 50.0))
def test_integer_round_trip_is_exact(multiple, factor, scale):
    space = LinearSpace(min=0, max=500, is_integer=True, rounding_factor=factor, scale=scale)
    value = multiple * factor
    assert space.from_basic(space.to_basic(value)) == value


@FAST
@given(st.floats(-1e6, 1e6))
def test_from_basic_always_returns_a_valid_value(basic):
    for space in (
        LinearSpace(min=2, max=40, is_integer=True, rounding_factor=2),
        LogSpace(min=1, max=1e4, is_integer=True),
        LogitSpace(min=0.1, max=0.9),
        PowerOfTwoSpace(min=4, max=256),
    ):
        value = space.from_basic(np.array([basic]))
        assert space.validate(value) == value


def test_round_basic_snaps_to_multiples_without_clipping():
    space = LinearSpace(min=0, max=100, is_integer=True, rounding_factor=5, scale=10.0)
    rounded = space.round_basic(np.array([[0.62], [11.0]]))
    assert rounded.ravel().tolist() == pytest.approx([0.5, 11.0])


def test_integer_bound_padding():
    space = LogSpace(min=2, max=64, is_integer=True)
    padded, exact = space.basic_bounds(True), space.basic_bounds(False)
    assert padded[0][0] == pytest.approx(math.log10(1.9)) and padded[1][0] == pytest.approx(
        math.log10(64.1)
    )
    assert exact[0][0] == pytest.approx(math.log10(2)) and exact[1][0] == pytest.approx(
        math.log10(64)
    )
    floats = LogSpace(min=2, max=64)
    assert floats.basic_bounds(True)[1][0] == floats.basic_bounds(False)[1][0]


def test_neighbour_steps_let_integers_move():
    assert LinearSpace(min=1, max=10, is_integer=True, scale=0.01).min_step_in_basic(
        np.array([[500.0]])
    )[0, 0] == pytest.approx(100.0)
    log = LogSpace(min=1, max=100, is_integer=True)
    step = log.min_step_in_basic(log.to_basic(10)[None, :])[0, 0]
    assert step == pytest.approx(min(math.log10(11 / 10), math.log10(10 / 9)))
    assert LogSpace(min=1, max=100).min_step_in_basic(np.array([[1.0]]))[0, 0] == 0.0


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Param("lr", LogSpace(min=1e-5, max=1e-1), 1.0), "search_center invalid"),
        (lambda: LogSpace(min=-1, max=1), "outside its domain"),
        (lambda: LogitSpace(min=0.1, max=1.5), "outside"),
        (
            lambda: LinearSpace(min=0, max=10, is_integer=True, rounding_factor=2.5),
            "rounding_factor must be an integer",
        ),
        (lambda: LinearSpace(min=0, max=10, rounding_factor=2), "integer spaces only"),
        (lambda: LinearSpace(min=3, max=3), "must be <"),
        (lambda: PowerOfTwoSpace(min=3, max=64), "not a power of two"),
        (
            lambda: ParamSpace([Param("a", LinearSpace(min=0, max=1), 0.5)] * 2),
            "duplicate parameter names",
        ),
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
        (LogitSpace(min=0.01, max=0.99), 1.0, "domain"),
        (LinearSpace(min=0, max=10), True, "expected a number"),
        (LinearSpace(min=0, max=10, is_integer=True), 2.5, "not a multiple"),
        (PowerOfTwoSpace(min=1, max=64), 12, "not a power of two"),
        (LinearSpace(min=0, max=10), math.nan, "domain"),
    ],
)
def test_value_errors(space, value, message):
    with pytest.raises(ValueError, match=message):
        space.validate(value)


def test_param_space_names_and_json_round_trip():
    space = ParamSpace(
        [
            Param("lr", LogSpace(min=1e-5, max=1e-1), 1e-3),
            Param("batch", PowerOfTwoSpace(min=8, max=512), 64),
            Param("dropout", LogitSpace(min=0.01, max=0.5), 0.1),
        ]
    )
    assert space.dim == 3 and space.names == ["lr", "batch", "dropout"]
    values = {"lr": 2e-4, "batch": 128, "dropout": 0.2}
    back = space.from_basic(space.to_basic(values))
    assert (
        back["batch"] == 128
        and back["lr"] == pytest.approx(2e-4)
        and back["dropout"] == pytest.approx(0.2)
    )
    with pytest.raises(ValueError, match=r"unknown \['momentum'\], missing \['dropout'\]"):
        space.validate({"lr": 1e-3, "batch": 64, "momentum": 0.9})
    rebuilt = param_space_from_json(space.to_json())
    assert [p.space for p in rebuilt.params] == [p.space for p in space.params]
    assert [p.search_center for p in rebuilt.params] == [1e-3, 64, 0.1]
