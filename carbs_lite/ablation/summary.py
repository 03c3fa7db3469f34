"""Turn ablation run records into paired effects, a markdown table and curve bands."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from carbs_lite.ablation.report import CurveBand, Effect, write_ablation_report
from carbs_lite.ablation.runner import BASELINE
from carbs_lite.ablation.stats import (
    TOO_FEW,
    bootstrap_median_ci,
    holm,
    pairs_needed,
    verdict,
    wilcoxon_signed_rank,
)

POOLED = "all problems"


def _by_key(records: list[dict]) -> dict[tuple[str, str], dict[int, dict]]:
    """(problem, variant) -> seed -> record."""
    table: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    for record in records:
        table[(record["problem"], record["variant"])][record["seed"]] = record
    return table


def effects(records: list[dict], metric: str = "auc") -> list[Effect]:
    """Per (variant, problem) and pooled over problems: paired differences to the baseline."""
    table = _by_key(records)
    problems = sorted({p for p, _ in table})
    variants = sorted({v for _, v in table if v != BASELINE})
    switch_of = {r["variant"]: r["switch"] for r in records}
    rows = []
    for variant in variants:
        pooled: list[float] = []
        for problem in problems:
            base, other = table.get((problem, BASELINE), {}), table.get((problem, variant), {})
            seeds = sorted(set(base) & set(other))
            diffs = [other[s][metric] - base[s][metric] for s in seeds]
            pooled += diffs
            if diffs:
                rows.append((switch_of[variant], variant, problem, np.array(diffs)))
        if pooled and len(problems) > 1:
            rows.append((switch_of[variant], variant, POOLED, np.array(pooled)))
    p_values = [wilcoxon_signed_rank(d) for *_, d in rows]
    adjusted = holm(p_values) if p_values else []
    result = []
    for (switch, variant, problem, diffs), p, p_holm in zip(rows, p_values, adjusted, strict=True):
        median = float(np.median(diffs))
        low, high = bootstrap_median_ci(diffs)
        result.append(
            Effect(
                switch,
                variant,
                problem,
                median,
                low,
                high,
                p,
                p_holm,
                verdict(diffs, p_holm, len(rows)),
                len(diffs),
            )
        )
    return result


def curve_bands(records: list[dict]) -> list[CurveBand]:
    """Median best-so-far normalized regret per try with a 2.5-97.5% band over seeds."""
    bands = []
    for (problem, variant), runs in sorted(_by_key(records).items()):
        length = min(len(r["tries"]) for r in runs.values())
        curves = np.array([[t["regret"] for t in r["tries"][:length]] for r in runs.values()])
        bands.append(
            CurveBand(
                problem,
                variant,
                list(range(1, length + 1)),
                np.median(curves, 0).tolist(),
                np.quantile(curves, 0.025, axis=0).tolist(),
                np.quantile(curves, 0.975, axis=0).tolist(),
                "try",
            )
        )
    return bands


def markdown_table(rows: list[Effect]) -> str:
    """Effects as a markdown table (negative differences: the variant lowers regret)."""
    lines = [
        "| switch | variant | problem | n | median diff (AUC regret) | 95% CI | p | p (Holm) | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in rows:
        lines.append(
            f"| {e.switch} | {e.variant} | {e.problem} | {e.n_pairs} | {e.median_difference:+.4f} | "
            f"[{e.ci_low:+.4f}, {e.ci_high:+.4f}] | {e.p_value:.3g} | {e.p_holm:.3g} | {e.verdict} |"
        )
    return "\n".join(lines)


def verdict_lines(rows: list[Effect]) -> list[str]:
    """The verdicts in words: one line per variant that helps or hurts anywhere, then how many
    comparisons showed no detectable effect, and how many had too few seeds for a verdict."""
    lines = []
    for variant in sorted({e.variant for e in rows}):
        found = [e for e in rows if e.variant == variant and e.verdict in ("helps", "hurts")]
        for word in ("helps", "hurts"):
            where = [e for e in found if e.verdict == word]
            if where:
                places = "; ".join(
                    f"{e.problem} (median {e.median_difference:+.4f}, Holm p {e.p_holm:.2g})"
                    for e in where
                )
                lines.append(f"{variant} {word} on {places}.")
    quiet = sum(e.verdict == "no detectable effect" for e in rows)
    lines.append(f"No detectable effect in {quiet} of {len(rows)} comparisons.")
    too_few = [e for e in rows if e.verdict == TOO_FEW]
    if too_few:
        needed = pairs_needed(len(rows))
        lines.append(
            f"{len(too_few)} of {len(rows)} comparisons have too few seeds for any verdict: "
            f"after Holm over {len(rows)} comparisons a verdict needs at least {needed} pairs "
            f"(they have as few as {min(e.n_pairs for e in too_few)}); more seeds would tell."
        )
    return lines


METHOD = [
    "Metric: area under the best-so-far normalized-regret curve (mean over tries; lower is",
    "better). Differences are variant - baseline, paired by seed; Wilcoxon signed-rank p",
    "(scipy.stats, exact without ties), Holm over all rows; 95% percentile bootstrap CI.",
]


def write_outputs(out: Path, records: list[dict], header: dict[str, str]) -> list[Effect]:
    """``summary.md`` and ``report.html`` in ``out``; returns the effects."""
    rows = effects(records)
    verdicts = verdict_lines(rows)
    lines = [
        "# Ablation summary\n",
        *(f"- {k}: {v}" for k, v in header.items()),
        "",
        *verdicts,
        "",
        *METHOD,
        "",
        markdown_table(rows),
        "",
    ]
    (out / "summary.md").write_text("\n".join(lines))
    write_ablation_report(
        out / "report.html",
        curve_bands(records),
        rows,
        "carbs_lite ablation",
        header,
        [*verdicts, " ".join(METHOD)],
    )
    return rows
