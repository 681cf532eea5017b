"""The on-chain agent runtime on anvil: delegated orders, limits, restarts, claims, RPC errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from agents.community import BatterySpec
from agents.forecasting.base import HORIZON
from agents.runtime import (
    AgentRuntime,
    AgentRuntimeError,
    SlotForecast,
    TruthfulPolicy,
    load_policy,
)
from chain.deploy import MarketSettings
from market.sandbox import Participant, Sandbox
from wallet.delegation import AgentGrant, grant_agent

BUDGET = 5_000_000  # 5 EUR of the 6-decimals test euro per day
MAX_BUY_TICK = 1_500  # 0.08 + 1500 * 0.0001 = 0.23 EUR/kWh
MIN_SELL_TICK = 200


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


def _pair(sandbox: Sandbox, budget: int = BUDGET) -> tuple[Participant, Participant]:
    owner, agent = sandbox.new_participant(), sandbox.new_participant()
    sandbox.fund_payment(owner, 20_000_000)
    grant = AgentGrant(
        agent.address, budget, MAX_BUY_TICK, MIN_SELL_TICK, sandbox.dev.now() + 86_400 * 3
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
    **kwargs: Any,
) -> AgentRuntime:
    return cls(
        sandbox.contracts,
        agent.sender,
        owner.address,
        TruthfulPolicy(),
        tmp_path / "state.json",
        forecaster or StaticForecaster(load_kw=2.0, pv_kw=0.0),
        log_path=tmp_path / "decisions.jsonl",
        sleep=lambda _s: None,
        **kwargs,
    )


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
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path)
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    report = runtime.step(now)

    assert report.decided_slot == slot
    (placed,) = report.placed
    # Truthful bids retail (0.30 EUR/kWh = tick 2200); the owner allows at most tick 1500.
    assert (placed.side, placed.tick, placed.qty_wh) == ("buy", MAX_BUY_TICK, 500)
    stored = sandbox.contracts.market.call("order", placed.order_id)
    assert (stored[0], stored[2], stored[3], stored[4]) == (owner.address, True, 1_500, 500)
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
    assert delegation.spent_today == -(-217 * sandbox.params.price(MAX_BUY_TICK) // 1000)


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


def test_claims_its_orders_once_the_slot_is_cleared(sandbox: Sandbox, tmp_path: Path) -> None:
    owner, agent = _pair(sandbox)
    runtime = _runtime(sandbox, owner, agent, tmp_path, clear_slots=True)
    sandbox.advance_to(sandbox.slot_start(sandbox.current_slot() + 2))  # a slot of its own
    now = sandbox.dev.now()
    slot = runtime.slot_at(now) + 1
    (bought,) = runtime.step(now).placed
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


def test_the_shipped_onnx_policy_decides_from_runtime_observations() -> None:
    from agents.community import Decision
    from agents.runtime import MarketSnapshot, SlotContext

    policy = load_policy(Path(__file__).parents[2] / "agents" / "pretrained" / "ppo.onnx")
    battery = BatterySpec(capacity_kwh=6.0, power_kw=3.0)
    context = SlotContext(
        slot=10,
        slot_start=1_700_000_000,
        soc_kwh=3.0,
        battery=battery,
        forecast=StaticForecaster(0.4, 1.2).value,
        market=MarketSnapshot(),
    )
    decision = policy.decide(context)
    assert isinstance(decision, Decision)
    assert -1.0 <= decision.battery <= 1.0 and 0.0 <= decision.buy_frac <= 1.0


def test_replay_forecasts_follow_the_chain_clock_on_the_simulated_year(
    community: Any, forecasts: Any
) -> None:
    from agents.data.calendar import slot_of_year
    from agents.runtime import ReplayForecaster

    h = community.battery_households()[0]
    replay = ReplayForecaster(community, h, forecasts[h])
    # 2026-06-01 11:00 UTC is 12:00 in UTC+1: day 151 of the year, slot 48 of the day.
    stamp = 1_780_311_600
    assert slot_of_year(stamp) == 151 * 96 + 48
    forecast = replay.forecast(stamp)
    assert forecast.slot_pv_kw == pytest.approx(community.pv_kw[h, 151 * 96 + 48])
    assert np.all(forecast.retail > forecast.feed_in)
