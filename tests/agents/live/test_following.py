"""The runtime on a device: planned on the measured state of charge, the orders redone when the
battery does something else; minted tokens moved into the vault; standing orders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.community import BatterySpec, Decision
from agents.forecasting.base import HORIZON
from agents.live.forecasts import SlotForecast
from agents.live.policies import SlotContext
from agents.live.reports import OrderAction
from agents.live.runtime import AgentRuntime
from agents.live.standing import StandingOrders, StandingRules
from devchain.sandbox import Participant, Sandbox
from energychain.delegation import AgentGrant, grant_agent
from energychain.deploy import MarketSettings

MAX_BUY_TICK = 2_000
MIN_SELL_TICK = 100


class Static:
    def __init__(self, load_kw: float, pv_kw: float) -> None:
        self.value = SlotForecast(
            load_kw=np.full(HORIZON, load_kw),
            pv_kw=np.full(HORIZON, pv_kw),
            retail=np.full(HORIZON, 0.30),
            feed_in=np.full(HORIZON, 0.08),
        )

    def forecast(self, slot_start: int) -> SlotForecast:
        return self.value


class ChargeFull:
    """Charge as hard as the battery allows; records the state of charge it was shown."""

    name = "charge_full"

    def __init__(self) -> None:
        self.seen: list[float] = []

    def decide(self, context: SlotContext) -> Decision:
        self.seen.append(context.soc_kwh)
        return Decision(battery=1.0, buy_frac=1.0, sell_frac=0.0)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.on_anvil(MarketSettings(min_order_wh=10)) as market:
        yield market


def _pair(sandbox: Sandbox) -> tuple[Participant, Participant]:
    owner, agent = sandbox.new_participant(), sandbox.new_participant()
    sandbox.fund_payment(owner, 20_000_000)
    grant = AgentGrant(
        agent.address,
        10_000_000,
        MAX_BUY_TICK,
        MIN_SELL_TICK,
        sandbox.dev.now() + 86_400 * 3,
        sell_wh_per_day=100_000,
    )
    grant_agent(owner.sender, sandbox.contracts.market, grant)
    return owner, agent


def _runtime(
    sandbox: Sandbox, owner: Participant, agent: Participant, tmp_path: Path, policy: Any
) -> AgentRuntime:
    return AgentRuntime(
        sandbox.contracts,
        agent.sender,
        owner.address,
        policy,
        tmp_path / "state.json",
        Static(load_kw=1.0, pv_kw=0.0),
        battery=BatterySpec(10.0, 4.0),
        log_path=tmp_path / "log.jsonl",
        sleep=lambda _s: None,
    )


def _charging_buy(
    sandbox: Sandbox, tmp_path: Path, *, soc_kwh: float
) -> tuple[Participant, AgentRuntime, int, OrderAction]:
    """A new owner's runtime (charging its battery full) steps with the battery at ``soc_kwh``:
    the owner, the runtime, the next slot and the one buy placed for it."""
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path, ChargeFull())
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    (placed,) = runtime.step(now, soc_kwh=soc_kwh).placed
    return owner, runtime, slot, placed


def _open_buys(sandbox: Sandbox, owner: Participant, slot: int) -> list[int]:
    market = sandbox.contracts.market
    logs = market.contract.events.OrderPlaced().get_logs(
        from_block=0, argument_filters={"owner": owner.address, "slot": slot}
    )
    ids = [int(log["args"]["orderId"]) for log in logs if log["args"]["isBuy"]]
    return [i for i in ids if market.order(i) is not None]


def test_the_slot_is_planned_on_the_measured_state_of_charge(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox)
    policy = ChargeFull()
    runtime = _runtime(sandbox, owner, agent, tmp_path, policy)
    runtime.step(sandbox.dev.now(), soc_kwh=9.5)  # the device says 95 %
    assert policy.seen == [9.5]
    plan = runtime.state.slot(runtime.slot_at(sandbox.dev.now()) + 1)
    assert plan is not None
    # Room for 0.5 kWh (after losses) in a quarter hour: ~2.1 kW, not the nameplate 4 kW.
    assert plan.battery_kw == pytest.approx(0.5 / 0.95 / 0.25)


def test_a_battery_that_does_less_shrinks_the_slots_buy(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, runtime, slot, placed = _charging_buy(sandbox, tmp_path, soc_kwh=5.0)
    assert placed.qty_wh == 250 + 1_000  # 1 kW demand + 4 kW charging for a quarter hour
    sandbox.advance_to(sandbox.slot_start(slot) + 60)

    # The battery refused to charge (it holds): the slot only needs the house's 250 Wh.
    report = runtime.follow(slot, 0.0, sandbox.dev.now())
    assert report.replanned == [slot]
    assert [c.order_id for c in report.cancelled] == [placed.order_id]
    (again,) = report.placed
    assert (again.side, again.tick, again.qty_wh) == ("buy", placed.tick, 250)
    assert _open_buys(sandbox, owner, slot) == [again.order_id]
    # The same real power again changes nothing.
    assert runtime.follow(slot, 0.0, sandbox.dev.now()).placed == []


def test_from_the_cancel_cutoff_a_smaller_need_keeps_its_buy(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The last half of the settlement window is firm (audit L-3): the replan keeps the buy
    instead of sending a cancel the market would refuse."""
    owner, runtime, slot, placed = _charging_buy(sandbox, tmp_path, soc_kwh=5.0)
    sandbox.advance_to(runtime.link.calendar.cancel_cutoff(slot))

    report = runtime.follow(slot, 0.0, sandbox.dev.now())
    assert report.replanned == [slot]
    assert (report.cancelled, report.placed, report.errors) == ([], [], [])
    assert _open_buys(sandbox, owner, slot) == [placed.order_id]


