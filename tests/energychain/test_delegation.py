"""Agent keys: the market enforces every delegation limit with a named error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devchain.sandbox import Participant, Sandbox
from energychain.delegation import AgentGrant, grant_agent, list_delegations, revoke_agent
from energychain.deploy import MarketSettings
from energychain.errors import DelegationError
from energychain.records import decayed_use
from wallet.errors import TransactionRevertedError

BUDGET = 1_000_000
SELL_WH = 500


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
    grant = AgentGrant(
        agent.address, BUDGET, 1_500, 500, sandbox.dev.now() + 86_400, sell_wh_per_day=SELL_WH
    )
    grant_agent(owner.sender, sandbox.contracts.market, grant)
    return agent


def _bid(sandbox: Sandbox, agent: Participant, owner: Participant, tick: int, qty: int) -> None:
    slot = sandbox.current_slot() + 1
    agent.sender.transact(sandbox.order_request(owner.address, slot, True, tick, qty))


def _refusal(excinfo: pytest.ExceptionInfo[TransactionRevertedError]) -> str:
    assert excinfo.value.reason is not None
    return str(excinfo.value.reason.name)  # type: ignore[attr-defined]


def _refused_bid(
    sandbox: Sandbox, agent: Participant, owner: Participant, tick: int, qty: int
) -> str:
    """The name of the error the market refuses the agent's bid for ``owner`` with."""
    with pytest.raises(TransactionRevertedError) as refused:
        _bid(sandbox, agent, owner, tick, qty)
    return _refusal(refused)


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
    refusal = _refused_bid(sandbox, agent, owner, tick=1_000, qty=10_000)  # 1,800,000 > budget
    assert refusal == "AgentBudgetExceeded"


def test_agent_buying_above_its_max_tick_is_refused(
    sandbox: Sandbox, owner: Participant, agent: Participant
) -> None:
    assert _refused_bid(sandbox, agent, owner, tick=1_501, qty=100) == "AgentPriceOutOfBounds"


def test_expired_agent_is_refused(sandbox: Sandbox, owner: Participant, agent: Participant) -> None:
    sandbox.dev.advance(86_401)
    assert _refused_bid(sandbox, agent, owner, tick=1_000, qty=100) == "AgentExpired"


def test_revoked_agent_is_refused_at_once(
    sandbox: Sandbox, owner: Participant, agent: Participant
) -> None:
    revoke_agent(owner.sender, sandbox.contracts.market, agent.address)
    assert _refused_bid(sandbox, agent, owner, tick=1_000, qty=100) == "NotOwnerOrAgent"


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


def _offer(sandbox: Sandbox, agent: Participant, owner: Participant, qty: int) -> None:
    slot = sandbox.current_slot() - 1
    sandbox.mint_energy([(owner, qty)], slot)
    owner.sender.transact(sandbox.deposit_energy_request(owner, slot, qty))
    agent.sender.transact(sandbox.order_request(owner.address, slot, False, 600, qty))


def test_agent_selling_beyond_its_daily_sell_limit_is_refused(
    sandbox: Sandbox, owner: Participant, agent: Participant
) -> None:
    _offer(sandbox, agent, owner, 400)
    with pytest.raises(TransactionRevertedError) as refused:
        _offer(sandbox, agent, owner, 200)  # 600 Wh in a rolling day > 500
    assert _refusal(refused) == "AgentSellLimitExceeded"


def test_revoking_and_granting_again_keeps_the_agents_use(
    sandbox: Sandbox, owner: Participant, agent: Participant
) -> None:
    market = sandbox.contracts.market
    _bid(sandbox, agent, owner, tick=1_000, qty=500)
    spent = list_delegations(market, owner.address)[0].spent
    revoke_agent(owner.sender, market, agent.address)
    again = AgentGrant(
        agent.address, BUDGET, 1_500, 500, sandbox.dev.now() + 86_400, sell_wh_per_day=SELL_WH
    )
    grant_agent(owner.sender, market, again)
    (listed,) = list_delegations(market, owner.address)
    assert 0 < listed.spent <= spent
    assert listed.remaining() == BUDGET - listed.spent


def test_a_grant_without_budget_and_sell_limit_is_refused_before_sending() -> None:
    with pytest.raises(DelegationError, match="budget or a daily sell limit"):
        AgentGrant("0x" + "11" * 20, 0, 1, 1, 2_000_000_000)  # type: ignore[arg-type]


def test_out_of_range_limits_are_refused_before_sending() -> None:
    with pytest.raises(DelegationError, match="budget per day"):
        AgentGrant("0x" + "11" * 20, 2**96, 1, 1, 2_000_000_000)  # type: ignore[arg-type]
    with pytest.raises(DelegationError, match="sell limit"):
        AgentGrant("0x" + "11" * 20, 1, 1, 1, 2_000_000_000, sell_wh_per_day=-1)  # type: ignore[arg-type]


def test_use_decays_by_one_daily_limit_per_day_and_never_below_zero() -> None:
    assert decayed_use(1_000, 2_000, 43_200) == 0
    assert decayed_use(1_000, 1_000, 43_200) == 500
    assert decayed_use(1_000, 1_000, 1) == 1_000  # 0.0116 back, rounded against the agent
