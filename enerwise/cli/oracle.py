"""``enerwise oracle``: read meters, listen to MQTT, run the oracle, audit batches."""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import signal
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from enerwise.cli.console import console, err_console, stdout_is_terminal
from enerwise.cli.options import DeploymentFile, JsonFlag, OracleConfig, RpcUrl
from enerwise.cli.output import log_to_stderr, print_json, print_json_line
from oracles.errors import OracleConfigError, OracleError, PayloadError, VerificationError

if TYPE_CHECKING:
    from rich.table import Table

app = typer.Typer(
    help="Meter oracles: read meters, sign readings, submit them, audit archived batches.",
    no_args_is_help=True,
)


def _logging(level: str = "INFO") -> None:
    log_to_stderr(level)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # its frame dumps are noise here


def _endpoint(text: str, default_port: int, what: str) -> tuple[str, int]:
    from oracles.sources.base import parse_endpoint

    try:
        return parse_endpoint(text, default_port)
    except ValueError:
        raise OracleConfigError(f"{what} must be HOST:PORT, not {text!r}") from None


# ---------------------------------------------------------------------------------- read
@app.command("read")
def read(
    modbus: Annotated[str, typer.Option("--modbus", help="HOST:PORT of the Modbus TCP meter.")],
    unit: Annotated[int, typer.Option("--unit", min=0, max=255, help="Modbus unit id.")] = 1,
    map_name: Annotated[
        str, typer.Option("--map", help="Shipped map name (sdm630, sunspec203) or a map file.")
    ] = "sdm630",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the meter.")] = 3.0,
    json_out: JsonFlag = False,
) -> None:
    """Read one sample from a Modbus TCP meter through a register map."""
    from rich.table import Table

    from oracles.maps import load_map
    from oracles.sources.modbus import ModbusConnection, ModbusSource

    _logging("WARNING")
    host, port = _endpoint(modbus, 502, "--modbus")
    register_map = load_map(map_name)

    async def once() -> dict[str, Any]:
        connection = ModbusConnection(host, port, timeout=timeout, retries=0)
        try:
            sample = await ModbusSource(connection, unit, register_map).read()
        finally:
            connection.close()
        return {**sample.as_json(), "unit": unit, "map": register_map.name}

    data = asyncio.run(once())
    if json_out:
        print_json(data)
        return
    table = Table(title=f"{register_map.name} at {host}:{port} unit {unit}")
    table.add_column("value")
    table.add_column("reading", justify="right")
    for key, value in data.items():
        table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else str(value))
    console.print(table)


# ---------------------------------------------------------------------------------- listen
def _json_settings(
    fmt: str,
    import_path: str | None,
    import_unit: str,
    export_path: str | None,
    export_unit: str,
    power_path: str | None,
) -> Any:
    """The ``--format json`` field paths (None for the other formats)."""
    from pydantic import ValidationError

    from oracles.payloads import JsonFormatSettings

    if fmt != "json":
        return None
    if import_path is None:
        raise OracleConfigError("--format json needs --import-path")
    try:
        return JsonFormatSettings.model_validate(
            {
                "import_path": import_path,
                "import_unit": import_unit,
                "export_path": export_path,
                "export_unit": export_unit,
                "power_path": power_path,
            }
        )
    except ValidationError as exc:
        raise OracleConfigError(f"json format: {exc.errors()[0]['msg']}") from None


