"""Heuristics: one documented field per questioned CARBS heuristic (see ablations/).

Defaults reproduce CARBS, except ``initial_design``, ``resampling``, ``output_transform``,
``pareto_model``, ``pareto_clamp``, ``search_space_probability``, ``surrogate_kernel``,
``success_model``, ``cost_mask`` and ``exploration_bias``, see their notes, and
``inactive_imputation``, ``coarse_initial_design``, ``coherent_steps``, ``coarse_candidates``,
``size_cost_inputs``, ``acquisition_refinement``, ``compass_refinement``, ``success_mask``,
``duplicate_filter`` and ``failure_imputation``, which have no CARBS counterpart or differ from
it by the evidence in ablations/RESULTS.md.
Numeric magnitudes (radius, frequency, fraction, bias, tolerance, temperature) live in
``TunerConfig``; the fields here choose the behaviour. Build variants with
``dataclasses.replace(Heuristics(), field=value)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

BOOLEAN_WORDS = {"true": True, "on": True, "1": True, "false": False, "off": False, "0": False}
"""The spellings a boolean switch takes in JSON, TOML and on the command line."""


def _former_boolean(value: object, true: Any, false: Any) -> Any:
    """``true`` or ``false`` for ``value`` in any of the ``BOOLEAN_WORDS``, else None: the
    member an enum switch that was once a boolean reads a saved or typed boolean as."""
    word = BOOLEAN_WORDS.get(str(value).lower())
    return None if word is None else (true if word else false)


class CandidateRounding(Enum):
    """When integer candidates are rounded."""

    BEFORE_SCORING = "before_scoring"
    FINAL_PICK_ONLY = "final_pick_only"


class InitialDesign(Enum):
    """Where the suggestions before the surrogates are used come from."""

    AROUND_CENTER = "around_center"
    SPACE_FILLING = "space_filling"
    SPACE_FILLING_UNDER_CAP = "space_filling_under_cap"


class CostMask(Enum):
    """How the cost cap enters the acquisition."""

    HARD = "hard"
    PROBABILITY = "probability"


class SearchProbability(Enum):
    """How P_search, the search Gaussians' support for a candidate, enters the acquisition."""

    DENSITY = "density"
    TAIL = "tail"
    OFF = "off"

    @classmethod
    def _missing_(cls, value: object) -> SearchProbability | None:
        """The former boolean switch: true is DENSITY, false is OFF."""
        return _former_boolean(value, cls.DENSITY, cls.OFF)


class OutputTransform(Enum):
    """How outputs are mapped to the output GP's targets."""

    QUANTILE = "quantile"
    STANDARDIZE = "standardize"
    BOX_COX = "box_cox"
    POWER = "power"


class SuccessModel(Enum):
    """The model of P(success) (``success_model``)."""

    LABEL_REGRESSION = "label_regression"
    GP_CLASSIFICATION = "gp_classification"


class SurrogateKernel(Enum):
    """The covariance of the output, cost and success GPs (``surrogate.KERNELS``)."""

    MATERN52_LINEAR = "matern52_linear"
    MATERN32_LINEAR = "matern32_linear"


class SearchRadius(Enum):
    """How the Gaussian sampling radius around front points is chosen."""

    FIXED = "fixed"
    ADAPTIVE = "adaptive"
    LENGTHSCALE = "lengthscale"
    TRUST_REGION = "trust_region"


class ParetoModel(Enum):
    """Model of the best achievable output as a function of log cost."""

    FRONT_GP = "front_gp"
    ENVELOPE_GP = "envelope_gp"
    ISOTONIC = "isotonic"
    LINEAR = "linear"
    LOGISTIC = "logistic"
    STEP = "step"


class ParetoClamp(Enum):
    """Lower clamp on the Pareto value that EI must beat."""

    LOG_UNIFORM = "log_uniform"
    UNIFORM = "uniform"
    ALWAYS_BEST = "always_best"
    INCUMBENT = "incumbent"
    OFF = "off"


