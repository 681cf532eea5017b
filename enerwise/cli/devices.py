"""``enerwise devices``: check a household file, read its devices, drive them, simulate them."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from enerwise.cli.console import console, err_console
from enerwise.cli.options import HouseholdConfig, JsonFlag
from enerwise.cli.output import log_to_stderr, print_json, print_json_line

app = typer.Typer(
    help="Household devices: battery (SunSpec), EV charger (OCPP), heat pump (SG-Ready).",
    no_args_is_help=True,
)


def _logging() -> None:
    log_to_stderr("INFO")
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _fields(state: Any) -> str:
    if isinstance(state, dict):
        return " ".join(f"{k}={v}" for k, v in state.items() if v is not None)
    return str(state)


@app.command("check")
def check(config: HouseholdConfig, json_out: JsonFlag = False) -> None:
    """Check a household file: one line per problem, exit 1 when malformed."""
    from devices.household import load_household

    household = load_household(config)
    devices = household.devices
    summary = {
        "household": household.household,
        "meters": [m.name for m in household.meters],
        "battery": devices.battery.protocol if devices.battery else None,
        "charger": devices.charger.version if devices.charger else None,
        "heat_pump": devices.heat_pump.kind if devices.heat_pump else None,
        "tariff": household.tariff.kind,
        "modes": {"agent": household.modes.agent.value, "charger": household.modes.charger.value},
    }
    if json_out:
        print_json(summary)
    else:
        console.print(f"{config}: household {household.household} is valid")


@app.command("read")
def read(config: HouseholdConfig, json_out: JsonFlag = False) -> None:
    """Read every device once (a charger needs to connect to the central system first)."""
    from devices.errors import DeviceError
    from devices.factory import build_devices
    from devices.household import load_household

    household = load_household(config)

    async def scenario() -> dict[str, Any]:
        devices = build_devices(household)
        states: dict[str, Any] = {}
        await devices.start()
        try:
            for device in devices.devices:
                try:
                    states[device.name] = _plain(await device.read())
                except DeviceError as exc:
                    states[device.name] = {"error": str(exc)}
        finally:
            await devices.close()
        return states

    states = asyncio.run(scenario())
    if json_out:
        print_json(states)
    else:
        for name, state in states.items():
            console.print(f"{name}: {json.dumps(state)}")


@app.command("run")
def run(
    config: HouseholdConfig,
    plan: Annotated[Path, typer.Option("--plan", help="JSON plan: what each device should do.")],
    cycles: Annotated[int | None, typer.Option(min=1, help="Stop after N cycles.")] = None,
    interval: Annotated[
        float | None, typer.Option(min=0.1, help="Seconds between cycles (default: the file's).")
    ] = None,
    watchdog: Annotated[
        bool | None, typer.Option("--watchdog/--no-watchdog", help="Start the watchdog.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Drive the devices: read, apply the plan, read back, every interval; Ctrl-C releases them.

    One line per cycle on stdout (with --json one JSON object per cycle).
    """
    from devices.controller import CycleReport
    from devices.household import load_household
    from devices.service import load_plan, run_devices

    _logging()
    household = load_household(config)
    device_plan = load_plan(plan, household)

    def show(report: CycleReport) -> None:
        states = {d.name: _plain(d.after) for d in report.devices if d.after is not None}
        events = [e.line() for e in report.events]
        ms = round(report.seconds * 1e3, 1)
        if json_out:
            print_json_line({"t": report.started, "ms": ms, "states": states, "events": events})
            return
        parts = [f"{name}: {_fields(state)}" for name, state in states.items()]
        parts += [str(event) for event in events]
        console.out(f"cycle {ms} ms; " + "; ".join(parts), highlight=False)

    try:
        summary = asyncio.run(
            run_devices(
                household,
                device_plan,
                config_path=config,
                cycles=cycles,
                interval=interval,
                watchdog=watchdog,
                on_report=show,
            )
        )
    except KeyboardInterrupt:
        err_console.print("stopped: devices returned to their safe defaults")
        raise typer.Exit(130) from None
    err_console.print(f"{summary.cycles} cycles, {len(summary.events)} events")


@app.command("simulate")
def simulate(
    write: Annotated[Path, typer.Option("--write", help="Write a household.yaml for them here.")],
    protocol: Annotated[str, typer.Option(help="model124 or model802_704.")] = "model124",
    charger_port: Annotated[int, typer.Option(help="Where the central system will listen.")] = 9000,
) -> None:
    """Serve a simulated battery, heat pump and charge point until Ctrl-C."""
    import yaml

    from devices.battery.simulator import PROTOCOLS
    from devices.errors import DeviceConfigError
    from devices.simulation import SimulatedHousehold

    if protocol not in PROTOCOLS:
        raise DeviceConfigError(f"--protocol: {protocol!r}: use {' or '.join(PROTOCOLS)}")
    _logging()

    async def scenario() -> None:
        sim = SimulatedHousehold(protocol=protocol)
        await sim.start()
        write.write_text(yaml.safe_dump(sim.config(charger_port=charger_port), sort_keys=False))
        err_console.print(f"simulated devices up; household file {write}")
        try:
            point = await sim.connect_charger(f"ws://127.0.0.1:{charger_port}", timeout=3_600)
            await point.plug_in()
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    try:
        asyncio.run(scenario())
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
