"""The proxy-task check on synthetic problems whose answer is known, through the public API."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from carbs_lite import LinearSpace, Param
from carbs_lite.proxy import FidelityProblem, ProxyRun, ProxySettings, check_proxy
from carbs_lite.proxy.stats import batched_kendall, batched_spearman
from carbs_lite.proxy.summary import table_lines, verdict_lines
from carbs_lite.report.proxy import write_proxy_report

FULL, UNRELATED, CLOSE, NOISY = 10, 1, 2, 5
SETTINGS = ProxySettings(resamples=300)


def _params(name: str = "x") -> list[Param]:
    return [
        Param(name, LinearSpace(min=0.0, max=1.0), 0.5),
        Param("y", LinearSpace(min=0.0, max=1.0), 0.5),
    ]


def _evaluate(noise: dict[float, float], name: str = "x"):
    """The full output is x + 0.3 y plus noise of std noise[fidelity]; at UNRELATED fidelity
    the output is a fresh uniform draw. The capped cost is 1 + x at every fidelity."""

    def evaluate(params: dict, fidelity: float, seed: int) -> ProxyRun:
        rng = np.random.default_rng(seed)
        cost = 1.0 + params[name]
        if fidelity == UNRELATED:
            return ProxyRun(float(rng.uniform()), cost)
        truth = params[name] + 0.3 * params["y"]
        return ProxyRun(truth + noise.get(fidelity, 0.0) * float(rng.normal()), cost)

    return evaluate


def _problem(proxies=(UNRELATED, CLOSE, NOISY), max_cost=None, noise=None, name="x"):
    noise = {FULL: 0.01, CLOSE: 0.01, NOISY: 0.3} if noise is None else noise
    return FidelityProblem(_evaluate(noise, name), _params(name), FULL, proxies, max_cost)


def _by_fidelity(check) -> dict:
    return {p.fidelity: p for p in check.proxies}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_close_proxy_passes_an_unrelated_one_fails_and_the_cheapest_passing_is_recommended(
    seed,
):
    check = check_proxy(_problem(), ProxySettings(resamples=300, seed=seed))
    proxies = _by_fidelity(check)
    assert proxies[CLOSE].passes and proxies[CLOSE].kendall.value > 0.8
    assert not proxies[UNRELATED].passes and abs(proxies[UNRELATED].kendall.value) < 0.5
    assert check.recommended == CLOSE  # UNRELATED is cheaper but fails
    assert "Recommended proxy: 2 fidelity" in "\n".join(verdict_lines(check))


def test_no_proxy_passing_is_said():
    check = check_proxy(_problem(proxies=(UNRELATED,)), SETTINGS)
    assert check.recommended is None and not check.proxies[0].passes
    assert any(line.startswith("No proxy passes") for line in verdict_lines(check))


def test_the_threshold_is_the_users():
    lax = check_proxy(_problem(), ProxySettings(resamples=300, threshold=-1.0))
    assert lax.recommended == UNRELATED  # every proxy passes, and it is the cheapest


def test_every_bootstrap_interval_holds_its_point_estimate():
    check = check_proxy(_problem(max_cost=1.6), SETTINGS)
    for proxy in check.proxies:
        for corr in (proxy.kendall, proxy.spearman, proxy.cost_kendall, proxy.cost_spearman):
            assert corr.defined and corr.low <= corr.value <= corr.high
    assert _by_fidelity(check)[NOISY].kendall.high - _by_fidelity(check)[NOISY].kendall.low > 0


def test_a_seeded_check_is_reproducible_and_the_seed_matters():
    first, again = (check_proxy(_problem(), ProxySettings(resamples=300, seed=4)) for _ in "ab")
    assert repr(first) == repr(again)
    other = check_proxy(_problem(), ProxySettings(resamples=300, seed=5))
    assert other.candidates != first.candidates


def test_the_variance_check_measures_noise_against_the_spread_between_configs():
    check = check_proxy(_problem(noise={FULL: 0.0, CLOSE: 0.0, NOISY: 0.3}), SETTINGS)
    proxies = _by_fidelity(check)
    assert check.full.noise_share == pytest.approx(0.0, abs=1e-12)
    assert proxies[CLOSE].noise_share == pytest.approx(0.0, abs=1e-12)
    assert 0.3 < proxies[NOISY].noise_share < 3.0
    assert len(check.repeated) == 3
    for level in (check.full, *check.proxies):
        for index, runs in zip(check.repeated, level.repeats, strict=True):
            assert len(runs) == 3 and runs[0] == level.runs[index]


def test_costs_are_correlated_only_under_a_cap_and_candidates_come_from_under_it():
    assert all(p.cost_kendall is None for p in check_proxy(_problem(), SETTINGS).proxies)
    capped = check_proxy(_problem(max_cost=1.5), SETTINGS)
    assert all(params["x"] < 0.5 for params in capped.candidates)
    assert _by_fidelity(capped)[CLOSE].cost_kendall.value == pytest.approx(1.0)
    assert "cost tau" in table_lines(capped)[0]


def test_under_a_cap_a_proxy_whose_costs_rank_otherwise_fails():
    close = _evaluate({FULL: 0.01, CLOSE: 0.01})

    def evaluate(params: dict, fidelity: float, seed: int) -> ProxyRun:
        run = close(params, fidelity, seed)
        if fidelity == CLOSE:  # the proxy's cost is unrelated to the full runs' cost
            return ProxyRun(run.output, 1.0 + float(np.random.default_rng(seed).uniform()))
        return run

    problem = FidelityProblem(evaluate, _params(), FULL, (CLOSE,), max_cost=3.0)
    (proxy,) = check_proxy(problem, SETTINGS).proxies
    assert proxy.kendall.value >= 0.65 and abs(proxy.cost_kendall.value) < 0.5
    assert not proxy.passes


def test_screening_costs_at_most_half_the_checks_own_runs():
    check = check_proxy(_problem(), SETTINGS)
    assert check.selection.screening_fidelity == UNRELATED
    assert check.selection.pool == 64 and len(check.selection.screening) == 64
    assert check.selection.run_cost <= 0.5 * check.check_run_cost
    # a pool at fidelity 9 would cost more than half of 16 x (10 + 9): the candidates are
    # drawn unscreened
    costly = check_proxy(_problem(proxies=(9,)), SETTINGS)
    assert costly.selection.screening_fidelity is None and costly.selection.run_cost == 0.0
    assert len(costly.candidates) == 16


def test_given_candidates_are_used_as_given():
    given = [{"x": x, "y": 0.5} for x in (0.1, 0.3, 0.5, 0.7, 0.9)]
    check = check_proxy(_problem(), SETTINGS, candidates=given)
    assert list(check.candidates) == given and check.selection.screening_fidelity is None
    assert all(len(p.runs) == 5 for p in (check.full, *check.proxies))


def test_pairs_with_a_failed_run_are_left_out_and_too_few_pairs_cannot_pass():
    base = _evaluate({FULL: 0.01, CLOSE: 0.01})

    def evaluate(params: dict, fidelity: float, seed: int) -> ProxyRun:
        if fidelity == CLOSE and params["y"] > 0.3:
            return ProxyRun(math.nan)
        return base(params, fidelity, seed)

    check = check_proxy(FidelityProblem(evaluate, _params(), FULL, (CLOSE,)), SETTINGS)
    (proxy,) = check.proxies
    assert proxy.kendall.pairs == sum(p["y"] <= 0.3 for p in check.candidates)
    assert not proxy.kendall.defined and not proxy.passes and check.recommended is None
    assert "Unknown" in verdict_lines(check)[0]


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: _problem(proxies=(FULL,)), ValueError, "below the full fidelity"),
        (lambda: _problem(proxies=()), ValueError, "at least one fidelity"),
        (lambda: _problem(proxies=(2, 2)), ValueError, "duplicates"),
        (lambda: _problem(max_cost=-1.0), ValueError, "max_cost"),
        (lambda: FidelityProblem("f", _params(), FULL, (1,)), TypeError, "callable"),
        (lambda: ProxySettings(candidates=3), ValueError, "candidates must be an integer >= 5"),
        (lambda: ProxySettings(threshold=1.5), ValueError, "threshold"),
        (lambda: ProxySettings(repeats=1), ValueError, "repeats"),
        (lambda: ProxySettings(candidates=5, repeated_configs=6), ValueError, "cannot exceed"),
    ],
)
def test_bad_problems_and_settings_are_refused_at_the_call(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_candidates_and_bad_results_are_refused():
    with pytest.raises(ValueError, match="at least 5 candidates"):
        check_proxy(_problem(), SETTINGS, candidates=[{"x": 0.1, "y": 0.1}])
    with pytest.raises(ValueError, match="unknown"):
        check_proxy(_problem(), SETTINGS, candidates=[{"z": 0.1}] * 5)
    text = FidelityProblem(lambda p, f, s: "0.3", _params(), FULL, (1,))
    with pytest.raises(TypeError, match="ProxyRun or a number, got str"):
        check_proxy(text, SETTINGS)
    uncosted = FidelityProblem(lambda p, f, s: 0.3, _params(), FULL, (1,), max_cost=2.0)
    with pytest.raises(ValueError, match="needs the cost"):
        check_proxy(uncosted, SETTINGS)


def test_a_space_without_bounds_needs_candidates():
    unbounded = [Param("w", LinearSpace(), 0.5)]
    problem = FidelityProblem(lambda p, f, s: p["w"], unbounded, FULL, (CLOSE,))
    with pytest.raises(ValueError, match="param 'w' has an infinite bound"):
        check_proxy(problem, SETTINGS)
    given = [{"w": float(w)} for w in range(-3, 3)]
    assert check_proxy(problem, SETTINGS, candidates=given).recommended == CLOSE


def test_bare_outputs_count_runs_in_fidelity_units():
    problem = FidelityProblem(lambda p, f, s: p["x"] + f, _params(), FULL, (CLOSE,))
    check = check_proxy(problem, SETTINGS)
    assert check.proxies[0].relative_cost == pytest.approx(CLOSE / FULL)
    assert check.proxies[0].kendall.value == pytest.approx(1.0)


def test_batched_statistics_match_scipy_with_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (50, 9)).astype(float)
    y = x + rng.integers(0, 3, (50, 9))
    taus = [stats.kendalltau(a, b).statistic for a, b in zip(x, y, strict=True)]
    rhos = [stats.spearmanr(a, b).statistic for a, b in zip(x, y, strict=True)]
    assert np.allclose(batched_kendall(x, y), taus)
    assert np.allclose(batched_spearman(x, y), rhos)


def test_the_report_page_escapes_every_string(tmp_path):
    name = "</script><script>document.title='PWNED'</script>"
    check = check_proxy(_problem(name=name, max_cost=1.6), SETTINGS)
    page = write_proxy_report(check, tmp_path / "proxy.html").read_text()
    assert "<script>document.title" not in page
    assert page.count("</script>") == 2  # plotly.js and the plot calls
    assert "Recommended proxy" in page and "Variance check" in page


def test_a_verdict_whose_interval_straddles_the_threshold_is_called_uncertain():
    # 5 candidates gave tau +0.80 [+0.00, +1.00]: a "Yes" and a recommendation, said plainly
    check = check_proxy(_problem(proxies=(CLOSE,)), SETTINGS)
    wide = dataclasses.replace(check.proxies[0].kendall, value=0.8, low=0.0, high=1.0)
    proxy = dataclasses.replace(check.proxies[0], kendall=wide, passes=True)
    lines = verdict_lines(dataclasses.replace(check, proxies=[proxy], recommended=CLOSE))
    assert "Uncertain: the 95% interval reaches from +0.00 to +1.00" in lines[0]
    assert "With caution: its tau's 95% interval reaches down to +0.00" in lines[1]
    narrow = dataclasses.replace(wide, low=0.7)
    proxy = dataclasses.replace(proxy, kendall=narrow)
    lines = verdict_lines(dataclasses.replace(check, proxies=[proxy], recommended=CLOSE))
    assert "Uncertain" not in lines[0] and "caution" not in lines[1]
