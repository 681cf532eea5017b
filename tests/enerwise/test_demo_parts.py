"""The demo's small parts without a chain: configuration, ports, the replayed day's clock,
meter profiles, the agents' daily limits."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime
from types import SimpleNamespace

import numpy as np
import pytest

from agents.community import BatterySpec
from agents.data.calendar import slot_of_year
from enerwise.demo import DemoConfig, DemoError, check_port_free
from enerwise.demo.community import DayPlan, agent_limits, replay_start
from enerwise.demo.meters import PlanProfile


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slots": 0}, "--slots"),
        ({"households": 1}, "--households"),
        ({"port": 0}, "--port"),
        ({"data_day": date(2019, 6, 21)}, "2018"),
        ({"market": "dark-pool"}, "--market must be one of open, sealed"),
    ],
)
def test_config_refuses_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DemoError, match=message):
        DemoConfig(**kwargs)  # type: ignore[arg-type]


def test_port_in_use_names_the_port() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(DemoError, match=f"port {port} .* in use"):
            check_port_free(port)
    check_port_free(port)  # released: free again


def test_replayed_day_starts_at_midnight_utc_plus_one_of_the_data_day() -> None:
    t0 = replay_start(date(2018, 6, 21), today=date(2026, 11, 27))
    assert datetime.fromtimestamp(t0, UTC) == datetime(2026, 6, 20, 23, 0, tzinfo=UTC)
    assert t0 % 900 == 0
    june_21 = (date(2018, 6, 21) - date(2018, 1, 1)).days
    assert slot_of_year(t0) == june_21 * 96
    assert slot_of_year(t0 + 13 * 3600 + 900) == june_21 * 96 + 53  # 14:15 local


def test_replayed_day_never_lies_in_the_future_or_a_leap_year() -> None:
    t0 = replay_start(date(2018, 12, 31), today=date(2026, 3, 1))
    assert datetime.fromtimestamp(t0 + 3600, UTC).date() == date(2025, 12, 31)
    t1 = replay_start(date(2018, 3, 1), today=date(2028, 3, 5))  # 2028 is a leap year
    assert datetime.fromtimestamp(t1 + 3600, UTC).date() == date(2027, 3, 1)


def test_plan_profile_is_constant_within_a_slot() -> None:
    nets = [400, -200, 0]
    profile = PlanProfile(lambda k: nets[k], start=1_000, slot_seconds=900, slots=3)
    assert profile.power_w(1_000) == 1_600.0  # 400 Wh in a quarter hour
    assert profile.power_w(1_899) == 1_600.0
    assert profile.power_w(1_900) == -800.0
    assert profile.power_w(5_000) == 0.0  # after the day: the last slot's value
    assert profile.power_w(0) == 1_600.0


def test_agent_limits_are_a_days_own_need_with_headroom_not_the_vault() -> None:
    """1 kW load and 2 kW PV over two replayed slots, a 10 kWh battery, 0.30 EUR/kWh at the top:
    24 kWh load and 48 kWh PV a day; with the battery and 50 % headroom the agent may buy
    51 kWh (15.30 EUR) and sell 87 kWh per rolling day."""
    battery = BatterySpec(capacity_kwh=10.0, power_kw=5.0)
    community = SimpleNamespace(
        households=(SimpleNamespace(battery=battery),),
        load_kw=np.full((1, 96), 1.0),
        pv_kw=np.full((1, 96), 2.0),
        n_slots=96,
    )
    plan = DayPlan(community=community, data_start=40, slots=2, net_wh=np.zeros((1, 2)))  # type: ignore[arg-type]
    assert agent_limits(plan, 0, top_price=300_000) == (15_300_000, 87_000)
