"""The gateway's device loop without a chain, on the simulated house: the charger's plan mode
carried out over a night, and Home Assistant on the machine's Mosquitto (127.0.0.1:1883):
discovery, states, and the mode select changing what the devices are told."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from chain.local_node import free_port
from devices.charger.simulator import SimulatedChargePoint
from devices.household import AgentMode, load_household
from devices.simulation import SimulatedHousehold
from gateway.service import Gateway
from oracles.clock import VirtualClock
from tests.devices.test_homeassistant import Listener

MIDNIGHT = 1_799_020_800  # 2027-01-04 00:00 UTC
START = MIDNIGHT - 1_800  # 23:30 the evening before
STOP = MIDNIGHT + 4 * 3_600  # 04:00
HOLD_AT = MIDNIGHT + 3 * 3_600  # Home Assistant's select says "hold" at 03:00
TARGET_WH = 10_000


@dataclass
class Night:
    gateway: Gateway
    lines: list[dict[str, Any]]
    energy: list[tuple[float, float]] = field(default_factory=list)
    """(time, the car's energy register) after every cycle."""
    retained: dict[str, bytes] = field(default_factory=dict)
    prefix: str = ""

    def charged(self, start: float, end: float) -> float:
        inside = [e for t, e in self.energy if start <= t <= end]
        return inside[-1] - inside[0]


def _household(tmp_path: Path, sim: SimulatedHousehold, prefix: str) -> Path:
    data = sim.config(charger_port=free_port(), household="house-9")
    data["time_zone"] = "UTC"
    data["modes"] = {
        "agent": "auto",
        "charger": "plan",
        "plan": {"departure": "03:00", "target_wh": TARGET_WH},
    }
    data["tariff"] = {
        "kind": "time_of_use",
        "utc_offset_hours": 0,
        "export_eur_kwh": 0.08,
        "periods": [
            {"start": "00:00", "import_eur_kwh": 0.40},
            {"start": "01:00", "import_eur_kwh": 0.10},
            {"start": "02:00", "import_eur_kwh": 0.40},
        ],
    }
    data["home_assistant"] = {
        "broker": "127.0.0.1:1883",
        "discovery_prefix": f"{prefix}/homeassistant",
        "base_topic": f"{prefix}/enerwise",
    }
    data["control"] = {"interval_seconds": 60, "watchdog": False}
    path = tmp_path / "household.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


async def _night(tmp_path: Path) -> Night:
    prefix = f"enerwise-test-{uuid.uuid4().hex[:12]}"
    clock = VirtualClock(START, pace=0.005)
    sim = SimulatedHousehold(clock=clock)
    await sim.start()
    path = _household(tmp_path, sim, prefix)
    household = load_household(path)
    listener = Listener(prefix)
    lines: list[dict[str, Any]] = []
    gateway = Gateway(household, config_path=path, clock=clock, on_line=lines.append)
    night = Night(gateway, lines, prefix=prefix)
    port = household.devices.charger.listen.port  # type: ignore[union-attr]

    plugged = asyncio.Event()
    ticks: set[asyncio.Task[None]] = set()

    async def car() -> None:
        point = await sim.connect_charger(f"ws://127.0.0.1:{port}", timeout=30)
        await point.plug_in()
        plugged.set()

    async def charge(point: SimulatedChargePoint, t: float) -> None:
        await point.tick()
        night.energy.append((t, point.energy_wh))

    def on_line(line: dict[str, Any]) -> None:
        lines.append(line)
        point = sim.charge_point
        if "t" in line and point is not None and plugged.is_set():
            # the car charges up to each cycle's end (in step with the gateway: the virtual
            # clock never jumps while a cycle runs)
            tick = asyncio.get_running_loop().create_task(charge(point, line["t"]))
            ticks.add(tick)
            tick.add_done_callback(ticks.discard)
        if "t" in line and line["t"] >= HOLD_AT and not any("agent_mode" in x for x in lines):
            topic = f"{prefix}/enerwise/house-9/agent_mode/set"
            listener.client.publish(topic, "hold", qos=1)

    gateway.on_line = on_line
    task = asyncio.create_task(car())
    try:
        await gateway.run(cycles=(STOP - START) // 60)
    finally:
        task.cancel()
        await sim.stop()
        await asyncio.sleep(0.2)  # the last retained messages reach the listener
        night.retained = dict(listener.messages)
        listener.clear_retained()
        listener.stop()
    return night


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    return asyncio.run(_night(tmp_path_factory.mktemp("night")))


def test_the_plan_mode_charges_the_target_in_the_cheapest_hour_before_departure(
    night: Night,
) -> None:
    cheap = night.charged(MIDNIGHT + 3_600, MIDNIGHT + 7_200)
    dear = night.charged(START, MIDNIGHT + 3_600) + night.charged(MIDNIGHT + 7_200, STOP)
    assert cheap == pytest.approx(TARGET_WH, rel=0.1)
    assert dear < 0.05 * TARGET_WH


def test_the_plan_is_redone_when_the_car_starts_charging(night: Night) -> None:
    plans = [line["charge_plan"] for line in night.lines if "charge_plan" in line]
    assert plans[0]["slots_charging"] > 0
    assert all(p["departure"] == MIDNIGHT + 3 * 3_600 for p in plans if p["remaining_wh"] > 0)


def test_discovery_and_states_reach_the_broker(night: Night) -> None:
    config = night.retained[
        f"{night.prefix}/homeassistant/select/enerwise_house-9/agent_mode/config"
    ]
    assert json.loads(config)["options"] == ["auto", "hold", "self_consumption"]
    base = f"{night.prefix}/enerwise/house-9"
    assert night.retained[f"{base}/availability"] == b"offline"  # the service stopped
    assert night.retained[f"{base}/bought_today"] == b"0.0"  # no chain: nothing traded


def test_the_select_puts_the_devices_on_hold(night: Night) -> None:
    base = f"{night.prefix}/enerwise/house-9"
    assert {"agent_mode": "hold"} in night.lines
    assert night.gateway.control.controller.mode == AgentMode.HOLD
    assert night.retained[f"{base}/agent_mode"] == b"hold"
    assert night.retained[f"{base}/battery_mode"] == b"hold"
