"""``enerwise city``: a day (or its first slots) for a whole city on one local anvil chain.

Set-up (nothing on chain before every input is known good):

1. the scenario (:func:`grid.scenario.build_scenario`): the network, its feeders split into
   communities, one real-data community drawn per grid community and placed on its buses, the
   grid operator; an unknown network, a day without data, more communities than feeders are
   refused here, in one line;
2. a fresh anvil with the sandbox's deployment, N - 1 more community markets and a ``CityPool``
   (:func:`devchain.city.deploy_city`); the grid operator sets the grid fee; the chain's first
   slot is the data day's midnight (as the demo's), so the agents' forecasts are the day's;
3. every household enrolled as in the demo (:func:`enerwise.demo.community.enrol`: its own key,
   a registered meter, a vault deposit in its community's market; a battery owner also an agent
   key with its delegation), the demo's traders (:func:`enerwise.demo.trading.build_traders`:
   ``TruthfulTrader`` for the households without battery, one ``AgentRuntime`` per battery owner
   in a ``RuntimeTrader``, running the demo's halfway rule or its pretrained policy), a
   baseline reading of every meter at the first slot's start; the agents decide the first two
   slots.

Per slot ``s`` (chain time moves 15 minutes per slot):

1. **limits**: the grid operator computes the slot's limits on the forecast
   (:meth:`grid.operator.GridOperator.limits`) and publishes them on the pool before the slot
   starts (:class:`grid.publisher.LimitsPublisher`, journaled; a diverged power flow keeps the
   last good limits);
2. **readings**: at the slot's end every meter's signed reading (its household's metered net
   energy: a battery owner's with its agent's battery plan) is relayed; the registry mints the
   exported Wh as slot tokens;
3. **orders**: the households without battery bid truthfully in their community market
   (:class:`enerwise.demo.traders.TruthfulTrader`: buy the import at the retail tariff, sell the
   export at the feed-in tariff, the slot tokens moved into the vault); the battery owners'
   agents sell the slot's export, place the buys they price late and decide the slot after the
   next (their buys placed ahead); they claim nothing (the claims step claims their orders);
4. **clears**: every community market clears the slot on chain at gate closure;
5. **pool**: :func:`enerwise.city.pool_step.clear_pool_step` (residuals read from the markets and
   checked against their commitments; cleared on chain by ``CityPool.clear`` and compared with
   the Python reference; then ``CityPool.settle``: energy and money move between the pool and
   the communities' ``PooledEnergyMarket``s, its gas the ``settle`` step);
6. **claims**: the sandbox's admin key, a keeper (anyone may claim; the owner is paid), claims
   every order the reference settles in the slot (the orders placed for it from the orders step
   two slots back: the agents' buys placed ahead included) in each market with ``claimBatch``,
   in id order, the order the reference settles them in
   (:func:`~enerwise.city.pool_step.claim_orders`); then the slot is settled again by the
   reference from the placed orders and the pool's invariants are checked, every
   ``OrderClaimed`` and ``OrderPoolFilled`` against the reference's outcome included
   (:func:`~enerwise.city.pool_step.check_conservation`: ``claims on chain equal the
   reference``), and every market must still hold what it owes
   (:func:`~enerwise.city.pool_step.market_solvent`: ``markets solvent after claims``);
7. **grid check**: power flows of the slot's metered schedule (the agents' batteries included)
   without limits and with each community's exchange clipped into its published limits
   (:func:`grid.benchmark.check_schedule`, the benchmark's own code).

Gas per slot is the sum of ``gasUsed`` of every block mined in each step (the chain runs nothing
else). The city's anvil mines on demand (:class:`devchain.miner.BlockMiner`): a block costs anvil
time in proportion to the whole state, and a block per transaction (automine) spent most of a
midday slot mining.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.data.calendar import slot_of_year
from chain.artifacts import load_artifact
from devchain.city import City, deploy_city
from devchain.sandbox import Sandbox
from energychain.events import EventReader
from energychain.market import Market
from enerwise.city.config import CityConfig
from enerwise.city.pool_step import (
    check_conservation,
    claim_orders,
    clear_pool_step,
    market_solvent,
    placed_orders,
)
from enerwise.city.report import city_report, slot_row
from enerwise.demo.community import DayPlan, Household, agent_households, enrol, replay_start
from enerwise.demo.meters import Metered
from enerwise.demo.traders import RuntimeTrader, SlotContext, Trader, planned_nets
from enerwise.demo.trading import agent_policy, build_traders
from grid.benchmark import check_schedule
from grid.households import HouseholdDay
from grid.limits import LimitsKept
from grid.publisher import LimitsPublisher, PoolCommunities, PublicationJournal
from grid.scenario import Scenario, build_scenario
from market.clearing import ClearingRecord

CITY_HISTORY_STATES = 64
"""Past states the city's anvil keeps (:func:`chain.local_node.bounded_history`): a day of
1,000 households does not fit in memory with anvil's default history."""


