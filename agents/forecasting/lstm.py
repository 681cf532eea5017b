"""A small LSTM forecaster (Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural
Computation 9(8), 1997) in torch.

Input: the last ``window`` hours of the scaled series with their calendar features; output:
the next 24 hours at once from the final hidden state through a linear head.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from agents.errors import ForecastError
from agents.forecasting.base import (
    HORIZON,
    FloatArray,
    HourlySeries,
    IntArray,
    calendar_features,
    check_origins,
    targets,
    training_origins,
)
from agents.forecasting.gbm import series_scale
from agents.forecasting.neural import train_minibatches


class _Net(nn.Module):
    def __init__(self, n_inputs: int, hidden: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden + n_inputs, HORIZON)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(torch.cat([out[:, -1, :], x[:, -1, :]], dim=1))  # type: ignore[no-any-return]


class LSTMForecaster:
    """LSTM direct multi-horizon forecaster.

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
        self._net: _Net | None = None
        self._scale = 1.0

    def _inputs(self, series: HourlySeries, origins: IntArray, scale: float) -> torch.Tensor:
        y = (series.values / scale)[:, None]
        data = np.hstack([y, calendar_features(series.year)])
        index = origins[:, None] + np.arange(-self.window + 1, 1)[None, :]
        return torch.as_tensor(data[index], dtype=torch.float32)

    def fit(self, series: HourlySeries, train_end: int) -> None:
        """Train on every origin whose targets lie before ``train_end``.

        Raises:
            ForecastError: ``train_end`` leaves no training origin.
        """
        torch.manual_seed(self.seed)
        origins = training_origins(self.window, train_end)
        self._scale = series_scale(series.values, train_end)
        x = self._inputs(series, origins, self._scale)
        y = torch.as_tensor(targets(series.values / self._scale, origins), dtype=torch.float32)
        self._net = _Net(x.shape[2], self.hidden)
        train_minibatches(
            self._net,
            [x],
            y,
            nn.MSELoss(),
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
        )

    def predict(self, series: HourlySeries, origins: IntArray) -> FloatArray:
        """Forecasts for ``origins`` (scaled back to the series' unit).

        Raises:
            ForecastError: not fitted, or an origin without ``window`` hours of history.
        """
        if self._net is None:
            raise ForecastError("LSTMForecaster.predict before fit")
        origins = np.asarray(origins, dtype=np.int64)
        check_origins(origins, series.values.size, self.window)
        with torch.no_grad():
            out = self._net(self._inputs(series, origins, self._scale)).numpy()
        return np.asarray(out, dtype=np.float64) * self._scale
