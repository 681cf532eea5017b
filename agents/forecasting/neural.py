"""The training loop the torch forecasters share: Adam (Kingma & Ba, ICLR 2015) on shuffled
mini-batches of origins, for a fixed number of epochs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


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
