"""Agent keys: the market enforces every delegation limit with a named error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devchain.sandbox import Participant, Sandbox
from energychain.delegation import AgentGrant, grant_agent, list_delegations, revoke_agent
from energychain.deploy import MarketSettings
from wallet.errors import TransactionRevertedError

BUDGET = 1_000_000


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.on_anvil(MarketSettings(min_order_wh=10)) as market:
        yield market


@pytest.fixture
def owner(sandbox: Sandbox) -> Participant:
    participant = sandbox.new_participant()
    sandbox.fund_payment(participant, 10 * BUDGET)
    return participant


@pytest.fixture
def agent(sandbox: Sandbox, owner: Participant) -> Participant:
    agent = sandbox.new_participant()
    grant = AgentGrant(agent.address, BUDGET, 1_500, 500, sandbox.dev.now() + 86_400)
    grant_agent(owner.sender, sandbox.contracts.market, grant)
    return agent


def _bid(sandbox: Sandbox, agent: Participant, owner: Participant, tick: int, qty: int) -> None:
    slot = sandbox.current_slot() + 1
    agent.sender.transact(sandbox.order_request(owner.address, slot, True, tick, qty))


def _refusal(excinfo: pytest.ExceptionInfo[TransactionRevertedError]) -> str:
    assert excinfo.value.reason is not None
    return str(excinfo.value.reason.name)  # type: ignore[attr-defined]


def test_agent_places_orders_for_the_owner_within_limits(
    sandbox: Sandbox, owner: Participant, agent: Participant
) -> None:
    before = int(sandbox.contracts.market.call("balanceOf", owner.address))
    _bid(sandbox, agent, owner, tick=1_000, qty=1_000)
    after = int(sandbox.contracts.market.call("balanceOf", owner.address))
    assert before - after == 1_000 * sandbox.params.price(1_000) // 1000


def test_agent_over_the_daily_budget_is_refused(
    sandbox: Sandbox, owner: Participant, agent: Participant
) -> None:
    with pytest.raises(TransactionRevertedError) as refused:
        _bid(sandbox, agent, owner, tick=1_000, qty=10_000)  # 1,800,000 > budget
    assert _refusal(refused) == "AgentBudgetExceeded"


def test_agent_buying_above_its_max_tick_is_refused(
    sandbox: Sandbox, owner: Participant, agent: Participant
) -> None:
    with pytest.raises(TransactionRevertedError) as refused:
        _bid(sandbox, agent, owner, tick=1_501, qty=100)
    assert _refusal(refused) == "AgentPriceOutOfBounds"


def test_expired_agent_is_refused(sandbox: Sandbox, owner: Participant, agent: Participant) -> None:
    sandbox.dev.advance(86_401)
    with pytest.raises(TransactionRevertedError) as refused:
        _bid(sandbox, agent, owner, tick=1_000, qty=100)
    assert _refusal(refused) == "AgentExpired"


def test_revoked_agent_is_refused_at_once(
    sandbox: Sandbox, owner: Participant, agent: Participant
) -> None:
    revoke_agent(owner.sender, sandbox.contracts.market, agent.address)
    with pytest.raises(TransactionRevertedError) as refused:
        _bid(sandbox, agent, owner, tick=1_000, qty=100)
    assert _refusal(refused) == "NotOwnerOrAgent"


def test_agent_can_never_withdraw_the_owners_money(
    sandbox: Sandbox, owner: Participant, agent: Participant
) -> None:
    balance = int(sandbox.contracts.market.call("balanceOf", owner.address))
    with pytest.raises(TransactionRevertedError):
        agent.sender.transact(sandbox.contracts.market.request("withdraw", 1))
    assert int(sandbox.contracts.market.call("balanceOf", owner.address)) == balance


def test_list_shows_active_delegations_and_hides_revoked_ones(
    sandbox: Sandbox, owner: Participant, agent: Participant
) -> None:
    market = sandbox.contracts.market
    listed = list_delegations(market, owner.address)
    assert [d.agent for d in listed] == [agent.address]
    assert listed[0].budget_per_day == BUDGET
    revoke_agent(owner.sender, market, agent.address)
    assert list_delegations(market, owner.address) == []
