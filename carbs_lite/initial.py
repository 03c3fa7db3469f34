"""The initial design: the suggestions made before the surrogates are used.

The first ``TunerConfig.num_random_samples`` suggestions (and every one while nothing has
succeeded) come from here, per ``Heuristics.initial_design`` and ``coarse_initial_design``.
"""

from __future__ import annotations

import logging

import numpy as np

from carbs_lite.config import TunerConfig
from carbs_lite.heuristics import InitialDesign
from carbs_lite.records import Diagnostics
from carbs_lite.search import NUMERICAL_ERRORS, Proposal, Search, first_new
from carbs_lite.spaces import ParamSpace
from carbs_lite.study_data import StudyData

logger = logging.getLogger(__name__)

UNDER_CAP_FRACTIONS = np.linspace(1.0, 0.0, 11)
"""How far along center -> uniform draw a SPACE_FILLING_UNDER_CAP suggestion may stay."""

DESIGN_DRAWS = 64
"""Uniform draws per suggestion, of which the first new one (after moving) is kept."""

INFINITE_BOUND_REACH = 4
"""A dimension with an infinite bound is drawn within this many search radii of the center."""


def initial_proposal(
    search: Search, data: StudyData, rng: np.random.Generator, adaptive: float
) -> Proposal:
    """A random-phase suggestion for ``data``, per the initial-design switches of
    ``search.heuristics`` (``adaptive``: the adaptive search radius, see ``Search.radius``)."""
    space, config, heuristics = search.space, search.config, search.heuristics
    center = space.center_in_basic()
    design = heuristics.initial_design
    if design is InitialDesign.AROUND_CENTER:
        return search.random_step(center[None, :], data, rng, "random", adaptive)
    lower, upper = space.basic_bounds(pad_integers=False)
    reach = INFINITE_BOUND_REACH * search.radius(adaptive, data)
    lower = np.where(np.isfinite(lower), lower, center - reach)
    upper = np.where(np.isfinite(upper), upper, center + reach)
    draws = rng.uniform(lower, upper, (DESIGN_DRAWS, len(lower)))
    if heuristics.coarse_initial_design:
        draws = space.coarse_draws(draws)
    rows = space.round_basic(draws)
    if design is InitialDesign.SPACE_FILLING_UNDER_CAP:
        rows = _moved_under_cap(search, data, draws, rows, center, rng)
    return Proposal(first_new(rows, data, config), Diagnostics("random"))


def _moved_under_cap(
    search: Search,
    data: StudyData,
    draws: np.ndarray,
    unmoved: np.ndarray,
    center: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draws u (n, d) moved to c + t (u - c) and rounded, with the largest t in
    ``UNDER_CAP_FRACTIONS`` that the cost model puts under the cap; draws that fit nowhere
    are dropped. ``unmoved`` (the rounded draws) if there is no cap, fewer than two runs,
    or no draw fits."""
    config: TunerConfig = search.config
    space: ParamSpace = search.space
    if config.max_suggestion_cost is None or len(data.cost) < 2:
        return unmoved
    n, dim = draws.shape
    moved = center + UNDER_CAP_FRACTIONS[None, :, None] * (draws - center)[:, None, :]
    rows = space.round_basic(moved.reshape(-1, dim))
    try:
        cost, log_cost_range = search.cost_model(data, rng)
        fits = search.under_cap(cost, log_cost_range, rows)
    except NUMERICAL_ERRORS as error:
        logger.warning("cost model failed (%s); random draw left unmoved", error)
        return unmoved
    fits = fits.reshape(n, len(UNDER_CAP_FRACTIONS))
    fitting = fits.any(axis=1)
    if not fitting.any():
        return unmoved
    largest = fits.argmax(axis=1)
    return rows.reshape(n, -1, dim)[np.arange(n), largest][fitting]
