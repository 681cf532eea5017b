"""Reinforcement-learning environments: one prosumer (gymnasium), many prosumers (PettingZoo)."""

from agents.envs.prosumer_env import EnvConfig, ProsumerEnv, action_to_decision, market_anchors

__all__ = ["EnvConfig", "ProsumerEnv", "action_to_decision", "market_anchors"]
