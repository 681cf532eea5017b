"""The oracle loop: at each slot boundary read, validate, sign, persist; drain to the chain.

:class:`OracleRunner` ties the parts together::

    boundary t ─> read every meter (concurrently) ─> validate against its last signed reading
              ─> sign (EIP-712, the meter's key) ─> outbox.append (one fsynced transaction)
              ─> wake the submitter (a separate task: batches, archive, submitReadings)

Network sends only ever read from the outbox, so a crash at any point loses nothing that was
signed: on restart the runner resumes from the outbox (and from the chain when the chain knows
a later reading than the outbox, e.g. after the outbox was lost). Every problem becomes one log
line and one counter in the outbox (``enerwise oracle status``); a bad meter never stops the
others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from energychain.calendar import SlotCalendar
from energychain.meter_reading import Domain, MeterReading
from oracles.archive import Archive, KuboClient, LocalArchive
from oracles.clock import Clock, SystemClock
from oracles.config import MeterConfig, MqttSourceConfig, OracleConfig, load_signer
from oracles.errors import (
    ModbusReadError,
    MqttConnectionError,
    NoFreshSampleError,
    OracleConfigError,
    OracleError,
    ReadingInvalidError,
    RegisterDecreasedError,
    SignerMissingError,
    SourceError,
    SubmissionError,
)
from oracles.maps import load_map
from oracles.outbox import Outbox
from oracles.payloads import make_format
from oracles.readings import SignedReading, meter_id_from_name, sign_reading
from oracles.registry import RegistryGateway, Web3Registry
from oracles.sources.base import MeterSource, Sample, parse_endpoint
from oracles.sources.modbus import ModbusConnection, ModbusSource
from oracles.sources.mqtt import BrokerSettings, MqttSource, MqttSubscriber
from oracles.submitter import Submitter
from oracles.validation import LastReading, ValidationSettings, validate_sample
from wallet.signer import Signer

logger = logging.getLogger(__name__)


@dataclass
class MeterRuntime:
    """One meter of a running oracle, with what the status table shows."""

    name: str
    meter_id: bytes
    source: MeterSource
    signer: Signer | None
    capacity_wh_per_slot: int | None = None
    signer_problem: str | None = None
    state: str = "starting"
    last_sample: Sample | None = None
    last_error: str | None = None
    errors: int = 0
    signed: int = 0


@dataclass
class SlotReport:
    boundary: int
    signed: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)


def _error_kind(exc: OracleError) -> str:
    if isinstance(exc, ReadingInvalidError):
        return exc.reason
    if isinstance(exc, ModbusReadError):
        return "modbus_error"
    if isinstance(exc, NoFreshSampleError):
        return "no_fresh_sample"
    if isinstance(exc, MqttConnectionError):
        return "broker_down"
    if isinstance(exc, SignerMissingError):
        return "signer_missing"
    return "source_error"


class OracleRunner:
    """Reads, signs and persists at every slot boundary; submits in the background."""

    def __init__(
        self,
        meters: list[MeterRuntime],
        *,
        outbox: Outbox,
        domain: Domain,
        schedule: SlotCalendar,
        clock: Clock | None = None,
        registry: RegistryGateway | None = None,
        submitter: Submitter | None = None,
        validation: ValidationSettings | None = None,
        read_delay: float = 1.0,
        read_timeout: float = 10.0,
        max_clock_skew: float = 60.0,
        concurrency: int = 64,
        subscribers: list[MqttSubscriber] | None = None,
    ) -> None:
        self.meters = meters
        self.outbox = outbox
        self.domain = domain
        self.schedule = schedule
        self.clock = clock or SystemClock()
        self.registry = registry
        self.submitter = submitter
        self.validation = validation or ValidationSettings()
        self.read_delay = read_delay
        self.read_timeout = read_timeout
        self.max_clock_skew = max_clock_skew
        self.subscribers = subscribers or []
        self._semaphore = asyncio.Semaphore(concurrency)
        self._last: dict[bytes, LastReading | None] = {}
        self._work = asyncio.Event()
        self.slots_done = 0
        self.last_boundary: int | None = None
        self._stopping = False

    # ------------------------------------------------------------------ start and stop
    async def start(self) -> None:
        """Bind the outbox to the domain, load each meter's last reading, open the sources, and
        sign again the readings held because their predecessor never landed (e.g. readings
        signed by a key the meter admin rotated away while the oracle ran: see :meth:`rebind`)."""
        self.outbox.bind_domain(self.domain)
        for meter in self.meters:
            self.outbox.ensure_meter(meter.meter_id, meter.name)
            if meter.signer is None:
                meter.state = "no key"
        if self.registry is not None:
            await asyncio.to_thread(self._sync_with_chain)
            await asyncio.to_thread(self.rebind)
        for meter in self.meters:
            self._last[meter.meter_id] = self.outbox.last_reading(meter.meter_id)
            await meter.source.start()
        for subscriber in self.subscribers:
            subscriber.start()

    def _sync_with_chain(self) -> None:
        assert self.registry is not None
        for meter in self.meters:
            try:
                on_chain = self.registry.meter(meter.meter_id)
            except SubmissionError as exc:
                logger.warning("chain not reachable at start (%s): using the outbox only", exc)
                return
            if not on_chain.registered:
                self._problem(meter, "meter_unregistered", "not registered on chain")
                continue
            if meter.capacity_wh_per_slot is None:
                meter.capacity_wh_per_slot = on_chain.capacity_wh_per_slot
            if meter.signer is not None and on_chain.signer.lower() != meter.signer.address.lower():
                self._problem(
                    meter,
                    "signer_mismatch",
                    f"key {meter.signer.address} is not the registered signer {on_chain.signer}",
                )
            if on_chain.last is not None and self.outbox.adopt_chain_state(
                meter.meter_id, on_chain.last
            ):
                logger.warning(
                    "meter %s: the chain knows seq %d, the outbox less: continuing from the chain",
                    meter.name,
                    on_chain.last.seq,
                )

    def _problem(self, meter: MeterRuntime, kind: str, message: str) -> None:
        logger.error("meter %s: %s", meter.name, message)
        self.outbox.record_error(kind, meter.name, message)
        meter.last_error, meter.errors = message, meter.errors + 1

    async def close(self) -> None:
        for meter in self.meters:
            with contextlib.suppress(Exception):
                await meter.source.close()
        for subscriber in self.subscribers:
            subscriber.stop()

    # ------------------------------------------------------------------ one slot
    async def read_slot(self, boundary: int) -> SlotReport:
        """Read, validate, sign and persist every meter's reading for ``boundary``."""
        report = SlotReport(boundary)
        skew = await self._clock_skew(boundary)
        if skew is not None:
            report.errors.append(("clock_skew", "", skew))
        else:
            results = await asyncio.gather(
                *(self._read_meter(m, boundary, report) for m in self.meters)
            )
            signed = [r for r in results if r is not None]
            if signed:
                self.outbox.append(signed)  # durable before anything is sent
                for item in signed:
                    r = item.reading
                    self._last[r.meter_id] = LastReading(
                        r.seq, r.timestamp, r.import_wh, r.export_wh
                    )
            report.signed = len(signed)
        for kind, meter_name, message in report.errors:
            logger.warning("slot %d: meter %s: %s (%s)", boundary, meter_name or "-", message, kind)
        if report.errors:
            self._record_errors(report.errors)
        if report.signed:
            self.outbox.count("signed", "", report.signed)
        self.slots_done += 1
        self.last_boundary = boundary
        self._work.set()
        return report

    def _record_errors(self, errors: list[tuple[str, str, str]]) -> None:
        for kind, meter, message in errors:
            self.outbox.record_error(kind, meter, message)

    async def _clock_skew(self, boundary: int) -> str | None:
        if self.registry is None:
            return None
        try:
            chain_time = await asyncio.to_thread(self.registry.chain_time)
        except SubmissionError:
            return None  # chain down: the outbox keeps the readings, time is checked on chain
        lag = chain_time - self.clock.now()
        if lag > self.max_clock_skew:
            return (
                f"local clock is {lag:.0f} s behind the chain (limit {self.max_clock_skew:.0f} s): "
                "no readings signed"
            )
        return None

    async def _read_meter(
        self, meter: MeterRuntime, boundary: int, report: SlotReport
    ) -> SignedReading | None:
        def fail(kind: str, message: str) -> None:
            meter.last_error, meter.errors = message, meter.errors + 1
            report.errors.append((kind, meter.name, message))

        if meter.signer is None:
            meter.state = "no key"
            fail("signer_missing", meter.signer_problem or "no signing key")
            return None
        hold = self.outbox.hold_reason(meter.meter_id)
        if hold is not None:
            meter.state = "on hold"
            self.outbox.count("on_hold", meter.name)
            return None
        try:
            async with self._semaphore:
                sample = await asyncio.wait_for(meter.source.read(boundary), self.read_timeout)
        except SourceError as exc:
            meter.state = "read error"
            fail(_error_kind(exc), str(exc))
            return None
        except TimeoutError:
            meter.state = "read error"
            fail("timeout", f"{meter.source.description}: no answer in {self.read_timeout:.0f} s")
            return None
        except OracleError as exc:  # e.g. a register map check
            meter.state = "read error"
            fail(_error_kind(exc), str(exc))
            return None
        meter.last_sample = sample
        last = self._last.get(meter.meter_id)
        try:
            import_wh, export_wh = validate_sample(
                sample,
                boundary,
                last,
                slot_seconds=self.schedule.slot_seconds,
                capacity_wh_per_slot=meter.capacity_wh_per_slot,
                settings=self.validation,
            )
        except RegisterDecreasedError as exc:
            self.outbox.hold(meter.meter_id, str(exc))
            meter.state = "on hold"
            fail(exc.reason, f"{exc}: meter put on hold, see `enerwise oracle release`")
            return None
        except ReadingInvalidError as exc:
            meter.state = "invalid"
            fail(exc.reason, str(exc))
            return None
        reading = MeterReading(
            meter.meter_id,
            (last.seq if last else 0) + 1,
            boundary,
            import_wh,
            export_wh,
            last.seq if last else 0,
            last.timestamp if last else 0,
        )
        try:
            signed = sign_reading(meter.signer, reading, self.domain)
        except SignerMissingError as exc:
            meter.state = "no key"
            fail("signer_missing", str(exc))
            return None
        meter.state, meter.last_error = "ok", None
        meter.signed += 1
        return signed

    # ------------------------------------------------------------------ loops
    async def run(self, *, slots: int | None = None, stop: asyncio.Event | None = None) -> None:
        """Read at every boundary from now on (``slots`` of them, or until ``stop``)."""
        self._stopping = False
        submit_task = asyncio.create_task(self._submit_loop(stop)) if self.submitter else None
        try:
            done = 0
            while slots is None or done < slots:
                if stop is not None and stop.is_set():
                    break
                boundary = self.schedule.next_boundary(self.clock.now() - self.read_delay)
                if self.last_boundary is not None and boundary <= self.last_boundary:
                    boundary = self.last_boundary + self.schedule.slot_seconds
                await self.clock.sleep_until(boundary + self.read_delay)
                await self.read_slot(boundary)
                done += 1
        finally:
            # No cancel(): a drain runs in a thread and must finish; the loop sees the flag.
            self._stopping = True
            if submit_task is not None:
                await submit_task

    async def _submit_loop(self, stop: asyncio.Event | None) -> None:
        assert self.submitter is not None

        def stopping() -> bool:
            return self._stopping or (stop is not None and stop.is_set())

        while not stopping():
            for _ in range(10):  # poll (not wait_for: Python 3.11 can swallow a cancel there)
                if self._work.is_set() or stopping():
                    break
                await asyncio.sleep(0.05)
            self._work.clear()
            if self.submitter.ready() and not stopping():
                await asyncio.to_thread(self.submitter.drain)
                await asyncio.to_thread(self.rebind)

    def rebind(self) -> int:
        """Sign again, and queue again, the readings refused because their predecessor never
        landed (it was refused itself, e.g. signed by a key rotated away meanwhile, or the
        meter's signer was rotated, which restarts its sequence): the first is bound to the
        chain's last reading of the meter, each next one to the one before. Without this a
        meter would stay stuck behind one refused reading. A meter whose registered signer is
        not the oracle's key (rotated while the oracle runs with the old key) is held: signed
        with that key its readings would be refused for good; the oracle started with the new
        key signs them (:meth:`start`). Returns how many."""
        if self.registry is None:
            return 0
        count = 0
        for meter in self.meters:
            unbound = self.outbox.unbound(meter.meter_id)
            if not unbound or meter.signer is None:
                continue
            try:
                on_chain = self.registry.meter(meter.meter_id)
            except SubmissionError:
                return count  # chain down: try again after the next drain
            if on_chain.signer.lower() != meter.signer.address.lower():
                # The meter's signer was rotated away from our key: signing again with it would
                # only get the readings refused for good (ReadingSignatureInvalid). Hold them
                # until the oracle runs with the registered key (docs/oracles.md).
                if meter.state != "signer rotated":
                    meter.state = "signer rotated"
                    self._problem(
                        meter,
                        "signer_mismatch",
                        f"key {meter.signer.address} is not the registered signer "
                        f"{on_chain.signer}: {len(unbound)} readings held until the oracle "
                        "runs with that key",
                    )
                continue
            # No baseline: (0, 0) for a meter never read, (0, its last timestamp) after a rotation.
            last = on_chain.last
            prev_seq, prev_ts = (
                (last.seq, last.timestamp) if last is not None else (0, on_chain.last_timestamp)
            )
            for queued in unbound:
                r = queued.signed.reading
                if r.seq <= prev_seq:
                    continue  # the chain moved past it: it can never land
                reading = MeterReading(
                    r.meter_id, r.seq, r.timestamp, r.import_wh, r.export_wh, prev_seq, prev_ts
                )
                try:
                    signed = sign_reading(meter.signer, reading, self.domain)
                except SignerMissingError:
                    break
                self.outbox.requeue(queued.id, signed)
                prev_seq, prev_ts = r.seq, r.timestamp
                count += 1
        if count:
            logger.warning("%d readings signed again after their predecessor was refused", count)
            self._work.set()
        return count

    async def drain(self, *, timeout: float = 30.0) -> bool:
        """Submit until the outbox is empty; False if it is not empty after ``timeout``."""
        if self.submitter is None:
            return self.outbox.depth() == 0
        deadline = time.monotonic() + timeout
        while self.outbox.depth() > 0:
            if time.monotonic() > deadline:
                return False
            if self.submitter.ready():
                await asyncio.to_thread(self.submitter.drain)
                await asyncio.to_thread(self.rebind)
            else:
                await asyncio.sleep(0.05)
        return True

    def snapshot(self) -> dict[str, Any]:
        """What the status table shows."""
        return {
            "boundary": self.last_boundary,
            "slots": self.slots_done,
            "outbox_depth": self.outbox.depth(),
            "last_tx": self.submitter.last_tx if self.submitter else None,
            "submit_error": self.submitter.last_error if self.submitter else None,
            "meters": [
                {
                    "name": m.name,
                    "source": m.source.description,
                    "state": m.state,
                    "seq": (last.seq if (last := self._last.get(m.meter_id)) else 0),
                    "import_wh": last.import_wh if last else None,
                    "export_wh": last.export_wh if last else None,
                    "power_w": m.last_sample.power_w if m.last_sample else None,
                    "errors": m.errors,
                    "last_error": m.last_error,
                }
                for m in self.meters
            ],
        }


