"""What the torch forecasters share: Adam (Kingma & Ba, ICLR 2015) on shuffled mini-batches of
origins for a fixed number of epochs, and the fit/predict of a direct multi-horizon net."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Self

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
    name: str
    _net: nn.Module | None = None
    _scale: float = 1.0
    _input_shapes: list[list[int]]

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
        self.fit_many([series], train_end)

    def fit_many(self, many: Sequence[HourlySeries], train_end: int) -> None:
        """Train one net on several series pooled, each in units of its own training scale.

        Raises:
            ForecastError: ``train_end`` leaves no training origin, or no series is given.
        """
        if not many:
            raise ForecastError("fit_many needs at least one series")
        torch.manual_seed(self.seed)
        origins = training_origins(self.window, train_end)
        parts: list[list[torch.Tensor]] = []
        ys = []
        for series in many:
            self._scale = self._training_scale(series, train_end)
            parts.append(self._inputs(series, origins))
            ys.append(targets(series.values / self._scale, origins))
        inputs = [torch.cat(columns) for columns in zip(*parts, strict=True)]
        y = torch.as_tensor(np.concatenate(ys), dtype=torch.float32)
        self._net = self._build(inputs)
        self._input_shapes = [list(x.shape[1:]) for x in inputs]
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

    def predict(self, series: HourlySeries, origins: IntArray, train_end: int = 0) -> FloatArray:
        """Forecasts for ``origins`` in the series' unit; the series' scale comes from the hours
        before ``train_end`` (or all hours before the first origin when 0), as in training.

        Raises:
            ForecastError: not fitted, or an origin without ``window`` hours of history.
        """
        if self._net is None:
            raise ForecastError(f"{type(self).__name__}.predict before fit/load")
        origins = np.asarray(origins, dtype=np.int64)
        check_origins(origins, series.values.size, self.window)
        self._scale = self._training_scale(series, train_end or int(origins.min()) + 1)
        out = []
        with torch.no_grad():
            for lo in range(0, origins.size, PREDICT_CHUNK):
                inputs = self._inputs(series, origins[lo : lo + PREDICT_CHUNK])
                out.append(self._net(*inputs).numpy())
        return np.asarray(np.concatenate(out), dtype=np.float64) * self._scale

    @property
    def min_history(self) -> int:
        """Hours an origin needs behind it (the input window)."""
        return self.window

    def save(self, path: Path) -> None:
        """Write the net's weights with the settings that rebuild it (torch's format, read
        back with ``weights_only``: no code is unpickled).

        Raises:
            ForecastError: not fitted.
        """
        if self._net is None:
            raise ForecastError("nothing to save: fit first")
        settings = {
            name: getattr(self, name)
            for name in inspect.signature(type(self).__init__).parameters
            if name != "self"
        }
        torch.save(
            {
                "model": self.name,
                "settings": settings,
                "input_shapes": self._input_shapes,
                "weights": self._net.state_dict(),
            },
            path,
        )

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a net written by :meth:`save`.

        Raises:
            ForecastError: the file is missing, unreadable, or holds another model.
        """
        if not path.is_file():
            raise ForecastError(f"no {cls.name} model at {path}")
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises pickle, zip and runtime errors alike
            raise ForecastError(f"{path}: not a torch model file: {exc}") from exc
        if not isinstance(saved, dict) or saved.get("model") != cls.name:
            found = saved.get("model") if isinstance(saved, dict) else type(saved).__name__
            raise ForecastError(f"{path}: holds a {found!r} model, not {cls.name!r}")
        try:
            model = cls(**saved["settings"])
            model._input_shapes = saved["input_shapes"]
            net = model._build([torch.zeros(1, *shape) for shape in model._input_shapes])
            net.load_state_dict(saved["weights"])
        except (KeyError, TypeError, RuntimeError) as exc:
            raise ForecastError(f"{path}: the {cls.name} model does not load: {exc}") from exc
        net.eval()
        model._net = net
        return model
