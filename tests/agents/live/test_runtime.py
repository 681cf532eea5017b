"""The on-chain agent runtime on anvil: delegated orders, limits, restarts, claims, RPC errors,
and book policies (planned on a recent book, priced late against the slot's visible book)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from agents.community import BatterySpec, Decision
from agents.errors import AgentRuntimeError
from agents.forecasting.base import HORIZON
from agents.live.forecasts import SlotForecast
from agents.live.policies import (
    MarketSnapshot,
    SlotContext,
    TruthfulPolicy,
    book_setpoint,
    load_policy,
    sealed_market_warning,
)
from agents.live.reports import OrderAction
from agents.live.runtime import AgentRuntime
from agents.policies.best_response import best_response_frac, expected_best_response_frac
from agents.policies.book_model import BookModel
from devchain.sandbox import Participant, Sandbox
from energychain.delegation import AgentGrant, grant_agent
from energychain.deploy import MarketSettings
from market.clearing import MarketParams, Order, Side

BUDGET = 5_000_000  # 5 EUR of the 6-decimals test euro per day
MAX_BUY_TICK = 1_250  # 0.08 + 1250 * 0.00012 = 0.23 EUR/kWh
MIN_SELL_TICK = 200
SELL_WH = 20_000  # 20 kWh of sells per rolling day


class StaticForecaster:
    """The same demand, PV and tariffs for every slot."""

    def __init__(self, load_kw: float, pv_kw: float, retail: float = 0.30, feed_in: float = 0.05):
        self.value = SlotForecast(
            load_kw=np.full(HORIZON, load_kw),
            pv_kw=np.full(HORIZON, pv_kw),
            retail=np.full(HORIZON, retail),
            feed_in=np.full(HORIZON, feed_in),
        )

    def forecast(self, slot_start: int) -> SlotForecast:
        return self.value


class Crash(Exception):
    """Stands for the process dying at a chosen point."""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.on_anvil(MarketSettings(min_order_wh=10)) as market:
        yield market


def _pair(
    sandbox: Sandbox,
    budget: int = BUDGET,
    sell_wh: int = SELL_WH,
    max_buy_tick: int = MAX_BUY_TICK,
) -> tuple[Participant, Participant]:
    owner, agent = sandbox.new_participant(), sandbox.new_participant()
    sandbox.fund_payment(owner, 20_000_000)
    grant = AgentGrant(
        agent.address,
        budget,
        max_buy_tick,
        MIN_SELL_TICK,
        sandbox.dev.now() + 86_400 * 3,
        sell_wh_per_day=sell_wh,
    )
    grant_agent(owner.sender, sandbox.contracts.market, grant)
    return owner, agent


def _runtime(
    sandbox: Sandbox,
    owner: Participant,
    agent: Participant,
    tmp_path: Path,
    *,
    forecaster: StaticForecaster | None = None,
    cls: type[AgentRuntime] = AgentRuntime,
    policy: Any = None,
    **kwargs: Any,
) -> AgentRuntime:
    return cls(
        sandbox.contracts,
        agent.sender,
        owner.address,
        policy or TruthfulPolicy(),
        tmp_path / "state.json",
        forecaster or StaticForecaster(load_kw=2.0, pv_kw=0.0),
        log_path=tmp_path / "decisions.jsonl",
        sleep=lambda _s: None,
        **kwargs,
    )


def _started(
    sandbox: Sandbox, tmp_path: Path, **kwargs: Any
) -> tuple[Participant, Participant, AgentRuntime, int, int]:
    """A new owner and its agent, the agent's runtime (``kwargs`` as in :func:`_runtime`), now
    and the next slot: the one its first step plans."""
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path, **kwargs)
    now = sandbox.dev.now()
    return owner, agent, runtime, now, runtime.slot_at(now) + 1


def _orders_on_chain(sandbox: Sandbox, owner: Participant, slot: int) -> list[dict[str, Any]]:
    logs = sandbox.contracts.market.contract.events.OrderPlaced().get_logs(
        from_block=0, argument_filters={"owner": owner.address, "slot": slot}
    )
    return [dict(log["args"]) for log in logs]


def _log(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]


def test_buys_the_forecast_import_through_the_delegation_within_the_price_bound(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, _, runtime, now, slot = _started(sandbox, tmp_path)
    report = runtime.step(now)

    assert report.decided_slot == slot
    (placed,) = report.placed
    # Truthful bids retail (0.30 EUR/kWh = tick 1833); the owner allows at most tick 1250.
    assert (placed.side, placed.tick, placed.qty_wh) == ("buy", MAX_BUY_TICK, 500)
    stored = sandbox.contracts.market.call("order", placed.order_id)
    assert (stored[0], stored[2], stored[3], stored[4]) == (owner.address, True, MAX_BUY_TICK, 500)
    events = [entry["event"] for entry in _log(tmp_path)]
    assert events == ["decision", "adjusted", "intent", "placed"]
    # The same slot is never ordered twice.
    assert runtime.step(now + 1).placed == []
    assert len(_orders_on_chain(sandbox, owner, slot)) == 1


def test_an_order_over_the_daily_budget_is_refused_before_sending(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox, budget=500)  # 0.0005 EUR: not even 10 Wh at 0.23 EUR/kWh
    runtime = _runtime(sandbox, owner, agent, tmp_path)
    now = sandbox.dev.now()
    report = runtime.step(now)

    (refused,) = report.refused
    assert refused.reason is not None and refused.reason.startswith("budget")
    assert report.placed == [] and report.errors == []
    assert _orders_on_chain(sandbox, owner, runtime.slot_at(now) + 1) == []


def test_a_buy_larger_than_the_budget_is_cut_to_fit(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, agent = _pair(sandbox, budget=50_000)  # 0.05 EUR: 217 Wh at 0.23 EUR/kWh
    runtime = _runtime(sandbox, owner, agent, tmp_path)
    (placed,) = runtime.step(sandbox.dev.now()).placed
    assert placed.qty_wh == 217
    delegation = runtime.delegation(sandbox.dev.now())
    assert delegation.spent == -(-217 * sandbox.params.price(MAX_BUY_TICK) // 1000)


def test_a_missing_delegation_is_one_clear_error(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, stranger = sandbox.new_participant(), sandbox.new_participant()
    runtime = _runtime(sandbox, owner, stranger, tmp_path)
    with pytest.raises(AgentRuntimeError, match="has not authorized agent"):
        runtime.step(sandbox.dev.now())


class _CrashBeforeSend(AgentRuntime):
    """Dies after the intent is on disk, before the order reaches the node."""

    def _send(self, request: Any) -> Any:
        raise Crash


class _CrashAfterSend(AgentRuntime):
    """Dies after the order is mined, before the receipt is recorded."""

    def _send(self, request: Any) -> Any:
        super()._send(request)
        raise Crash


@pytest.mark.parametrize("crashing", [_CrashBeforeSend, _CrashAfterSend])
def test_a_restart_after_a_crash_never_doubles_the_order(
    sandbox: Sandbox, tmp_path: Path, crashing: type[AgentRuntime]
) -> None:
    owner, agent = _pair(sandbox)
    now = sandbox.dev.now()
    slot = (now - sandbox.epoch) // sandbox.slot_seconds + 1
    with pytest.raises(Crash):
        _runtime(sandbox, owner, agent, tmp_path, cls=crashing).step(now)
    state = json.loads((tmp_path / "state.json").read_text())
    assert [o["status"] for o in state["slots"][str(slot)]["orders"]] == ["intent"]

    report = _runtime(sandbox, owner, agent, tmp_path).step(now)
    assert len(_orders_on_chain(sandbox, owner, slot)) == 1
    assert len(report.placed) == 1
    state = json.loads((tmp_path / "state.json").read_text())
    statuses = [o["status"] for o in state["slots"][str(slot)]["orders"]]
    assert statuses.count("placed") == 1


def _bought_in_a_slot_of_its_own(
    sandbox: Sandbox, tmp_path: Path, **kwargs: Any
) -> tuple[Participant, AgentRuntime, int, OrderAction]:
    """A new owner, its agent's runtime (``kwargs`` as in :func:`_runtime`) and the buy its first
    step placed for the next slot, a slot no earlier test ordered in."""
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path, **kwargs)
    sandbox.advance_to(sandbox.slot_start(sandbox.current_slot() + 2))
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    (bought,) = runtime.step(now).placed
    return owner, runtime, slot, bought


def test_claims_its_orders_once_the_slot_is_cleared(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, runtime, slot, bought = _bought_in_a_slot_of_its_own(sandbox, tmp_path, clear_slots=True)
    # A seller meets the bid: 300 Wh minted from a meter reading, asked at tick 1000.
    seller = sandbox.new_participant()
    sandbox.mint_energy([(seller, 300)], slot)
    seller.sender.send_batch(
        [
            sandbox.deposit_energy_request(seller, slot, 300),
            sandbox.order_request(seller.address, slot, False, 1_000, 300),
        ]
    )
    sandbox.advance_to(sandbox.gate_closure(slot))

    report = runtime.step(sandbox.dev.now())
    assert report.cleared == [slot]
    ((order_id, filled, amount, _refund),) = report.claimed
    assert (order_id, filled) == (bought.order_id, 300)
    assert amount > 0
    assert int(sandbox.contracts.market.call("energyBalanceOf", owner.address, slot)) == 300
    assert runtime.step(sandbox.dev.now()).claimed == []  # claimed once


def test_without_claims_a_cleared_slots_orders_are_left_to_whoever_settles(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """``claim=False`` (``enerwise city`` claims the orders in its own claims step):
    the order of a cleared slot stays in the book, unclaimed, step after step."""
    _, runtime, slot, bought = _bought_in_a_slot_of_its_own(sandbox, tmp_path, claim=False)
    sandbox.clear(slot)

    report = runtime.step(sandbox.dev.now())
    assert report.claimed == [] and report.errors == []
    assert bought.order_id is not None
    assert sandbox.contracts.market.order(bought.order_id) is not None  # still stored
    assert "claimed" not in [entry["event"] for entry in _log(tmp_path)]


def test_planned_exports_are_offered_once_the_meter_minted_them(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox)
    runtime = _runtime(
        sandbox, owner, agent, tmp_path, forecaster=StaticForecaster(load_kw=0.5, pv_kw=2.5)
    )
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    report = runtime.step(now)
    assert report.decided_slot == slot and report.placed == []  # an export: nothing to sell yet
    sandbox.mint_energy([(owner, 400)], slot)  # the meter reports 400 Wh exported
    owner.sender.transact(sandbox.deposit_energy_request(owner, slot, 400))

    (sold,) = runtime.step(sandbox.dev.now()).placed
    # Truthful asks feed-in (0.05 EUR/kWh, below the floor): raised to the owner's minimum.
    assert (sold.side, sold.slot, sold.tick, sold.qty_wh) == ("sell", slot, MIN_SELL_TICK, 400)


def test_connection_errors_are_retried_with_backoff(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path)
    provider: Any = sandbox.w3.provider
    real = provider._make_request  # below web3's own retries: the connection stays down longer
    failures = {"eth_call": 2}

    def flaky(method: Any, data: bytes) -> Any:
        if failures.get(str(method), 0) > 0:
            failures[str(method)] -= 1
            raise requests.ConnectionError("connection reset by peer")
        return real(method, data)

    now = sandbox.dev.now()
    provider._make_request = flaky
    try:
        report = runtime.step(now)
    finally:
        provider._make_request = real
    assert len(report.placed) == 1
    retries = [e for e in _log(tmp_path) if e["event"] == "rpc_retry"]
    assert [e["attempt"] for e in retries] == [1, 2]


def test_the_node_staying_down_is_one_clear_error(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path, retries=3)
    provider: Any = sandbox.w3.provider
    real = provider._make_request

    def down(method: Any, data: bytes) -> Any:
        raise requests.ConnectionError("connection refused")

    now = sandbox.dev.now()
    provider._make_request = down
    try:
        with pytest.raises(AgentRuntimeError, match="did not answer after 3 attempts"):
            runtime.step(now)
    finally:
        provider._make_request = real


def test_policies_load_by_name_or_file(tmp_path: Path) -> None:
    assert load_policy("truthful").name == "truthful"
    assert load_policy("halfway").name == "halfway"
    with pytest.raises(Exception, match="truthful, halfway"):
        load_policy(tmp_path / "policy.txt")


def test_the_shipped_onnx_policy_corrects_the_book_plan_within_its_reach() -> None:
    from agents.live.policies import MarketSnapshot, SlotContext, book_setpoint
    from agents.rl.algorithms import RESIDUAL_REACH
    from market.clearing import MarketParams

    policy = load_policy(Path(__file__).parents[3] / "agents" / "pretrained" / "ppo.onnx")
    assert getattr(policy, "book_policy", False)
    battery = BatterySpec(capacity_kwh=6.0, power_kw=3.0)
    context = SlotContext(
        slot=10,
        slot_start=1_700_000_000,
        soc_kwh=3.0,
        battery=battery,
        forecast=StaticForecaster(0.4, 1.2).value,
        market=MarketSnapshot(),
        params_micro=MarketParams(price_floor=50_000, tick_size=100, max_tick=2_500, fee_bps=0),
    )
    planned = book_setpoint(context)
    decision = policy.decide(context)
    assert abs(decision.battery - planned) <= RESIDUAL_REACH + 1e-9


def test_replay_forecasts_follow_the_chain_clock_on_the_simulated_year(
    community: Any, forecasts: Any
) -> None:
    from agents.data.calendar import slot_of_year
    from agents.live.forecasts import ReplayForecaster

    h = community.battery_households()[0]
    replay = ReplayForecaster(community, h, forecasts[h])
    # 2026-06-01 11:00 UTC is 12:00 in UTC+1: day 151 of the year, slot 48 of the day.
    stamp = 1_780_311_600
    assert slot_of_year(stamp) == 151 * 96 + 48
    forecast = replay.forecast(stamp)
    assert forecast.slot_pv_kw == pytest.approx(community.pv_kw[h, 151 * 96 + 48])
    assert np.all(forecast.retail > forecast.feed_in)


# ---------------------------------------------------------------------------- book policies
# The test euro has 6 decimals: the chain's prices in base units are already micro-EUR.
MICRO_PARAMS = MarketParams(price_floor=80_000, tick_size=120, max_tick=2_000, fee_bps=25)


class RecordingPolicy:
    """Self-consumption; keeps the contexts it was given."""

    def __init__(self, book_policy: bool, books_ahead: bool = False) -> None:
        self.name = "recording"
        self.book_policy = book_policy
        self.books_ahead = books_ahead
        self.contexts: list[SlotContext] = []

    def decide(self, context: SlotContext) -> Decision:
        self.contexts.append(context)
        return Decision()


def _fresh_slot(sandbox: Sandbox) -> None:
    """Move to the start of a slot no earlier test ordered in."""
    sandbox.advance_to(sandbox.slot_start(sandbox.current_slot() + 3))


def _funded(sandbox: Sandbox) -> Participant:
    other = sandbox.new_participant()
    sandbox.fund_payment(other, 1_000_000)
    return other


def _sell(sandbox: Sandbox, seller: Participant, slot: int, tick: int, qty_wh: int) -> int:
    """Mint ``qty_wh`` of ``slot`` to ``seller`` (the chain moves to the slot's end), offer it."""
    sandbox.mint_energy([(seller, qty_wh)], slot)
    seller.sender.transact(sandbox.deposit_energy_request(seller, slot, qty_wh))
    (order_id,) = sandbox.place_orders(seller, [(slot, False, tick, qty_wh)])
    return order_id


def _an_ask_in_a_fresh_slot(sandbox: Sandbox) -> tuple[int, int]:
    """A new seller's ask of 2,000 Wh at tick 0 in a fresh slot: the slot and the order id (the
    chain moves to the slot's end)."""
    _fresh_slot(sandbox)
    seen = sandbox.current_slot()
    return seen, _sell(sandbox, sandbox.new_participant(), seen, 0, 2_000)


def _context(book: tuple[Order, ...]) -> SlotContext:
    return SlotContext(
        slot=10,
        slot_start=1_700_000_100 - 1_700_000_100 % 3_600,
        soc_kwh=3.0,
        battery=BatterySpec(capacity_kwh=6.0, power_kw=3.0),
        forecast=StaticForecaster(0.5, 0.5).value,
        market=MarketSnapshot(),
        recent_book=book,
        params_micro=MICRO_PARAMS,
    )


def test_the_book_planner_loads_by_name() -> None:
    policy = load_policy("mpc_book")
    assert policy.name == "mpc_book"
    assert getattr(policy, "book_policy", False) is True


def _book_runtime(
    sandbox: Sandbox, tmp_path: Path, name: str = "mpc_book", **kwargs: Any
) -> tuple[Participant, AgentRuntime, int, int]:
    """A new owner's runtime of the book policy ``name`` (``kwargs`` as in :func:`_runtime`) on
    a fresh slot, planning once for the next slot (not about the timing): the owner, the
    runtime, now and the next slot."""
    owner, agent = _pair(sandbox)
    policy = load_policy(name)
    plan_lead = sandbox.slot_seconds
    runtime = _runtime(
        sandbox, owner, agent, tmp_path, policy=policy, plan_lead_seconds=plan_lead, **kwargs
    )
    _fresh_slot(sandbox)
    now = sandbox.dev.now()
    return owner, runtime, now, runtime.slot_at(now) + 1


def test_book_policy_places_its_buy_late_at_the_best_response_to_the_visible_book(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, runtime, now, slot = _book_runtime(sandbox, tmp_path)
    report = runtime.step(now)
    assert report.decided_slot == slot and report.placed == []  # 500 Wh to buy, not yet
    assert _orders_on_chain(sandbox, owner, slot) == []

    (bid,) = sandbox.place_orders(_funded(sandbox), [(slot, True, 1_100, 200)])
    ask = _sell(sandbox, sandbox.new_participant(), slot, 750, 400)
    assert runtime.step(sandbox.dev.now()).placed == []  # the slot ended: not late yet

    sandbox.advance_to(sandbox.gate_closure(slot) - runtime.late_seconds)
    (placed,) = runtime.step(sandbox.dev.now()).placed
    others = [Order(str(bid), Side.BUY, 1_100, 200), Order(str(ask), Side.SELL, 750, 400)]
    frac = best_response_frac(others, "me", 500, MICRO_PARAMS, 0.30, 0.05)
    assert (placed.side, placed.slot, placed.qty_wh) == ("buy", slot, 500)
    assert placed.tick == round(frac * MICRO_PARAMS.max_tick) == 1_101  # outbids the 1100 bid
    assert len(_orders_on_chain(sandbox, owner, slot)) == 1
    priced = [e for e in _log(tmp_path) if e["event"] == "priced"]
    assert [(e["slot"], e["book_orders"], e["tick"]) for e in priced] == [(slot, 2, 1_101)]
    assert runtime.step(sandbox.dev.now()).placed == []  # placed once


def test_scenario_response_buys_late_at_the_least_mean_cost_over_the_books_it_reads(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """In an open market its one scenario is the slot's visible book."""
    _, runtime, now, slot = _book_runtime(sandbox, tmp_path, "scenario_response")
    report = runtime.step(now)
    assert report.decided_slot == slot and report.placed == []  # 500 Wh to buy, late
    (bid,) = sandbox.place_orders(_funded(sandbox), [(slot, True, 1_100, 200)])
    ask = _sell(sandbox, sandbox.new_participant(), slot, 750, 400)

    sandbox.advance_to(sandbox.gate_closure(slot) - runtime.late_seconds)
    (placed,) = runtime.step(sandbox.dev.now()).placed
    others = [Order(str(bid), Side.BUY, 1_100, 200), Order(str(ask), Side.SELL, 750, 400)]
    frac = expected_best_response_frac([others], "me", 500, MICRO_PARAMS, 0.30, 0.05)
    assert (placed.side, placed.slot, placed.qty_wh) == ("buy", slot, 500)
    assert placed.tick == round(frac * MICRO_PARAMS.max_tick) < MICRO_PARAMS.max_tick
    (priced,) = [e for e in _log(tmp_path) if e["event"] == "priced"]
    assert (priced["scenarios"], priced["book_orders"], priced["tick"]) == (1, 2, placed.tick)


def test_book_policy_offers_its_exports_late_at_the_best_response(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    forecaster = StaticForecaster(load_kw=0.5, pv_kw=2.5)
    owner, runtime, now, slot = _book_runtime(sandbox, tmp_path, forecaster=forecaster)
    assert runtime.step(now).decided_slot == slot
    (bid,) = sandbox.place_orders(_funded(sandbox), [(slot, True, 1_300, 300)])
    sandbox.mint_energy([(owner, 400)], slot)
    owner.sender.transact(sandbox.deposit_energy_request(owner, slot, 400))
    assert runtime.step(sandbox.dev.now()).placed == []  # tokens held, but not late yet

    sandbox.advance_to(sandbox.gate_closure(slot) - runtime.late_seconds)
    (sold,) = runtime.step(sandbox.dev.now()).placed
    frac = best_response_frac(
        [Order(str(bid), Side.BUY, 1_300, 300)], "me", -400, MICRO_PARAMS, 0.30, 0.05
    )
    assert (sold.side, sold.slot, sold.qty_wh) == ("sell", slot, 400)
    assert sold.tick == round(frac * MICRO_PARAMS.max_tick) == 1_300


def test_cancelled_orders_are_not_in_the_visible_book(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path, policy=load_policy("mpc_book"))
    _fresh_slot(sandbox)
    slot = sandbox.current_slot() + 1
    other = _funded(sandbox)
    kept, cancelled = sandbox.place_orders(
        other, [(slot, True, 1_000, 100), (slot, True, 1_100, 50)]
    )
    other.sender.transact(sandbox.contracts.market.request("cancelOrder", cancelled))
    assert runtime.visible_book(slot) == (Order(str(kept), Side.BUY, 1_000, 100),)


def test_the_member_book_names_each_order_by_its_owner_and_side(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """What the tick model follows from slot to slot: an owner's side, not an order id."""
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path, policy=load_policy("mpc_book"))
    _fresh_slot(sandbox)
    slot = sandbox.current_slot() + 1
    other = _funded(sandbox)
    sandbox.place_orders(other, [(slot, True, 1_000, 100), (slot, True, 1_100, 50)])
    sandbox.place_orders(owner, [(slot, True, 900, 70)])  # the owner's own: not in it
    member = f"{other.address}:buy"
    assert runtime.link.member_book(slot) == (
        Order(member, Side.BUY, 1_000, 100),
        Order(f"{member}:1", Side.BUY, 1_100, 50),
    )


def test_the_owners_own_orders_are_not_in_the_visible_book(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path, policy=load_policy("mpc_book"))
    _fresh_slot(sandbox)
    slot = sandbox.current_slot() + 1
    sandbox.place_orders(owner, [(slot, True, 1_000, 100)])
    (theirs,) = sandbox.place_orders(_funded(sandbox), [(slot, True, 900, 60)])
    assert runtime.visible_book(slot) == (Order(str(theirs), Side.BUY, 900, 60),)


def test_only_book_policies_get_the_book_two_slots_back_in_their_context(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox)
    seen, ask = _an_ask_in_a_fresh_slot(sandbox)  # now in slot seen + 1
    book, plain = RecordingPolicy(book_policy=True), RecordingPolicy(book_policy=False)
    now = sandbox.dev.now()
    lead = sandbox.slot_seconds  # plan at once: this test is not about the timing
    _runtime(sandbox, owner, agent, tmp_path / "book", policy=book, plan_lead_seconds=lead).step(
        now
    )
    _runtime(sandbox, owner, agent, tmp_path / "plain", policy=plain).step(now)

    (context,) = book.contexts
    assert context.slot == seen + 2
    assert context.recent_book == (Order(str(ask), Side.SELL, 0, 2_000),)
    assert context.params_micro == MICRO_PARAMS
    (context,) = plain.contexts
    assert (context.recent_book, context.params_micro) == ((), None)


def test_book_policy_plans_the_battery_on_the_book_two_slots_back(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    forecaster = StaticForecaster(load_kw=0.5, pv_kw=0.5)  # flat tariffs: nothing to shift
    battery = BatterySpec(capacity_kwh=6.0, power_kw=3.0)
    _, runtime, _, _ = _book_runtime(sandbox, tmp_path, forecaster=forecaster, battery=battery)
    seen = sandbox.current_slot()
    _sell(sandbox, sandbox.new_participant(), seen, 0, 2_000)  # 0.08 EUR/kWh offered
    assert runtime.step(sandbox.dev.now()).decided_slot == seen + 2
    sandbox.advance_to(sandbox.slot_start(seen + 2))
    assert runtime.step(sandbox.dev.now()).decided_slot == seen + 3  # slot seen + 1: no orders

    cheap = runtime.state.slot(seen + 2)
    empty = runtime.state.slot(seen + 3)
    assert cheap is not None and empty is not None
    assert cheap.battery_kw > 1.0  # charges from the offers like those just seen
    assert cheap.buy_plan_wh > 0
    assert empty.battery_kw == pytest.approx(0.0, abs=1e-6)
    decisions = [e for e in _log(tmp_path) if e["event"] == "decision"]
    assert [e["recent_book"] for e in decisions] == [1, 0]


def test_a_cheap_recent_book_makes_the_planner_charge() -> None:
    offer = (Order("1", Side.SELL, 0, 2_000),)
    assert book_setpoint(_context(offer)) > 0.3
    assert book_setpoint(_context(())) == pytest.approx(0.0, abs=1e-6)


def test_the_planner_ahead_loads_by_name() -> None:
    policy = load_policy("mpc_book_ahead")
    assert policy.name == "mpc_book_ahead"
    assert getattr(policy, "book_policy", False) is True
    assert getattr(policy, "books_ahead", False) is True


def test_bids_expected_later_make_the_planner_ahead_keep_its_charge() -> None:
    # Importing 1 kW with 3 kWh stored: self-consumption covers the load from the battery; a
    # neighbour who bought at the top of the range (above retail) in the next hours a day
    # earlier is worth more than the import the charge displaces now.
    bid = (Order("1", Side.BUY, MICRO_PARAMS.max_tick, 3_000),)
    plain = dataclasses.replace(_context(()), forecast=StaticForecaster(1.0, 0.0).value)
    ahead = dataclasses.replace(plain, later_books=(bid,) * 8)
    battery = plain.battery
    assert battery is not None

    def power_kw(context: SlotContext) -> float:
        return battery.power(book_setpoint(context), -1.0, context.soc_kwh)

    assert power_kw(plain) == pytest.approx(-1.0, abs=1e-6)  # discharges for the load
    assert power_kw(ahead) == pytest.approx(0.0, abs=1e-6)  # keeps the charge for the bids


@pytest.mark.parametrize("name", ["mpc_book", "mpc_book_ahead"])
def test_a_book_policy_is_warned_about_in_a_sealed_market(name: str) -> None:
    warning = sealed_market_warning(load_policy(name))
    assert warning is not None and name in warning and "--policy halfway" in warning


@pytest.mark.parametrize("name", ["halfway", "truthful", "scenario_response"])
def test_a_policy_that_reads_no_book_of_its_slot_has_no_sealed_market_warning(name: str) -> None:
    assert sealed_market_warning(load_policy(name)) is None


def test_a_planner_ahead_gets_each_later_slots_book_a_day_earlier(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox)
    seen, ask = _an_ask_in_a_fresh_slot(sandbox)  # now in slot seen + 1
    day = 86_400 // sandbox.slot_seconds
    decided = seen + day - 5  # the fifth slot after it is the one a day after ``seen``
    sandbox.advance_to(sandbox.slot_start(decided - 1))
    policy = RecordingPolicy(book_policy=True, books_ahead=True)
    lead = sandbox.slot_seconds  # plan at once: this test is not about the timing
    runtime = _runtime(sandbox, owner, agent, tmp_path, policy=policy, plan_lead_seconds=lead)
    runtime.step(sandbox.dev.now())

    (context,) = policy.contexts
    assert context.slot == decided
    lag = runtime.decider.link.plan_lag_slots()
    assert len(context.later_books) == day - lag  # up to the newest final book
    offer = Order(str(ask), Side.SELL, 0, 2_000)
    assert context.later_books[4] == (offer,)
    # only there (other tests of this module's chain may have ordered in the other slots)
    assert [i for i, book in enumerate(context.later_books) if offer in book] == [4]


@pytest.fixture(scope="module")
def book_model_file(tmp_path_factory: pytest.TempPathFactory, model: BookModel) -> Path:
    """The small June book model exported as the shipped one is (sell kWh read only)."""
    from agents.policies.book_model_onnx import export_book_model

    path = tmp_path_factory.mktemp("book") / "book-model.onnx"
    export_book_model(model.with_shrink((0.0, 0.0, 1.0, 0.0)), path)
    return path


def test_a_book_model_file_loads_as_the_learned_planner(book_model_file: Path) -> None:
    policy = load_policy(book_model_file)
    assert policy.name == "mpc_book_learned"
    assert getattr(policy, "book_policy", False) is True
    assert getattr(policy, "books_ahead", False) is True


def test_the_learned_planner_plans_on_the_day_earlier_books_without_a_pv_record(
    sandbox: Sandbox, tmp_path: Path, book_model_file: Path
) -> None:
    owner, agent = _pair(sandbox)
    _fresh_slot(sandbox)
    lead = sandbox.slot_seconds  # plan at once: this test is not about the timing
    runtime = _runtime(
        sandbox,
        owner,
        agent,
        tmp_path,
        policy=load_policy(book_model_file),
        plan_lead_seconds=lead,
        battery=BatterySpec(capacity_kwh=6.0, power_kw=3.0),
    )
    slot = runtime.slot_at(sandbox.dev.now()) + 1
    assert runtime.step(sandbox.dev.now()).decided_slot == slot
    (decision,) = [e for e in _log(tmp_path) if e["event"] == "decision"]
    assert (decision["policy"], decision["later_market"]) == ("mpc_book_learned", "day_earlier")


def test_a_residual_onnx_policy_corrects_the_planned_setpoint(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from agents.prosumer import PLANNED_OBS_DIM
    from agents.rl.algorithms import RESIDUAL_REACH

    # out = obs @ 0 + 0.4: the residual action 0.4 whatever the observation.
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["obs", "w", "b"], ["out"])],
        "residual",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", PLANNED_OBS_DIM])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 1])],
        [
            helper.make_tensor(
                "w", TensorProto.FLOAT, [PLANNED_OBS_DIM, 1], [0.0] * PLANNED_OBS_DIM
            ),
            helper.make_tensor("b", TensorProto.FLOAT, [1], [0.4]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "residual_ppo.onnx"
    onnx.save(model, str(path))

    policy = load_policy(path)
    assert getattr(policy, "book_policy", False) is True
    context = _context(())
    planned = book_setpoint(context)
    decision = policy.decide(context)
    assert decision.battery == pytest.approx(planned + RESIDUAL_REACH * 0.4, abs=1e-6)
    assert decision.battery != pytest.approx(planned, abs=1e-6)  # the correction is applied


def test_a_residual_zip_policy_is_a_book_policy_moving_the_plan_within_its_reach(
    tmp_path: Path,
) -> None:
    import gymnasium as gym
    from gymnasium import spaces
    from stable_baselines3 import PPO

    from agents.prosumer import PLANNED_OBS_DIM
    from agents.rl.algorithms import RESIDUAL_REACH

    class Residual(gym.Env[np.ndarray, np.ndarray]):
        observation_space = spaces.Box(-np.inf, np.inf, (PLANNED_OBS_DIM,), np.float32)
        action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    path = tmp_path / "residual_ppo.zip"
    PPO("MlpPolicy", Residual(), n_steps=8, batch_size=8, device="cpu").save(path)

    policy = load_policy(path)
    assert getattr(policy, "book_policy", False) is True
    context = _context(())
    planned = book_setpoint(context)
    assert abs(policy.decide(context).battery - planned) <= RESIDUAL_REACH + 1e-9


def test_a_late_window_longer_than_slot_and_settlement_is_refused(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from agents.errors import ConfigError

    owner, agent = _pair(sandbox)
    with pytest.raises(ConfigError, match="late_seconds"):
        _runtime(sandbox, owner, agent, tmp_path, late_seconds=2 * 900 + 1)
    assert _runtime(sandbox, owner, agent, tmp_path).late_seconds == 450  # half of settlement


def test_book_policy_plans_the_next_slot_only_in_the_lead_before_it_starts(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    owner, agent = _pair(sandbox)
    runtime = _runtime(
        sandbox, owner, agent, tmp_path, policy=load_policy("mpc_book"), plan_lead_seconds=60
    )
    _fresh_slot(sandbox)
    upcoming = sandbox.current_slot() + 1
    assert runtime.step(sandbox.dev.now()).decided_slot is None  # its book two back still fills
    assert runtime.step(sandbox.slot_start(upcoming) - 60).decided_slot == upcoming


def test_a_plan_lead_longer_than_a_slot_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    from agents.errors import ConfigError

    owner, agent = _pair(sandbox)
    with pytest.raises(ConfigError, match="plan_lead_seconds"):
        _runtime(sandbox, owner, agent, tmp_path, plan_lead_seconds=sandbox.slot_seconds + 1)
