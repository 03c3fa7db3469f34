"""carbs_lite: cost-aware Pareto-region Bayesian search with ablation switches."""
