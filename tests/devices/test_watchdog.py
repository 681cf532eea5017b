"""No device is left in a forced state when the controller dies: the watchdog releases the
devices it can reach, the battery's revert timeout and the charger's profile expiry do it on
the devices' side. The controller is `enerwise devices run`, killed with SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from chain.local_node import free_port
from devices.interface import SgReadyState
from devices.simulation import SimulatedHousehold
from oracles.simulator import ConstantProfile
from tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


class JumpClock:
    """Wall-clock time that a test can move forward (the devices' clock, not the controller's)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    async def sleep_until(self, t: float) -> None:
        while (delay := t - self.now()) > 0:
            await asyncio.sleep(min(delay, 0.5))


@dataclass
class Devices:
    """The simulated household, served from a thread of the test process."""

    sim: SimulatedHousehold
    clock: JumpClock
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@pytest.fixture
def devices() -> Iterator[Devices]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    clock = JumpClock()
    rig = Devices(SimulatedHousehold(clock=clock, site=ConstantProfile(500.0)), clock, loop)
    rig.run(rig.sim.start())
    yield rig
    rig.run(rig.sim.stop())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def _start_controller(
    devices: Devices, tmp_path: Path, *, watchdog: bool, cycles: int | None = None
) -> subprocess.Popen[bytes]:
    port = free_port()
    config = devices.sim.config(charger_port=port)
    config["control"] = {"interval_seconds": 1, "watchdog": watchdog}
    (tmp_path / "household.yaml").write_text(yaml.safe_dump(config))
    plan = {
        "battery": {"mode": "charge", "power_w": 3000},
        "charger": {"limit_w": 5000},
        "heat_pump": {"state": 4},
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    controller = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "enerwise",
            "devices",
            "run",
            "--config",
            str(tmp_path / "household.yaml"),
            "--plan",
            str(tmp_path / "plan.json"),
            "--interval",
            "0.5",
            *(["--cycles", str(cycles)] if cycles else []),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "controller.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    devices.run(devices.sim.connect_charger(f"ws://127.0.0.1:{port}", timeout=60), timeout=70)
    sim = devices.sim
    wait_until(
        lambda: (
            sim.heat_pump.state == SgReadyState.FORCED
            and sim.registers.get("StorCtl_Mod") == 3
            and sim.charge_point is not None
            and sim.charge_point.profile is not None
        ),
        60,
        "the controller to force every device",
    )
    return controller


def _kill(controller: subprocess.Popen[bytes]) -> None:
    os.kill(controller.pid, signal.SIGKILL)
    controller.wait(10)


@contextlib.contextmanager
def _running_controller(
    devices: Devices, tmp_path: Path, *, watchdog: bool, cycles: int | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A controller process for the test's body, killed after it if still running."""
    controller = _start_controller(devices, tmp_path, watchdog=watchdog, cycles=cycles)
    try:
        yield controller
    finally:
        if controller.poll() is None:
            _kill(controller)


def test_the_watchdog_releases_the_devices_when_the_controller_is_killed(
    devices: Devices, tmp_path: Path
) -> None:
    with _running_controller(devices, tmp_path, watchdog=True) as controller:
        sim = devices.sim
        assert sim.registers.get("InOutWRte_RvrtTms") == 30
        _kill(controller)
        wait_until(
            lambda: (
                sim.heat_pump.state == SgReadyState.NORMAL and sim.registers.get("StorCtl_Mod") == 0
            ),
            30,
            "the watchdog to release the battery and the heat pump",
        )
        assert sim.battery.reverts == 0  # the watchdog did it, not the battery's timer
        assert sim.registers.get("InOutWRte_RvrtTms") == 0
        assert "the controller is gone" in (tmp_path / "controller.log").read_text()


def test_without_a_watchdog_the_battery_and_the_charger_release_themselves(
    devices: Devices, tmp_path: Path
) -> None:
    with _running_controller(devices, tmp_path, watchdog=False) as controller:
        sim = devices.sim
        point = sim.charge_point
        assert point is not None
        _kill(controller)
        devices.clock.offset += 31  # past the battery's revert timeout
        sim.registers.read(sim.registers.end - 2, 1)  # any request: the device looks at its timer
        assert sim.battery.reverts == 1
        assert sim.registers.get("StorCtl_Mod") == 0
        devices.clock.offset += 900  # past the charging profile's validTo
        assert point.limit_w(devices.clock.now()) == point.default_w
        # the SG-Ready relays have no timer of their own: that is the watchdog's job
        assert sim.heat_pump.state == SgReadyState.FORCED


def test_a_controller_that_stops_releases_every_device_and_its_watchdog_stands_down(
    devices: Devices, tmp_path: Path
) -> None:
    with _running_controller(devices, tmp_path, watchdog=True, cycles=12) as controller:
        assert controller.wait(60) == 0
        sim = devices.sim
        assert sim.heat_pump.state == SgReadyState.NORMAL
        assert sim.registers.get("StorCtl_Mod") == 0
        assert sim.charge_point is not None and sim.charge_point.profile is None
        time.sleep(0.5)
        assert "the controller is gone" not in (tmp_path / "controller.log").read_text()


def test_the_watchdog_releases_the_devices_when_the_beats_stop(
    devices: Devices, tmp_path: Path
) -> None:
    sim = devices.sim
    config = sim.config(charger_port=free_port())
    del config["devices"]["charger"]
    (tmp_path / "household.yaml").write_text(yaml.safe_dump(config))
    sim.heat_pump.set_state(SgReadyState.FORCED)
    watchdog = subprocess.Popen(
        [sys.executable, "-m", "devices.watchdog", str(tmp_path / "household.yaml"),
         "--timeout", "1"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert watchdog.stdin is not None
        watchdog.stdin.write(b"beat\n")
        watchdog.stdin.flush()
        wait_until(lambda: sim.heat_pump.state == SgReadyState.NORMAL, 20, "the hang to be noticed")
        assert watchdog.poll() is None  # it waits for the controller to come back
        watchdog.stdin.write(b"stop\n")
        watchdog.stdin.close()
        assert watchdog.wait(10) == 0
        assert b"no beat from the controller" in watchdog.stderr.read()  # type: ignore[union-attr]
    finally:
        if watchdog.poll() is None:
            watchdog.kill()
            watchdog.wait(5)
