"""The worst book the market accepts clears in one transaction under the EIP-7825 gas cap.

anvil runs with ``--enable-tx-gas-limit``: a transaction above 2^24 gas is refused, as on
Ethereum since Osaka. Every tick of the largest grid the contract allows holds an order, and the
book is shaped so that all three walks of ``OrderBook.compute`` visit every tick: buys of the
minimum size everywhere, one sell at the top tick (``V* = 1`` at ``m_s = m_b = maxTick``).
"""

from __future__ import annotations

from devchain.chain_engine import CHAIN_MAX_TICK
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from energychain.market import OrderSpec

TX_GAS_CAP = 2**24
#: Orders per placeOrders transaction: the sandbox sets 120k gas per order, under the cap.
CHUNK = 120


def test_a_full_book_at_the_tick_limit_clears_under_the_tx_gas_cap() -> None:
    settings = MarketSettings(max_tick=CHAIN_MAX_TICK, min_order_wh=1, settlement_seconds=3_600)
    with Sandbox.on_anvil(settings, tx_gas_cap=True) as sandbox:
        market = sandbox.contracts.market
        assert market.call("MAX_TICK_LIMIT") == CHAIN_MAX_TICK
        top = CHAIN_MAX_TICK
        slot = sandbox.current_slot() + 1
        seller, buyer = sandbox.new_participant(), sandbox.new_participant()
        sandbox.mint_energy([(seller, 1)], slot)
        sandbox.deposit_energy(seller, slot, 1)
        sandbox.fund_payment(buyer, (top + 1) * sandbox.params.price(top))
        buys: list[OrderSpec] = [(slot, True, tick, 1) for tick in range(top + 1)]
        buyer.sender.send_batch(
            [
                sandbox.orders_request(buyer.address, buys[i : i + CHUNK])
                for i in range(0, len(buys), CHUNK)
            ]
        )
        sandbox.place_orders(seller, [(slot, False, top, 1)])
        assert list(market.call("nextActiveTick", slot, top)) == [True, top]

        sandbox.advance_to(sandbox.gate_closure(slot))
        receipt = sandbox.admin.transact(market.clear(slot))
        record = sandbox.clearing_record(slot)

        assert (record.volume_wh, record.buy_marginal.tick, record.sell_marginal.tick) == (
            1,
            top,
            top,
        )
        gas = int(receipt["gasUsed"])
        print(
            f"clear of a full book of {top + 1} ticks: {gas} gas ({gas / TX_GAS_CAP:.1%} of 2^24)"
        )
        assert gas < 0.75 * TX_GAS_CAP