SETUP_MARGIN_S = 6 * 3_600
"""Chain time between genesis and the data day's midnight, for the set-up's blocks."""


class SetupTooLongError(RuntimeError):
    """The set-up's blocks took the chain past the data day's first slot."""


@dataclass
class _Community:
    """One community on chain: its market, its households and the traders bidding for them (the
    demo's: ``TruthfulTrader`` for the households without battery, a ``RuntimeTrader`` of agents
    for the battery owners)."""

    community_id: str
    market: Market
    sandbox: Sandbox
    plan: DayPlan
    households: list[Household]
    traders: list[Trader]
    nets: dict[int, Callable[[int], int]]

    @property
    def agents(self) -> RuntimeTrader | None:
        return next((t for t in self.traders if isinstance(t, RuntimeTrader)), None)


@dataclass
class _Totals:
    """Sums over the slots run; ``order_blocks``: the first block of the agents' first
    decisions, then of every slot's orders step. An agent bids for a slot up to two slots
    ahead, so slot ``k``'s orders are read from ``order_blocks[max(k - 1, 0)]`` on."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    order_blocks: list[int] = field(default_factory=list)
    prepare_seconds: dict[str, float] = field(default_factory=dict)


SlotHook = Callable[[dict[str, Any]], None]
NoteHook = Callable[[str], None]


def run_city(
    config: CityConfig,
    on_slot: SlotHook | None = None,
    on_note: NoteHook | None = None,
) -> dict[str, Any]:
    """Run the city (module docstring) and return its report; ``on_slot(row)`` after every
    slot, ``on_note(text)`` for set-up steps."""
    note = on_note or (lambda _text: None)
    began = time.perf_counter()
    note(
        f"drawing {config.communities} x {config.households} real-data households on "
        f"{config.network} for {config.day}"
    )
    scenario = build_scenario(
        config.network,
        config.communities,
        config.households,
        config.day,
        slots=config.slots,
        forecast=config.forecast,
        seed=config.seed,
        moves=config.moves,
    )
    scenario_s = time.perf_counter() - began
    t0 = _day_origin(config.day, scenario.start)
    with contextlib.ExitStack() as stack:
        note("starting anvil, deploying the community markets and the pool")
        sandbox = stack.enter_context(
            Sandbox.on_anvil(
                genesis_timestamp=t0 - SETUP_MARGIN_S,
                seed=config.seed,
                history_states=CITY_HISTORY_STATES,
                mine_on_demand=True,
            )
        )
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="enerwise-city-")))
        set_up = time.perf_counter()
        city = deploy_city(sandbox, config.communities, levels=config.levels, pooled=True)
        city.operator.transact(city.pool.set_grid_fee(config.grid_fee_ticks, city.operator.address))
        first = sandbox.calendar.slot_of(t0)
        communities = _enrol(sandbox, city, scenario, config, first, workdir, note)
        publisher = _publisher(city, scenario, workdir)
        if sandbox.dev.now() >= t0:
            raise SetupTooLongError(
                f"the set-up took the chain past the day's first slot ({t0}): "
                f"raise SETUP_MARGIN_S ({SETUP_MARGIN_S} s)"
            )
        sandbox.advance_to(sandbox.slot_start(first))
        _baseline_readings(sandbox, communities, sandbox.slot_start(first))
        setup_s = time.perf_counter() - set_up
        note(
            f"{sum(len(c.households) for c in communities)} households enrolled in "
            f"{len(communities)} markets; slots {first}..{first + config.slots - 1}"
        )
        totals = _Totals()
        totals.order_blocks.append(int(sandbox.w3.eth.block_number) + 1)
        with _timed(totals.prepare_seconds, "agents"):
            _prepare_agents(sandbox, communities, first)
        for k in range(config.slots):
            row = _slot(sandbox, city, communities, publisher, scenario, first, k, totals)
            totals.rows.append(row)
            if on_slot is not None:
                on_slot(row)
        slots_s = time.perf_counter() - began - scenario_s - setup_s
        agents = _agents_summary(config, communities, workdir, totals)
    report = city_report(
        config, scenario, sandbox.params, totals.rows, totals.checks, first, agents
    )
    report["timing"] = {
        "scenario_s": round(scenario_s, 1),
        "setup_s": round(setup_s, 1),
        "slots_s": round(slots_s, 1),
        "per_slot_s_mean": round(slots_s / config.slots, 2),
        "total_s": round(time.perf_counter() - began, 1),
    }
    return report


# ---------------------------------------------------------------------- set-up


def _market_view(sandbox: Sandbox, market: Market) -> Sandbox:
    """The sandbox acting on ``market`` (its keys, registry, token and calendar are shared):
    the demo's household code then trades in that community's market."""
    view = copy.copy(sandbox)
    view.contracts = dataclasses.replace(sandbox.contracts, market=market)
    return view


def _day_origin(day: str, data_start: int) -> int:
    """The chain time of the data day's first slot: midnight (UTC+1) of its month and day in
    the latest non-leap year (:func:`enerwise.demo.community.replay_start`, as the demo), so
    the agents' forecasters (which map the chain's clock onto the data year) replay the day
    the meters replay."""
    t0 = replay_start(dt.date.fromisoformat(day), dt.datetime.now(dt.UTC).date())
    if slot_of_year(t0) != data_start:
        raise ValueError(f"the chain's day {t0} does not replay data slot {data_start}")
    return t0


def _enrol(
    sandbox: Sandbox,
    city: City,
    scenario: Scenario,
    config: CityConfig,
    first: int,
    workdir: Path,
    note: NoteHook,
) -> list[_Community]:
    """Every household enrolled as the demo enrols it; the battery owners' agents (the demo's
    ``build_traders``: one ``AgentRuntime`` per battery owner on its delegated agent key) run
    ``config.battery_policy`` and leave claims alone (the city's claims step claims their
    orders)."""
    data = scenario.data
    row_of = {h: i for i, h in enumerate(data.household_ids)}
    artifact = load_artifact("EnergyMarket")
    with_agents = config.battery_policy != "truthful"
    policy = (
        agent_policy(note, None if config.battery_policy == "ppo" else config.battery_policy)
        if with_agents
        else None
    )
    expiry = sandbox.slot_start(first + config.slots + 4) + 86_400
    out = []
    for area, address in zip(scenario.operator.communities, city.markets, strict=True):
        market = Market(sandbox.w3, artifact, address, sandbox.decoder)
        view = _market_view(sandbox, market)
        drawn = scenario.communities[area.id]
        rows = [row_of[f"{area.id}/{h.id}"] for h in drawn.households]
        plan = DayPlan(
            community=drawn,
            data_start=scenario.start,
            slots=config.slots,
            net_wh=np.asarray(data.actual_wh[rows], dtype=np.int64),
        )
        households = enrol(
            view,
            plan,
            deposit_eur=config.deposit_eur,
            agents=agent_households(plan) if with_agents else [],
            grant_expiry=expiry,
        )
        traders = build_traders(
            view, plan, households, workdir / area.id, note, policy=policy, claims=False
        )
        nets = planned_nets(plan, first, traders)
        out.append(_Community(area.id, market, view, plan, households, traders, nets))
    return out


def _prepare_agents(sandbox: Sandbox, communities: list[_Community], first: int) -> None:
    """The agents decide the first two slots before the first starts, as the demo's agents do
    (one step just before the day, one at its start): afterwards each slot's orders step
    decides the slot after the next."""
    start = sandbox.slot_start(first)
    for c in communities:
        agents = c.agents
        if agents is not None:
            agents.prepare(start)
            agents.step(SlotContext(start, None, None, None, {}))


def _publisher(city: City, scenario: Scenario, workdir: Path) -> LimitsPublisher:
    ids = [c.id for c in scenario.operator.communities]
    mapping = PoolCommunities.in_order(ids)
    journal = PublicationJournal(
        workdir / "publications.json", LimitsPublisher.identity(city.pool, city.operator)
    )
    return LimitsPublisher(city.pool, city.operator, mapping, journal=journal)


def _baseline_readings(sandbox: Sandbox, communities: list[_Community], at: int) -> None:
    sandbox.submit_readings(
        [sandbox.signed_reading(h.meter, at, 0, 0) for c in communities for h in c.households]
    )


# ---------------------------------------------------------------------- one slot


@contextlib.contextmanager
def _timed(seconds: dict[str, float], step: str) -> Iterator[None]:
    """Wall time of the block into ``seconds[step]``."""
    began = time.perf_counter()
    yield
    seconds[step] = round(time.perf_counter() - began, 2)


@contextlib.contextmanager
def _gas(
    sandbox: Sandbox, into: dict[str, int | None], seconds: dict[str, float], step: str
) -> Iterator[None]:
    """Sum of ``gasUsed`` of the blocks mined inside the block into ``into[step]``, its wall
    time into ``seconds[step]``."""
    before = int(sandbox.w3.eth.block_number)
    with _timed(seconds, step):
        yield
    after = int(sandbox.w3.eth.block_number)
    into[step] = _gas_of_blocks(sandbox, before, after)


def _gas_of_blocks(sandbox: Sandbox, after: int, upto: int) -> int:
    if upto <= after:
        return 0
    total = 0
    with sandbox.w3.batch_requests() as batch:
        for n in range(after + 1, upto + 1):
            batch.add(sandbox.w3.eth.get_block(n))
        for block in batch.execute():
            total += int(block["gasUsed"])  # type: ignore[typeddict-item]
    return total


def _slot(
    sandbox: Sandbox,
    city: City,
    communities: list[_Community],
    publisher: LimitsPublisher,
    scenario: Scenario,
    first: int,
    k: int,
    totals: _Totals,
) -> dict[str, Any]:
    began = time.perf_counter()
    slot = first + k
    operator = scenario.operator
    gas: dict[str, int | None] = {}
    seconds: dict[str, float] = {}
    # 1. limits, published before the slot starts (the chain is at its start at the latest)
    with _gas(sandbox, gas, seconds, "limits"):
        slot_limits = operator.limits(slot, scenario.data.forecast_wh[:, k])
        publication = publisher.publish(slot_limits)
    # 2. readings at the slot's end
    metering = _meter(sandbox, communities, scenario.data, slot, k, gas, seconds)
    # 3. orders, every community in its own market: the households without battery bid
    # truthfully, the battery owners' agents sell this slot's export and bid ahead
    orders_from = totals.order_blocks[max(k - 1, 0)]
    totals.order_blocks.append(int(sandbox.w3.eth.block_number) + 1)
    errors, agent_orders = _trade(sandbox, communities, metering.metered, slot, k, gas, seconds)
    orders_to = int(sandbox.w3.eth.block_number)
    # 4. every community clears at gate closure
    records: list[ClearingRecord] = []
    with _gas(sandbox, gas, seconds, "clears"):
        for c in communities:
            records.append(c.sandbox.clear(slot))
    # 5. the pool
    with _timed(seconds, "pool"):
        step = clear_pool_step(
            city.pool,
            [c.market for c in communities],
            [c.community_id for c in communities],
            slot,
            sandbox.params,
            sandbox.admin,
            settle=True,
        )
    gas["pool"] = step.gas_used
    gas["settle"] = step.settle_gas_used
    # 6. claims: a keeper claims every order the reference settles in this slot (agents' buys
    # placed two slots ahead included), in id order, so each pool fill flows to its orders
    orders = [placed_orders(c.market, slot, orders_from, orders_to) for c in communities]
    with _gas(sandbox, gas, seconds, "claims"):
        claimed = [
            claim_orders(c.market, [int(o.id) for o in placed], sandbox.admin)
            for c, placed in zip(communities, orders, strict=True)
        ]
    with _timed(seconds, "conservation"):
        checks = check_conservation(step, records, orders, sandbox.params, claimed)
        checks["markets solvent after claims"] = _solvent(sandbox, communities, slot, orders_from)
    for name, ok in checks.items():
        totals.checks[name] = totals.checks.get(name, True) and ok
    # 7. the grid: power flows of the metered schedule without and with the limits
    with _timed(seconds, "grid_check"):
        without, within, _ = check_schedule(operator, slot, metering.schedule, slot_limits)
    return slot_row(
        slot=slot,
        k=k,
        params=sandbox.params,
        metered=metering.metered,
        records=records,
        step=step,
        publication_kept=publication.kept,
        events=sorted({type(e).__name__ for e in slot_limits.events}),
        limits=(publication.import_total_wh, publication.export_total_wh),
        violations=(len(without.violations), len(within.violations)),
        diverged=int(not without.converged) + int(not within.converged),
        gas=gas,
        orders=sum(len(o) for o in orders),
        claimed=[c for mine in claimed for c in mine],
        agent_orders=agent_orders,
        agent_nets=metering.agent_nets,
        off_self_consumption=metering.off_self_consumption,
        errors=errors,
        checks_ok=all(checks.values()),
        seconds=time.perf_counter() - began,
        seconds_by_step=seconds,
        kept_any=any(isinstance(e, LimitsKept) for e in slot_limits.events),
    )


@dataclass
class _Metering:
    """A slot's meter readings: per community ``{household index: Metered}``, the schedule the
    grid check runs (each household's net Wh, the agents' battery-driven ones included), the
    agents' nets by ``community/household`` and how many of them left self-consumption."""

    metered: list[dict[int, Metered]]
    schedule: np.ndarray
    agent_nets: dict[str, int]
    off_self_consumption: int


