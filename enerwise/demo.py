"""The scripted market round behind ``enerwise demo``.

One slot on a fresh local anvil, every step a real transaction: a prosumer's meter signs two
readings (the registry mints the exported Wh as slot tokens), the prosumer deposits them and
offers them, a neighbour deposits euros and bids, anyone clears the slot after gate closure,
both claim. The summary is read back from the chain, with a conservation check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chain.deploy import MarketSettings
from market.sandbox import Sandbox

Progress = Callable[[str], None] | None

EXPORT_WH = 2_400
BID_WH = 1_500
ASK_TICK = 900
BID_TICK = 1_300


def run_scripted_round(progress: Progress = None) -> dict[str, Any]:
    """Run the round and return the summary (every figure read from the chain)."""
    say = progress or (lambda _message: None)
    say("starting a local anvil chain and deploying EnergyChain ...")
    with Sandbox.on_anvil(MarketSettings()) as sandbox:
        market, token, registry = (
            sandbox.contracts.market,
            sandbox.contracts.token,
            sandbox.contracts.registry,
        )
        prosumer, neighbour = sandbox.new_participant(), sandbox.new_participant()
        slot = sandbox.current_slot()

        say(f"slot {slot}: the prosumer's meter signs readings; the registry mints its export")
        sandbox.mint_energy([(prosumer, EXPORT_WH)], slot)
        minted = int(token.call("balanceOf", prosumer.address, slot))

        say(f"the prosumer offers {EXPORT_WH} Wh at tick {ASK_TICK}")
        prosumer.sender.send_batch(
            [
                sandbox.deposit_energy_request(prosumer, slot, EXPORT_WH),
                sandbox.order_request(prosumer.address, slot, False, ASK_TICK, EXPORT_WH),
            ]
        )
        escrow = -(-BID_WH * sandbox.params.price(BID_TICK) // 1000)
        say(f"the neighbour deposits {escrow} and bids for {BID_WH} Wh at tick {BID_TICK}")
        sandbox.fund_payment(neighbour, escrow)
        neighbour.sender.transact(
            sandbox.order_request(neighbour.address, slot, True, BID_TICK, BID_WH)
        )

        say("gate closure passes; the slot is cleared")
        record = sandbox.clear(slot)
        say("both claim their outcomes")
        claims = sandbox.claim(_all_orders(sandbox, slot))

        paid = sum(c.amount for c in claims if c.owner == neighbour.address)
        received = sum(c.amount for c in claims if c.owner == prosumer.address)
        fees = sum(c.fee for c in claims)
        treasury = sandbox.deployment.settings["treasury"]
        payment_held = int(sandbox.contracts.payment.call("balanceOf", market.address))
        vault_money = sum(
            int(market.call("balanceOf", a))
            for a in {prosumer.address, neighbour.address, treasury}
        )
        energy_held = int(token.call("balanceOf", market.address, slot))
        vault_energy = sum(
            int(market.call("energyBalanceOf", a, slot))
            for a in (prosumer.address, neighbour.address)
        )
        totals = registry.call("energyTotals")
        summary = {
            "slot": slot,
            "minted_wh": minted,
            "metered_export_wh": int(totals[0]) + int(totals[2]),
            "traded_wh": record.volume_wh,
            "clearing_tick": record.clearing_tick if record.cleared else None,
            "price_per_kwh": record.price_per_kwh if record.cleared else None,
            "paid": paid,
            "received": received,
            "fees": fees,
            "escrow_left": payment_held - vault_money,
            "conservation_ok": (
                payment_held == vault_money
                and energy_held == vault_energy
                and paid == received + fees
                and minted == EXPORT_WH
            ),
        }
    say("the chain is stopped")
    return summary


def _all_orders(sandbox: Sandbox, slot: int) -> list[int]:
    """Every order placed for ``slot``, from the market's ``OrderPlaced`` logs."""
    market = sandbox.contracts.market.contract
    logs = market.events.OrderPlaced().get_logs(
        from_block=sandbox.deployment.block_number, argument_filters={"slot": slot}
    )
    return [int(log["args"]["orderId"]) for log in logs]
