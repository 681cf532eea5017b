"""A home battery controlled over Modbus TCP through SunSpec (model 124, or models 802 + 704).

:class:`SunSpecBattery` finds its models by walking the device's SunSpec chain, reads the state
of charge and power, writes a :class:`~devices.interface.BatteryCommand`, and reads every
written register back: a device that answers with an exception code raises
:class:`~devices.errors.WriteRefusedError` (``code`` 3 for an illegal data value), one that keeps
another value raises :class:`~devices.errors.ReadBackMismatchError`.

Model 124 has no power register: its ``power_w`` is estimated from the state of charge's change
between reads. Every command carries a revert timeout (model 124 ``InOutWRte_RvrtTms``, model 704
``WSetRvrtTms`` with ``WSetEnaRvrt = 0``): if the controller stops writing, the device returns
to self-consumption on its own.

How a command maps on the registers:

=================  ==============================================  ===========================
command            model 124 (StorCtl_Mod, InWRte, OutWRte)        model 704 (WSetEna, WSet)
=================  ==============================================  ===========================
self_consumption   0, 100 %, 100 %                                 0
hold               3, 0 %, 0 %                                     1, 0 W
charge p           3, p/WChaMax, -p/WChaMax, ChaGriSet = grid      1, -p
discharge p        3, -p/WChaMax, p/WChaMax                        1, +p
=================  ==============================================  ===========================
"""

from __future__ import annotations

import logging
from typing import Literal

from devices.errors import DeviceConfigError, DeviceValueError, ReadBackMismatchError
from devices.interface import BatteryCommand, BatteryMode, BatteryState, DeviceKind
from devices.modbus import ModbusLink
from devices.sunspec import Registers, SunSpecMap, discover, load_map
from oracles.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

BatteryProtocol = Literal["model124", "model802_704"]
#: model 124: the shortest window over which the power is estimated from the state of charge.
ESTIMATE_SECONDS = 30.0
_MAPS: dict[str, str] = {"model124": "sunspec124", "model802_704": "sunspec802_704"}
#: model 124: the rate block OutWRte .. ChaGriSet, written in one request.
_RATES_124 = ("OutWRte", "InWRte", "InOutWRte_WinTms", "InOutWRte_RvrtTms", "InOutWRte_RmpTms",
              "ChaGriSet")  # fmt: skip
#: model 704: the active power block WSetEna .. WSetRvrtTms, written in one request.
_WSET_704 = ("WSetEna", "WSetMod", "WSet", "WSetRvrt", "WSetPct", "WSetPctRvrt", "WSetEnaRvrt",
             "WSetRvrtTms")  # fmt: skip


