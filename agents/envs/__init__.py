"""Reinforcement-learning environments: one prosumer (gymnasium), many prosumers (PettingZoo)."""

from agents.actions import action_to_decision, market_anchors
from agents.envs.prosumer_env import EnvConfig, ProsumerEnv

__all__ = ["EnvConfig", "ProsumerEnv", "action_to_decision", "market_anchors"]
