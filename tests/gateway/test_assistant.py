"""What Home Assistant shows of a household: the day's figures from its agent's state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from agents.community import TRUTHFUL
from agents.live.state import AgentState, OrderEntry, SlotPlan
from devices.interface import BatteryCommand, BatteryMode
from energychain.calendar import SlotCalendar
from gateway.assistant import battery_figures, day_figures

MIDNIGHT_BERLIN = 1_799_017_200  # 2027-01-04 00:00 in Berlin (23:00 UTC the day before)
UNIT = 1_000_000.0  # a 6-decimal payment token


@dataclass
class Link:
    calendar: SlotCalendar

    def unit(self) -> float:
        return UNIT


def _state(tmp_path: Path, orders: dict[int, list[OrderEntry]]) -> AgentState:
    state = AgentState(tmp_path / "agent.json", {}, 0.0)
    for slot, entries in orders.items():
        state.slots[slot] = SlotPlan(TRUTHFUL, 0, 0.0, 0, 0, orders=entries)
    return state


def test_the_days_fills_are_bought_sold_and_saved_against_the_tariff(tmp_path: Path) -> None:
    calendar = SlotCalendar(epoch=MIDNIGHT_BERLIN - 10 * 900, slot_seconds=900)
    yesterday, today = 5, 12  # slot 12 starts after local midnight, slot 5 before
    state = _state(
        tmp_path,
        {
            yesterday: [OrderEntry("buy", 1, 9_000, "claimed", filled_wh=9_000, amount=1)],
            today: [
                OrderEntry("buy", 1, 2_000, "claimed", filled_wh=2_000, amount=400_000),
                OrderEntry("sell", 1, 1_000, "claimed", filled_wh=1_000, amount=150_000),
                OrderEntry("sell", 1, 500, "placed"),
            ],
        },
    )
    figures = day_figures(
        state,
        Link(calendar),  # type: ignore[arg-type]
        lambda _t: (0.30, 0.08),
        now=calendar.start(today) + 60,
        time_zone="Europe/Berlin",
    )
    assert (figures.bought_today_kwh, figures.sold_today_kwh) == (2.0, 1.0)
    # bought 2 kWh for 0.40 instead of 0.60; sold 1 kWh for 0.15 instead of 0.08
    assert figures.savings_eur == pytest.approx(0.20 + 0.07)
    assert figures.pending_orders == 1


def test_a_discharge_is_a_negative_battery_plan() -> None:
    plan = battery_figures(BatteryCommand(BatteryMode.DISCHARGE, 2_500.0))
    assert plan == (-2_500.0, BatteryMode.DISCHARGE)
    assert battery_figures(None) == (0.0, BatteryMode.SELF_CONSUMPTION)
