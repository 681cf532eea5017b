"""Fixtures of the grid tests: small shipped networks, built once per session into a cache."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from grid.catalogue import build_network
from grid.layout import HouseholdMap, assign_households, partition
from grid.network import GridNetwork


@pytest.fixture(scope="session")
def network_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the whole run: under pytest-xdist every worker's base temp lies in one
    shared folder, so a network (the city's takes half a minute of CPU) is built once per run,
    not once per worker whose files ask for it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    cache = root / "grid-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture
def network(network_cache: Path) -> Callable[[str], GridNetwork]:
    """A fresh copy of a catalogue network (each engine owns and changes its network)."""

    def build(name: str) -> GridNetwork:
        # one builder per network at a time: a second worker asking meanwhile waits and loads it
        with FileLock(network_cache / f"{name}.lock"):
            return build_network(name, cache=network_cache)

    return build


@pytest.fixture
def placed(network: Callable[[str], GridNetwork]) -> Callable[[str, int, int], HouseholdMap]:
    """``placed(name, communities, households per community)``: households on a network."""

    def place(name: str, communities: int, per_community: int) -> HouseholdMap:
        grid = network(name)
        areas = partition(grid, communities)
        members = {a.id: [f"{a.id}/h{j:02d}" for j in range(per_community)] for a in areas}
        return assign_households(grid, areas, members, seed=7)

    return place


def pv_noon(n: int, export_wh: float, seed: int = 0) -> np.ndarray:
    """Net Wh per household for a sunny noon: every household exports about ``export_wh``."""
    rng = np.random.default_rng(seed)
    return -rng.uniform(0.5, 1.5, n) * export_wh
