"""A finished proxy check in words: the table the CLI prints and the verdict lines that open
its report."""

from __future__ import annotations

import math

from carbs_lite.proxy.check import FidelityCheck, ProxyCheck
from carbs_lite.proxy.stats import RankCorrelation


def _signed(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:+.2f}"


def _interval(correlation: RankCorrelation | None) -> str:
    if correlation is None or not correlation.defined:
        return "-"
    return f"{_signed(correlation.value)} [{_signed(correlation.low)}, {_signed(correlation.high)}]"


def share_text(value: float) -> str:
    """A share as a whole percentage, "-" when undefined."""
    return "-" if not math.isfinite(value) else f"{value:.0%}"


def table_lines(check: ProxyCheck) -> list[str]:
    """One row per fidelity: relative cost, Kendall's tau with its CI, Spearman's rho, the cost
    tau (with a cap), the noise share, valid pairs and the verdict; the full fidelity last."""
    level = f"{check.settings.confidence:.0%}"
    head = [check.fidelity_name, "cost", f"Kendall tau [{level} CI]", "Spearman rho"]
    head += ["cost tau"] if check.max_cost is not None else []
    head += ["noise", "pairs", "passes"]
    rows = []
    for proxy in check.proxies:
        row = [f"{proxy.fidelity:g}", f"{proxy.relative_cost:.2f}", _interval(proxy.kendall)]
        row.append(_signed(proxy.spearman.value))
        if proxy.cost_kendall is not None:
            row.append(_signed(proxy.cost_kendall.value))
        row += [share_text(proxy.noise_share), f"{proxy.kendall.pairs}/{len(proxy.runs)}"]
        rows.append([*row, "yes" if proxy.passes else "no"])
    full = check.full
    last = [f"{full.fidelity:g} (full)", "1.00", "", ""] + [""] * (check.max_cost is not None)
    rows.append([*last, share_text(full.noise_share), "", ""])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return [
        "  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]


def _answer(check: ProxyCheck, proxy: FidelityCheck) -> str:
    full, name = check.full.fidelity, check.fidelity_name
    tau = proxy.kendall
    question = f"Does a run of {proxy.fidelity:g} {name} rank configs like one of {full:g}?"
    if not tau.defined:
        return (
            f"{question} Unknown: only {tau.pairs} of {len(proxy.runs)} candidates have both "
            "runs, too few for a rank correlation."
        )
    verdict = "Yes" if proxy.passes else "No"
    text = (
        f"{question} {verdict}: Kendall's tau {_interval(tau)} over {tau.pairs} configs "
        f"(threshold {check.settings.threshold:g}), Spearman's rho {_interval(proxy.spearman)}"
    )
    if proxy.cost_kendall is not None:
        text += f"; the tau of its costs with the full runs' is {_interval(proxy.cost_kendall)}"
        if not proxy.passes and tau.value >= check.settings.threshold:
            text += ", below the threshold, so the cost cap cannot be judged on this proxy"
    text += f"; it costs {proxy.relative_cost:.0%} of a full run."
    if _straddles(tau, check.settings.threshold):
        text += (
            f" Uncertain: the 95% interval reaches from {_signed(tau.low)} to "
            f"{_signed(tau.high)}, on both sides of the threshold; more candidates would settle it."
        )
    return text


def _straddles(tau: RankCorrelation, threshold: float) -> bool:
    """Whether the bootstrap interval of ``tau`` lies on both sides of ``threshold``."""
    return tau.defined and tau.low < threshold <= tau.high


def verdict_lines(check: ProxyCheck) -> list[str]:
    """The answer for every proxy, the recommendation, the variance check, how the candidates
    were chosen and what the check cost."""
    lines = [_answer(check, proxy) for proxy in check.proxies]
    name = check.fidelity_name
    if check.recommended is None:
        lines.append(
            f"No proxy passes: keep full runs of {check.full.fidelity:g} {name}, or try others."
        )
    else:
        chosen = next(p for p in check.proxies if p.fidelity == check.recommended)
        caution = ""
        if _straddles(chosen.kendall, check.settings.threshold):
            caution = (
                f" With caution: its tau's 95% interval reaches down to "
                f"{_signed(chosen.kendall.low)}, below the threshold."
            )
        lines.append(
            f"Recommended proxy: {chosen.fidelity:g} {name}, the cheapest that passes "
            f"({chosen.relative_cost:.0%} of a full run's cost).{caution}"
        )
    shares = ", ".join(
        f"{share_text(p.noise_share)} at {p.fidelity:g}" for p in (*check.proxies, check.full)
    )
    lines.append(
        f"Variance check: re-running {len(check.repeated)} configs {check.settings.repeats} "
        f"times moves the output by this share of the spread between configs (pooled "
        f"standard deviations): {shares} {name}. Well under 100%: configs differ by much more than the noise."
    )
    unit = check.run_cost_name or name
    total = check.check_run_cost + check.selection.run_cost
    lines.append(
        f"Candidates: {check.selection.rule}. The check cost {total:.4g} {unit} "
        f"({total / check.full_run_cost:.1f} full runs), of which screening "
        f"{check.selection.run_cost:.4g} {unit}."
    )
    return lines
