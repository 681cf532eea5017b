"""Export a trained policy to ONNX (torch); :mod:`agents.rl.onnx_policy` runs it without torch.

PPO exports the deterministic action: the actor network's mean, clipped to ``[-1, 1]`` as
stable-baselines3's ``predict`` does. DQN exports the Q-values; the action is their argmax.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from agents.errors import PolicyError
from agents.rl.algorithms import Algo, load_model
from agents.rl.onnx_policy import MARKET_OPEN, OnnxModel, OnnxPolicy

__all__ = [
    "MARKET_OPEN",
    "OnnxModel",
    "OnnxPolicy",
    "export_onnx",
    "obs_width",
    "torch_module",
    "write_onnx",
]


class _PPOActor(nn.Module):
    def __init__(self, policy: Any) -> None:
        super().__init__()
        self.features = policy.features_extractor
        self.mlp = policy.mlp_extractor.policy_net
        self.head = policy.action_net

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.head(self.mlp(self.features(obs))), -1.0, 1.0)


class _DQNValues(nn.Module):
    def __init__(self, policy: Any) -> None:
        super().__init__()
        self.q = policy.q_net

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.q(obs)  # type: ignore[no-any-return]


def torch_module(model: Any, algo: Algo) -> nn.Module:
    """The inference network of a loaded model (what gets exported)."""
    module: nn.Module = _PPOActor(model.policy) if algo is Algo.PPO else _DQNValues(model.policy)
    return module.eval()


def obs_width(model: Any) -> int:
    """The observation length a loaded model takes (:data:`~agents.prosumer.OBS_DIM`, or
    :data:`~agents.prosumer.PLANNED_OBS_DIM` for a residual policy)."""
    return int(model.observation_space.shape[0])


def write_onnx(module: nn.Module, width: int, out: Path) -> Path:
    """Write ``module`` as ONNX to ``out``: input ``obs`` (a batch of ``width``-long
    observations), output ``out``.

    Raises:
        PolicyError: the exporter fails.
    """
    example = torch.zeros(2, width, dtype=torch.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.onnx.export(
            module,
            (example,),
            str(out),
            input_names=["obs"],
            output_names=["out"],
            dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    except Exception as exc:  # the exporter raises many types
        raise PolicyError(f"ONNX export to {out} failed: {exc}") from exc
    return out


def export_onnx(model_path: Path, algo: Algo, out: Path) -> Path:
    """Write the policy of ``model_path`` as ONNX to ``out`` (input ``obs``, output ``out``).

    Raises:
        PolicyError: the model cannot be loaded or exported.
    """
    model = load_model(str(model_path), algo)
    return write_onnx(torch_module(model, algo), obs_width(model), out)
