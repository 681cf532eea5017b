"""What a demo run is: its size, its clock, where it serves, and its one error type."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from datetime import date
from pathlib import Path

#: The year the community's real data (SMARD prices, DWD weather, BDEW load) is taken from.
DATA_YEAR = 2018
#: Default day of the data year replayed in simulated time: long, sunny, with PV export.
DEFAULT_DATA_DAY = date(DATA_YEAR, 6, 21)
#: The market modes a demo can run (``energychain.deploy.MARKET_MODES``).
DEMO_MARKETS = ("open", "sealed")
#: A sealed demo's reveal window: five minutes after each gate closure, so that a slot's
#: reveals and its clearing fit between two slot boundaries (the loop clears a sealed slot at
#: the boundary after its reveals).
DEMO_REVEAL_SECONDS = 300


class DemoError(RuntimeError):
    """The demo cannot run as asked (port in use, bad flag, missing service): one line."""


@dataclass(frozen=True)
class DemoConfig:
    """One demo run.

    Attributes:
        slots: 15-minute slots to trade (96 is one day).
        households: members of the community (2..500).
        seed: seed of the community draw and of every key (same seed, same run).
        realtime: wall-clock slots instead of moving the chain's clock slot by slot.
        keep_running: serve the API (and dApp) after the last slot until interrupted.
        port: the API's port on 127.0.0.1.
        report_dir: where to write ``report.json`` and the PNG plots (None: nowhere).
        data_day: the day of the data year whose weather, load and prices are replayed
            (None: 21 June in simulated time, today's date in real time).
        start_hour: local hour (UTC+1, the data's time axis) of the day at which simulated
            time starts: 10 by default, so that even a short run has PV export to trade (a
            run from midnight spends its first hours with nothing to sell).
        modbus_meters: households whose meters are served by a real Modbus TCP server.
        mqtt_meters: households whose meters publish to the MQTT broker (when reachable).
        mqtt_broker: ``host:port`` of the MQTT broker.
        dapp_dir: the dApp's static build, served at ``/`` when it exists.
        deposit_eur: euros each household deposits in the market vault at the start.
        device_households: agent households that own a Modbus battery, an OCPP charger and a
            heat pump their agent really drives (simulated devices on loopback; simulated
            time only).
        market: ``open`` (orders in the clear until gate closure) or ``sealed`` (commitments,
            revealed after gate closure; docs/contracts.md, the sealed mode).
    """

    slots: int = 96
    households: int = 20
    seed: int = 0
    realtime: bool = False
    keep_running: bool = False
    port: int = 8000
    report_dir: Path | None = None
    data_day: date | None = None
    start_hour: int = 10
    modbus_meters: int = 3
    mqtt_meters: int = 3
    mqtt_broker: str = "127.0.0.1:1883"
    dapp_dir: Path = Path("dapp/out")
    deposit_eur: int = 200
    device_households: int = 2
    market: str = "open"

    def __post_init__(self) -> None:
        if self.slots < 1:
            raise DemoError(f"--slots must be at least 1, not {self.slots}")
        if not 2 <= self.households <= 500:
            raise DemoError(f"--households must be in 2..500, not {self.households}")
        if not 1 <= self.port <= 65535:
            raise DemoError(f"--port must be in 1..65535, not {self.port}")
        if not 0 <= self.start_hour <= 23:
            raise DemoError(f"--start-hour must be in 0..23, not {self.start_hour}")
        if not 0 <= self.device_households <= 10:
            raise DemoError(f"--device-households must be in 0..10, not {self.device_households}")
        if self.market not in DEMO_MARKETS:
            modes = ", ".join(DEMO_MARKETS)
            raise DemoError(f"--market must be one of {modes}, not {self.market!r}")
        if self.modbus_meters < 0 or self.mqtt_meters < 0:
            raise DemoError("the numbers of Modbus and MQTT meters cannot be negative")
        if self.data_day is not None and self.data_day.year != DATA_YEAR:
            raise DemoError(f"the data day must lie in {DATA_YEAR}, the year of the shipped data")


def check_port_free(port: int, host: str = "127.0.0.1") -> None:
    """Raise :class:`DemoError` when ``host:port`` cannot be bound (something listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DemoError(
                    f"port {port} on {host} is in use: stop what listens there or pass --port"
                ) from None
            raise DemoError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