@app.command("listen")
def listen(
    mqtt: Annotated[str, typer.Option("--mqtt", help="HOST:PORT of the broker.")],
    topic: Annotated[list[str], typer.Option("--topic", help="Topic (wildcards allowed).")],
    fmt: Annotated[str, typer.Option("--format", help="tasmota, shelly or json.")] = "tasmota",
    count: Annotated[int, typer.Option("--count", min=1, help="Stop after N readings.")] = 1,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 60.0,
    component: Annotated[str | None, typer.Option(help="Shelly component, e.g. em1data:1.")] = None,
    import_path: Annotated[
        str | None, typer.Option(help="json: path of the import register.")
    ] = None,
    import_unit: Annotated[str, typer.Option(help="json: Wh, kWh or MWh.")] = "Wh",
    export_path: Annotated[
        str | None, typer.Option(help="json: path of the export register.")
    ] = None,
    export_unit: Annotated[str, typer.Option(help="json: Wh, kWh or MWh.")] = "Wh",
    power_path: Annotated[str | None, typer.Option(help="json: path of the power (W).")] = None,
    username: Annotated[str | None, typer.Option(help="Broker user name.")] = None,
    password_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the broker password.")
    ] = None,
    tls: Annotated[bool, typer.Option("--tls", help="Connect with TLS.")] = False,
    ca_certs: Annotated[Path | None, typer.Option(help="CA bundle for TLS.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Print the readings parsed from MQTT messages (one JSON object per line with --json)."""
    from oracles.payloads import make_format
    from oracles.sources.mqtt import BrokerSettings, MqttSubscriber

    _logging("ERROR")  # a broker that does not answer is the one error line, not a warning too
    host, port = _endpoint(mqtt, 1883, "--mqtt")
    json_settings = _json_settings(fmt, import_path, import_unit, export_path, export_unit,
                                   power_path)  # fmt: skip
    payload_format = make_format(fmt, json_settings=json_settings, component=component)
    password = os.environ.get(password_env) if password_env else None
    if password_env and password is None:
        raise OracleConfigError(f"environment variable {password_env} is not set")
    settings = BrokerSettings(
        host=host,
        port=port,
        username=username,
        password=password,
        tls=tls,
        ca_certs=str(ca_certs) if ca_certs else None,
        client_id=f"enerwise-listen-{uuid.uuid4().hex[:8]}",
        clean_session=True,
    )
    found: queue.Queue[dict[str, Any]] = queue.Queue()
    subscriber = MqttSubscriber(settings)

    def handle(msg_topic: str, payload: bytes, received_at: float) -> None:
        parsed = payload_format.parse(msg_topic, payload)
        if parsed.import_wh is None:
            return
        found.put(
            {
                "topic": msg_topic,
                "import_wh": round(parsed.import_wh),
                "export_wh": round(parsed.export_wh or 0.0),
                "power_w": parsed.power_w,
                **parsed.extras,
                "device_time": parsed.device_time,
                "received_at": received_at,
            }
        )

    for t in topic:
        subscriber.add_topic(t, handle)
    subscriber.start()
    try:
        deadline = time.monotonic() + timeout
        subscriber.wait_connected(min(timeout, 10.0))
        printed = 0
        while printed < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PayloadError(f"received {printed} of {count} readings in {timeout:.0f} s")
            try:
                item = found.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            printed += 1
            if json_out:
                print_json_line(item)
            else:
                console.print(
                    f"{item['topic']}: import {item['import_wh']} Wh, export "
                    f"{item['export_wh']} Wh, power {item['power_w']} W",
                    highlight=False,
                )
    finally:
        subscriber.stop()


# ---------------------------------------------------------------------------------- run
def _slot_line(snapshot: dict[str, Any]) -> str:
    """A slot boundary of ``oracle run`` as one plain line of a log."""
    meters = "; ".join(
        f"{m['name']} {m['state']} seq {m['seq']} import {m['import_wh']} Wh export "
        f"{m['export_wh']} Wh" + (f" errors {m['errors']}" if m["errors"] else "")
        for m in snapshot["meters"]
    )
    tx = f", last tx {snapshot['last_tx']}" if snapshot["last_tx"] else ""
    error = f", submit error: {snapshot['submit_error']}" if snapshot["submit_error"] else ""
    return (
        f"slot {snapshot['boundary']}: outbox {snapshot['outbox_depth']} pending{tx}{error}; "
        f"{meters}"
    )


def _table(snapshot: dict[str, Any]) -> Table:
    from rich.table import Table

    table = Table(
        title=f"slot {snapshot['boundary']} - outbox {snapshot['outbox_depth']} pending"
        + (f" - last tx {snapshot['last_tx'][:12]}.." if snapshot["last_tx"] else ""),
        caption=f"submit error: {snapshot['submit_error']}" if snapshot["submit_error"] else None,
    )
    for column in (
        "meter",
        "source",
        "state",
        "seq",
        "import Wh",
        "export Wh",
        "power W",
        "errors",
    ):
        table.add_column(column, justify="right" if column[0].islower() is False else "left")
    for m in snapshot["meters"]:
        style = {"ok": "green", "on hold": "red", "no key": "red"}.get(m["state"], "yellow")
        table.add_row(
            m["name"],
            m["source"],
            f"[{style}]{m['state']}[/]",
            str(m["seq"]),
            str(m["import_wh"] if m["import_wh"] is not None else "-"),
            str(m["export_wh"] if m["export_wh"] is not None else "-"),
            f"{m['power_w']:.0f}" if m["power_w"] is not None else "-",
            str(m["errors"]),
        )
    return table


@app.command("run")
def run(
    config: OracleConfig = None,
    provision: Annotated[
        Path | None,
        typer.Option(
            "--provision",
            help="A meter's provisioning file (`enerwise operator meter add --generate-key`).",
        ),
    ] = None,
    slots: Annotated[int | None, typer.Option(help="Stop after N slots (default: run).")] = None,
    clock: Annotated[
        str,
        typer.Option(
            help="system, anvil (fast-forward chain time on anvil), or chain (follow the "
            "chain's time, moved by someone else)."
        ),
    ] = "system",
    pace: Annotated[float, typer.Option(help="anvil clock: real seconds per slot.")] = 1.0,
    table: Annotated[bool, typer.Option(help="Show the live status table.")] = True,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "INFO",
    json_out: JsonFlag = False,
) -> None:
    """Run every meter of CONFIG: read at each slot boundary, sign, persist, submit.

    ``--provision FILE`` runs the one meter of an operator's provisioning file instead.
    """
    from rich.live import Live

    from oracles.clock import AnvilClock, ChainClock, Clock, SystemClock
    from oracles.config import load_config
    from oracles.runner import build_runner

    source = config if provision is None else provision  # a provisioning file is a config
    if source is None or (config is not None and provision is not None):
        raise OracleConfigError("give exactly one of --config or --provision")
    _logging(log_level)
    cfg = load_config(source)
    chosen: Clock
    if clock == "anvil":
        chosen = AnvilClock(cfg.chain.rpc_url, pace=pace)
    elif clock == "chain":
        chosen = ChainClock(cfg.chain.rpc_url)
    elif clock == "system":
        chosen = SystemClock()
    else:
        raise OracleConfigError(f"--clock must be system, anvil or chain, not {clock!r}")

    async def main() -> dict[str, Any]:
        runner = build_runner(cfg, clock=chosen)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runner.start()
        try:
            task = asyncio.create_task(runner.run(slots=slots, stop=stop))
            if table and not json_out and stdout_is_terminal():
                with Live(_table(runner.snapshot()), console=console, refresh_per_second=2) as live:
                    while not task.done():
                        await asyncio.wait({task}, timeout=0.5)
                        live.update(_table(runner.snapshot()))
            elif table and not json_out:  # a log: one line per slot boundary
                shown = None
                while not task.done():
                    await asyncio.wait({task}, timeout=0.5)
                    snapshot = runner.snapshot()
                    if snapshot["boundary"] != shown:
                        shown = snapshot["boundary"]
                        console.out(_slot_line(snapshot), highlight=False)
            await task
            if slots is not None:
                await runner.drain(timeout=30)
            return runner.snapshot()
        finally:
            await runner.close()
            runner.outbox.close()

    snapshot = asyncio.run(main())
    if json_out:
        print_json(snapshot)


# ---------------------------------------------------------------------------------- status
@app.command("status")
def status(
    config: OracleConfig = None,
    outbox: Annotated[
        Path | None, typer.Option(help="The outbox file (instead of --config).")
    ] = None,
    errors: Annotated[int, typer.Option(help="How many recent errors to show.")] = 10,
    json_out: JsonFlag = False,
) -> None:
    """Outbox depth, last reading and hold state per meter, error counters, recent errors."""
    from rich.table import Table

    from oracles.config import load_config
    from oracles.outbox import Outbox

    path = outbox
    if path is None:
        if config is None:
            raise OracleConfigError("give --config or --outbox")
        path = load_config(config).outbox
    if not Path(path).is_file():
        raise OracleConfigError(f"no outbox at {path}: the oracle has not run yet")
    with Outbox(path) as box:
        data: dict[str, Any] = {
            "outbox": str(path),
            "depth": box.depth(),
            "totals": box.totals(),
            "meters": [
                {
                    "name": m.name,
                    "meter_id": "0x" + m.meter_id.hex(),
                    "last_seq": m.last.seq if m.last else 0,
                    "last_timestamp": m.last.timestamp if m.last else None,
                    "import_wh": m.last.import_wh if m.last else None,
                    "export_wh": m.last.export_wh if m.last else None,
                    "pending": m.pending,
                    "hold": m.hold_reason,
                }
                for m in box.meters()
            ],
            "counters": box.counters(),
            "batches": box.batches(5),
            "errors": box.recent_errors(errors),
        }
    if json_out:
        print_json(data)
        return
    console.print(
        f"outbox {data['outbox']}: [bold]{data['depth']}[/] pending, "
        f"{data['totals']['accepted']} accepted, {data['totals']['rejected']} rejected"
    )
    columns = ("meter", "seq", "timestamp", "import Wh", "export Wh", "pending", "hold")
    meters = Table(*columns, title="meters")
    for m in data["meters"]:
        meters.add_row(
            m["name"],
            str(m["last_seq"]),
            str(m["last_timestamp"]),
            str(m["import_wh"]),
            str(m["export_wh"]),
            str(m["pending"]),
            f"[red]{m['hold']}[/]" if m["hold"] else "",
        )
    console.print(meters)
    if data["counters"]:
        counters = Table(title="counters")
        counters.add_column("counter")
        counters.add_column("meter")
        counters.add_column("count", justify="right")
        for name, per_meter in sorted(data["counters"].items()):
            for meter, value in sorted(per_meter.items()):
                counters.add_row(name, meter or "-", str(value))
        console.print(counters)
    for error in data["errors"]:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(error["at"]))
        console.print(
            f"{stamp} [yellow]{error['kind']}[/] {error['meter'] or '-'}: {error['message']}",
            highlight=False,
        )


# ---------------------------------------------------------------------------------- release
@app.command("release")
def release(
    meter: Annotated[str, typer.Argument(help="Meter name (or 0x id) to release from hold.")],
    config: OracleConfig = None,
    json_out: JsonFlag = False,
) -> None:
    """Lift a meter's hold (after checking why its register went backwards)."""
    from oracles.config import load_config
    from oracles.outbox import Outbox
    from oracles.readings import meter_id_from_name

    if config is None:
        raise OracleConfigError("give the oracle config: -c FILE (or ENERWISE_ORACLE_CONFIG)")
    cfg = load_config(config)
    ids = {m.name: meter_id_from_name(m.id or m.name) for m in cfg.meters}
    meter_id = ids.get(meter) or meter_id_from_name(meter)
    with Outbox(cfg.outbox) as box:
        reason = box.hold_reason(meter_id)
        if not box.release(meter_id):
            raise OracleConfigError(f"meter {meter} is not on hold")
        box.record_error("released", meter, f"released by the operator (hold was: {reason})")
    if json_out:
        print_json({"meter": meter, "meter_id": "0x" + meter_id.hex(), "was": reason})
        return
    console.print(f"meter {meter} released (was: {reason})", highlight=False)


# ---------------------------------------------------------------------------------- verify
@app.command("verify")
def verify(
    cid: Annotated[str, typer.Argument(help="CID of an archived batch.")],
    config: OracleConfig = None,
    rpc_url: RpcUrl = None,
    registry: Annotated[str | None, typer.Option(help="MeterRegistry address.")] = None,
    deployment: DeploymentFile = None,
    archive_dir: Annotated[Path | None, typer.Option(help="Local archive folder.")] = None,
    ipfs_api: Annotated[str | None, typer.Option(help="Kubo RPC API URL.")] = None,
    from_block: Annotated[int, typer.Option(help="First block to search for events.")] = 0,
    json_out: JsonFlag = False,
) -> None:
    """Check an archived batch: its CID, every signature, and the chain's events."""
    from chain.connection import connect
    from energychain.deploy import Deployment
    from oracles.archive import Archive, KuboClient, LocalArchive
    from oracles.config import load_config
    from oracles.verify import require_ok, verify_batch

    if config is not None:
        cfg = load_config(config)
        rpc_url = rpc_url or cfg.chain.rpc_url
        registry = registry or cfg.chain.registry
        deployment = deployment or cfg.chain.deployment
        archive_dir = archive_dir or cfg.archive.dir
        ipfs_api = ipfs_api or cfg.archive.ipfs_api
        from_block = from_block or cfg.chain.from_block
    if registry is None and deployment is not None:
        registry = Deployment.load(deployment).addresses["registry"]
    if rpc_url is None or registry is None:
        raise OracleConfigError("give --config, or --rpc-url with --registry or --deployment")
    archive = Archive(
        LocalArchive(archive_dir or Path(".run/oracle/archive")),
        KuboClient(ipfs_api) if ipfs_api else None,
    )
    report = verify_batch(
        cid, archive=archive, w3=connect(rpc_url), registry=registry, from_block=from_block
    )
    if json_out:
        print_json(report.as_json())
    else:
        mark = "[green]OK[/]" if report.ok else "[red]FAILED[/]"
        console.print(
            f"{mark} {report.cid}: {report.readings} readings, {report.signatures_valid} valid "
            f"signatures, {report.accepted} accepted ({report.accepted_earlier} earlier), "
            f"rejected {report.rejected or 0}, transactions {', '.join(report.transactions)}",
            highlight=False,
        )
        for problem in report.problems:
            err_console.print(f"[red]-[/] {problem}", highlight=False)
    try:
        require_ok(report)
    except VerificationError:
        raise typer.Exit(1) from None


# ---------------------------------------------------------------------------------- simulate
@app.command("simulate")
def simulate(
    meters: Annotated[int, typer.Option(min=1, max=247, help="How many simulated meters.")] = 4,
    modbus_port: Annotated[int | None, typer.Option(help="Serve them over Modbus TCP.")] = None,
    map_name: Annotated[str, typer.Option("--map", help="Register map.")] = "sdm630",
    mqtt: Annotated[str | None, typer.Option(help="Publish them to HOST:PORT.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="tasmota, shelly or json.")] = "tasmota",
    interval: Annotated[float, typer.Option(help="MQTT publish interval (s).")] = 10.0,
    seconds: Annotated[float | None, typer.Option(help="Stop after this long.")] = None,
) -> None:
    """Serve simulated meters (unit ids 1..N, or topics tele/sim-N/SENSOR) for demos."""
    from oracles.maps import load_map
    from oracles.simulator import (
        HouseholdProfile,
        SimulatedMeter,
        SimulatedModbusServer,
        SimulatedMqttPublisher,
    )

    _logging("INFO")
    if modbus_port is None and mqtt is None:
        raise OracleConfigError("give --modbus-port and/or --mqtt")
    start = time.time()
    fleet = {i: SimulatedMeter(HouseholdProfile(seed=i), start=start) for i in range(1, meters + 1)}

    async def main() -> None:
        server = None
        publisher = None
        if modbus_port is not None:
            server = SimulatedModbusServer(fleet, load_map(map_name), port=modbus_port)
            await server.start()
            console.print(f"Modbus: 127.0.0.1:{server.port}, unit ids 1..{meters} ({map_name})")
        if mqtt is not None:
            host, port = _endpoint(mqtt, 1883, "--mqtt")
            topics = {f"tele/sim-{i}/SENSOR": m for i, m in fleet.items()}
            publisher = SimulatedMqttPublisher(topics, fmt, host=host, port=port)
            publisher.start()
            console.print(f"MQTT: {host}:{port}, topics tele/sim-1..{meters}/SENSOR ({fmt})")
        try:
            while seconds is None or time.time() - start < seconds:
                if publisher is not None:
                    publisher.publish_all(time.time())
                await asyncio.sleep(interval if publisher is not None else 1.0)
        finally:
            if server is not None:
                await server.stop()
            if publisher is not None:
                publisher.stop()

    asyncio.run(main())


__all__ = ["OracleError", "app"]
