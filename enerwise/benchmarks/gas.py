"""Gas per operation of the EnergyChain contracts, measured on a fresh anvil.

Every figure is ``gasUsed`` of a real transaction's receipt (base cost and calldata included);
"per order" / "per reading" figures divide one batch transaction by its size. Worst cases
are measured where they differ: the single reading mints to an owner with no tokens of the slot
yet, the batch readings go to 50 different owners, and a single order is measured both joining
an existing price level (``place_order``, the common case) and opening one
(``place_order_new_level``).
The order book cleared holds 10,000 orders (5,000 buys and 5,000 sells) spread over 64 ticks.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3

from chain.deploy import MarketSettings
from market.sandbox import GAS_PER_ORDER, Sandbox

TARGETS = {
    "place_order": 90_000,
    "place_orders_batch_per_order": 50_000,
    "clear_10k_orders_64_ticks": 400_000,
    "claim": 45_000,
    "claim_batch_per_order": 30_000,
    "submit_reading": 90_000,
    "submit_readings_batch_per_reading": 60_000,
}
BOOK_ORDERS = 10_000
BOOK_TICKS = 64
BATCH = 50
QTY_WH = 100
FIRST_TICK = 1_000


#: Fixed chain start and market epoch (2026-01-01 00:00 UTC): same calldata, same gas, every run.
GENESIS = 1_767_225_600


def run() -> dict[str, Any]:
    settings = MarketSettings(
        min_order_wh=QTY_WH, max_tick=2_400, settlement_seconds=3_600, epoch=GENESIS
    )
    with Sandbox.on_anvil(settings, genesis_timestamp=GENESIS) as sandbox:
        figures = _measure(sandbox)
    figures["targets"] = TARGETS
    figures["within_targets"] = all(figures[k] <= v for k, v in TARGETS.items())
    return figures


def _gas(receipt: Any) -> int:
    return int(receipt["gasUsed"])


def _measure(sandbox: Sandbox) -> dict[str, Any]:
    registry, market, token = (
        sandbox.contracts.registry,
        sandbox.contracts.market,
        sandbox.contracts.token,
    )
    admin = sandbox.admin
    buyer, seller = sandbox.new_participant(), sandbox.new_participant()
    slot = sandbox.current_slot()
    start, end = sandbox.slot_start(slot), sandbox.slot_start(slot + 1)
    book_wh = (BOOK_ORDERS // 2) * QTY_WH

    # Meters: one measured alone, 50 measured as a batch (50 different owners), the seller's
    # big meter that mints the sell side of the book, the buyer's meter that imports (redeem).
    strangers = [Web3.to_checksum_address(sandbox.random_bytes(20)) for _ in range(BATCH)]
    single = sandbox.register_meters([seller.address], 10_000)[0]
    batch = sandbox.register_meters(strangers, 10_000)
    seller_meter = sandbox.register_meters([seller.address], book_wh)[0]
    buyer_meter = sandbox.register_meters([buyer.address], 10_000)[0]
    everyone = [single, *batch, seller_meter, buyer_meter]
    sandbox.submit_readings([sandbox.signed_reading(m, start, 0, 0) for m in everyone])
    sandbox.advance_to(end)

    reading, signature = sandbox.signed_reading(single, end, 0, 1_000)
    submit_reading = _gas(admin.transact(registry.request("submitReading", reading, signature)))
    batch_receipt = sandbox.submit_readings(
        [sandbox.signed_reading(m, end, 0, 1_000) for m in batch], chunk=BATCH
    )[0]
    sandbox.submit_readings(
        [
            sandbox.signed_reading(seller_meter, end, 0, book_wh),
            sandbox.signed_reading(buyer_meter, end, 5_000, 0),
        ]
    )

    # Funds: the buyer's escrow for every buy at its own tick; the seller's tokens in the vault.
    sandbox.fund_payment(buyer, (BOOK_ORDERS // 2) * QTY_WH * sandbox.params.price(2_400) // 1000)
    seller.sender.transact(sandbox.deposit_energy_request(seller, slot, book_wh))

    def tick_of(i: int) -> int:
        return FIRST_TICK + i % BOOK_TICKS

    # The first order at a tick opens the level (and maybe a bitmap word): the worst case.
    new_level_receipt = buyer.sender.transact(
        sandbox.order_request(buyer.address, slot, True, tick_of(0), QTY_WH)
    )
    single_receipt = buyer.sender.transact(
        sandbox.order_request(buyer.address, slot, True, tick_of(0), QTY_WH)
    )
    place_order = _gas(single_receipt)  # joins an existing level: the common case
    batch_orders = [(slot, True, tick_of(i), QTY_WH) for i in range(1, BATCH + 1)]
    batch_receipt_orders = buyer.sender.transact(
        sandbox.orders_request(buyer.address, batch_orders)
    )
    placed = sandbox.placed_order_ids([single_receipt, batch_receipt_orders])
    cancel_receipt = buyer.sender.transact(
        sandbox.order_request(buyer.address, slot, True, tick_of(0), QTY_WH)
    )
    cancelled = sandbox.placed_order_ids([cancel_receipt])[0]
    cancel_order = _gas(
        buyer.sender.transact(market.request("cancelOrder", cancelled, gas=200_000))
    )

    buys_left = BOOK_ORDERS // 2 - 2 - BATCH
    buy_rest = [(slot, True, tick_of(i), QTY_WH) for i in range(BATCH + 1, BATCH + 1 + buys_left)]
    sells = [(slot, False, tick_of(i), QTY_WH) for i in range(BOOK_ORDERS // 2)]
    requests = [
        sandbox.orders_request(buyer.address, buy_rest[i : i + BATCH])
        for i in range(0, len(buy_rest), BATCH)
    ]
    buyer.sender.send_batch(requests)
    seller.sender.send_batch(
        [
            sandbox.orders_request(seller.address, sells[i : i + BATCH])
            for i in range(0, len(sells), BATCH)
        ]
    )
    live = (
        sum(
            int(market.call("level", slot, tick)[0]) + int(market.call("level", slot, tick)[1])
            for tick in range(FIRST_TICK, FIRST_TICK + BOOK_TICKS)
        )
        // QTY_WH
    )

    sandbox.advance_to(sandbox.gate_closure(slot))
    clear = _gas(admin.transact(market.request("clear", slot, gas=5_000_000)))
    claim = _gas(admin.transact(market.request("claim", placed[0], gas=200_000)))
    claim_batch = _gas(admin.transact(market.request("claimBatch", placed[1:], gas=3_000_000)))
    bought = int(market.call("energyBalanceOf", buyer.address, slot))
    redeem_wh = min(bought, 1_000)
    buyer.sender.transact(market.request("withdrawEnergy", slot, redeem_wh, gas=200_000))
    redeem = _gas(buyer.sender.transact(token.request("redeem", slot, redeem_wh, gas=200_000)))

    return {
        "place_order": place_order,
        "place_order_new_level": _gas(new_level_receipt),
        "place_orders_batch_per_order": _gas(batch_receipt_orders) // BATCH,
        "cancel_order": cancel_order,
        "clear_10k_orders_64_ticks": clear,
        "claim": claim,
        "claim_batch_per_order": claim_batch // BATCH,
        "submit_reading": submit_reading,
        "submit_readings_batch_per_reading": _gas(batch_receipt) // BATCH,
        "redeem": redeem,
        "book_orders": live,
        "book_ticks": BOOK_TICKS,
        "batch_size": BATCH,
        "gas_limit_per_order_used_by_tools": GAS_PER_ORDER,
    }
