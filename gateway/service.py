"""The household gateway service: ``enerwise agent run --config household.yaml``.

One process for the household, every ``control.interval_seconds``:

1. **Oracle** (when the file has meters and a chain): at each slot boundary read the meters,
   sign and persist the readings (the outbox), submit them in the background
   (:class:`oracles.runner.OracleRunner`, as ``enerwise oracle run``).
2. **Devices**: one control cycle (:class:`gateway.execution.HouseholdControl`): the running
   slot's battery power from the agent's plan, the charger's limit from its mode and the live PV
   surplus (the grid meter's power plus what the car draws), the heat pump's SG-Ready state from
   the tariff and the surplus; read, write, read back, plan against actual per slot (one JSON
   line per slot in the log). A battery that does not follow its plan makes the agent redo the
   slot's plan and orders on the battery's real power.
3. **Agent** (every ``agent.step_seconds``): reconcile, claim, decide the next slot on the
   battery's *measured* state of charge, with forecasts from the household's own history
   (:class:`agents.live.history.HistoryForecaster`) and prices from its tariff; minted tokens
   are moved into the vault (``selling.move_to_vault``). Without an ``agent`` section, the
   ``selling`` standing orders trade instead (:class:`agents.live.standing.StandingOrders`).
4. **Home Assistant** (a ``home_assistant`` section): discovery, the household's figures after
   every agent step (:mod:`gateway.assistant`), and the mode select, which sets the device
   controller's mode (``auto``, ``hold``, ``self_consumption``) from the next cycle on.
5. **Watchdog**: a ``beat`` after every cycle to the watchdog process
   (:mod:`devices.watchdog`), which returns the devices to their safe defaults if this process
   dies; a clean stop does so itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agents.data.calendar import SLOTS_PER_DAY
from agents.live.history import HistoryForecaster, SlotHistory
from agents.live.policies import RuntimePolicy
from devices.charger.modes import ChargeMode, ChargerLimits
from devices.controller import DeviceController, DevicePlan
from devices.errors import DeviceConfigError, DeviceError
from devices.factory import HouseholdDevices, broker_settings, build_devices
from devices.homeassistant import HomeAssistantBridge
from devices.household import AgentMode, DynamicTariff, Household
from devices.interface import BatteryCommand, BatteryState, ChargerCommand, ChargerState
from devices.watchdog import spawn_watchdog
from gateway.charging import ChargePlanner
from gateway.execution import ControlResult, HouseholdControl, SlotOutcome
from gateway.observations import Registers, delta, slot_demand_and_pv
from oracles.clock import Clock, SystemClock
from oracles.registry import RegistryGateway
from oracles.runner import OracleRunner
from oracles.sources.base import MeterSource
from wallet.signer import Signer

logger = logging.getLogger("gateway")


@dataclass
class GatewayStats:
    """What a run did (the CLI's last line, tests)."""

    cycles: int = 0
    slots_read: int = 0
    agent_steps: int = 0
    orders_placed: int = 0
    followed: int = 0
    moved_wh: int = 0
    errors: list[str] = field(default_factory=list)
    outcomes: list[SlotOutcome] = field(default_factory=list)


class Gateway:
    """One household's gateway (see the module docstring).

    Args:
        household: the parsed ``household.yaml``.
        config_path: its path (the watchdog reads it again).
        clock: the clock (the system's; tests and the demo pass others).
        sources, signers, registry: meter sources, signers and the registry gateway the caller
            holds (as :func:`oracles.runner.build_runner` takes them).
        policy: a policy object instead of the file's ``agent.policy`` (tests).
        on_line: called with one JSON-able dict per cycle and per slot (the CLI prints them).
    """

    def __init__(
        self,
        household: Household,
        *,
        config_path: Path | None,
        clock: Clock | None = None,
        sources: Mapping[str, MeterSource] | None = None,
        signers: Mapping[str, Signer] | None = None,
        on_line: Callable[[dict[str, Any]], None] | None = None,
        registry: RegistryGateway | None = None,
        policy: RuntimePolicy | None = None,
    ) -> None:
        self.household = household
        self._registry = registry
        self._policy = policy
        self.config_path = config_path
        self.clock = clock or SystemClock()
        self.on_line = on_line or (lambda _line: None)
        self.stats = GatewayStats()
        self.devices: HouseholdDevices = build_devices(household, clock=self.clock)
        controller = DeviceController(
            self.devices.devices, limits=household.limits, clock=self.clock
        )
        controller.mode = household.modes.agent
        charger = household.devices.charger
        battery = household.devices.battery
        self.control = HouseholdControl(
            controller,
            charger_mode=household.modes.charger,
            charger_limits=ChargerLimits(charger.min_w, charger.max_w) if charger else None,
            revert_seconds=battery.revert_seconds if battery else 60,
            profile_seconds=charger.profile_seconds if charger else 900,
        )
        self.history = SlotHistory(
            household.agent.history if household.agent else None,
        )
        self.planner: ChargePlanner | None = None
        if charger is not None and household.modes.charger == ChargeMode.PLAN:
            assert household.modes.plan is not None  # the file's check
            self.planner = ChargePlanner(
                household.modes.plan,
                ChargerLimits(charger.min_w, charger.max_w),
                HistoryForecaster(self.history, self.prices),
                time_zone=household.time_zone,
                local_price=lambda: self._local_price,
            )
        self.bridge: HomeAssistantBridge | None = None
        self._local_price: float | None = None
        self._price_slot: int | None = None
        self._battery_command: BatteryCommand | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.runner: OracleRunner | None = None
        self.runtime: Any = None
        self.standing: Any = None
        self.mover: Any = None
        self._sources = sources
        self._signers = signers
        self._registers: dict[str, dict[int, Registers]] = {}
        self._outcomes: dict[int, SlotOutcome] = {}
        self._guard: subprocess.Popen[bytes] | None = None
        self._last_boundary: int | None = None
        self._next_agent = 0.0
        self._prices_at = 0.0
        self._rules_at = -math.inf

    # ------------------------------------------------------------------ building
    def prices(self, t: float) -> tuple[float, float]:
        """The household's tariff at ``t`` (import, export) EUR/kWh."""
        return self.household.tariff.prices(t)

    def _connect_chain(self) -> None:
        """The oracle runner, and the agent runtime or the standing orders."""
        household = self.household
        if household.chain is None:
            if household.agent is not None or household.selling is not None:
                raise DeviceConfigError("agent and selling need a chain section")
            return
        from oracles.config import OracleConfig
        from oracles.runner import build_runner

        if household.meters:
            oracle = OracleConfig(
                chain=household.chain,
                outbox=household.oracle.outbox,
                archive=household.oracle.archive,
                read_delay=household.oracle.read_delay,
                meters=household.meters,
            )
            self.runner = build_runner(
                oracle,
                clock=self.clock,
                registry=self._registry,
                sources=self._sources,
                signers=self._signers,
            )
        if household.agent is not None or household.selling is not None:
            self._trader()

    def _trader(self) -> None:
        from agents.community import BatterySpec
        from agents.live.policies import load_policy
        from agents.live.runtime import AgentRuntime
        from agents.live.standing import StandingOrders, StandingRules
        from agents.live.vault import VaultMover
        from chain.connection import connect
        from energychain.contracts import revert_decoder
        from energychain.deploy import Deployment, load_deployment
        from oracles.config import load_signer
        from wallet.transactions import TransactionSender

        household = self.household
        chain = household.chain
        assert chain is not None
        if household.keys.agent is None or household.keys.owner is None:
            raise DeviceConfigError("trading needs keys.agent and keys.owner")
        w3 = connect(chain.rpc_url)
        record = (
            load_deployment(w3, chain.deployment)
            if chain.deployment is not None
            else Deployment.load(Path("deployments") / f"{w3.eth.chain_id}.json")
        )
        contracts = record.contracts(w3)
        signer = load_signer(household.keys.agent, "agent")
        sender = TransactionSender(w3, signer, decode_revert=revert_decoder())
        owner = household.keys.owner
        selling = household.selling
        agent = household.agent
        if agent is not None:
            battery = household.devices.battery
            spec = None
            if battery is not None and battery.capacity_wh:
                spec = BatterySpec(battery.capacity_wh / 1000.0, battery.capacity_wh / 2000.0)
            forecaster = HistoryForecaster(self.history, self.prices, days=agent.forecast_days)
            self.runtime = AgentRuntime(
                contracts,
                sender,
                owner,
                self._policy or load_policy(agent.policy),
                agent.state,
                forecaster,
                battery=spec,
                log_path=agent.log or agent.state.with_suffix(".jsonl"),
                clear_slots=agent.clear_slots,
                plan_lead_seconds=min(900, max(60, int(2 * agent.step_seconds))),
                book_from_block=record.block_number,
            )
            if selling is not None and selling.move_to_vault:
                link = self.runtime.link
                self.mover = VaultMover(link, self.runtime.state, self.runtime._send_hook)
        elif selling is not None:
            self.standing = StandingOrders(
                contracts,
                sender,
                owner,
                StandingRules(selling.sell_min_eur_kwh, selling.buy_below_tariff_eur_kwh),
                self.prices,
                selling.state,
                move_to_vault=selling.move_to_vault,
                log_path=selling.state.with_suffix(".jsonl"),
            )

    # ------------------------------------------------------------------ the loop
    async def run(self, *, cycles: int | None = None, stop: asyncio.Event | None = None) -> None:
        """Run until ``cycles`` control cycles are done, ``stop`` is set, or Ctrl-C; the
        devices always return to their safe defaults on the way out."""
        household = self.household
        interval = household.control.interval_seconds
        if household.control.watchdog:
            if self.config_path is None:
                raise DeviceConfigError("the watchdog needs the household file's path")
            self._guard = spawn_watchdog(self.config_path, timeout=max(30.0, 3 * interval))
        try:
            await asyncio.to_thread(self._connect_chain)
            if self.runtime is not None:
                self.control.use_calendar(self.runtime.link.calendar)
            elif self.runner is not None:
                self.control.use_calendar(self.runner.schedule)
            if self.planner is not None:
                self.planner.slot_seconds = self.control.slot_seconds
            await self.devices.start()
            if self.runner is not None:
                await self.runner.start()
            await self._start_bridge()
            next_cycle = self.clock.now()
            while cycles is None or self.stats.cycles < cycles:
                if stop is not None and stop.is_set():
                    break
                await self.cycle()
                next_cycle += interval
                await self.clock.sleep_until(max(next_cycle, self.clock.now()))
        finally:
            await self.close()

    async def cycle(self) -> ControlResult:
        """One pass: oracle boundary, control cycle, agent step, watchdog beat."""
        now = self.clock.now()
        await self._oracle(now)
        await self._refresh_prices(now)
        surplus = await self._surplus_w(now)
        slot = self.control.calendar.slot_of(int(now))
        plan = self.runtime.state.slot(slot) if self.runtime is not None else None
        day = [self.prices(now + i * 900)[0] for i in range(SLOTS_PER_DAY)]
        device_plan = DevicePlan(
            battery=self.control.battery_command(plan),
            charger=await self._charger_command(now, surplus),
            heat_pump=self.control.heat_pump_command(self.prices(now)[0], day, surplus),
        )
        result = await self.control.control(now, plan, device_plan)
        self.stats.cycles += 1
        battery = next((d for d in result.report.devices if d.kind == "battery"), None)
        if battery is not None and isinstance(battery.command, BatteryCommand):
            self._battery_command = battery.command  # after the mode and the limits
        if result.closed is not None:
            self._closed(result.closed)
        if result.follow_kw is not None and self.runtime is not None:
            self.stats.followed += 1
            try:
                await asyncio.to_thread(self.runtime.follow, slot, result.follow_kw, int(now))
            except Exception as exc:  # the devices go on when the chain does not answer
                self._error(f"follow slot {slot}: {exc}")
        if now >= self._next_agent:
            await self._agent(now, result)
            await self._publish(now)
            step = self.household.agent.step_seconds if self.household.agent else 30.0
            self._next_agent = now + step
        self._beat()
        self.on_line(
            {
                "t": round(now, 1),
                "ms": round(result.report.seconds * 1e3, 1),
                "surplus_w": round(surplus),
                "events": [e.line() for e in result.report.events],
            }
        )
        return result

    async def _charger_command(self, now: float, surplus_w: float) -> ChargerCommand | None:
        """The mode's limit; in the plan mode the session's plan, redone at every slot and
        when a car starts a transaction."""
        if self.devices.by_kind("charger") is None:
            return None
        planner = self.planner
        if planner is None:
            return self.control.charger_command(surplus_w)
        state = await self._charger_state()
        if planner.needs_replan(now, state):
            if self.runtime is not None or self.standing is not None:
                await self._update_local_price(now)
            charge = planner.replan(now, state)
            self.on_line(
                {
                    "charge_plan": {
                        "departure": round(charge.departure),
                        "remaining_wh": round(charge.remaining_wh),
                        "slots_charging": sum(1 for p in charge.power_w if p > 0),
                        "power_w": round(charge.power_at(now)),
                    }
                }
            )
        return planner.command(now, valid_seconds=self.control.profile_seconds)

    async def _charger_state(self) -> ChargerState | None:
        charger = self.devices.by_kind("charger")
        if charger is None:
            return None
        try:
            state = await charger.read()
        except DeviceError:
            return None
        return state if isinstance(state, ChargerState) else None

    async def _update_local_price(self, now: float) -> None:
        """The local market's latest traded price, read from the chain once per slot."""
        from gateway.assistant import latest_price

        trader = self.runtime or self.standing
        slot = self.control.calendar.slot_of(int(now))
        if trader is None or slot == self._price_slot:
            return
        self._price_slot = slot
        try:
            self._local_price = await asyncio.to_thread(latest_price, trader.link, slot)
        except Exception as exc:  # the chain not answering leaves the last price
            logger.debug("local price: %s", exc)

    # ------------------------------------------------------------------ Home Assistant
    async def _start_bridge(self) -> None:
        config = self.household.home_assistant
        if config is None:
            return
        self._loop = asyncio.get_running_loop()
        bridge = HomeAssistantBridge(
            self.household.household,
            broker_settings(config.broker, config.username, config.password_env),
            discovery_prefix=config.discovery_prefix,
            base_topic=config.base_topic,
            mode=self.control.controller.mode,
            on_mode=self._on_mode,
        )
        try:
            await asyncio.to_thread(bridge.start)
        except DeviceError as exc:  # the devices go on without Home Assistant
            self._error(f"home assistant: {exc}")
            return
        self.bridge = bridge

    def _on_mode(self, mode: AgentMode) -> None:
        """The select's command (paho's thread): the controller's mode from the next cycle."""
        loop = self._loop
        if loop is None:
            return
        loop.call_soon_threadsafe(self._set_mode, mode)

    def _set_mode(self, mode: AgentMode) -> None:
        self.control.controller.mode = mode
        self.on_line({"agent_mode": mode.value})

    async def _publish(self, now: float) -> None:
        bridge = self.bridge
        if bridge is None:
            return
        from devices.homeassistant import HouseholdFigures
        from gateway.assistant import battery_figures, day_figures

        figures = HouseholdFigures()
        trader = self.runtime or self.standing
        if trader is not None:
            await self._update_local_price(now)
            try:
                figures = await asyncio.to_thread(
                    day_figures,
                    trader.state,
                    trader.link,
                    self.prices,
                    now=now,
                    time_zone=self.household.time_zone,
                )
            except Exception as exc:  # the figures wait for the chain; the devices go on
                self._error(f"home assistant figures: {exc}")
        plan_w, mode = battery_figures(self._battery_command)
        figures = replace(
            figures,
            slot_price_eur_kwh=self._local_price,
            battery_plan_w=plan_w,
            battery_mode=mode,
        )
        bridge.publish(figures)

    async def _oracle(self, now: float) -> None:
        runner = self.runner
        if runner is None:
            return
        boundary = runner.schedule.boundary_at_or_before(now - runner.read_delay)
        if self._last_boundary is not None and boundary <= self._last_boundary:
            if runner.submitter is not None and runner.submitter.ready():
                await asyncio.to_thread(runner.submitter.drain)
            return
        self._last_boundary = boundary
        report = await runner.read_slot(boundary)
        self.stats.slots_read += 1
        for kind, name, message in report.errors:
            self._error(f"meter {name}: {message} ({kind})")
        for meter in runner.meters:
            if meter.last_sample is not None:
                sample = meter.last_sample
                registers = Registers(sample.import_wh, sample.export_wh)
                self._registers.setdefault(meter.name, {})[boundary] = registers
        if runner.submitter is not None and runner.submitter.ready():
            await asyncio.to_thread(runner.submitter.drain)
        self._learn(boundary)

    async def _refresh_prices(self, now: float) -> None:
        tariff = self.household.tariff
        if not isinstance(tariff, DynamicTariff) or tariff.url is None:
            return
        if now - self._prices_at < tariff.refresh_minutes * 60:
            return
        self._prices_at = now
        try:
            await asyncio.to_thread(tariff.load)
        except DeviceError as exc:
            self._error(f"prices: {exc} (keeping the last prices)")

    async def _surplus_w(self, now: float) -> float:
        """What the house would export without the car (W): minus the grid meter's power
        plus the car's power."""
        runner, name = self.runner, self.household.grid_meter_name()
        grid_w: float | None = None
        if runner is not None and name is not None:
            meter = next((m for m in runner.meters if m.name == name), None)
            if meter is not None:
                try:
                    grid_w = (await meter.source.read(int(now))).power_w
                except Exception as exc:  # a meter that does not answer: no surplus known
                    logger.debug("grid meter: %s", exc)
        if grid_w is None:
            return 0.0
        state = await self._charger_state()
        return -grid_w + (state.power_w if state is not None else 0.0)

    async def _agent(self, now: float, result: ControlResult) -> None:
        battery = next((d for d in result.report.devices if d.kind == "battery"), None)
        state = battery.after or battery.before if battery is not None else None
        soc_kwh = (
            state.soc_pct / 100 * state.capacity_wh / 1000
            if isinstance(state, BatteryState)
            else None
        )
        try:
            if self.runtime is not None:
                report = await asyncio.to_thread(self.runtime.step, int(now), soc_kwh)
                self.stats.orders_placed += len(report.placed)
                self._report_errors(report.errors)
                if self.mover is not None:
                    from agents.live.reports import StepReport

                    moved = StepReport(now=int(now))
                    await asyncio.to_thread(self.mover.move, int(now), moved)
                    self.stats.moved_wh += sum(q for _, q in moved.moved)
                    self._report_errors(moved.errors)
            elif self.standing is not None:
                await self._refresh_rules(now)
                report = await asyncio.to_thread(self.standing.step, int(now))
                self.stats.orders_placed += len(report.placed)
                self.stats.moved_wh += sum(q for _, q in report.moved)
                self._report_errors(report.errors)
            self.stats.agent_steps += 1
        except Exception as exc:  # the agent's failure never stops the devices
            self._error(f"agent: {type(exc).__name__}: {exc}")

    async def _refresh_rules(self, now: float) -> None:
        """The standing orders set in the dApp (``selling.rules_url``), every refresh."""
        selling = self.household.selling
        standing = self.standing
        if selling is None or selling.rules_url is None or standing is None:
            return
        if now - self._rules_at < selling.refresh_minutes * 60:
            return
        self._rules_at = now
        from gateway.selling import fetch_rules

        try:
            rules = await asyncio.to_thread(
                fetch_rules, selling.rules_url, standing.link.owner, standing.link.unit()
            )
        except DeviceError as exc:
            self._error(f"{exc} (keeping the rules in force)")
            return
        if rules != standing.rules:
            standing.rules = rules
            self.on_line(
                {
                    "standing_orders": {
                        "sell_min_eur_kwh": rules.sell_min_eur_kwh,
                        "buy_below_tariff_eur_kwh": rules.buy_below_tariff_eur_kwh,
                    }
                }
            )

    def _report_errors(self, errors: list[str]) -> None:
        for error in errors:
            self._error(error)

    def _error(self, message: str) -> None:
        logger.warning("%s", message)
        self.stats.errors.append(message)

    def _closed(self, outcome: SlotOutcome) -> None:
        self.stats.outcomes.append(outcome)
        self._outcomes[outcome.slot] = outcome
        self.on_line({"plan_vs_actual": outcome.line()})
        self._learn(None)

    def _learn(self, _boundary: int | None) -> None:
        """Add every slot to the history whose meter readings and device books are both in."""
        grid = self.household.grid_meter_name()
        readings = self._registers.get(grid or "", {})
        pv_readings = self._registers.get(self.household.pv_meter or "", {})
        calendar = self.control.calendar
        for slot, outcome in list(self._outcomes.items()):
            start, end = calendar.start(slot), calendar.end(slot)
            if start not in readings or end not in readings:
                continue
            pv = None
            if start in pv_readings and end in pv_readings:
                pv = delta(pv_readings[start], pv_readings[end])[1]
            battery = outcome.devices.get("battery")
            car = outcome.devices.get("charger")
            demand, produced = slot_demand_and_pv(
                delta(readings[start], readings[end]),
                battery.actual_wh if battery else 0.0,
                car.actual_wh if car else 0.0,
                pv,
            )
            self.history.add(start, demand, produced)
            del self._outcomes[slot]

    def _beat(self) -> None:
        guard = self._guard
        if guard is not None and guard.stdin is not None:
            try:
                guard.stdin.write(b"beat\n")
                guard.stdin.flush()
            except OSError:  # the watchdog died: the devices' own timers remain
                self._error("the watchdog is gone")
                self._guard = None

    async def close(self) -> None:
        """Safe defaults on every device, then close everything; the watchdog stands down."""
        try:
            await self.control.controller.safe_defaults()
        except DeviceError as exc:  # pragma: no cover - safe_defaults reports per device
            logger.error("safe defaults: %s", exc)
        await self.devices.close()
        if self.runner is not None:
            await self.runner.close()
        if self.bridge is not None:
            try:
                await asyncio.to_thread(self.bridge.stop)
            except Exception as exc:  # pragma: no cover - the broker went away first
                logger.warning("home assistant: %s", exc)
            self.bridge = None
        guard = self._guard
        if guard is not None and guard.stdin is not None:
            try:
                guard.stdin.write(b"stop\n")
                guard.stdin.close()
            except OSError:
                pass
            guard.wait(10)
        self._guard = None

    def summary(self) -> dict[str, Any]:
        """What the run did, per device kind plan against actual."""
        stats = self.stats
        return {
            "cycles": stats.cycles,
            "slots_read": stats.slots_read,
            "agent_steps": stats.agent_steps,
            "orders_placed": stats.orders_placed,
            "followed": stats.followed,
            "moved_wh": stats.moved_wh,
            "errors": len(stats.errors),
            "devices": self.control.summary(),
        }


def run_line(line: dict[str, Any]) -> str:
    """One JSON line of the service's output."""
    return json.dumps(line, default=str)
