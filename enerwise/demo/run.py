"""The market day: set everything up, run the slot loop, read the day back, clean up.

Per boundary ``b_j = t0 + j * 15 min`` (``j = 0 .. slots + 1``) the loop

1. moves the chain to ``b_j`` (``evm_setNextBlockTimestamp``) or, with ``realtime``, waits for it;
2. clears the slot whose gate just closed (``j >= 2``: slot ``j - 2``);
3. has the oracle read every meter at ``b_j``: the registry mints slot ``j - 1``'s export;
4. lets every trader act: claim the cleared slot, trade the freshly minted one.

In a sealed market (``--market sealed``) orders are commitments until gate closure and are
revealed in the reveal window that follows it, so each step moves one boundary later: at
``b_j`` the loop clears slot ``j - 3`` (its reveal window closed at ``b_{j-1}`` plus
:data:`DEMO_REVEAL_SECONDS`), reads the meters, and lets the traders act one second after
``b_j``, inside slot ``j - 2``'s reveal window: reveal it, claim ``j - 3``, commit ``j - 1``.

Everything the run starts (anvil, the Modbus server, MQTT clients, the indexer and API
threads) is registered on one ``ExitStack``, so an error or Ctrl-C stops all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from agents.data.calendar import slot_of_year
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from enerwise.demo.community import (
    DayPlan,
    Household,
    agent_households,
    enrol,
    has_agents,
    plan_day,
    replay_start,
)
from enerwise.demo.config import (
    DATA_YEAR,
    DEFAULT_DATA_DAY,
    DEMO_REVEAL_SECONDS,
    DemoConfig,
    check_port_free,
)
from enerwise.demo.devices import CYCLE_OFFSETS, DeviceHomes
from enerwise.demo.ledger import Ledger, per_household, read_ledger
from enerwise.demo.meters import Metered, MeterFleet, sources_summary, start_fleet
from enerwise.demo.sealed_traders import SealedTruthfulTrader
from enerwise.demo.services import ApiServices, start_services
from enerwise.demo.traders import (
    RuntimeTrader,
    SlotContext,
    Trader,
    TraderReport,
    planned_nets,
)
from enerwise.demo.trading import build_traders
from oracles.clock import Clock, SystemClock, VirtualClock

logger = logging.getLogger(__name__)

SLOT_SECONDS = 900


@dataclass(frozen=True)
class SlotSummary:
    """One cleared slot, as the live view shows it (every figure from chain events)."""

    k: int
    slot: int
    start: int
    volume_wh: int
    clearing_price: int | None
    retail: int
    feed_in: int
    import_wh: int
    export_wh: int
    orders: int
    errors: int

    @property
    def local_share(self) -> float:
        return self.volume_wh / self.import_wh if self.import_wh else 0.0


@dataclass
class Standing:
    """A household's running result (from its claims on chain)."""

    name: str
    role: str
    strategy: str
    bought_wh: int = 0
    sold_wh: int = 0
    paid: int = 0
    received: int = 0
    savings: int = 0


ReportHook = Callable[[dict[str, Any]], None]
InspectHook = Callable[[Sandbox, dict[str, Any]], None]


@dataclass
class Observer:
    """Callbacks of a run (all optional): notes, and each cleared slot with the standings."""

    on_note: Callable[[str], None] = lambda _message: None
    on_slot: Callable[[SlotSummary, list[Standing]], None] = lambda _summary, _standings: None


@dataclass
class _Day:
    """State the loop keeps between boundaries."""

    plan: DayPlan
    households: list[Household]
    first_slot: int
    t0: int
    metered: dict[int, dict[int, Metered]] = field(default_factory=dict)
    summaries: list[SlotSummary] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)
    next_block: int = 0
    first_cleared_at: float | None = None
    homes: DeviceHomes | None = None
    runtimes: dict[int, Any] = field(default_factory=dict)