def _meter(
    sandbox: Sandbox,
    communities: list[_Community],
    data: HouseholdDay,
    slot: int,
    k: int,
    gas: dict[str, int | None],
    seconds: dict[str, float],
) -> _Metering:
    """Moves the chain to ``slot``'s end and submits every household's signed reading of it."""
    end = sandbox.slot_start(slot + 1)
    sandbox.advance_to(end)
    metered: list[dict[int, Metered]] = []
    readings = []
    schedule = np.array(data.actual_wh[:, k], dtype=np.float64)
    agent_nets: dict[str, int] = {}
    off_self_consumption = 0
    row_of = {h: i for i, h in enumerate(data.household_ids)}
    with _timed(seconds, "signing"):
        for c in communities:
            rows: dict[int, Metered] = {}
            planned = c.agents.runtimes if c.agents is not None else {}
            for h in c.households:
                net = c.nets[h.index](k)
                rows[h.index] = Metered(import_wh=max(net, 0), export_wh=max(-net, 0))
                readings.append(sandbox.signed_reading(h.meter, end, max(net, 0), max(-net, 0)))
                if h.index in planned:  # the agent's battery, not self-consumption
                    name = f"{c.community_id}/{h.name}"
                    agent_nets[name] = net
                    schedule[row_of[name]] = net
                    off_self_consumption += net != int(c.plan.net_wh[h.index, k])
            metered.append(rows)
    with _gas(sandbox, gas, seconds, "readings"):
        sandbox.submit_readings(readings)
    return _Metering(metered, schedule, agent_nets, off_self_consumption)