# ---------------------------------------------------------------------------------- building
def build_registry(config: OracleConfig) -> Web3Registry:
    chain = config.chain
    registry = chain.registry
    if registry is None:
        from energychain.deploy import Deployment

        assert chain.deployment is not None
        registry = Deployment.load(Path(chain.deployment)).addresses["registry"]
    relayer = load_signer(chain.relayer, "relayer") if chain.relayer is not None else None
    return Web3Registry(chain.rpc_url, registry, relayer, from_block=chain.from_block)


def build_runner(
    config: OracleConfig,
    *,
    clock: Clock | None = None,
    registry: RegistryGateway | None = None,
    sources: Mapping[str, MeterSource] | None = None,
    signers: Mapping[str, Signer] | None = None,
) -> OracleRunner:
    """An :class:`OracleRunner` for ``config`` (connects to the chain for domain and schedule).

    ``sources`` and ``signers`` (by meter name) are what the caller already holds: a meter
    simulated in process by the caller's plan, a key held in memory (a ``supplied`` key);
    they are used instead of building the meter's source or loading its key.
    """
    clock = clock or SystemClock()
    gateway = registry if registry is not None else build_registry(config)
    domain = gateway.domain()
    outbox = Outbox(config.outbox)
    factory = _SourceFactory(clock, outbox, domain)
    meters: list[MeterRuntime] = []
    for m in config.meters:
        source = (sources or {}).get(m.name) or factory.build(m)
        signer, problem = _meter_signer(m, signers or {})
        meters.append(
            MeterRuntime(
                name=m.name,
                meter_id=meter_id_from_name(m.id or m.name),
                source=source,
                signer=signer,
                capacity_wh_per_slot=m.capacity_wh_per_slot,
                signer_problem=problem,
            )
        )
    kubo = KuboClient(config.archive.ipfs_api) if config.archive.ipfs_api else None
    archive = Archive(LocalArchive(config.archive.dir), kubo)
    submitter = Submitter(
        outbox,
        archive,
        gateway,
        domain,
        batch_size=config.chain.batch_size,
        confirmations=config.chain.confirmations,
    )
    v = config.validation
    return OracleRunner(
        meters,
        outbox=outbox,
        domain=domain,
        schedule=gateway.schedule(),
        clock=clock,
        registry=gateway,
        submitter=submitter,
        validation=ValidationSettings(v.max_sample_age, v.max_device_skew, v.max_register_wh),
        read_delay=config.read_delay,
        max_clock_skew=v.max_clock_skew,
        subscribers=list(factory.subscribers.values()),
    )


