"""A sealed market's slot end to end from Python: deploy with ``mode="sealed"``, commit through
the ``SealedMarket`` façade with the collateral and id helpers of ``energychain.commitments``,
reveal by a keeper, clear, claim, and reclaim a commitment left unrevealed."""

from __future__ import annotations

from devchain.sandbox import Sandbox
from energychain.commitments import SealedOrder, commit_id, minimum_collateral, new_salt
from energychain.deploy import MarketSettings
from energychain.sealed_market import SealedMarket

BOND = 10_000
REVEAL = 600


def test_sealed_slot_commit_reveal_clear_claim_and_reclaim() -> None:
    settings = MarketSettings(
        mode="sealed", reveal_seconds=REVEAL, bond_amount=BOND, min_order_wh=10
    )
    with Sandbox.on_anvil(settings) as sandbox:
        market = sandbox.contracts.market
        assert isinstance(market, SealedMarket)
        chain_id, fee = sandbox.deployment.chain_id, sandbox.params.fee_bps
        buyer, seller, dropper = (sandbox.new_participant() for _ in range(3))
        slot = sandbox.current_slot() + 1
        sandbox.mint_energy([(seller, 500)], slot)  # the chain moves to the slot's end
        for p in (buyer, seller, dropper):
            sandbox.fund_payment(p, 10**7)
        sandbox.deposit_energy(seller, slot, 500)

        buy = SealedOrder(slot, buyer.address, True, 1_500, 300, new_salt())
        sell = SealedOrder(slot, seller.address, False, 100, 300, new_salt())
        drop = SealedOrder(slot, dropper.address, True, 50, 100, new_salt())  # never revealed
        ids = {}
        for who, order in ((buyer, buy), (seller, sell), (dropper, drop)):
            locked = minimum_collateral(order, sandbox.params, BOND)
            receipt = who.sender.transact(market.commit_order(order, locked, chain_id, gas=300_000))
            mined = int(market.events(receipt, "OrderCommitted")[0]["args"]["commitId"])
            assert mined == commit_id(order, chain_id, market.address, fee)
            assert market.order(mined) is None  # nothing readable before gate closure
            ids[order] = mined

        sandbox.advance_to(sandbox.gate_closure(slot) + 1)
        keeper = sandbox.admin
        keeper.transact(market.reveal_orders([(ids[buy], buy), (ids[sell], sell)], gas=600_000))
        assert market.order(ids[buy]) is not None

        sandbox.advance_to(sandbox.gate_closure(slot) + REVEAL + 1)
        record = sandbox.clear(slot)
        assert record.volume_wh == 300
        claimed = {c.order_id: c for c in sandbox.claim([ids[buy], ids[sell]])}
        assert claimed[ids[buy]].filled_wh == 300 and claimed[ids[sell]].filled_wh == 300

        dropped = ids[drop]
        treasury = sandbox.params.treasury
        before = market.balance_of(treasury)
        keeper.transact(market.reclaim_commitment(dropped, gas=200_000))
        assert market.balance_of(treasury) == before + BOND
        assert market.commitment(dropped) is None
