"""Shared helpers of the operator tests: a CLI runner and a base community config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from enerwise.cli import app

ADMIN = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account 0
METER_ADMIN = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil account 1
PAUSER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil account 2

Run = Callable[..., Any]


@pytest.fixture
def cli() -> Run:
    """``cli("operator", "init", ...)``: invoke the CLI in-process, return the click result."""

    def run(*args: str) -> Any:
        return CliRunner().invoke(app, [str(a) for a in args])

    return run


def init_args(path: Path, **overrides: str) -> list[str]:
    """``operator init`` arguments for a valid local community, with option overrides."""
    options = {
        "--name": "sunny-street",
        "--admin": ADMIN,
        "--meter-admin": METER_ADMIN,
        "--pauser": PAUSER,
        "--treasury": ADMIN,
        "--retail": "0.32",
        "--feed-in": "0.08",
        "--tick": "0.0001",
        "--rpc-url": "http://127.0.0.1:8545",
        "--chain-id": "31337",
    }
    options.update(overrides)
    args = ["operator", "init", str(path)]
    for key, value in options.items():
        args += [key, value]
    return args
