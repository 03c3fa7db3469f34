"""Ablations: the sweep runner, paired statistics, the summary table and the ablation report."""