class FinalPick(Enum):
    """How the suggestion is chosen from the scored candidates."""

    ARGMAX = "argmax"
    PROPORTIONAL = "proportional"
    SOFTMAX = "softmax"


class OutstandingEstimator(Enum):
    """What the output model assumes for suggestions not yet observed."""

    THOMPSON = "thompson"
    MEAN = "mean"
    NONE = "none"


class FailureImputation(Enum):
    """Which failed runs enter the output model, at the worst successful value."""

    NONE = "none"
    WORST = "worst"
    FAILED_REGIONS = "failed_regions"

    @classmethod
    def _missing_(cls, value: object) -> FailureImputation | None:
        """The former boolean switch: true is WORST, false is NONE."""
        return _former_boolean(value, cls.WORST, cls.NONE)


@dataclass(frozen=True)
class Heuristics:
    """The ablation switches; each is read in exactly one function, named in its doc (a test
    checks that ``heuristics.<field>`` appears once in the package, outside this module)."""

    candidate_rounding: CandidateRounding = CandidateRounding.BEFORE_SCORING
    """BEFORE_SCORING rounds integer candidates, then scores them; FINAL_PICK_ONLY scores
    unrounded candidates and rounds only the pick. Read in ``search.Search.prepared``."""

    integer_bound_padding: bool = True
    """Widen integer bounds by 0.1 (param units) when dropping out-of-bound candidates; False
    uses the exact bounds. Read in ``search.Search.bounds``."""

    initial_design: InitialDesign = InitialDesign.SPACE_FILLING_UNDER_CAP
    """Not a CARBS default: CARBS samples AROUND_CENTER, which on the ads task (10 tries from a
    tiny baseline) never reaches the QPS frontier (BENCHMARKS.md); moving the draws under the
    cap wasted fewer tries over it than plain SPACE_FILLING (ablations/RESULTS.md).
    AROUND_CENTER: the first ``TunerConfig.num_random_samples`` suggestions are Gaussians
    (std = search radius) around the search center. SPACE_FILLING: uniform over the basic
    bounds (a dimension with an infinite bound: uniform within 4 search radii of the center),
    reduced per ``coarse_initial_design``, so the first models see the whole space.
    SPACE_FILLING_UNDER_CAP: as SPACE_FILLING, but once two runs are observed and
    ``max_suggestion_cost`` is set, each uniform draw u moves toward the center c, to
    c + t (u - c) with the largest t in {1, 0.9, ..., 0} that a cost GP fit on the runs so far
    puts under the cap (``cost_cap_confidence``); the first random suggestion is drawn before
    any cost is known. Read in ``initial.initial_proposal``."""

    coarse_initial_design: bool = True
    """The space-filling designs reduce each uniform draw to the space's coarse structure
    (``Space.coarse_draws``): an ``ArchSpace`` draw gets brick towers, one width per sub-arch,
    so the random tries cover counts, depths and sizes instead of spiky towers whose widest layer
    sets the cost. Scalar spaces are unchanged. Not in CARBS, which has no arch spaces; False
    draws every width independently. Read in ``initial.initial_proposal``."""

    coherent_steps: bool = True
    """Gaussian steps (candidates around front points, and the around-center and fallback
    draws) add to the independent per-dimension Gaussian one shared Gaussian shift per
    ``Space.step_groups`` group (variance ``TunerConfig.step_group_variance`` in units of the
    search std^2), and P_search uses that correlated Gaussian. For an ``ArchSpace`` a step can
    scale a tower or the whole arch, so a cheap front point reaches the cost cap in one
    coherent step instead of a spiky one. Scalar spaces have no groups and are unchanged. Not
    in CARBS; False: independent steps. Read in ``search.Search.step_basis``."""

    coarse_candidates: bool = True
    """Each search candidate is scored alongside its simplified version (``Space.simplified``;
    for an ``ArchSpace`` every tower flattened to its mean log2 width), rounded and bounded like
    the rest; P_search still discounts it by its distance from the front point. The search can
    then trade a spiky tower for a flat one of about the same size in one step. Scalar spaces
    have no simplified version and are unchanged. Not in CARBS; False: Gaussian candidates
    only. Read in ``search.Search.candidates``."""

    search_space_probability: SearchProbability = SearchProbability.TAIL
    """P_search from r^2 = ||(x - c) / std||^2, the scaled squared distance to the nearest front
    point (the Mahalanobis distance of the correlated steps under ``coherent_steps``). DENSITY
    (CARBS): exp(-r^2 / 2), the Gaussian density relative to its peak; in d basic dimensions a
    typical draw has r^2 ~ d, so the factor spans many orders of magnitude and favours the
    candidates closest to a front point over the other terms. TAIL: P(chi^2_d >= r^2), the
    chance that a draw lies at least that far out, about 1/2 for a typical draw in any
    dimension, so only unusually distant candidates are discounted. OFF: factor 1 (the legacy
    values true / false mean DENSITY / OFF). TAIL is the default since the acquisition became
    plain EI (standardized outputs, a bias of 0.01): DENSITY then held the search too close to
    the front (suite, 30 tries: TAIL better on 68 of 112 problem-seed pairs, worse on 44, p =
    0.001) and found an unseen categorical choice later, and OFF let more tries over the cost
    cap on the ads task (``benchmarks/ads_tries.py``: 68% of tries feasible against TAIL's 74%
    and DENSITY's 81%). With the Matern 5/2 kernel and the wider noise prior DENSITY keeps
    85% of the ads tries feasible against TAIL's 74%, but is worse on the real training problem
    (digits-mlp, 2/8 seeds) and not detectably better over the whole suite (``benchmarks/
    peers.py``: 51/58 pairs better/worse at 15 tries, 58/51 at 30, p >= 0.34),
    so TAIL stays (ablations/RESULTS.md). Measured again on 20 seeds once the acquisition was
    plain EI without a bias: even over the suite (DENSITY better/worse on 103/114 problem-seed
    pairs at 15 tries, 120/100 at 30, p >= 0.22), better on the ads task (10 tries: 17/3 seeds,
    86% of tries feasible against 76.5%), worse on the rugged bbob-f15-d5 (1/19 at 15 tries)
    and below ``tests/test_categorical.py``'s 9 of 10 seeds finding the best choice (8); TAIL
    stays the default and README recommends DENSITY for the ads task (ablations/RESULTS.md,
    "P_search at the plain-EI defaults"). Read in ``search.Search.scores``."""

    search_radius: SearchRadius = SearchRadius.FIXED
    """FIXED: ``TunerConfig.initial_search_radius`` always. ADAPTIVE: grow x1.25 when an
    observation joins the front, shrink x0.8 on failure, within [0.05, 1.0]. LENGTHSCALE:
    per-dimension radius proportional to the output GP's lengthscales, geometric mean kept at
    the fixed radius. TRUST_REGION: the side-length rule of TuRBO (Eriksson et al., NeurIPS
    2019) replayed over the searched tries (those after the initial design): double after 3
    tries in a row that join the front, halve after max(4, d) in a row that do not, within
    [2^-7, 1] x the fixed radius (``search.trust_region_radius``). Read in
    ``search.Search.radius``."""

    pareto_model: ParetoModel = ParetoModel.STEP
    """FRONT_GP (CARBS): 1-D RBF GP on front points only. ENVELOPE_GP: GP on every success's
    running best over cost. ISOTONIC: monotone fit on all successes. LINEAR / LOGISTIC:
    regression in log cost on the front. STEP: the front's own step function, the best front
    value at or below each cost. STEP is the default: under ``pareto_clamp = ALWAYS_BEST`` the
    Pareto value counts only where it rises above the front's best value, and a GP does that
    only by extrapolating the front's trend past its dearest point, so that a candidate
    costlier than the best run had to beat more than the best run (bbob-mixint-f1-d5, seed 8
    at 30 tries: 1.040 against 0.973 in surrogate units at budget 43) and the search stopped
    short of the cost cap. With STEP, EI is measured against the best front value at every
    cost, as in constrained EI (Gardner et al., ICML 2014) and Optuna's ``GPSampler``; the
    cost cap and the front's centers keep the search cost-aware. Together with
    ``compass_refinement`` it was better pooled over the suite (11 problems, 10 seeds: 64/42
    problem-seed pairs better/worse at 15 tries, p = 0.02; 67/42 at 30, p = 0.06; with 10 more
    seeds on scaling, quadratic-cost-4d, categorical-4x2d, bbob-mixint-f1-d5 and bbob-f15-d5,
    the problems where it trailed a peer: 92/63, p = 0.05, and 99/60, p = 0.007), even on the
    ads configs (14/15 pairs at 30 tries) and better at 10 tries of the ads task (median regret
    0.00063 against 0.00078, 20 seeds), but with fewer feasible tries on the ads configs
    (70-73% at 30 tries against 72-79%). Alone it showed no pooled difference
    (ablations/RESULTS.md, "The EI reference past the dearest front point"). Read in
    ``search.Search.fit``."""

    pareto_clamp: ParetoClamp = ParetoClamp.ALWAYS_BEST
    """Clamp the Pareto value to at least its value at a threshold cost drawn log-uniformly
    (LOG_UNIFORM, CARBS) or uniformly (UNIFORM) between the cheapest and dearest front point;
    ALWAYS_BEST uses the Pareto model's highest value at the front's costs, so EI is measured
    against at least the front's best value as the Pareto model sees it (the cost cap and the
    front's centers still make the search cost-aware); INCUMBENT uses the incumbent's own
    value, the best front point's mean output, so no candidate is measured against less than
    the best run, as in standard EI; OFF no clamp. The two differ where the Pareto model
    smooths the front: the FRONT_GP is a GP regression on the front points, and its highest
    value can lie below the best run's. Under the STEP Pareto model (the default) the Pareto
    value never exceeds the front's best value, so ALWAYS_BEST and INCUMBENT both make that
    value the reference at every cost, and the Pareto model then plays no part in EI (the
    switch's TOML leaves INCUMBENT out for that reason). ALWAYS_BEST is the default: on the
    suite at 30 tries LOG_UNIFORM was worse (43/69 problem-seed pairs better/worse,
    p = 0.009), spending tries on improving cheap front points
    that the best run under the cap does not need; no difference was detectable on the ads
    configs. INCUMBENT moved the picks of the suite's problems with a cost parameter to the
    cap, but showed no pooled difference from ALWAYS_BEST (ablations/RESULTS.md, "The EI
    reference near the cap"). Read in ``search.Search.pareto_floor``."""

    final_pick: FinalPick = FinalPick.ARGMAX
    """ARGMAX of the acquisition; PROPORTIONAL samples with probability ~ acquisition; SOFTMAX
    samples ~ exp(acq / (T * max acq)), T = ``TunerConfig.softmax_temperature``. Read in
    ``search.Search.pick``."""

    resampling: bool = False
    """Re-run a front point every ``TunerConfig.resample_frequency`` observations; False never.
    Not the CARBS default (True): the ablation sweep found re-runs cost tries without paying
    back (ablations/RESULTS.md). Read in ``search.Search.resample_due``."""

    conservative_pareto: bool = True
    """A single-sample group joins the front only if it beats the max of the previous front
    group; False compares means only. Read in ``pareto.study_front``."""

    front_under_cap: bool = False
    """The front the search starts from (its centers, the Pareto model, the clamp and the
    re-runs) holds only runs cheaper than ``max_suggestion_cost``, while any is; the models
    still learn from every run and ``Tuner.pareto_front`` still shows every run. False (CARBS):
    an over-cap run can be a front point, candidates are drawn around it only to be masked, and
    its output raises the Pareto value that candidates near the cap must beat. Read in
    ``pareto.search_front``."""

    low_cost_bucketing: bool = True
    """Bucket the cheapest ``TunerConfig.min_pareto_cost_fraction`` of costs (only the best of
    them is on the front); False puts every group on its own. Read in
    ``pareto.bucketing_fraction``."""

    cost_mask: CostMask = CostMask.PROBABILITY
    """HARD: factor 1[P(cost < max_suggestion_cost) >= ``TunerConfig.cost_cap_confidence``]
    under the cost GP's posterior on log cost (confidence 0.5, CARBS's rule, is the predicted
    mean below the cap). PROBABILITY: that factor times P(cost < cap) = Phi((log cap - mu) /
    sigma), the probability of feasibility that constrained EI multiplies in (Gardner et al.,
    "Bayesian optimization with inequality constraints", ICML 2014; Optuna's ``GPSampler``
    weights by it under ``constraints_func``), which also discounts candidates close to the
    cap or of uncertain cost. PROBABILITY is the default, with ``TunerConfig.
    refinement_rounds`` 8: a local search that closes in on the acquisition's maximum finds
    it on the edge of the HARD mask, where half the picks cost more than the cap
    (``benchmarks/ads_tries.py``: 70% of tries feasible with HARD and 8 rounds, 78% with
    PROBABILITY, median regret unchanged; suite, 30 tries: 69/39 problem-seed pairs
    better/worse than HARD with 4 rounds, p = 0.02) (ablations/RESULTS.md, "Refinement
    rounds"). Read in ``search.Search.scores``."""

    success_mask: bool = True
    """Rule out candidates whose P(success) under the success model is below
    ``TunerConfig.success_confidence`` (factor 1[P_success >= confidence], beside CARBS's soft
    factor P_success). Without it a far-off candidate in a region the model rules out can win
    on EI alone, since EI there is inflated by the output model's uncertainty. Not in CARBS;
    no effect before the first failure. Read in ``search.Search.scores``."""

    success_model: SuccessModel = SuccessModel.GP_CLASSIFICATION
    """LABEL_REGRESSION (CARBS): P(success) from a GP regression on +1 / -1 labels, near 0
    or 1 almost everywhere; on the 2-D failure case of issue #14 it called points past the
    failures sure successes (an ARD lengthscale fit to 0.03). GP_CLASSIFICATION: probit GP
    classification under the Laplace approximation (Rasmussen and Williams 2006, section
    3.4), whose probabilities stay between 0 and 1 where successes and failures mix. Both are
    in ``success_model``; only studies with failures change. GP_CLASSIFICATION is the
    default: in the failure cases it failed on fewer late tries (2-D, 25 seeds: 60 of 375
    against 79, better on 14 seeds and worse on 7; 1-D, seeds 0-4: 5 of 50 against 9) and
    on the ads configs it was even (40 runs per budget: 11/11 better/worse at 15 tries,
    16/12 at 30; ``benchmarks/ads_tries.py``: 5/8 seeds, 74% of tries feasible in both)
    (ablations/RESULTS.md). Read in ``search.Search.fit``."""

    duplicate_filter: bool = True
    """Drop candidates within ``TunerConfig.duplicate_tolerance`` (max-norm, basic space) of an
    observed or outstanding input, so that a try is never spent on a point already run while
    untried ones remain (re-runs are ``resampling``'s job). CARBS does not filter; on the suite
    the filter never changed a run, while in small integer spaces without it a third of the
    tries re-ran a point (ablations/RESULTS.md). Read in ``search.Search.candidates``."""

    outstanding_estimator: OutstandingEstimator = OutstandingEstimator.THOMPSON
    """Fold outstanding suggestions into the output model as a posterior sample (THOMPSON) or
    the posterior mean (MEAN), or ignore them (NONE). Read in ``search.Search.fit``."""

    output_transform: OutputTransform = OutputTransform.BOX_COX
    """QUANTILE (CARBS): each goodness becomes the normal score of its rank, so only the order of
    the runs reaches the output GP (one far-worse run sits one rank lower). STANDARDIZE:
    (goodness - mean) / std, which keeps the sizes of the differences, as Optuna's GPSampler
    and BoTorch's ``Standardize`` do. BOX_COX: the output GP is fit twice, on the
    standardized outputs and on their standardized log (the Box-Cox exponents 1 and 0,
    ``output_transforms.BoxCoxTransform``), and the log is kept when the GP's likelihood of the
    goodness is higher with it by a Bayes factor above e (``search.chosen_output_fit``): a
    reward that is ~0 far from a narrow optimum has a log the GP models far better, and the
    search can follow it up from values a standardization squeezes together. The Pareto values
    and the exploration bias live in the same units. Ranks are not the default: near an
    optimum they flatten the differences that EI needs to close in, and QUANTILE was worse than
    STANDARDIZE on the suite at 30 tries (11/45 problem-seed pairs better/worse, p = 0.0002).
    BOX_COX is: against STANDARDIZE on the suite (16 seeds) it was even at 30 tries (57/53
    pairs) and a little behind at 15 (43/60, p = 0.1), the ads task was unchanged, and on the
    10-D bump the median best reward at 100 tries rose from 0.53 to 0.91 (ablations/RESULTS.md,
    "Log outputs where the GP likelihood prefers them"). POWER also offers the square root (the
    Box-Cox exponent 1/2, ``output_transforms.BOX_COX_EXPONENTS``): outputs whose log bends
    them too far and whose own scale squeezes the differences near the optimum, such as a
    loss with a small cost term beside a bowl. Read in ``search.Search.fit``."""

    surrogate_kernel: SurrogateKernel = SurrogateKernel.MATERN52_LINEAR
    """The kernel of the output, cost and success GPs, ARD Matern plus linear in both cases.
    MATERN32_LINEAR is CARBS's kernel; MATERN52_LINEAR swaps in the Matern 5/2 of Optuna's
    GPSampler (and of BoTorch before 0.12), twice differentiable rather than once, so the
    posterior mean is smooth at an optimum and EI can close in on it. MATERN52_LINEAR is the
    default: with the noise prior of ``surrogate.NOISE_PRIOR_SCALE``, MATERN32_LINEAR was worse
    on the suite (44/66 problem-seed pairs better/worse at 15 tries, p = 0.009; 46/66 at 30,
    p = 0.03) and on the ads task (7/12 seeds at 10 tries) (ablations/RESULTS.md). Read in
    ``search.Search.fit_settings``."""

    exploration_bias: bool = False
    """Subtract ``TunerConfig.exploration_bias`` (surrogate units) from the improvement inside EI,
    as CARBS does (with 1.0); False, the default, uses 0: plain EI (Jones, Schonlau and Welch
    1998), as Optuna's GPSampler and BoTorch's ``LogExpectedImprovement`` use it. Against a bias
    of 0.01 at otherwise equal defaults (ablations/RESULTS.md, "Plain EI without the exploration
    bias"): no pooled difference on the 11 problems of ``benchmarks/peers.py`` (44/46
    problem-seed pairs better/worse at 15 tries, 51/47 at 30), ahead of Optuna's GP sampler by
    more (92/18 and 78/32 against 88/22 and 71/39), closer to the optimum where the bias kept it
    from taking improvements smaller than itself (categorical-4x2d and scaling at 30 tries),
    better on the 10-D bump (median best reward 0.85 / 0.95 / 0.96 at 50 / 75 / 100 tries
    against 0.69 / 0.78 / 0.95) and safer in issue #14's 2-D failure case; worse on bbob-f8-d5
    (1/9 at 30 tries) and ads-shallow at 30 tries (0/6), the same on the ads task at 10 tries.
    Read in ``search.Search.scores``."""

    inactive_imputation: bool = True
    """The surrogates see conditional params' inactive dimensions at a fixed "absent" value
    (``Space.surrogate_inputs``; e.g. an ``ArchSpace`` layer past a sub-arch's depth) instead of
    the sampler's encoding, which fills them with copies of active ones. Not in CARBS, which has
    no conditional params; False gives the models the raw encoding. Read in ``search.Search.features``."""

    size_cost_inputs: bool = True
    """The cost GP sees each param's size description (``Space.size_inputs``; for an
    ``ArchSpace``, log2 weights past the input layer and log2 total first-layer width) instead
    of the surrogate inputs the other models see, and predicts an arch's cost far better from a
    handful of runs. Only spaces with such a description change. Not in CARBS, which has no arch
    spaces; False gives the cost GP the surrogate inputs. Read in ``search.Search.cost_features``."""

    acquisition_refinement: bool = True
    """After scoring the Gaussian candidates, search the acquisition locally from the best
    ``search.REFINE_STARTS`` of them: ``TunerConfig.refinement_rounds`` rounds of draws around
    the current best, the step halving each round (``search.Search.refined``). The multi-start
    local optimization of the acquisition that BoTorch's ``optimize_acqf`` (raw samples, then
    restarts) and Optuna's ``GPSampler`` (L-BFGS-B from the best random points) run, done by
    sampling so that rounding, integer and arch params need no gradient. Not in CARBS, whose
    candidates are only the Gaussian draws. Read in ``search.Search.score``."""

    refinement_from_incumbent: bool = False
    """With ``acquisition_refinement``, also search the acquisition locally around the
    incumbent, the best feasible run (not failed, cost below the cap): its draws join those
    around the best candidates in every round (``search.Search.refined``). Optuna's
    ``GPSampler`` starts one of its L-BFGS-B runs from the incumbent in the same way
    (``optuna/_gp/optim_mixed.py``, the best observed params as a warm start). Where the model
    sees no improvement nearby but wide uncertainty far off, the best candidates are all far,
    and without this the small, sure improvements around the incumbent are never drawn. Off by
    default: at the plain-EI defaults, on 20 seeds of ``benchmarks/peers.py``, it was better
    over the suite at 30 tries (133/86 problem-seed pairs better/worse, p = 0.02) and even at
    15 (109/105), but worse on bbob-f15-d5 at 15 tries (5/15), a little worse on the ads task
    at 10 tries (``benchmarks/ads_tries.py``, seeds 0-59: 23/37, p = 0.17, median 0.03565
    against 0.03577, below issue #14's 0.0357) and one failure over issue #14's 2-D target on
    seed 1 (ablations/RESULTS.md, "Refinement from the incumbent on 20 seeds"). Read in
    ``search.Search.refined``."""

    compass_refinement: bool = True
    """With ``acquisition_refinement``, every round also scores the points of compass search
    around each start (``search.Search.compass_points``: the start moved by +-step along one
    basic coordinate at a time, and to each other value of a categorical param, Kolda, Lewis
    and Torczon, SIAM Review 2003), at the round's step. A random Gaussian draw in d
    dimensions moves every coordinate at once, so near a maximum of the acquisition that lies
    on one coordinate's limit (a cost param at the cost cap) or in a narrow valley, few draws
    improve and the local search stalls short of it; compass steps move one coordinate, as the
    coordinate-wise search over discrete params in Optuna's ``GPSampler``
    (``optuna/_gp/optim_mixed.py``) does. Not in CARBS. On by default, with
    ``pareto_model = STEP`` (see its note for the evidence); alone it was no better pooled
    (38/38 problem-seed pairs better/worse at 15 tries, 39/40 at 30, on 8 problems, 10 seeds;
    ablations/RESULTS.md). Read in ``search.Search.refined``."""

    failure_imputation: FailureImputation = FailureImputation.FAILED_REGIONS
    """Failed runs that enter the output GP, at the worst successful surrogate value, so that
    its mean falls where runs fail instead of reverting to the prior there, and EI there no
    longer profits from the model's ignorance (the worst observed value rather than a model
    prediction, so that the imputation does not depend on the fit). FAILED_REGIONS: only a
    failure whose nearest other runs (Euclidean, surrogate inputs, among the runs the output
    model conditions on) all failed too, so failures that form a region are imputed, and a
    failure beside a success, such as an occasional divergence among good archs, is left out
    rather than painting its neighbours as the worst. WORST: every failure. NONE: as CARBS,
    failures stay out of the output model and P_success alone keeps the search away. A try
    stopped early with a finite result enters at the worst value under every mode (it was
    judged not worth finishing: left out, the search returned to it), though the success
    model does not count it as broken. FAILED_REGIONS is the default: it meets issue #14's 1-D
    failure target where NONE fails 3-6 of 10 late tries, and changed few ads runs with no
    detectable effect, while WORST made ads-default worse at 15 tries (p = 0.007)
    (ablations/RESULTS.md). Read in ``search.Search.fit``."""

    early_stopping: bool = False
    """Stop a running try once its learning curve shows it will not join the front
    (``early_stopping.stop_decision``: its last intermediate result plus the gains that finished
    tries at least as costly made after that step, against the front at the cost spent so far;
    diverged and over-cap tries at once). Only studies fed with ``Study.observe_progress`` and
    asking ``Study.should_stop`` are affected (``tune_arch``, `carbs-lite run`, a Ray
    ``CarbsSearch.stopper``); False: ``should_stop`` is always False. Not in CARBS. Off by
    default: on two ads configs it reached each regret for 35-55% fewer GPU-days and was no
    worse at 10 tries, but that is one simulated task (ablations/RESULTS.md). Read in
    ``early_stopping.stop_decision``."""

    curve_observations: bool = False
    """The output and cost models also learn from the tries' learning curves
    (``StudyData.curves``: a finished try's points before its last, a stopped try's points),
    at most ``search.CURVE_POINTS_PER_TRY`` per try, each at its output and its cost so far,
    with a progress input (step over the full run's steps; finished runs and every prediction
    at 1), so a partial run informs the model of finished runs without posing as one. Curve
    points never join the front, the success model or the best pick, and running tries'
    progress is left out (outstanding points enter per ``outstanding_estimator``). As Protein
    (PufferLib's CARBS derivative) observes downsampled points of each run's curve, there as
    runs with their training-steps param set to the steps so far; CARBS observes finished runs
    only. Only studies fed with ``Study.observe_progress`` (or ``extra["curve"]``) change. Off
    by default: RESULTS.md. Read in ``search.Search.curve_rows``."""

    def __post_init__(self) -> None:
        """Accept plain values ("around_center", "off") and reject ones of the wrong kind."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name, value in coerce_fields(type(self), values).items():
            object.__setattr__(self, name, value)

    def to_json(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Heuristics:
        """Parse values written by ``to_json`` (or typed by a user); unknown names raise."""
        return cls(**coerce_fields(cls, data))


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def coerce_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Convert plain JSON/TOML/CLI values to the field types of dataclass ``cls``."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {unknown}; known: {sorted(fields)}")
    result = {}
    for name, value in data.items():
        result[name] = _coerce(name, value, fields[name].default)
    return result


def _coerce(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, Enum):
        if isinstance(value, type(default)):
            return value
        try:
            return type(default)(str(value).lower())
        except ValueError:
            options = [m.value for m in type(default)]
            raise ValueError(f"{name}: {value!r} is not one of {options}") from None
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if str(value).lower() not in BOOLEAN_WORDS:
            raise ValueError(f"{name}: {value!r} is not a boolean (on/off/true/false)")
        return BOOLEAN_WORDS[str(value).lower()]
    if isinstance(default, int) and not isinstance(value, bool):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {value!r} is not an integer") from None
    if isinstance(default, float) or default is None:
        if value is None or str(value).lower() == "none":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {value!r} is not a number") from None
    return value