def _trade(
    sandbox: Sandbox,
    communities: list[_Community],
    metered: list[dict[int, Metered]],
    slot: int,
    k: int,
    gas: dict[str, int | None],
    seconds: dict[str, float],
) -> tuple[list[str], int]:
    """Every trader of every community steps once for ``slot``: the errors they reported and
    how many orders the agents placed (their time in ``seconds["agents"]``)."""
    errors: list[str] = []
    agent_orders = 0
    agent_seconds = 0.0
    with _gas(sandbox, gas, seconds, "orders"):
        for c, rows in zip(communities, metered, strict=True):
            context = SlotContext(
                now=sandbox.dev.now(), trade_slot=slot, trade_k=k, cleared_slot=None, metered=rows
            )
            for trader in c.traders:
                stepped = time.perf_counter()
                done = trader.step(context)
                errors.extend(done.errors)
                if isinstance(trader, RuntimeTrader):
                    agent_orders += done.orders
                    agent_seconds += time.perf_counter() - stepped
    seconds["agents"] = round(agent_seconds, 2)
    return errors, agent_orders


def _solvent(sandbox: Sandbox, communities: list[_Community], slot: int, from_block: int) -> bool:
    """Whether every market, after ``slot``'s claims, covers its members' and treasury's vault
    balances and the escrow of the buys placed ahead (:func:`market_solvent`)."""
    to_block = int(sandbox.w3.eth.block_number)
    ok = True
    for c in communities:
        later = [
            int(e["args"]["orderId"])
            for e in EventReader(c.market).read("OrderPlaced", from_block, to_block)
            if int(e["args"]["slot"]) > slot
        ]
        accounts = [h.account.address for h in c.households] + [c.market.params().treasury]
        ok &= market_solvent(
            c.market,
            sandbox.contracts.payment,
            sandbox.contracts.token,
            accounts,
            slot,
            later,
            sandbox.params,
        )
    return ok


