"""What the torch forecasters share: Adam (Kingma & Ba, ICLR 2015) on shuffled mini-batches of
origins for a fixed number of epochs, and the fit/predict of a direct multi-horizon net."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from agents.errors import ForecastError
from agents.forecasting.base import (
    FloatArray,
    HourlySeries,
    IntArray,
    check_origins,
    targets,
    training_origins,
)

PREDICT_CHUNK = 4096
"""Origins per forward pass when predicting (bounds the memory of a year of origins)."""


def train_minibatches(
    net: nn.Module,
    inputs: Sequence[torch.Tensor],
    target: torch.Tensor,
    loss_fn: nn.Module,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> None:
    """Fit ``net(*inputs) ~ target``: every epoch visits the origins (first axis) in a fresh
    order drawn from ``seed``; the net is left in evaluation mode."""
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate)
    net.train()
    for _ in range(epochs):
        order = rng.permutation(target.shape[0])
        for lo in range(0, order.size, batch_size):
            batch = torch.as_tensor(order[lo : lo + batch_size])
            optimiser.zero_grad()
            loss = loss_fn(net(*(x[batch] for x in inputs)), target[batch])
            loss.backward()
            optimiser.step()
    net.eval()


class TorchForecaster:
    """A torch net mapping the last ``window`` hours before an origin to the next 24 hours.

    A subclass says how it reads the series (:meth:`_inputs`, in units of :attr:`_scale`),
    which net it trains on them (:meth:`_build`), with which loss (:meth:`_loss`) and how it
    scales the series (:meth:`_training_scale`, 1 by default).
    """

    window: int
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    _net: nn.Module | None = None
    _scale: float = 1.0

    def _inputs(self, series: HourlySeries, origins: IntArray) -> list[torch.Tensor]:
        raise NotImplementedError

    def _build(self, inputs: Sequence[torch.Tensor]) -> nn.Module:
        raise NotImplementedError

    def _loss(self) -> nn.Module:
        raise NotImplementedError

    def _training_scale(self, series: HourlySeries, train_end: int) -> float:
        return 1.0

    def fit(self, series: HourlySeries, train_end: int) -> None:
        """Train on every origin whose targets lie before ``train_end``.

        Raises:
            ForecastError: ``train_end`` leaves no training origin.
        """
        torch.manual_seed(self.seed)
        origins = training_origins(self.window, train_end)
        self._scale = self._training_scale(series, train_end)
        inputs = self._inputs(series, origins)
        y = torch.as_tensor(targets(series.values / self._scale, origins), dtype=torch.float32)
        self._net = self._build(inputs)
        train_minibatches(
            self._net,
            inputs,
            y,
            self._loss(),
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
        )

    def predict(self, series: HourlySeries, origins: IntArray) -> FloatArray:
        """Forecasts for ``origins`` in the series' unit.

        Raises:
            ForecastError: not fitted, or an origin without ``window`` hours of history.
        """
        if self._net is None:
            raise ForecastError(f"{type(self).__name__}.predict before fit")
        origins = np.asarray(origins, dtype=np.int64)
        check_origins(origins, series.values.size, self.window)
        out = []
        with torch.no_grad():
            for lo in range(0, origins.size, PREDICT_CHUNK):
                inputs = self._inputs(series, origins[lo : lo + PREDICT_CHUNK])
                out.append(self._net(*inputs).numpy())
        return np.asarray(np.concatenate(out), dtype=np.float64) * self._scale
