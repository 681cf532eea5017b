"""A slot nobody cleared within the market's clear window is void: the agent takes its escrow
back by cancelling its orders there (anyone may), durably, once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.live.reports import OrderAction
from agents.live.runtime import AgentRuntime
from devchain.sandbox import Participant, Sandbox
from energychain.deploy import MarketSettings
from tests.agents.live.test_runtime import _pair, _runtime


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.on_anvil(MarketSettings(min_order_wh=10)) as market:
        yield market


def _owner_and_runtime(sandbox: Sandbox, tmp_path: Path) -> tuple[Participant, AgentRuntime]:
    owner, agent = _pair(sandbox)
    return owner, _runtime(sandbox, owner, agent, tmp_path)


def _escrow(sandbox: Sandbox, action: OrderAction) -> int:
    price = int(sandbox.contracts.market.call("priceOf", action.tick))
    return -(-action.qty_wh * price // 1000) if action.side == "buy" else 0


def test_the_orders_of_a_void_slot_are_cancelled_and_the_escrow_comes_back(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, runtime = _owner_and_runtime(sandbox, tmp_path)
    market = sandbox.contracts.market
    before = market.balance_of(owner.address)
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    (bought,) = runtime.step(now).placed
    assert market.balance_of(owner.address) < before  # the buy's escrow left the vault

    # Nobody clears the slot (this runtime does not clear): a day after gate closure it is void.
    sandbox.advance_to(market.void_at(slot))
    report = runtime.step(sandbox.dev.now())
    assert [c.order_id for c in report.cancelled] == [bought.order_id]
    assert market.order(bought.order_id) is None
    # Back in the vault but for the escrow of the buys this step placed for the next slot.
    assert market.balance_of(owner.address) == before - sum(
        _escrow(sandbox, o) for o in report.placed
    )
    assert [o.status for o in runtime.state.slot(slot).orders] == ["cancelled"]  # type: ignore[union-attr]
    assert runtime.step(sandbox.dev.now()).cancelled == []  # once


def test_before_the_slot_is_void_nothing_is_cancelled(sandbox: Sandbox, tmp_path: Path) -> None:
    _owner, runtime = _owner_and_runtime(sandbox, tmp_path)
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    (bought,) = runtime.step(now).placed
    sandbox.advance_to(sandbox.contracts.market.void_at(slot) - 60)
    report = runtime.step(sandbox.dev.now())
    assert report.cancelled == []
    assert sandbox.contracts.market.order(bought.order_id) is not None