# ---------------------------------------------------------------------- agents


def _agents_summary(
    config: CityConfig, communities: list[_Community], workdir: Path, totals: _Totals
) -> dict[str, Any]:
    """What the battery owners ran: the agents' policy, how many, their orders and decisions
    (from their decision logs), and the wall time of their steps."""
    traders = [c.agents for c in communities if c.agents is not None]
    decisions = 0
    for c in communities:
        log = workdir / c.community_id / "agents" / "decisions.jsonl"
        if log.is_file():
            with log.open() as handle:
                decisions += sum('"event": "decision"' in line for line in handle)
    seconds = [r["seconds_by_step"]["agents"] for r in totals.rows]
    count = sum(len(t.runtimes) for t in traders)
    return {
        "policy": traders[0].name if traders else "truthful (no agents)",
        "requested": config.battery_policy,
        "count": count,
        "battery_owners": sum(
            1 for c in communities for h in c.households if h.spec.battery is not None
        ),
        "decisions": decisions,
        "orders": sum(r["battery_agent_orders"] for r in totals.rows),
        "slots_off_self_consumption": sum(
            r["battery_agents_off_self_consumption"] for r in totals.rows
        ),
        "claims": False,
        "prepare_s": totals.prepare_seconds.get("agents", 0.0),
        "seconds_per_slot_mean": round(sum(seconds) / len(seconds), 2) if seconds else 0.0,
        "seconds_per_slot_max": max(seconds, default=0.0),
        "seconds_per_agent_step_mean": (
            round(sum(seconds) / len(seconds) / count, 4) if seconds and count else 0.0
        ),
    }
