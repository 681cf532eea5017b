"""An exported policy run by onnxruntime: what a gateway loads (no torch, no learning library).

PPO exports the deterministic action: the actor network's mean, clipped to ``[-1, 1]``. DQN
exports the Q-values; the action is their argmax. The export is :mod:`agents.rl.export`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.errors import PolicyError
from agents.policies.visible import MARKET_OPEN
from agents.prosumer import OBS_DIM, PLANNED_OBS_DIM
from agents.rl.kinds import DQN_ACTIONS, Algo

__all__ = ["MARKET_OPEN", "OnnxModel", "OnnxPolicy"]


class OnnxPolicy:
    """An exported policy run by onnxruntime.

    Args:
        path: the ``.onnx`` file.
        algo: which algorithm exported it.
        market: the market mode it will act in; a file whose metadata (``enerwise.market``,
            :attr:`trained_for`) names another is refused. None accepts a file of any mode
            (the evaluation, which reports the mode each file was trained for).

    Raises:
        PolicyError: the file is missing, not ONNX, takes an observation of a width no policy
            here has, or was trained for another market mode.
    """

    def __init__(self, path: Path, algo: Algo, market: str | None = MARKET_OPEN) -> None:
        import onnxruntime as ort

        if not path.is_file():
            raise PolicyError(f"no ONNX policy at {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise PolicyError(f"{path}: not a readable ONNX model: {exc}") from exc
        self.algo = algo
        width = self.session.get_inputs()[0].shape[1]
        self.obs_width = int(width) if isinstance(width, int) else OBS_DIM
        if self.obs_width not in (OBS_DIM, PLANNED_OBS_DIM):
            raise PolicyError(
                f"{path}: the policy takes {self.obs_width} observation values; this version "
                f"builds {OBS_DIM} (plain) or {PLANNED_OBS_DIM} (residual)"
            )
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map or {})
        self.trained_for = self.metadata.get("enerwise.market", MARKET_OPEN)
        """The market mode the policy was trained in (files without the key: ``open``)."""
        if market is not None and self.trained_for != market:
            raise PolicyError(
                f"{path}: the policy was trained for the {self.trained_for!r} market, "
                f"not the {market!r} one it would act in"
            )

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


class OnnxModel:
    """An exported policy with the interface :class:`~agents.rl.algorithms.PolicyStrategy`
    expects of a stable-baselines3 model (``predict``, ``action_space``,
    ``observation_space``), so the evaluation runs the very file the runtime loads.

    Args:
        path: the ``.onnx`` file.
        market: the market mode it acts in (:class:`OnnxPolicy`; None: any).
    """

    def __init__(self, path: Path, market: str | None = MARKET_OPEN) -> None:
        from gymnasium import spaces

        self.policy = OnnxPolicy(path, Algo.PPO, market)
        self.path = path
        width = int(self.policy.session.get_outputs()[0].shape[1] or 1)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(width,), dtype=np.float32)
        self.observation_space = spaces.Box(
            -10.0, 10.0, shape=(self.policy.obs_width,), dtype=np.float32
        )

    def predict(
        self, obs: np.ndarray[Any, Any], deterministic: bool = True
    ) -> tuple[np.ndarray[Any, np.dtype[np.float32]], None]:
        """The action for one observation (as stable-baselines3 returns it).

        Raises:
            PolicyError: the observation holds NaN or infinite values.
        """
        flat = np.asarray(obs, dtype=np.float32).reshape(-1)
        if not np.isfinite(flat).all():
            bad = np.flatnonzero(~np.isfinite(flat)).tolist()
            raise PolicyError(f"{self.path}: observation values {bad} are not finite")
        return self.policy.predict(flat[None, :])[0], None
