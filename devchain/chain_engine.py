"""Clear an order book with the contracts themselves, on a throwaway anvil.

The chain engine of ``enerwise auction clear``: one account per order, sellers' slot tokens
minted through real signed meter readings, every order placed, time moved past gate closure,
the slot cleared, every order claimed. What it reports is read back from the chain: each
account's vault balances after the claims (cross-checked against the ``OrderClaimed`` events),
so a difference between the contract and :mod:`market.clearing` shows up in the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from devchain.sandbox import Claimed, Participant, Sandbox
from energychain.deploy import MarketSettings
from market.clearing import ClearingRecord, MarketParams, Order, OrderOutcome, Side
from market.errors import MarketError

#: ``EnergyMarket.MAX_TICK_LIMIT``: the contract bounds ticks so that clearing a full book
#: stays within one transaction's gas under the EIP-7825 cap of 2^24 (docs/contracts.md);
#: the Python rule allows up to 65535.
CHAIN_MAX_TICK = 2_047


class ChainEngineError(MarketError):
    """The book cannot run on chain, or the chain paid out what its events do not say."""


def settle_on_chain(
    orders: Sequence[Order], params: MarketParams
) -> tuple[ClearingRecord, list[OrderOutcome]]:
    """Run ``orders`` through the contracts on a fresh anvil; outcomes in input order."""
    if params.max_tick > CHAIN_MAX_TICK:
        raise ChainEngineError(
            f"market.max_tick {params.max_tick} is above the contract's limit {CHAIN_MAX_TICK} "
            "(clearing must fit in one block); use --engine python for wider markets"
        )
    with Sandbox.on_anvil(engine_settings(params)) as sandbox:
        return _settle(sandbox, orders, params)


def engine_settings(params: MarketParams) -> MarketSettings:
    """The market the engine deploys for ``params``: their prices and fee, orders of any size,
    an hour's slots opened a day ahead."""
    return MarketSettings(
        price_floor=params.price_floor,
        tick_size=params.tick_size,
        max_tick=params.max_tick,
        fee_bps=params.fee_bps,
        min_order_wh=1,
        settlement_seconds=3_600,
        open_ahead_seconds=86_400,
    )


def _settle(
    sandbox: Sandbox, orders: Sequence[Order], params: MarketParams
) -> tuple[ClearingRecord, list[OrderOutcome]]:
    slot = sandbox.current_slot()
    accounts = [sandbox.new_participant() for _ in orders]
    sells = [(a, o.qty_wh) for a, o in zip(accounts, orders, strict=True) if o.side is Side.SELL]
    if sells:
        sandbox.mint_energy(sells, slot)

    escrows: list[int] = []
    placed: list[int] = []
    for account, order in zip(accounts, orders, strict=True):
        is_buy = order.side is Side.BUY
        if is_buy:
            escrow = params.buy_escrow(order.qty_wh, order.tick)
            sandbox.fund_payment(account, escrow)
            requests = []
        else:
            escrow = order.qty_wh
            requests = [sandbox.deposit_energy_request(account, slot, order.qty_wh)]
        requests.append(
            sandbox.order_request(account.address, slot, is_buy, order.tick, order.qty_wh)
        )
        receipts = account.sender.send_batch(requests)
        escrows.append(escrow)
        placed.extend(sandbox.placed_order_ids(receipts[-1:]))

    record = sandbox.clear(slot)
    claimed = {c.order_id: c for c in sandbox.claim(placed)}
    outcomes = [
        _outcome(sandbox, slot, order, account, escrow, claimed[order_id])
        for order, account, escrow, order_id in zip(orders, accounts, escrows, placed, strict=True)
    ]
    return record, outcomes


def _outcome(
    sandbox: Sandbox,
    slot: int,
    order: Order,
    account: Participant,
    escrow: int,
    claimed: Claimed,
) -> OrderOutcome:
    """The order's outcome from its account's vault balances after the claim."""
    market = sandbox.contracts.market
    money = market.balance_of(account.address)
    energy = market.energy_balance_of(account.address, slot)
    if order.side is Side.BUY:
        result = OrderOutcome(
            order_id=order.id,
            side=order.side,
            filled_wh=energy,
            paid=escrow - money,
            gross=0,
            fee=0,
            received=0,
            escrow=escrow,
            refund=money,
        )
        expected = (result.filled_wh, result.paid, 0, result.refund)
    else:
        result = OrderOutcome(
            order_id=order.id,
            side=order.side,
            filled_wh=order.qty_wh - energy,
            paid=0,
            gross=money + claimed.fee,
            fee=claimed.fee,
            received=money,
            escrow=escrow,
            refund=energy,
        )
        expected = (result.filled_wh, result.received, claimed.fee, result.refund)
    event = (claimed.filled_wh, claimed.amount, claimed.fee, claimed.refund)
    if event != expected:
        raise ChainEngineError(
            f"order {order.id}: vault balances say {expected}, OrderClaimed says {event}"
        )
    return result