def run_demo(
    config: DemoConfig,
    observer: Observer | None = None,
    *,
    on_report: ReportHook | None = None,
    inspect: InspectHook | None = None,
) -> dict[str, Any]:
    """Run the market day and return its report (totals read back from the chain).

    ``on_report(report)`` is called as soon as the report exists, before ``keep_running``
    waits; ``inspect(sandbox, report)`` too, with the sandbox (tests read the chain there).
    """
    observer = observer or Observer()
    started = time.monotonic()
    check_port_free(config.port)
    # The agents' runtime pulls in torch (about 15 s on 2 cores): when the community has
    # agents, import it while the community is drawn and the chain is set up.
    preload = threading.Thread(
        target=importlib.import_module, args=("agents.live.runtime",), daemon=True
    )
    if has_agents(config.households, config.seed):
        preload.start()
    t0, genesis = _time_origin(config)
    data_start = slot_of_year(t0)
    observer.on_note(
        f"drawing {config.households} households from real data (SMARD prices, DWD weather, "
        f"BDEW load), replaying {_data_day(data_start)}"
    )
    plan = plan_day(config.households, config.seed, data_start, config.slots)

    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="enerwise-demo-")))
        observer.on_note(f"starting anvil and deploying EnergyChain ({_market_note(config)}) ...")
        sandbox: Sandbox = stack.enter_context(
            Sandbox.on_anvil(_settings(config), genesis_timestamp=genesis, seed=config.seed)
        )
        rpc_url = str(sandbox.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
        relayer = sandbox.new_participant()
        households = enrol(
            sandbox,
            plan,
            deposit_eur=config.deposit_eur,
            agents=agent_households(plan),
            grant_expiry=t0 + (config.slots + 4) * SLOT_SECONDS + 86_400,
        )
        services = start_services(
            sandbox,
            rpc_url,
            port=config.port,
            workdir=workdir,
            dapp_dir=config.dapp_dir,
            retail=plan.retail(0),
            feed_in=plan.feed_in(0),
        )
        stack.callback(services.stop)
        observer.on_note(f"indexer and API at {services.url}")
        day = _Day(
            plan=plan,
            households=households,
            first_slot=sandbox.calendar.slot_of(t0),
            t0=t0,
            next_block=sandbox.deployment.block_number,
        )
        if preload.is_alive():
            preload.join()
        traders = build_traders(sandbox, plan, households, workdir, observer.on_note)
        for trader in traders:
            if isinstance(trader, SealedTruthfulTrader):
                stack.callback(trader.close)  # its commitment journal, before the work folder
        clock: Clock = SystemClock() if config.realtime else VirtualClock(t0)
        day.runtimes = {
            i: r for t in traders if isinstance(t, RuntimeTrader) for i, r in t.runtimes.items()
        }
        fleet_notes = asyncio.run(
            _run_slots(config, sandbox, day, traders, clock, relayer, workdir, observer, started)
        )
        _end_runtimes(traders, config, day.first_slot + config.slots - 1)
        services.wait_indexed(int(sandbox.w3.eth.block_number))
        ledger = read_ledger(
            sandbox,
            _holders(sandbox, households),
            range(day.first_slot, day.first_slot + config.slots),
        )
        report = _report(config, sandbox, day, ledger, traders, fleet_notes, services)
        _finish_report(report, config, day, started)
        if config.keep_running:
            _hand_out_then_serve(report, sandbox, on_report, inspect, observer, services.url)
        else:
            _hand_out(report, sandbox, on_report, inspect)
    return report


def _hand_out(
    report: dict[str, Any],
    sandbox: Sandbox,
    on_report: ReportHook | None,
    inspect: InspectHook | None,
) -> None:
    if on_report is not None:
        on_report(report)
    if inspect is not None:
        inspect(sandbox, report)


def _hand_out_then_serve(
    report: dict[str, Any],
    sandbox: Sandbox,
    on_report: ReportHook | None,
    inspect: InspectHook | None,
    observer: Observer,
    url: str,
) -> None:
    """Hand out the report, then serve until Ctrl-C (or SIGTERM), which is how such a run ends.

    A stop that comes while the report is handed out is only noted, and the run then ends as
    cleanly (exit 0) as when it comes during the wait; the handlers go back inside the
    ``suppress`` so no moment between the two turns it into an interruption."""
    stop = threading.Event()
    stopping = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in stopping}
    with contextlib.suppress(KeyboardInterrupt):
        try:
            _hand_out(report, sandbox, on_report, inspect)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        if not stop.is_set():
            observer.on_note(f"serving {url} until Ctrl-C")
            while True:
                time.sleep(3600)