def test_a_battery_that_does_more_adds_to_the_buy(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, runtime, slot, placed = _charging_buy(sandbox, tmp_path, soc_kwh=9.5)
    report = runtime.follow(slot, 4.0, sandbox.dev.now())
    (more,) = report.placed
    assert more.qty_wh == 1_000 - round(0.5 / 0.95 * 1_000)
    assert sorted(_open_buys(sandbox, owner, slot)) == sorted([placed.order_id, more.order_id])


def test_a_crash_during_a_cancel_is_settled_from_the_chain(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox)

    runtime = _runtime(sandbox, owner, agent, tmp_path, ChargeFull())
    real = runtime.replanner.send

    def crash_after(request: Any) -> Any:
        real(request)
        raise ConnectionError("the process died after the cancel went out")

    runtime.replanner.send = crash_after
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    (_placed,) = runtime.step(now, soc_kwh=5.0).placed
    report = runtime.follow(slot, 0.0, now)
    assert report.placed == [] and report.errors  # the cancel is in doubt: no new buy yet
    plan = runtime.state.slot(slot)
    assert plan is not None and plan.orders[0].status == "cancelling"

    restarted = _runtime(sandbox, owner, agent, tmp_path, ChargeFull())
    restarted.step(now + 1)
    plan = restarted.state.slot(slot)
    assert plan is not None and plan.orders[0].status == "cancelled"
    (again,) = restarted.follow(slot, 0.0, now + 1).placed  # the follow-up completes
    assert again.qty_wh == 250
    assert _open_buys(sandbox, owner, slot) == [again.order_id]


def _approve(sandbox: Sandbox, owner: Participant, agent: Participant) -> None:
    owner.sender.transact(
        sandbox.contracts.token.set_approval_for_all(agent.address, True, gas=80_000)
    )


def _standing(
    sandbox: Sandbox, owner: Participant, agent: Participant, tmp_path: Path, **rules: float
) -> StandingOrders:
    return StandingOrders(
        sandbox.contracts,
        agent.sender,
        owner.address,
        StandingRules(**rules),
        lambda _t: (0.30, 0.08),
        tmp_path / "standing.json",
        log_path=tmp_path / "standing.jsonl",
        sleep=lambda _s: None,
    )


def test_with_auto_sell_off_nothing_is_moved_until_the_owner_switches_it_on(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox)
    standing = _standing(sandbox, owner, agent, tmp_path, sell_min_eur_kwh=0.12)
    slot = sandbox.current_slot() + 1
    sandbox.mint_energy([(owner, 400)], slot)
    off = standing.step(sandbox.dev.now())
    assert (off.moved, off.placed, off.errors) == ([], [], [])
    assert sandbox.contracts.token.balance_of(owner.address, slot) == 400  # still the owner's
    _approve(sandbox, owner, agent)  # the dApp's switch
    on = standing.step(sandbox.dev.now() + 1)
    assert on.moved == [(slot, 400)]
    switched = [json.loads(line) for line in (tmp_path / "standing.jsonl").read_text().splitlines()]
    assert [e["on"] for e in switched if e.get("event") == "auto_sell"] == [False, True]


def test_minted_tokens_are_moved_and_offered_at_no_less_than_the_minimum(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox)
    _approve(sandbox, owner, agent)
    standing = _standing(sandbox, owner, agent, tmp_path, sell_min_eur_kwh=0.12)
    slot = sandbox.current_slot() + 1
    sandbox.mint_energy([(owner, 700)], slot)  # the chain is now at the slot's end

    report = standing.step(sandbox.dev.now())
    assert report.moved == [(slot, 700)]
    (sold,) = report.placed
    params = sandbox.params
    assert params.price(sold.tick) >= 120_000 > params.price(sold.tick - 1)
    assert (sold.side, sold.qty_wh) == ("sell", 700)
    token = sandbox.contracts.token
    assert token.balance_of(owner.address, slot) == 0  # nothing left in the wallet
    again = standing.step(sandbox.dev.now() + 1)
    assert again.moved == [] and again.placed == []  # never twice


def test_metered_import_is_bid_for_below_the_tariff(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, agent = _pair(sandbox)
    _approve(sandbox, owner, agent)
    standing = _standing(sandbox, owner, agent, tmp_path, buy_below_tariff_eur_kwh=0.05)
    slot = sandbox.current_slot() + 1
    start, end = sandbox.slot_start(slot), sandbox.slot_start(slot + 1)
    (meter,) = sandbox.register_meters([owner.address], 5_000)
    sandbox.advance_to(end)
    sandbox.submit_readings(
        [sandbox.signed_reading(meter, start, 0, 0), sandbox.signed_reading(meter, end, 640, 0)]
    )
    (bought,) = standing.step(sandbox.dev.now()).placed
    params = sandbox.params
    assert (bought.side, bought.qty_wh) == ("buy", 640)
    assert params.price(bought.tick) <= 250_000 < params.price(bought.tick + 1)


def test_a_move_lost_in_a_crash_is_not_sent_again(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, agent = _pair(sandbox)
    _approve(sandbox, owner, agent)
    standing = _standing(sandbox, owner, agent, tmp_path, sell_min_eur_kwh=0.12)
    slot = sandbox.current_slot() + 1
    sandbox.mint_energy([(owner, 300)], slot)
    real = standing._send

    def crash_after(request: Any) -> Any:
        real(request)
        raise ConnectionError("died with the transfer sent")

    standing._send = crash_after  # type: ignore[method-assign]
    standing.desk.send = crash_after
    assert standing.mover is not None
    standing.mover.send = crash_after
    standing.step(sandbox.dev.now())
    assert standing.state.moves[slot].status == "intent"

    restarted = _standing(sandbox, owner, agent, tmp_path, sell_min_eur_kwh=0.12)
    report = restarted.step(sandbox.dev.now() + 1)
    assert restarted.state.moves[slot].status == "moved"
    assert report.moved == []
    market = sandbox.contracts.market
    vault = market.energy_balance_of(owner.address, slot)
    offered = sum(o.qty_wh for o in restarted.state.slots[slot].orders if o.status == "placed")
    assert vault + offered == 300  # every token in the vault once, none sent twice
