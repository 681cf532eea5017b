"""``oracle run --clock chain``: the oracle follows a chain someone else moves (the soak)."""

from __future__ import annotations

import asyncio

import pytest

from chain.errors import RpcError
from oracles.clock import ChainClock


class _Chain(ChainClock):
    """Block timestamps from a script instead of a node; ``None`` is a node that is down."""

    def __init__(self, script: list[int | None]) -> None:
        self.script = script
        super().__init__("http://127.0.0.1:9", poll=0.0)

    def _latest_timestamp(self) -> int:
        value = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if value is None:
            raise RpcError("connection refused")
        return value


def test_the_chain_clock_waits_for_a_block_at_the_boundary() -> None:
    clock = _Chain([100, 100, 500, 900, 900])

    asyncio.run(clock.sleep_until(900))

    assert clock.now() == 900


def test_the_chain_clock_waits_through_a_node_outage() -> None:
    clock = _Chain([100, None, None, 1_000])

    asyncio.run(clock.sleep_until(900))

    assert clock.now() == 1_000


def test_the_chain_clock_never_goes_back() -> None:
    clock = _Chain([800])
    clock.script = [700]

    assert clock.refresh() == 800


@pytest.mark.parametrize("wanted", [0, 50])
def test_the_chain_clock_returns_at_once_for_a_time_already_passed(wanted: int) -> None:
    clock = _Chain([100])

    asyncio.run(clock.sleep_until(wanted))

    assert clock.now() == 100