def _end_runtimes(traders: list[Trader], config: DemoConfig, last_slot: int) -> None:
    """After the day's last slot the agents' runtimes end their business: in a sealed market
    they reveal and settle what they committed, in an open one they cancel what still rests."""
    for trader in traders:
        if isinstance(trader, RuntimeTrader):
            if config.market == "sealed":
                trader.settle_after(last_slot)
            else:
                trader.cancel_after(last_slot)


def _finish_report(report: dict[str, Any], config: DemoConfig, day: _Day, started: float) -> None:
    """Adds the run's timing to ``report`` and, with a report folder, writes its files there."""
    report["timing"] = {
        "total_s": round(time.monotonic() - started, 2),
        "first_cleared_slot_s": (
            round(day.first_cleared_at - started, 2) if day.first_cleared_at else None
        ),
    }
    if config.report_dir is not None:
        from enerwise.demo.report import write_report

        report["files"] = [str(p) for p in write_report(report, config.report_dir)]


def _settings(config: DemoConfig) -> MarketSettings:
    if config.market == "sealed":
        return MarketSettings(mode="sealed", reveal_seconds=DEMO_REVEAL_SECONDS)
    return MarketSettings()


def _market_note(config: DemoConfig) -> str:
    if config.market == "sealed":
        return f"sealed market: commitments, revealed in {DEMO_REVEAL_SECONDS} s after gate closure"
    return "open market"


def _clearing_lag(config: DemoConfig) -> int:
    """Boundaries from a slot's start to the one that clears it (see the module docstring)."""
    return 3 if config.market == "sealed" else 2


def _time_origin(config: DemoConfig) -> tuple[int, int | None]:
    """``(t0, genesis timestamp or None)``: the first boundary, and where the chain starts.

    Simulated time replays the data day on its latest past date (from ``start_hour`` UTC+1) on
    a chain whose genesis lies an hour earlier; real time starts at the next boundary at least a
    minute away and replays today's date.
    """
    now = int(time.time())
    if config.realtime:
        return (now + 60) // SLOT_SECONDS * SLOT_SECONDS + SLOT_SECONDS, None
    today = datetime.fromtimestamp(now, UTC).date()
    t0 = replay_start(config.data_day or DEFAULT_DATA_DAY, today) + config.start_hour * 3_600
    return t0, t0 - 3_600


