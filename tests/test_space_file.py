"""Space files: every kind, the default centers, and one-line errors naming param and field."""

from __future__ import annotations

import pytest

from carbs_lite import ArchSpace, LinearSpace, LogitSpace, LogSpace, PowerOfTwoSpace
from carbs_lite.space_file import KINDS, SpaceFileError, params_from_toml

EVERY_KIND = """
[lr]
kind = "log"
min = 1e-5
max = 1e-1

[width]
kind = "linear"
min = 16
max = 1024
integer = true
rounding = 16
scale = 100.0

[batch]
kind = "pow2"
min = 16
max = 512

[dropout]
kind = "logit"
min = 0.01
max = 0.5
center = 0.1

[tower]
kind = "architecture"
max_sub_arches = 2
max_layers = 3
min_size = 32
max_size = 512
rounding = 32
center = [[64, 64]]
"""


def test_every_kind_and_its_default_center():
    params = {p.name: p for p in params_from_toml(EVERY_KIND)}
    assert list(params) == ["lr", "width", "batch", "dropout", "tower"]
    assert params["lr"].space == LogSpace(min=1e-5, max=1e-1)
    assert params["lr"].search_center == pytest.approx(1e-3)  # the middle in log space
    assert params["width"].space == LinearSpace(
        min=16, max=1024, is_integer=True, rounding_factor=16, scale=100.0
    )
    assert params["width"].search_center == 512
    assert params["batch"].space == PowerOfTwoSpace(min=16, max=512)
    assert params["batch"].search_center in (64, 128)
    assert params["dropout"].space == LogitSpace(min=0.01, max=0.5)
    assert params["dropout"].search_center == 0.1
    assert params["tower"].space == ArchSpace(
        max_sub_arches=2, max_layers=3, min_size=32, max_size=512, rounding_factor=32
    )
    assert params["tower"].search_center == [[64, 64]]


def test_a_new_kind_is_one_entry_in_kinds():
    assert set(KINDS) == {"linear", "log", "logit", "pow2", "architecture", "categorical"}
    with pytest.raises(SpaceFileError, match="field 'kind': 'ordinal' is not one of"):
        params_from_toml('[c]\nkind = "ordinal"\nchoices = ["a", "b"]')


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no params"),
        ("x = 1", "param 'x': expected a table"),
        ('[w]\nkind = "linear"\nmin = 1\nmax = 9\ninteger = "yes"', "field 'integer'"),
        ('[w]\nkind = "linear"\nmin = 9\nmax = 1', "field 'min' must be < 'max'"),
        ('[p]\nkind = "pow2"\nmin = 2\nmax = 10', "param 'p': field 'max'"),
        ('[t]\nkind = "architecture"\nmax_layers = 2.5', "param 't': ArchSpace: max_layers"),
        ('[t]\nkind = "architecture"\ncenter = [[8]]', "param 't': field 'center'"),
        (f'[p]\nkind = "pow2"\nmin = 16\nmax = 1{"0" * 400}', "param 'p': field 'max'"),
    ],
)
def test_errors_name_the_param_and_the_field(text, message):
    with pytest.raises(SpaceFileError, match=message):
        params_from_toml(text)
