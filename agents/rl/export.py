"""Export a trained policy to ONNX and run it with onnxruntime (no torch needed at run time).

PPO exports the deterministic action: the actor network's mean, clipped to ``[-1, 1]`` as
stable-baselines3's ``predict`` does. DQN exports the Q-values; the action is their argmax.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.errors import PolicyError
from agents.prosumer import OBS_DIM, PLANNED_OBS_DIM
from agents.rl.algorithms import DQN_ACTIONS, Algo, load_model


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


def export_onnx(model_path: Path, algo: Algo, out: Path) -> Path:
    """Write the policy of ``model_path`` as ONNX to ``out`` (input ``obs``, output ``out``).

    Raises:
        PolicyError: the model cannot be loaded or exported.
    """
    model = load_model(str(model_path), algo)
    module = torch_module(model, algo)
    example = torch.zeros(2, obs_width(model), dtype=torch.float32)
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
        raise PolicyError(f"ONNX export of {model_path} failed: {exc}") from exc
    return out


class OnnxPolicy:
    """An exported policy run by onnxruntime.

    Args:
        path: the ``.onnx`` file.
        algo: which algorithm exported it.
    """

    def __init__(self, path: Path, algo: Algo) -> None:
        import onnxruntime as ort

        if not path.is_file():
            raise PolicyError(f"no ONNX policy at {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.algo = algo
        width = self.session.get_inputs()[0].shape[1]
        self.obs_width = int(width) if isinstance(width, int) else OBS_DIM

    @property
    def residual(self) -> bool:
        """Whether the policy is residual (its observation carries the planned set-point)."""
        return self.obs_width == PLANNED_OBS_DIM

    def raw(self, obs: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """The network output for a batch of observations."""
        batch = np.asarray(obs, dtype=np.float32).reshape(-1, self.obs_width)
        out: np.ndarray[Any, np.dtype[np.float32]] = np.asarray(
            self.session.run(["out"], {"obs": batch})[0], dtype=np.float32
        )
        return out

    def predict(self, obs: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Continuous actions (DQN: the menu row of the best Q-value)."""
        out = self.raw(obs)
        if self.algo is Algo.DQN:
            menu: np.ndarray[Any, np.dtype[np.float32]] = DQN_ACTIONS[np.argmax(out, axis=1)]
            return menu
        return out
