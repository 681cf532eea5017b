"""Gas per operation, compared with the checked-in snapshot tests/contracts/gas-snapshot.json.

In the manner of Uniswap v4's gas snapshots: each operation's receipt gas is measured in a fixed
scenario, and a diff of the snapshot file shows what a change to the contracts costs. The test fails
when an operation costs more than its snapshot value plus 1 % (calldata varies by a few bytes with
the slot numbers, which follow the wall clock). Cheaper is fine: the test prints the improvement.

Refresh the file after an intended change with UPDATE_GAS_SNAPSHOT=1 (then review the diff).
"""

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("gas-snapshot.json")
TOLERANCE = 0.01


def measure(env, market, registry, token, alice, bob, carol, agent, relayer):
    gas = {}
    slot = env.trading_slot()

    meter = env.new_meter(alice)
    gas["registry.registerMeter"] = registry.registerMeter(
        b"\x42" * 32, alice, alice, 1_000, {"from": env.admin}
    ).gas_used
    gas["registry.submitReading: baseline"] = meter.submit_at(env.slot_start(slot - 1)).gas_used
    gas["registry.submitReading: first mint of a slot"] = meter.submit_at(
        env.slot_start(slot), add_export=2_000
    ).gas_used
    other = env.new_meter(bob)
    other.submit_at(env.slot_start(slot - 1))
    gas["registry.submitReading: mint, slot supply exists"] = other.submit_at(
        env.slot_start(slot), add_export=500, add_import=300
    ).gas_used
    third = env.new_meter(carol)
    readings = [
        third.reading(env.slot_start(slot)),
        (third.meter_id, 2, env.slot_start(slot + 1), 0, 900),
    ]
    gas["registry.submitReadings: baseline + mint"] = registry.submitReadings(
        readings, [third.sign(r) for r in readings], b"", {"from": relayer}
    ).gas_used
    gas["token.redeem"] = token.redeem(slot - 1, 100, {"from": bob}).gas_used

    env.mint_energy(alice, slot, 5_000)
    gas["token.safeTransferFrom: energy deposit"] = token.safeTransferFrom(
        alice, market, slot, 5_000, b"", {"from": alice}
    ).gas_used
    env.fund(bob, 10**9)
    gas["market.deposit: first"] = market.deposit(10**8, {"from": bob}).gas_used
    gas["market.deposit: again"] = market.deposit(10**8, {"from": bob}).gas_used
    gas["market.withdraw"] = market.withdraw(10**6, {"from": bob}).gas_used
    gas["market.withdrawEnergy"] = market.withdrawEnergy(slot, 100, {"from": alice}).gas_used

    first = market.placeOrder(bob, slot, True, 30, 1_000, {"from": bob})
    gas["market.placeOrder: first order of the slot"] = first.gas_used
    gas["market.placeOrder: buy at an existing level"] = market.placeOrder(
        bob, slot, True, 30, 500, {"from": bob}
    ).gas_used
    gas["market.placeOrder: buy at a new tick"] = market.placeOrder(
        bob, slot, True, 31, 500, {"from": bob}
    ).gas_used
    sell = market.placeOrder(alice, slot, False, 10, 2_000, {"from": alice})
    gas["market.placeOrder: sell at a new tick"] = sell.gas_used
    batch = market.placeOrders(
        alice, [(slot, False, 11 + i, 100) for i in range(10)], {"from": alice}
    )
    gas["market.placeOrders: 10 sells at new ticks"] = batch.gas_used
    market.authorizeAgent(agent, 10**9, 100, 0, env.latest_timestamp() + 86_400, {"from": bob})
    gas["market.placeOrder: by an agent"] = market.placeOrder(
        bob, slot, True, 29, 100, {"from": agent}
    ).gas_used
    gas["market.cancelOrder"] = market.cancelOrder(
        first.events["OrderPlaced"]["orderId"], {"from": bob}
    ).gas_used

    env.close_gate(slot)
    gas["market.clear: 14 non-empty ticks"] = market.clear(slot, {"from": relayer}).gas_used
    gas["market.claim: filled sell"] = market.claim(
        sell.events["OrderPlaced"]["orderId"], {"from": relayer}
    ).gas_used
    gas["market.claimBatch: 10 unfilled sells"] = market.claimBatch(
        [int(i) for i in batch.return_value], {"from": relayer}
    ).gas_used
    return gas


def test_gas_perOperationWithinSnapshot(
    env, market, registry, token, alice, bob, carol, agent, relayer
):
    gas = measure(env, market, registry, token, alice, bob, carol, agent, relayer)
    width = max(map(len, gas))
    if os.environ.get("UPDATE_GAS_SNAPSHOT") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(gas, indent=2, sort_keys=True) + "\n")
        print(f"\nwrote {SNAPSHOT.name}")
        return
    snapshot = json.loads(SNAPSHOT.read_text())
    worse = []
    print()
    for op, used in gas.items():
        before = snapshot.get(op)
        delta = "new" if before is None else f"{used - before:+d}"
        print(f"  {op:<{width}}  {used:>9,}  ({delta})")
        if before is not None and used > before * (1 + TOLERANCE):
            worse.append(f"{op}: {before} -> {used}")
    missing = sorted(set(snapshot) - set(gas))
    assert not missing, f"operations gone from the scenario: {missing} (refresh the snapshot)"
    assert not worse, "gas regressions (UPDATE_GAS_SNAPSHOT=1 to accept): " + "; ".join(worse)
