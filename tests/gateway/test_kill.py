"""The household gateway killed with SIGKILL: its watchdog returns the devices it forced to their
safe defaults. The gateway is ``enerwise agent run --config household.yaml`` trading on anvil."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from chain.local_node import free_port
from devices.interface import SgReadyState
from devices.simulation import SimulatedHousehold
from oracles.simulator import ConstantProfile
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class Served:
    """The simulated household, served from a thread of the test process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sim = SimulatedHousehold(site=ConstantProfile(500.0))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@pytest.fixture
def served() -> Iterator[Served]:
    rig = Served()
    rig.run(rig.sim.start())
    yield rig
    rig.run(rig.sim.stop())
    rig.loop.call_soon_threadsafe(rig.loop.stop)
    rig.thread.join(5)


def _cheap_now() -> dict[str, Any]:
    """A time-of-use tariff whose cheapest hours are the next two (local time UTC+1)."""
    local = datetime.now(UTC) + timedelta(hours=1)
    start = local.replace(minute=0, second=0, microsecond=0)
    cheap, dear = start.strftime("%H:%M"), (start + timedelta(hours=2)).strftime("%H:%M")
    periods = sorted(
        [{"start": cheap, "import_eur_kwh": 0.15}, {"start": dear, "import_eur_kwh": 0.40}],
        key=lambda p: p["start"],
    )
    return {"kind": "time_of_use", "export_eur_kwh": 0.08, "periods": periods}


def test_the_watchdog_releases_the_devices_when_the_gateway_is_killed(
    served: Served, household_file: Any, home: Path, keys: Any
) -> None:
    port = free_port()
    config = served.sim.config(charger_port=port, household="house-k")
    path = household_file(
        config,
        agent={"policy": "truthful", "state": str(home / "kill-agent.json"), "step_seconds": 1},
        tariff=_cheap_now(),
        control={"interval_seconds": 1, "watchdog": True},
    )
    log = home / "gateway.log"
    gateway = subprocess.Popen(
        [sys.executable, "-m", "enerwise", "agent", "run", "--config", str(path)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115 - closed with the process
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        served.run(served.sim.connect_charger(f"ws://127.0.0.1:{port}", timeout=90), timeout=100)
        sim = served.sim
        wait_until(
            lambda: (
                sim.heat_pump.state == SgReadyState.BOOST  # the cheapest hours: boost
                and sim.charge_point is not None
                and sim.charge_point.profile is not None
                and (home / "kill-agent.json").is_file()
            ),
            90,
            "the gateway to drive the devices and the agent to start",
        )
        state = json.loads((home / "kill-agent.json").read_text())
        assert state["agent"] == keys.agent.address  # the agent of this gateway is trading
        os.kill(gateway.pid, signal.SIGKILL)
        gateway.wait(10)
        wait_until(
            lambda: sim.heat_pump.state == SgReadyState.NORMAL,
            30,
            "the watchdog to return the heat pump to SG-Ready 2",
        )
        assert sim.registers.get("StorCtl_Mod") == 0  # the battery in self-consumption
        assert sim.registers.get("InOutWRte_RvrtTms") == 0  # released, not waiting on its timer
        assert "the controller is gone" in log.read_text()
    finally:
        if gateway.poll() is None:
            os.kill(gateway.pid, signal.SIGKILL)
            gateway.wait(10)
