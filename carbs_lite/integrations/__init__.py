"""Adapters to other tools; each imports its tool only when the submodule itself is imported."""
