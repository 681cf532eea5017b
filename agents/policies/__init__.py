"""Strategies of a household: rule-based baselines and the perfect-foresight bound."""

from agents.policies.baselines import ZIP, Threshold, Truthful

__all__ = ["ZIP", "Threshold", "Truthful"]