def _data_day(data_slot: int) -> str:
    """The data year's date of ``data_slot``."""
    return (date(DATA_YEAR, 1, 1) + timedelta(days=data_slot // 96)).isoformat()


async def _run_slots(
    config: DemoConfig,
    sandbox: Sandbox,
    day: _Day,
    traders: list[Trader],
    clock: Clock,
    relayer: Any,
    workdir: Path,
    observer: Observer,
    started: float,
) -> list[str]:
    day.homes = await _start_homes(config, sandbox, day, traders, clock, observer)
    fleet = await start_fleet(
        sandbox,
        day.plan,
        day.households,
        clock=clock,
        start=day.t0,
        nets=planned_nets(day.plan, day.first_slot, traders),
        relayer=relayer,
        workdir=workdir,
        modbus_meters=config.modbus_meters,
        mqtt_meters=config.mqtt_meters,
        mqtt_broker=config.mqtt_broker,
        run_id=f"{os.getpid()}-{config.seed}",
        profiles=day.homes.meter_profiles(day.t0) if day.homes is not None else None,
    )
    try:
        for note in fleet.notes:
            observer.on_note(note)
        for trader in traders:
            if isinstance(trader, RuntimeTrader):
                await asyncio.to_thread(trader.prepare, day.t0)
        for j in range(config.slots + _clearing_lag(config)):
            await _boundary(config, sandbox, day, traders, fleet, clock, j, observer, started)
        return fleet.notes
    finally:
        await fleet.close()
        if day.homes is not None:
            await day.homes.close()


async def _start_homes(
    config: DemoConfig,
    sandbox: Sandbox,
    day: _Day,
    traders: list[Trader],
    clock: Clock,
    observer: Observer,
) -> DeviceHomes | None:
    """The device households: the first agent households, in simulated time only."""
    members = [h for h in day.households if h.index in day.runtimes][: config.device_households]
    if not members:
        return None
    if not isinstance(clock, VirtualClock):
        observer.on_note("devices run in simulated time only: no device households in real time")
        return None
    homes = DeviceHomes(day.plan, sandbox.calendar, clock, day.first_slot)
    await homes.start(members, day.t0, day.runtimes)
    names = ", ".join(m.name for m in members)
    observer.on_note(
        f"{names}: a SunSpec battery (Modbus), an OCPP charger and an SG-Ready heat pump, "
        "driven by their agents"
    )
    return homes


async def _boundary(
    config: DemoConfig,
    sandbox: Sandbox,
    day: _Day,
    traders: list[Trader],
    fleet: MeterFleet,
    clock: Clock,
    j: int,
    observer: Observer,
    started: float,
) -> None:
    boundary = day.t0 + j * SLOT_SECONDS
    if isinstance(clock, VirtualClock):
        clock.set(boundary)
        sandbox.advance_to(boundary)
    else:
        await clock.sleep_until(boundary + 1)
    lag = _clearing_lag(config)
    cleared = day.first_slot + j - lag if j >= lag else None
    if cleared is not None:
        await asyncio.to_thread(sandbox.clear, cleared)
    trade_k = j - 1 if 1 <= j <= config.slots else None
    homes = day.homes
    if homes is not None and j <= config.slots:  # closes the previous slot's device books
        await homes.cycle(boundary, day.runtimes)
    if j <= config.slots:
        await fleet.read(boundary)
        for slot, rows in fleet.accepted().items():
            day.metered.setdefault(slot, {}).update(rows)
    trade_slot = day.first_slot + trade_k if trade_k is not None else None
    now = boundary
    if config.market == "sealed":  # inside the reveal window of the slot whose gate closed
        now = boundary + 1
        if isinstance(clock, VirtualClock):
            clock.set(now)
            sandbox.advance_to(now)
        else:
            await clock.sleep_until(now + 1)
    context = SlotContext(
        now=now,
        trade_slot=trade_slot,
        trade_k=trade_k,
        cleared_slot=cleared,
        metered=day.metered.get(trade_slot, {}) if trade_slot is not None else {},
    )
    reports: list[TraderReport] = []
    for trader in traders:
        reports.append(await asyncio.to_thread(trader.step, context))
    if homes is not None and isinstance(clock, VirtualClock) and j < config.slots:
        for offset in CYCLE_OFFSETS[1:]:  # the slot's later control cycles
            clock.set(boundary + offset)
            await homes.cycle(boundary + offset, day.runtimes)
    if cleared is None:
        return
    k = j - lag
    record = sandbox.clearing_record(cleared)
    price = record.price_per_kwh if record.cleared else None
    rows = day.metered.get(cleared, {})
    summary = SlotSummary(
        k=k,
        slot=cleared,
        start=sandbox.slot_start(cleared),
        volume_wh=record.volume_wh,
        clearing_price=price,
        retail=day.plan.retail(k),
        feed_in=day.plan.feed_in(k),
        import_wh=sum(m.import_wh for m in rows.values()),
        export_wh=sum(m.export_wh for m in rows.values()),
        orders=0,
        errors=sum(len(r.errors) for r in reports),
    )
    day.next_block = day.ledger.follow(sandbox, day.next_block)
    summary = replace(
        summary, orders=sum(1 for o in day.ledger.orders.values() if o.slot == cleared)
    )
    day.summaries.append(summary)
    if day.first_cleared_at is None:
        day.first_cleared_at = time.monotonic()
    observer.on_slot(summary, _standings(day, traders))


def _owners(households: list[Household]) -> dict[str, int]:
    return {h.account.address: h.index for h in households}


def _strategy_names(traders: list[Trader]) -> dict[int, str]:
    return {h.index: t.name for t in traders for h in t.households}


def _standings(day: _Day, traders: list[Trader]) -> list[Standing]:
    plan, first = day.plan, day.first_slot
    rows = per_household(
        day.ledger,
        _owners(day.households),
        lambda slot: plan.retail(slot - first),
        lambda slot: plan.feed_in(slot - first),
    )
    names = _strategy_names(traders)
    return [
        Standing(h.name, h.role, names.get(h.index, "?"), **rows[h.index]) for h in day.households
    ]


def _holders(sandbox: Sandbox, households: list[Household]) -> list[str]:
    out = [str(sandbox.admin.address)]
    for h in households:
        out.append(h.account.address)
        if h.agent is not None:
            out.append(h.agent.address)
    return out


def _devices_of(day: _Day, index: int) -> dict[str, Any] | None:
    return day.homes.household(index) if day.homes is not None else None


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _report(
    config: DemoConfig,
    sandbox: Sandbox,
    day: _Day,
    ledger: Ledger,
    traders: list[Trader],
    notes: list[str],
    services: ApiServices,
) -> dict[str, Any]:
    plan, first = day.plan, day.first_slot
    totals = ledger.totals
    rows = per_household(
        ledger,
        _owners(day.households),
        lambda slot: plan.retail(slot - first),
        lambda slot: plan.feed_in(slot - first),
    )
    names = _strategy_names(traders)
    households = []
    for h in day.households:
        imported = sum(
            day.metered.get(first + k, {}).get(h.index, Metered()).import_wh
            for k in range(config.slots)
        )
        exported = sum(
            day.metered.get(first + k, {}).get(h.index, Metered()).export_wh
            for k in range(config.slots)
        )
        load = sum(plan.load_wh(h.index, k) for k in range(config.slots))
        grid = max(imported - rows[h.index]["bought_wh"], 0)
        households.append(
            {
                "name": h.name,
                "kind": h.spec.kind,
                "role": h.role,
                "strategy": names.get(h.index, "?"),
                "meter": h.source,
                "address": h.account.address,
                "agent": h.agent.address if h.agent is not None else None,
                "load_wh": round(load),
                "metered_import_wh": imported,
                "metered_export_wh": exported,
                "grid_import_wh": grid,
                "self_sufficiency": round(1.0 - grid / load, 4) if load > 0 else 0.0,
                **rows[h.index],
                **({"devices": devices} if (devices := _devices_of(day, h.index)) else {}),
            }
        )
    slots = []
    for k in range(config.slots):
        slot = first + k
        volume, tick = ledger.cleared.get(slot, (0, 0))
        metered = day.metered.get(slot, {})
        imported = sum(m.import_wh for m in metered.values())
        slots.append(
            {
                "slot": slot,
                "start": _iso(sandbox.slot_start(slot)),
                "volume_wh": volume,
                "clearing_price": sandbox.params.price(tick) if volume else None,
                "retail": plan.retail(k),
                "feed_in": plan.feed_in(k),
                "metered_import_wh": imported,
                "metered_export_wh": sum(m.export_wh for m in metered.values()),
                "local_share": round(volume / imported, 4) if imported else 0.0,
            }
        )
    imported_total = totals["metered_import_wh"]
    agents = [row for row in households if row["role"] == "agent"]
    return {
        "market": config.market,
        "slots": config.slots,
        "households": config.households,
        "seed": config.seed,
        "data_day": _data_day(plan.data_start),
        "first_slot": first,
        "first_slot_start": _iso(sandbox.slot_start(first)),
        **totals,
        "local_share": round(totals["traded_wh"] / imported_total, 4) if imported_total else 0.0,
        "conservation": ledger.checks,
        "conservation_ok": ledger.conservation_ok,
        "agents_savings": sum(row["savings"] for row in agents),
        "baseline_savings": sum(row["savings"] for row in households if row["role"] != "agent"),
        "meters": sources_summary(day.households),
        "devices": day.homes.summary() if day.homes is not None else {},
        "notes": notes,
        "api_url": services.url,
        "rpc_url": str(sandbox.w3.provider.endpoint_uri),  # type: ignore[attr-defined]
        "chain_id": sandbox.deployment.chain_id,
        "addresses": sandbox.deployment.addresses,
        "per_slot": slots,
        "per_household": households,
    }