class SunSpecBattery:
    """A battery behind a SunSpec Modbus TCP interface (the :class:`~devices.interface.Device`
    protocol for batteries)."""

    kind: DeviceKind = "battery"

    def __init__(
        self,
        name: str,
        link: ModbusLink,
        unit: int,
        protocol: BatteryProtocol = "model124",
        *,
        capacity_wh: float | None = None,
        revert_seconds: int = 60,
        clock: Clock | None = None,
    ) -> None:
        if protocol not in _MAPS:
            raise DeviceConfigError(f"battery {name}: unknown protocol {protocol!r}")
        if protocol == "model124" and capacity_wh is None:
            raise DeviceConfigError(f"battery {name}: model 124 needs capacity_wh (no register)")
        self.name = name
        self.link = link
        self.unit = unit
        self.protocol = protocol
        self.map: SunSpecMap = load_map(_MAPS[protocol])
        self.capacity_wh = capacity_wh
        self.revert_seconds = revert_seconds
        self.clock = clock or SystemClock()
        self.bases: dict[int, int] = {}
        self.lengths: dict[int, int] = {}
        self._soc_history: list[tuple[float, float]] = []
        self._power_estimate = 0.0

    @property
    def description(self) -> str:
        return f"battery {self.name} (SunSpec {self.protocol}, {self.link.endpoint}/{self.unit})"

    # ------------------------------------------------------------------ connection
    async def connect(self) -> None:
        models = await discover(self.link, self.unit)
        for model_id, length in self.map.models.items():
            if model_id not in models:
                raise DeviceValueError(
                    f"{self.description}: the device has no SunSpec model {model_id} "
                    f"(it has {', '.join(map(str, sorted(models)))})"
                )
            base, found = models[model_id]
            if found != length:
                raise DeviceValueError(
                    f"{self.description}: model {model_id} has length {found}, expected {length}"
                )
            self.bases[model_id] = base
            self.lengths[model_id] = length

    async def _registers(self, *model_ids: int) -> Registers:
        if not self.bases:
            await self.connect()
        registers: Registers = {}
        for model_id in model_ids or tuple(self.bases):
            base = self.bases[model_id]
            words = await self.link.read_holding(self.unit, base, self.lengths[model_id] + 2)
            registers.update({base + i: w for i, w in enumerate(words)})
        return registers

    async def close(self) -> None:
        self.link.close()

    # ------------------------------------------------------------------ state
    def _value(self, name: str, registers: Registers) -> float:
        return self.map.value(name, registers, self.bases)

    def _state(self, registers: Registers) -> BatteryState:
        if self.protocol == "model124":
            soc = self._value("ChaState", registers)
            wmax = self._value("WChaMax", registers)
            mode_bits = int(self._value("StorCtl_Mod", registers))
            charge = self._value("InWRte", registers) / 100.0 * wmax
            discharge = self._value("OutWRte", registers) / 100.0 * wmax
            if mode_bits == 0:
                mode, setpoint = BatteryMode.SELF_CONSUMPTION, 0.0
            elif discharge < 0:
                mode, setpoint = BatteryMode.CHARGE, -discharge
            elif charge < 0:
                mode, setpoint = BatteryMode.DISCHARGE, charge
            elif charge == 0 and discharge == 0:
                mode, setpoint = BatteryMode.HOLD, 0.0
            else:
                mode, setpoint = BatteryMode.SELF_CONSUMPTION, 0.0  # limits only
            power = self._power_from_soc(soc)
            estimated = True
            capacity = float(self.capacity_wh or 0.0)
            max_charge = max_discharge = wmax
            revert = int(self._value("InOutWRte_RvrtTms", registers))
        else:
            soc = self._value("SoC", registers)
            power = self._value("W", registers)
            estimated = False
            enabled = self._value("WSetEna", registers) == 1
            der = self._value("WSet", registers) if enabled else 0.0
            if not enabled:
                mode, setpoint = BatteryMode.SELF_CONSUMPTION, 0.0
            elif der == 0:
                mode, setpoint = BatteryMode.HOLD, 0.0
            elif der < 0:
                mode, setpoint = BatteryMode.CHARGE, -der
            else:
                mode, setpoint = BatteryMode.DISCHARGE, -der
            capacity = self._value("WHRtg", registers)
            max_charge = self._value("WChaRteMax", registers)
            max_discharge = self._value("WDisChaRteMax", registers)
            revert = int(self._value("WSetRvrtTms", registers))
        if not 0.0 <= soc <= 100.0:
            raise DeviceValueError(f"{self.description}: state of charge {soc:g} % is not 0..100")
        return BatteryState(
            soc_pct=soc,
            power_w=power,
            mode=mode,
            setpoint_w=setpoint,
            capacity_wh=capacity,
            max_charge_w=max_charge,
            max_discharge_w=max_discharge,
            revert_seconds=revert,
            power_estimated=estimated,
        )

    def _power_from_soc(self, soc: float) -> float:
        """Model 124 has no power register: the power follows from the state of charge's change
        over at least ``ESTIMATE_SECONDS`` (W, charge positive, after the battery's losses)."""
        now = self.clock.now()
        self._soc_history.append((now, soc))
        while len(self._soc_history) > 2 and now - self._soc_history[1][0] >= ESTIMATE_SECONDS:
            self._soc_history.pop(0)
        then, before = self._soc_history[0]
        if self.capacity_wh and now - then >= 1.0:
            self._power_estimate = (soc - before) / 100.0 * self.capacity_wh * 3_600 / (now - then)
        return self._power_estimate

    async def read(self) -> BatteryState:
        return self._state(await self._registers())

    # ------------------------------------------------------------------ writes
    def _words(
        self, names: tuple[str, ...], values: dict[str, float], regs: Registers
    ) -> list[int]:
        words: list[int] = []
        for name in names:
            point = self.map.point(name)
            sf = self.map.scale(name, regs, self.bases) if point.sf else 0
            words += self.map.encode(name, values[name], sf)
        return words

    def _plan_124(self, command: BatteryCommand, regs: Registers) -> tuple[dict[str, float], int]:
        wmax = self._value("WChaMax", regs)
        pct = min(100.0, max(0.0, command.power_w) / wmax * 100.0) if wmax > 0 else 0.0
        mode, charge, discharge, grid = {
            BatteryMode.SELF_CONSUMPTION: (0, 100.0, 100.0, 0),
            BatteryMode.HOLD: (3, 0.0, 0.0, 0),
            BatteryMode.CHARGE: (3, pct, -pct, 1),
            BatteryMode.DISCHARGE: (3, -pct, pct, 0),
        }[command.mode]
        values = {
            "OutWRte": discharge,
            "InWRte": charge,
            "InOutWRte_WinTms": 0.0,
            "InOutWRte_RvrtTms": float(command.revert_seconds),
            "InOutWRte_RmpTms": 0.0,
            "ChaGriSet": float(grid),
        }
        return values, mode

    def _plan_704(self, command: BatteryCommand) -> dict[str, float]:
        power = max(0.0, command.power_w)
        enabled, der = {
            BatteryMode.SELF_CONSUMPTION: (0, 0.0),
            BatteryMode.HOLD: (1, 0.0),
            BatteryMode.CHARGE: (1, -power),
            BatteryMode.DISCHARGE: (1, power),
        }[command.mode]
        return {
            "WSetEna": float(enabled),
            "WSetMod": 1.0,
            "WSet": float(round(der)),
            "WSetRvrt": 0.0,
            "WSetPct": 0.0,
            "WSetPctRvrt": 0.0,
            "WSetEnaRvrt": 0.0,
            "WSetRvrtTms": float(command.revert_seconds),
        }

    async def apply(self, command: BatteryCommand) -> BatteryState:
        """Write ``command``, then read every written register back."""
        regs = await self._registers()
        if self.protocol == "model124":
            values, mode = self._plan_124(command, regs)
            written = {**values, "StorCtl_Mod": float(mode)}
            words = self._words(_RATES_124, values, regs)
            await self.link.write_registers(
                self.unit, self.map.address(_RATES_124[0], self.bases), words
            )
            await self.link.write_registers(
                self.unit, self.map.address("StorCtl_Mod", self.bases), [mode]
            )
        else:
            written = self._plan_704(command)
            words = self._words(_WSET_704, written, regs)
            await self.link.write_registers(
                self.unit, self.map.address(_WSET_704[0], self.bases), words
            )
        after = await self._registers()
        self._verify(written, regs, after)
        return self._state(after)

    def _verify(self, written: dict[str, float], before: Registers, after: Registers) -> None:
        for name, wanted in written.items():
            point = self.map.point(name)
            sf = self.map.scale(name, before, self.bases) if point.sf else 0
            wanted_raw = round(wanted / 10.0**sf)
            got_raw = self.map.raw(name, after, self.bases)
            if got_raw != wanted_raw:
                got = float("nan") if got_raw is None else got_raw * 10.0**sf
                raise ReadBackMismatchError(
                    f"{self.description}: {name} written as {wanted:g} reads back as {got:g}",
                    point=name,
                    wanted=wanted,
                    got=got,
                )

    async def safe_default(self) -> None:
        """Self-consumption without a revert timer: the device's own rule from now on."""
        await self.apply(BatteryCommand(BatteryMode.SELF_CONSUMPTION, revert_seconds=0))
