"""Early stopping: whether a running try's learning curve shows it will not join the front.

The rule (``stop_decision``), for a try whose latest intermediate result (``ProgressPoint``)
is output y at step s after spending cost c:

1. y is not finite: stop, the run diverged (a NaN loss does not recover).
2. c >= ``max_suggestion_cost``: stop, the try can no longer be feasible (its final cost is
   at least what it has spent).
3. Otherwise predict its final goodness g = sign * output from the finished tries' curves, a
   nonparametric form of learning-curve extrapolation (Domhan, Springenberg and Hutter,
   IJCAI 2015, which stop when P(final > best so far) < 0.05; Golovin et al., "Google
   Vizier", KDD 2017, section 3.2.2, predict a trial's final value from completed curves):
   each finished successful try j whose curve reaches past s, and that had spent at least c
   by step s, gives one prediction sign * y + (g_j(final) - g_j(s)), its own gain after step
   s added to the running try's result (g_j(s) and its cost at s linearly interpolated; a
   curve without costs counts at its final cost). Only tries at least as costly by then are
   borrowed from: cost tracks size, larger models learn more slowly and gain more late, and
   the gain of a smaller model understated a larger one's (ablations/RESULTS.md). The
   probability of joining the front is the
   fraction of predictions above the front's best goodness at cost <= c; stop when it is
   below ``TunerConfig.early_stopping_probability`` (0.05). With fewer than
   ``TunerConfig.early_stopping_min_curves`` such curves, or nothing on the front as cheap as
   c, the try runs on.

The front is compared at the cost spent so far, not at a predicted final cost: the front only
gets better with cost, so this bar is never above the one at the final cost, and the rule
never stops a try for a cost it has not spent (for a cost such as 1/QPS that does not grow
with training, the two are the same). The gains assume the running try is trained as long as
the finished ones were.

A stopped try is recorded as a failure (``Study.stop``): it has no final result, so it is out
of the front and the best pick, and the output model takes it at the worst value (left out, it
changed nothing in the acquisition, and the search proposed the stopped point again). The
cost model learns its cost only where
training did not change it (a serving cost): one that grew along the curve is the cost spent
until the stop, too low for a run of that config (``curves.stopped_while_spending``). The
success model counts it as failed only if its last result was not finite
(``curves.stopped_unbroken``), so that a region of tries judged not worth finishing is not
taken for one where runs break.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from carbs_lite.curves import ProgressPoint, learning_curve
from carbs_lite.pareto import state_front
from carbs_lite.records import Observation, StudyState, Suggestion

if TYPE_CHECKING:
    import numpy as np
else:
    from carbs_lite.deferred import numpy as np


@dataclass(frozen=True)
class StopDecision:
    """Whether to stop a running try, and why (``reason``, one sentence). ``probability`` is
    the estimated probability that its final result joins the front, ``front_output`` the
    front's best output at the cost spent so far, ``predicted`` the predictions of its final
    output (one per finished curve); NaN or empty where the rule did not get that far."""

    stop: bool
    reason: str
    probability: float = math.nan
    front_output: float = math.nan
    predicted: tuple[float, ...] = ()


def stop_decision(state: StudyState, suggestion: Suggestion) -> StopDecision:
    """The rule of the module docstring for the outstanding ``suggestion`` of ``state``; never
    stops when ``Heuristics.early_stopping`` is off."""
    if not state.heuristics.early_stopping:
        return StopDecision(False, "early stopping is off (Heuristics.early_stopping)")
    if not suggestion.progress:
        return StopDecision(False, "no intermediate result yet")
    last, metrics = suggestion.progress[-1], state.metrics
    where = f"at {metrics.step} {last.step:g}"
    if not math.isfinite(last.output):
        return StopDecision(True, f"its {metrics.output} {where} is not finite: the run diverged")
    cap = state.config.max_suggestion_cost
    if cap is not None and last.cost >= cap:
        spent, limit = metrics.cost_value(last.cost), metrics.cost_value(cap)
        return StopDecision(
            True,
            f"{where} it is at or past the cost cap ({spent} spent against {limit}), so it "
            "cannot be feasible",
        )
    return _against_front(state, last)


def _against_front(state: StudyState, last: ProgressPoint) -> StopDecision:
    """Step 3 of the rule: the predictions from finished curves against the front at cost."""
    config, sign, metrics = state.config, state.config.sign, state.metrics
    where, spent = f"at {metrics.step} {last.step:g}", metrics.cost_value(last.cost)
    found = (_gain_after(o, last, sign) for o in state.active_observations)
    gains = [gain for gain in found if gain is not None]
    needed = config.early_stopping_min_curves
    if len(gains) < needed:
        return StopDecision(
            False,
            f"{len(gains)} finished learning curve(s) at least as costly reach past "
            f"{metrics.step} {last.step:g}; the rule needs {needed}",
        )
    front = front_goodness(state, last.cost)
    if front is None:
        return StopDecision(False, f"nothing on the front is as cheap as the {spent} spent so far")
    predicted = sign * last.output + np.array(gains)
    probability = float(np.mean(predicted > front))
    stop = probability < config.early_stopping_probability
    verdict = "<" if stop else ">="
    reason = (
        f"{where} its {metrics.output} is {last.output:.6g}; with the gains of {len(gains)} "
        f"finished tries after that {metrics.step}, P(beating the front's {sign * front:.6g} "
        f"at {spent}) = {probability:.2f} {verdict} {config.early_stopping_probability:g}"
    )
    return StopDecision(
        stop, reason, probability, sign * front, tuple(float(sign * p) for p in predicted)
    )


def _gain_after(observation: Observation, last: ProgressPoint, sign: float) -> float | None:
    """Final goodness minus goodness at step ``last.step`` of a finished successful try whose
    curve spans that step, goes past it, and had spent at least ``last.cost`` by then; None
    for any other observation."""
    if observation.is_failure:
        return None
    points = [p for p in learning_curve(observation) if math.isfinite(p.output)]
    if not points or points[0].step > last.step or points[-1].step <= last.step:
        return None
    steps = np.array([p.step for p in points])
    costs = np.array([p.cost if math.isfinite(p.cost) else observation.cost for p in points])
    if float(np.interp(last.step, steps, costs)) < last.cost:
        return None
    goodness = sign * np.array([p.output for p in points])
    return sign * observation.output - float(np.interp(last.step, steps, goodness))


def front_goodness(state: StudyState, cost: float) -> float | None:
    """The best goodness (sign * output) on the study's front among its points that cost at
    most ``cost``; None if none does. Retracted and failed (so also stopped) runs are out."""
    cheap = [g.mean_goodness for g in state_front(state) if g.cost <= cost]
    return max(cheap) if cheap else None
