"""One market round through every kind of event the indexer follows (tests, benchmarks).

Played on a :class:`devchain.sandbox.Sandbox`: meter registration, signed readings with archive
CIDs, vault deposits of money and energy, orders, a cancel, clearing after gate closure, claims
and withdrawals of both. A sealed market's slot (:class:`SealedRound`) is played in stages:
commitments, reveals, then clearing, claims and a forfeit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devchain.sandbox import Participant, Sandbox
from energychain.commitments import Collateral, SealedOrder, minimum_collateral, new_salt
from energychain.sealed_market import SealedMarket

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


@dataclass
class SealedRound:
    """A sealed market's slot played in stages (:func:`sealed_commits`, :func:`sealed_reveals`,
    :func:`sealed_end`): a buyer and a seller who reveal, a dropper who never does, each
    commitment over-collateralised (the sell in money and Wh)."""

    sandbox: Sandbox
    slot: int
    bond: int
    reveal_seconds: int
    participants: dict[str, Participant]
    orders: dict[str, SealedOrder]
    locked: dict[str, Collateral]
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def market(self) -> SealedMarket:
        market = self.sandbox.contracts.market
        assert isinstance(market, SealedMarket)
        return market

    def address(self, who: str) -> str:
        return str(self.participants[who].address)

    def reveal(self, *who: str, keeper: Participant | None = None) -> None:
        """Reveal the commitments of ``who`` in one batch sent by ``keeper`` (anyone may; the
        admin by default)."""
        reveals = [(self.ids[w], self.orders[w]) for w in who]
        sender = keeper.sender if keeper is not None else self.sandbox.admin
        sender.transact(self.market.reveal_orders(reveals, gas=600_000))


def sealed_commits(sandbox: Sandbox, *, bond: int, reveal_seconds: int) -> SealedRound:
    """Commit a buy (tick 1,500, 300 Wh), a sell (tick 100, 300 Wh) and a buy never to be
    revealed (tick 50, 100 Wh) for the next slot, which stays open for orders."""
    s = sandbox
    buyer, seller, dropper = (s.new_participant() for _ in range(3))
    slot = s.current_slot() + 1
    s.mint_energy([(seller, 500)], slot)  # the chain moves to the slot's end
    for p in (buyer, seller, dropper):
        s.fund_payment(p, 10**7)
    s.deposit_energy(seller, slot, 500)
    people = {"buyer": buyer, "seller": seller, "dropper": dropper}
    orders = {
        "buyer": SealedOrder(slot, buyer.address, True, 1_500, 300, new_salt()),
        "seller": SealedOrder(slot, seller.address, False, 100, 300, new_salt()),
        "dropper": SealedOrder(slot, dropper.address, True, 50, 100, new_salt()),
    }
    least = {w: minimum_collateral(o, s.params, bond) for w, o in orders.items()}
    locked = {
        "buyer": Collateral(least["buyer"].money + 5_000, 0),
        "seller": Collateral(bond + 1_000, 450),
        "dropper": Collateral(bond + 2_000, 0),
    }
    played = SealedRound(s, slot, bond, reveal_seconds, people, orders, locked)
    chain_id = s.deployment.chain_id
    for who, order in orders.items():
        receipt = people[who].sender.transact(
            played.market.commit_order(order, locked[who], chain_id, gas=300_000)
        )
        event = played.market.events(receipt, "OrderCommitted")[0]
        played.ids[who] = int(event["args"]["commitId"])
    return played


def sealed_reveals(played: SealedRound) -> None:
    """After gate closure: the buyer's and the seller's commitments are revealed."""
    played.sandbox.advance_to(played.sandbox.gate_closure(played.slot) + 1)
    played.reveal("buyer", "seller")


def sealed_end(played: SealedRound) -> None:
    """After the reveal window: clear, claim both orders, reclaim the dropper's commitment."""
    s = played.sandbox
    s.advance_to(s.gate_closure(played.slot) + played.reveal_seconds + 1)
    s.clear(played.slot)
    s.claim([played.ids["buyer"], played.ids["seller"]])
    s.admin.transact(played.market.reclaim_commitment(played.ids["dropper"], gas=200_000))
