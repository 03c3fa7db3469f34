"""`carbs-lite status`: every try in the study's own terms, the front and why a run is off it."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from carbs_lite.cli.common import cost_text, open_study, output_text, params_text, tries_text

if TYPE_CHECKING:
    from carbs_lite.pareto import Group
    from carbs_lite.records import Metrics, Observation, StudyState, Suggestion

STRUCK = "\x1b[2;9m{}\x1b[0m"
"""Dim and struck through (ANSI SGR 2 and 9), for retracted rows on a terminal."""
NOTE_WIDTH = 28
"""Characters of the table's front/why column."""


def front_notes(state: StudyState) -> dict[int, str]:
    """Observation index -> where its success stands against the front, by the study's own
    rules (``pareto.study_front``, retracted runs left out): "front", "beaten by #k", "cheap
    bucket: #k is its best" (the cheapest costs are bucketed together and only their best is
    on the front), or "one run, not above #k's best" (a single run must beat a front point's
    best run, not its mean)."""
    from carbs_lite.pareto import bucket_threshold, bucketing_fraction, state_groups, study_front

    successes = [
        i for i, o in enumerate(state.observations) if i not in state.retracted and not o.is_failure
    ]
    groups = state_groups(state)
    if not groups:
        return {}
    front = study_front(groups, state.config, state.heuristics)
    threshold = bucket_threshold(groups, bucketing_fraction(state.config, state.heuristics))

    def number(group: Group) -> int:
        return successes[group.members[0]] + 1

    notes = {}
    for group in groups:
        note = _note(group, front, threshold, number)
        notes.update({successes[m]: note for m in group.members})
    return notes


def _note(
    group: Group, front: list[Group], threshold: float, number: Callable[[Group], int]
) -> str:
    """One success group's standing (see ``front_notes``); ``number`` names a group by try."""
    if any(f.members == group.members for f in front):
        return "front"
    cheaper = [f for f in front if f.cost <= group.cost]
    beaten = [f for f in cheaper if f.mean_goodness >= group.mean_goodness]
    if beaten:
        return f"beaten by #{number(beaten[0])}"
    if group.cost <= threshold:
        return f"cheap bucket: #{number(front[0])} is its best"
    return f"one run, not above #{number(cheaper[-1])}'s best"


def _row(state: StudyState, number: int, observation: Observation, note: str) -> str:
    from carbs_lite.records import is_feasible

    metrics = state.metrics
    why = state.retracted.get(number - 1)
    feasible = is_feasible(
        observation.is_failure, observation.cost, state.config.max_suggestion_cost
    )
    infeasible = f"{metrics.cost_name} too low" if metrics.cost_inverse else "over the cap"
    status = "failed" if observation.is_failure else ("ok" if feasible else infeasible)
    if observation.stopped is not None:
        last = observation.curve[-1].step if observation.curve else math.nan
        status, note = f"stopped @{last:g}", f"why: {observation.stopped}"
    if why is not None:
        status, note = "retracted", f"why: {why}"
    if len(note) > NOTE_WIDTH:
        # the column keeps its width so the params stay aligned; the report shows it whole
        note = note[: NOTE_WIDTH - 1] + "…"
    estimated = " (est.)" if observation.extra.get("cost_estimated") else ""
    output, cost = _cells(metrics, observation.output, observation.cost)
    ident = observation.suggestion_id or "(chosen)"
    return _line(f"{number:3d}", ident, output, cost + estimated, status, note, observation.params)


def _pending_row(state: StudyState, suggestion: Suggestion) -> str:
    """An outstanding try: "pending", or how far it has got (its last intermediate result)."""
    output, cost, status = "pending", "", ""
    if suggestion.progress:
        last = suggestion.progress[-1]
        output, cost = _cells(state.metrics, last.output, last.cost)
        status = f"running @{last.step:g}"
    return _line("  -", suggestion.id, output, cost, status, "", suggestion.params)


def _cells(metrics: Metrics, output: float, cost: float) -> tuple[str, str]:
    """An output ("-" for NaN) and a cost (in the study's terms) as the table shows them."""
    shown = "-" if math.isnan(output) else f"{output:.6g}"
    return shown, f"{metrics.shown_cost(cost):.6g}"


def _line(
    number: str, ident: str, output: str, cost: str, status: str, note: str, params: dict
) -> str:
    """One row of the table, in its columns."""
    return (
        f"{number}  {ident:14s} {output:>10s} {cost:>14s}  {status:14s} {note:{NOTE_WIDTH}s} "
        f"{params_text(params)}"
    )


def status_lines(state: StudyState, terminal: bool = False) -> list[str]:
    """The status report as lines; retracted rows are struck through on a ``terminal``."""
    from carbs_lite.records import best_feasible

    metrics = state.metrics
    cost_name = metrics.cost_name
    direction = state.config.direction.value
    cap = state.config.max_suggestion_cost
    feasible = ""
    if cap is not None:
        # below the cap in cost is above it in the reciprocal
        side = "is above" if metrics.cost_inverse else "is below"
        feasible = f"; a run counts when {metrics.cost_value(cap, f' {side} ')}"
    lines = [
        f"{metrics.output} ({direction}d) against {cost_name}{feasible}",
        tries_text(state),
        f"{'#':>3}  {'id':14s} {metrics.output:>10s} {cost_name:>14s}  {'status':14s} "
        f"{'front':{NOTE_WIDTH}s} params",
    ]
    notes = front_notes(state)
    for index, observation in enumerate(state.observations):
        row = _row(state, index + 1, observation, notes.get(index, ""))
        lines.append(STRUCK.format(row) if terminal and index in state.retracted else row)
    for s in state.outstanding:
        lines.append(_pending_row(state, s))
    if any(n.startswith("cheap bucket") for n in notes.values()):
        fraction = state.config.min_pareto_cost_fraction
        lines.append(
            f"cheap bucket: runs among the cheapest {fraction:.0%} of costs count as one cost on "
            "the front, so only the best of them is on it (TunerConfig.min_pareto_cost_fraction)"
        )
    if any(s.progress for s in state.outstanding) or any(o.stopped for o in state.observations):
        lines.append(f"@N: the last intermediate result, at {metrics.step} N")
    best = best_feasible(state.active_observations, state.config)
    shown = "none"
    if best is not None:
        shown = (
            f"#{next(i for i, o in enumerate(state.observations) if o is best) + 1} {output_text(metrics, best.output)} "
            f"{cost_text(metrics, best.cost)} params={params_text(best.params)}"
        )
    lines.append(f"best feasible: {shown}")
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    """Print ``status_lines`` of the study."""
    with open_study(args.study) as study:
        state = study.to_state()
    print("\n".join(status_lines(state, sys.stdout.isatty())))
    return 0
