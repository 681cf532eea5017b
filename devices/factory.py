"""The devices of a household file, built and connected (the central system started for an
OCPP charger)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from devices.battery.controller import SunSpecBattery
from devices.charger.controller import OcppCharger
from devices.charger.csms import CentralSystem, EventHook
from devices.heatpump.controller import ModbusSgReadyHeatPump, MqttSgReadyHeatPump
from devices.household import Household, ModbusHeatPumpConfig
from devices.modbus import ModbusLink
from oracles.clock import Clock
from oracles.sources.mqtt import BrokerSettings

logger = logging.getLogger(__name__)

AnyDevice = SunSpecBattery | OcppCharger | ModbusSgReadyHeatPump | MqttSgReadyHeatPump


def broker_settings(address: str, username: str | None, password_env: str | None) -> BrokerSettings:
    host, _, port = address.rpartition(":")
    return BrokerSettings(
        host=host or address,
        port=int(port) if port.isdigit() else 1883,
        username=username,
        password=os.environ.get(password_env) if password_env else None,
        clean_session=True,
    )


@dataclass
class HouseholdDevices:
    """A household's devices and the central system its charger connects to."""

    devices: list[AnyDevice]
    csms: CentralSystem | None = None
    links: list[ModbusLink] = field(default_factory=list)

    def by_kind(self, kind: str) -> Any:
        return next((d for d in self.devices if d.kind == kind), None)

    async def start(self) -> None:
        if self.csms is not None:
            await self.csms.start()

    async def close(self) -> None:
        for device in self.devices:
            try:
                await device.close()
            except Exception:  # closing must reach every device
                logger.exception("closing %s", device.name)
        if self.csms is not None:
            await self.csms.stop()


def build_devices(
    household: Household, *, clock: Clock | None = None, on_event: EventHook | None = None
) -> HouseholdDevices:
    """Device objects for every device of ``household`` (nothing is contacted yet)."""
    devices: list[AnyDevice] = []
    links: dict[tuple[str, int], ModbusLink] = {}

    def link(host: str, port: int, timeout: float = 2.0) -> ModbusLink:
        return links.setdefault((host, port), ModbusLink(host, port, timeout=timeout))

    config = household.devices
    name = household.household
    if config.battery is not None:
        b = config.battery
        devices.append(
            SunSpecBattery(
                f"{name}-battery",
                link(b.host, b.port, b.timeout),
                b.unit,
                b.protocol,
                capacity_wh=b.capacity_wh,
                revert_seconds=b.revert_seconds,
                clock=clock,
            )
        )
    csms = None
    if config.charger is not None:
        c = config.charger
        csms = CentralSystem(
            c.listen.host,
            c.listen.port,
            authorized_tokens=set(c.tokens) if c.tokens is not None else None,
            clock=clock,
            on_event=on_event,
        )
        devices.append(OcppCharger(f"{name}-charger", csms, c.charge_point_id))
    if config.heat_pump is not None:
        h = config.heat_pump
        if isinstance(h, ModbusHeatPumpConfig):
            devices.append(
                ModbusSgReadyHeatPump(
                    f"{name}-heat-pump",
                    link(h.host, h.port),
                    h.unit,
                    relay_coil=h.relay_coil,
                    temperature_register=h.temperature_register,
                    power_register=h.power_register,
                )
            )
        else:
            broker = broker_settings(h.broker, h.username, h.password_env)
            devices.append(MqttSgReadyHeatPump(f"{name}-heat-pump", broker, h.topic))
    return HouseholdDevices(devices, csms, list(links.values()))
