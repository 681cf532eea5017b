"""A small LSTM forecaster (Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural
Computation 9(8), 1997) in torch.

Input: the last ``window`` hours of the scaled series with their calendar features; output:
the next 24 hours at once from the final hidden state through a linear head.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from agents.forecasting.base import HORIZON, HourlySeries, IntArray, calendar_features
from agents.forecasting.gbm import series_scale
from agents.forecasting.neural import TorchForecaster


class _Net(nn.Module):
    def __init__(self, n_inputs: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden + n_inputs, HORIZON)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(torch.cat([out[:, -1, :], x[:, -1, :]], dim=1))  # type: ignore[no-any-return]


class LSTMForecaster(TorchForecaster):
    """LSTM direct multi-horizon forecaster on the series scaled by its training mean.

    Args:
        window: input hours (>= 24).
        hidden: LSTM hidden units.
        epochs: passes over the training origins.
        batch_size: origins per gradient step.
        learning_rate: Adam step size (Kingma & Ba, 2015).
        seed: torch seed.
    """

    name = "lstm"

    def __init__(
        self,
        window: int = 48,
        hidden: int = 32,
        epochs: int = 6,
        batch_size: int = 128,
        learning_rate: float = 3e-3,
        seed: int = 0,
    ) -> None:
        self.window = window
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.seed = seed

    def _training_scale(self, series: HourlySeries, train_end: int) -> float:
        return series_scale(series.values, train_end)

    def _inputs(self, series: HourlySeries, origins: IntArray) -> list[torch.Tensor]:
        y = (series.values / self._scale)[:, None]
        data = np.hstack([y, calendar_features(series.year)])
        index = origins[:, None] + np.arange(-self.window + 1, 1)[None, :]
        return [torch.as_tensor(data[index], dtype=torch.float32)]

    def _build(self, inputs: Sequence[torch.Tensor]) -> nn.Module:
        return _Net(inputs[0].shape[2], self.hidden)

    def _loss(self) -> nn.Module:
        return nn.MSELoss()
