"""A slot nobody cleared within the market's clear window is void: the agent takes its escrow
back by cancelling its orders there (anyone may), durably, once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.live.policies import TruthfulPolicy
from agents.live.reports import OrderAction
from agents.live.runtime import AgentRuntime
from devchain.sandbox import Participant, Sandbox
from energychain.delegation import AgentGrant, grant_agent
from energychain.deploy import MarketSettings
from tests.agents.live.test_runtime import StaticForecaster

DAY = 86_400


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.on_anvil(MarketSettings(min_order_wh=10)) as market:
        yield market


def _runtime(sandbox: Sandbox, tmp_path: Path, **kwargs: Any) -> tuple[Participant, AgentRuntime]:
    owner, agent = sandbox.new_participant(), sandbox.new_participant()
    sandbox.fund_payment(owner, 20_000_000)
    grant = AgentGrant(agent.address, 5_000_000, 1_250, 200, sandbox.dev.now() + 5 * DAY)
    grant_agent(owner.sender, sandbox.contracts.market, grant)
    runtime = AgentRuntime(
        sandbox.contracts,
        agent.sender,
        owner.address,
        TruthfulPolicy(),
        tmp_path / "state.json",
        StaticForecaster(load_kw=2.0, pv_kw=0.0),
        log_path=tmp_path / "decisions.jsonl",
        sleep=lambda _s: None,
        **kwargs,
    )
    return owner, runtime


def _escrow(sandbox: Sandbox, action: OrderAction) -> int:
    price = int(sandbox.contracts.market.call("priceOf", action.tick))
    return -(-action.qty_wh * price // 1000) if action.side == "buy" else 0


def test_the_orders_of_a_void_slot_are_cancelled_and_the_escrow_comes_back(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, runtime = _runtime(sandbox, tmp_path)
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
    _owner, runtime = _runtime(sandbox, tmp_path)
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    (bought,) = runtime.step(now).placed
    sandbox.advance_to(sandbox.contracts.market.void_at(slot) - 60)
    report = runtime.step(sandbox.dev.now())
    assert report.cancelled == []
    assert sandbox.contracts.market.order(bought.order_id) is not None
