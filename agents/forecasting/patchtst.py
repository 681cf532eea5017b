"""A small PatchTST-style Transformer forecaster (Nie, Nguyen, Sinthong & Kalagnanam, "A Time
Series is Worth 64 Words: Long-term Forecasting with Transformers", ICLR 2023) in torch.

The last ``window`` hours are normalised by their own mean and spread (reversible instance
normalisation, Kim et al., ICLR 2022), cut into overlapping patches of ``patch`` hours every
``stride`` hours, each patch embedded linearly with a learned position; a Transformer encoder
(Vaswani et al., NeurIPS 2017) reads the patch sequence and a linear head maps the flattened
result, together with the target day's calendar (hour of the first target, weekend flags), to
the next 24 hours, which are de-normalised. One channel (the series itself), as PatchTST's
channel independence prescribes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from agents.errors import ForecastError
from agents.forecasting.base import HORIZON, HourlySeries, IntArray, calendar_features
from agents.forecasting.neural import TorchForecaster


class _PatchNet(nn.Module):
    def __init__(
        self, window: int, patch: int, stride: int, d_model: int, layers: int, n_cal: int
    ) -> None:
        super().__init__()
        self.patch, self.stride = patch, stride
        n_patches = (window - patch) // stride + 1
        self.embed = nn.Linear(patch, d_model)
        self.position = nn.Parameter(torch.zeros(1, n_patches, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, nhead=4, dim_feedforward=2 * d_model, dropout=0.1, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(n_patches * d_model + n_cal, HORIZON)

    def forward(self, x: torch.Tensor, cal: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        std = x.std(dim=1, keepdim=True) + 1e-3
        z = (x - mean) / std
        patches = z.unfold(1, self.patch, self.stride)  # (batch, n_patches, patch)
        h = self.encoder(self.embed(patches) + self.position)
        out = self.head(torch.cat([h.flatten(1), cal], dim=1))
        return out * std + mean  # type: ignore[no-any-return]


class PatchTSTForecaster(TorchForecaster):
    """PatchTST-style direct multi-horizon forecaster.

    Args:
        window: input hours (>= patch).
        patch: hours per patch.
        stride: hours between patch starts.
        d_model: width of the encoder.
        layers: encoder layers.
        epochs: passes over the training origins.
        batch_size: origins per gradient step.
        learning_rate: Adam step size.
        seed: torch seed.
    """

    name = "patchtst"

    def __init__(
        self,
        window: int = 168,
        patch: int = 24,
        stride: int = 12,
        d_model: int = 32,
        layers: int = 2,
        epochs: int = 8,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        seed: int = 0,
    ) -> None:
        if window < patch or patch < 1 or stride < 1:
            raise ForecastError(f"need window >= patch >= 1 and stride >= 1, got {window}, {patch}")
        self.window, self.patch, self.stride = window, patch, stride
        self.d_model, self.layers = d_model, layers
        self.epochs, self.batch_size = epochs, batch_size
        self.learning_rate, self.seed = learning_rate, seed

    def _inputs(self, series: HourlySeries, origins: IntArray) -> list[torch.Tensor]:
        index = origins[:, None] + np.arange(-self.window + 1, 1)[None, :]
        x = torch.as_tensor(series.values[index], dtype=torch.float32)
        cal = calendar_features(series.year)
        first = np.minimum(origins + 1, series.values.size - 1)
        # The first target hour's calendar (sin/cos hour and weekday, weekend flag).
        chosen = cal[first][:, [0, 1, 2, 3, 6]]
        return [x, torch.as_tensor(chosen, dtype=torch.float32)]

    def _build(self, inputs: Sequence[torch.Tensor]) -> nn.Module:
        n_cal = inputs[1].shape[1]
        return _PatchNet(self.window, self.patch, self.stride, self.d_model, self.layers, n_cal)

    def _loss(self) -> nn.Module:
        return nn.L1Loss()
