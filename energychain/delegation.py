"""Agent keys: an owner delegates bounded trading to an agent address on the market contract.

The delegation lives on chain (``EnergyMarket.authorizeAgent``): a budget of payment base units
(buy escrow the agent commits) and a sell limit in Wh, each per rolling day (the agent's use
decays linearly by one daily limit per 24 hours, and survives revoking and granting again), the
highest tick it may buy at, the lowest it may sell at, and an expiry. The agent may place, cancel
and claim for the owner; it can never withdraw or transfer. So a device that holds only the agent
key risks at most one day's budget and one day's sell limit at once, and on average no more per
day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import TxReceipt

from energychain.errors import DelegationError
from energychain.events import EventReader
from energychain.market import Market
from energychain.records import Delegation
from wallet.transactions import TransactionSender, TxRequest

UINT16_MAX = 2**16 - 1
UINT64_MAX = 2**64 - 1
UINT96_MAX = 2**96 - 1


@dataclass(frozen=True)
class AgentGrant:
    """What an owner allows an agent to do."""

    agent: ChecksumAddress
    budget_per_day: int
    max_buy_tick: int
    min_sell_tick: int
    expiry: int
    sell_wh_per_day: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.budget_per_day <= UINT96_MAX:
            raise DelegationError(f"budget per day {self.budget_per_day} is out of range")
        if not 0 <= self.sell_wh_per_day <= UINT64_MAX:
            raise DelegationError(f"sell limit per day {self.sell_wh_per_day} Wh is out of range")
        if self.budget_per_day == 0 and self.sell_wh_per_day == 0:
            raise DelegationError(
                "an agent needs a daily budget or a daily sell limit (both are zero)"
            )
        for name in ("max_buy_tick", "min_sell_tick"):
            value = getattr(self, name)
            if not 0 <= value <= UINT16_MAX:
                raise DelegationError(f"{name.replace('_', ' ')} {value} is not a tick (0..65535)")


def parse_address(text: str, what: str = "address") -> ChecksumAddress:
    if not Web3.is_address(text):
        raise DelegationError(f"{what} {text!r} is not an Ethereum address")
    return Web3.to_checksum_address(text)


def parse_expiry(text: str) -> int:
    """Unix seconds from an ISO 8601 time (``2026-12-31``, ``2026-12-31T18:00:00+01:00``).

    A time without a zone is UTC.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DelegationError(f"expiry {text!r} is not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def grant_request(market: Market, grant: AgentGrant, gas: int | None = None) -> TxRequest:
    """The ``authorizeAgent`` transaction of ``grant`` (``gas`` None: estimated when sent)."""
    return market.authorize_agent_grant(grant, gas=gas)


def grant_agent(sender: TransactionSender, market: Market, grant: AgentGrant) -> TxReceipt:
    """The owner (``sender``) authorizes ``grant.agent``; the dry run rejects bad requests."""
    return sender.transact(grant_request(market, grant))


def revoke_agent(sender: TransactionSender, market: Market, agent: ChecksumAddress) -> TxReceipt:
    """The owner (``sender``) revokes ``agent`` at once."""
    return sender.transact(market.revoke_agent(agent))


def list_delegations(
    market: Market, owner: ChecksumAddress, from_block: int = 0
) -> list[Delegation]:
    """Every agent ``owner`` ever authorized that still holds a delegation, as stored now."""
    logs = EventReader(market).read("AgentAuthorized", from_block, filters={"owner": owner})
    agents = list(dict.fromkeys(Web3.to_checksum_address(log["args"]["agent"]) for log in logs))
    now = int(market.w3.eth.get_block("latest")["timestamp"])
    found = (market.delegation(owner, agent, now) for agent in agents)
    return [d for d in found if d is not None]
