"""One market round through every kind of event the indexer follows (tests, benchmarks).

Played on a :class:`devchain.sandbox.Sandbox`: meter registration, signed readings with archive
CIDs, vault deposits of money and energy, orders, a cancel, clearing after gate closure, claims
and withdrawals of both.
"""

from __future__ import annotations

from typing import Any

from devchain.sandbox import Sandbox

#: The round's uniform price, base units per kWh: tick 225, midway between the marginal sell (tick
#: 200) and the marginal buy (tick 250), on the default grid (80,000 + 225 * 120).
CLEARING_PRICE = 107_000


def play_round(sandbox: Sandbox) -> dict[str, Any]:
    """Two prosumers (meters, readings, sells), two buyers, a cancel, clearing, claims, withdrawals.

    Returns what was done (slot, order ids, accounts) for assertions.
    """
    s = sandbox
    seller_a, seller_b, buyer_c, buyer_d = (s.new_participant() for _ in range(4))
    meter_a, meter_b = s.register_meters([seller_a.address, seller_b.address], 10_000)
    for buyer in (buyer_c, buyer_d):
        s.fund_payment(buyer, 5_000_000)
    slot = s.current_slot()
    start, end = s.slot_start(slot), s.slot_start(slot + 1)
    s.submit_readings(
        [s.signed_reading(meter_a, start, 100, 0), s.signed_reading(meter_b, start, 50, 0)],
        archive_cid=b"bafkreibaseline",
    )
    s.advance_to(max(end, s.dev.now() + 1))
    s.submit_readings(
        [s.signed_reading(meter_a, end, 200, 3_000), s.signed_reading(meter_b, end, 400, 2_000)],
        archive_cid=b"bafkreislot",
    )
    s.deposit_energy(seller_a, slot, 3_000)
    s.deposit_energy(seller_b, slot, 2_000)
    sells_a = s.place_orders(seller_a, [(slot, False, 100, 1_500), (slot, False, 300, 1_500)])
    sells_b = s.place_orders(seller_b, [(slot, False, 200, 2_000)])
    buys_c = s.place_orders(buyer_c, [(slot, True, 900, 2_500), (slot, True, 150, 500)])
    buys_d = s.place_orders(buyer_d, [(slot, True, 250, 1_000), (slot, True, 50, 700)])
    market = s.contracts.market
    buyer_d.sender.transact(market.request("cancelOrders", [buys_d[1]]))
    s.clear(slot)
    live = [*sells_a, *sells_b, *buys_c, buys_d[0]]
    s.claim(live)
    seller_a.sender.transact(market.request("withdraw", 10_000))
    buyer_c.sender.transact(market.request("withdrawEnergy", slot, 100))
    return {
        "slot": slot,
        "orders": live,
        "cancelled": [buys_d[1]],
        "accounts": [p.address for p in (seller_a, seller_b, buyer_c, buyer_d)],
    }