def _meter_signer(m: MeterConfig, given: Mapping[str, Signer]) -> tuple[Signer | None, str | None]:
    """The meter's signer (handed over, or loaded from its key), or None and why not."""
    if m.name in given:
        return given[m.name], None
    try:
        return load_signer(m.key, m.name), None
    except SignerMissingError as exc:
        logger.error("%s", exc)
        return None, str(exc)


class _SourceFactory:
    """Builds meters' sources from their config, sharing one connection per Modbus server and
    one subscriber per MQTT broker."""

    def __init__(self, clock: Clock, outbox: Outbox, domain: Domain) -> None:
        self.clock = clock
        self.outbox = outbox
        self.domain = domain
        self.subscribers: dict[tuple[Any, ...], MqttSubscriber] = {}
        self.connections: dict[tuple[str, int], ModbusConnection] = {}

    def build(self, m: MeterConfig) -> MeterSource:
        src = m.source
        if src.kind == "modbus":
            key = (src.host, src.port)
            if key not in self.connections:
                self.connections[key] = ModbusConnection(src.host, src.port, timeout=src.timeout)
            return ModbusSource(
                self.connections[key], src.unit, load_map(src.map), clock=self.clock
            )
        if src.kind == "mqtt":
            return self._mqtt(m.name, src)
        from oracles.simulator import SimulatedMeter, SimulatedSource, load_profile

        profile = load_profile(src.profile, **src.params)
        meter = SimulatedMeter(
            profile,
            start=self.clock.now(),
            import_wh=src.start_import_wh,
            export_wh=src.start_export_wh,
        )
        return SimulatedSource(meter, clock=self.clock, name=m.name)

    def _mqtt(self, name: str, src: MqttSourceConfig) -> MeterSource:
        try:
            host, port = parse_endpoint(src.broker, 1883)
        except ValueError as exc:
            raise OracleConfigError(f"meter {name}: broker: {exc}") from None
        sub_key = (host, port, src.username, src.tls, src.ca_certs)
        if sub_key not in self.subscribers:
            password = os.environ.get(src.password_env) if src.password_env else None
            settings = BrokerSettings(
                host=host,
                port=port,
                username=src.username,
                password=password,
                tls=src.tls,
                ca_certs=str(src.ca_certs) if src.ca_certs else None,
                certfile=str(src.certfile) if src.certfile else None,
                keyfile=str(src.keyfile) if src.keyfile else None,
                tls_insecure=src.tls_insecure,
                client_id=src.client_id or f"enerwise-oracle-{self.domain.chain_id}-{host}-{port}",
                clean_session=src.clean_session,
            )
            self.subscribers[sub_key] = MqttSubscriber(
                settings, clock=self.clock, on_error=self.outbox.record_error
            )
        fmt = make_format(src.format, json_settings=src.json_fields, component=src.component)
        return MqttSource(self.subscribers[sub_key], src.topic, fmt, max_age=src.max_age)
