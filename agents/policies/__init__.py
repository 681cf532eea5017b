"""Strategies of a household: rule-based baselines, model-predictive control and the
perfect-foresight bound."""

from agents.policies.baselines import (
    ZIP,
    BookResponse,
    Halfway,
    ScenarioResponse,
    Threshold,
    Truthful,
)

__all__ = ["ZIP", "BookResponse", "Halfway", "ScenarioResponse", "Threshold", "Truthful"]
