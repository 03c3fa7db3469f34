"""Task presets: a task's own metric names, report panels and command-line flags.

A study names its task in ``Metrics.task``; ``preset`` finds the module that implements it.
Generic modules (the report, the CLI) ask this registry and know nothing of any one task.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import argparse

    import plotly.graph_objects as go

    from carbs_lite.proxy import FidelityProblem
    from carbs_lite.records import StudyState

PRESETS = {"ads-arch": "carbs_lite.tasks.ads.preset"}
"""Task name -> module implementing ``TaskPreset``."""


class TaskPreset(Protocol):
    """What a task module offers the generic report and CLI."""

    def report_panels(self, state: StudyState) -> list[tuple[str, go.Figure]]:
        """Extra (section title, plotly figure) panels for a study of this task."""

    def summary_lines(self, state: StudyState) -> list[str]:
        """Extra lines for the report's written summary (e.g. a task's own score)."""

    def add_init_options(self, parser: argparse.ArgumentParser) -> list[argparse.Action]:
        """The task's own options of `carbs-lite init --problem` (each None unless given)."""

    def add_observe_options(self, parser: argparse.ArgumentParser) -> list[argparse.Action]:
        """The task's own flags of `observe` and `progress` (each None unless given)."""

    def add_proxy_options(self, parser: argparse.ArgumentParser) -> None:
        """The task's own options of `carbs-lite proxy`."""

    def proxy_problem(self, args: argparse.Namespace) -> FidelityProblem:
        """The built-in problem `carbs-lite proxy` checks, from the command's ``--full``,
        ``--fidelities`` and the task's own options; ValueError for a bad one."""


def preset(name: str | None) -> TaskPreset | None:
    """The preset module of task ``name``; None for no task; ValueError for an unknown one."""
    if name is None:
        return None
    if name not in PRESETS:
        raise ValueError(f"unknown task {name!r}; known: {sorted(PRESETS)}")
    return importlib.import_module(PRESETS[name])
