"""Shared fixtures: small spaces and a cheap cost-aware objective."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from carbs_lite import LinearSpace, LogSpace, Observation, Param, Tuner, TunerConfig

torch.set_num_threads(1)


def objective(params: dict) -> tuple[float, float]:
    """Minimized loss improving with width (cost) and best at lr = 1e-2."""
    loss = 1.0 / math.sqrt(params["width"]) + (math.log10(params["lr"]) + 2.0) ** 2
    return loss, params["width"] / 100.0


@pytest.fixture
def params() -> list[Param]:
    return [
        Param("lr", LogSpace(min=1e-5, max=1.0), 1e-3),
        Param("width", LinearSpace(min=8, max=512, is_integer=True, scale=100.0), 32),
    ]


def run(tuner: Tuner, steps: int) -> Tuner:
    """Suggest/observe ``steps`` times on ``objective``."""
    for _ in range(steps):
        suggestion = tuner.suggest()
        tuner.observe(suggestion, *objective(suggestion.params))
    return tuner


@pytest.fixture
def minimize() -> TunerConfig:
    return TunerConfig(direction="minimize", num_candidates_per_dim=50)


@pytest.fixture(scope="session")
def thousand_observations() -> list[Observation]:
    """1000 seeded random results over the ``params`` space: a big study for the reports,
    made without 1000 ``observe`` calls (each of which scans the whole front)."""
    rng = np.random.default_rng(0)
    observations = []
    for _ in range(1000):
        p = {"lr": float(10 ** rng.uniform(-5, 0)), "width": int(rng.integers(8, 513))}
        observations.append(Observation(p, float(rng.normal()), float(rng.uniform(0.1, 5))))
    return observations


def with_observations(tuner: Tuner, observations: list[Observation]) -> Tuner:
    """A copy of ``tuner`` that holds ``observations`` as if each had been observed."""
    state = dataclasses.replace(tuner.to_state(), observations=list(observations))
    return Tuner.from_state(state)


def study_data(space, config: TunerConfig, observations: list, outstanding: list = ()):
    """``StudyData`` of ``observations`` and ``outstanding`` suggestions in ``space``: the rows,
    keys and records the tuner would give the search."""
    from carbs_lite.study_data import StudyData

    return StudyData.from_rows(
        space,
        config,
        [space.to_basic(o.params) for o in observations],
        observations,
        [space.to_basic(s.params) for s in outstanding],
        [space.key(o.params) for o in observations],
    )
