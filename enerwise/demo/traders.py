"""Who places the orders: baseline households with their own keys, agents with agent keys.

A :class:`Trader` is called once per slot boundary with a :class:`SlotContext` (the slot whose
metered energy just landed and is now traded, the slot just cleared) and does everything its
households do on chain for it. The slot loop only ever calls ``trader.step(context)``.

- :class:`TruthfulTrader`: baseline households bid their retail tariff and ask their feed-in
  tariff (``agents.policies.baselines.Truthful``), from their own keys.
- :class:`RuntimeTrader`: households run by an agent: ``agents.live.runtime.AgentRuntime`` with a
  pretrained policy places and claims orders for the owner through the agent key's on-chain
  delegation (budget, price bounds, expiry).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.community import TRUTHFUL, Decision
from devchain.sandbox import (
    GAS_ERC1155_TRANSFER,
    GAS_PER_CLAIM,
    GAS_PER_ORDER,
    Participant,
    Sandbox,
)
from energychain.events import EventReader
from energychain.sealed_market import SealedMarket
from enerwise.demo.community import DayPlan, Household, chain_tick
from enerwise.demo.meters import Metered
from wallet.transactions import TxRequest

logger = logging.getLogger(__name__)

#: Households whose transactions are sent at the same time (each from its own key).
PARALLEL_SENDERS = 6


@dataclass(frozen=True)
class SlotContext:
    """One boundary of the slot loop.

    Attributes:
        now: chain time of the boundary.
        trade_slot: chain slot whose metered energy is now on chain and is traded (or None).
        trade_k: its position in the plan (0-based).
        cleared_slot: chain slot cleared at this boundary (or None).
        metered: per household index, what its meter put on chain for ``trade_slot``.
    """

    now: int
    trade_slot: int | None
    trade_k: int | None
    cleared_slot: int | None
    metered: Mapping[int, Metered]


@dataclass
class TraderReport:
    """What a trader did at one boundary."""

    orders: int = 0
    claims: int = 0
    errors: list[str] = field(default_factory=list)


class Trader(Protocol):
    name: str
    households: list[Household]

    def step(self, context: SlotContext) -> TraderReport: ...


@dataclass
class _Book:
    """Order ids a trader placed per slot (to claim them once the slot cleared)."""

    placed: dict[int, list[int]] = field(default_factory=dict)

    def add(self, slot: int, ids: Sequence[int]) -> None:
        self.placed.setdefault(slot, []).extend(ids)

    def take(self, slot: int) -> list[int]:
        return self.placed.pop(slot, [])


def _parallel(jobs: Sequence[Callable[[], Any]]) -> list[Any]:
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(PARALLEL_SENDERS, len(jobs))) as pool:
        return list(pool.map(lambda job: job(), jobs))


class TruthfulTrader:
    """Baseline households: bid retail, ask feed-in (``agents`` ``Truthful``), from their own
    keys; each household's transactions go out as one batch, households in parallel."""

    name = "truthful"

    def __init__(self, sandbox: Sandbox, plan: DayPlan, households: Sequence[Household]) -> None:
        self.sandbox = sandbox
        self.plan = plan
        self.households = list(households)
        self._book = _Book()
        self.min_wh = sandbox.params.min_order_wh
        self.decision: Decision = TRUTHFUL

    def _requests(self, member: Household, slot: int, k: int, metered: Metered) -> list[TxRequest]:
        buy_tick, sell_tick = self._prices(member, k)
        orders: list[tuple[int, bool, int, int]] = []
        requests: list[TxRequest] = []
        if metered.export_wh >= self.min_wh:
            requests.append(
                self.sandbox.contracts.token.transfer(
                    member.account.address,
                    self.sandbox.contracts.market.address,
                    slot,
                    metered.export_wh,
                    gas=GAS_ERC1155_TRANSFER,
                )
            )
            orders.append((slot, False, sell_tick, metered.export_wh))
        if metered.import_wh >= self.min_wh:
            orders.append((slot, True, buy_tick, metered.import_wh))
        if orders:
            requests.append(
                self.sandbox.contracts.market.place_orders(
                    member.account.address, orders, gas=GAS_PER_ORDER * len(orders) + 100_000
                )
            )
        return requests

    def step(self, context: SlotContext) -> TraderReport:
        report = TraderReport()
        self._open_due(context.now, report)
        if context.cleared_slot is not None:
            report.claims = self._claim(context.cleared_slot, report)
        if context.trade_slot is not None and context.trade_k is not None:
            slot, k = context.trade_slot, context.trade_k
            jobs = []
            for member in self.households:
                metered = context.metered.get(member.index, Metered())
                job = self._trade_job(member, slot, k, metered, report)
                if job is not None:
                    jobs.append(job)
            report.orders = sum(_parallel(jobs))
        return report

    def _open_due(self, now: int, report: TraderReport) -> None:
        """Orders to open at ``now`` before claiming: none in an open market (a sealed market's
        trader reveals its commitments here)."""

    def _trade_job(
        self, member: Household, slot: int, k: int, metered: Metered, report: TraderReport
    ) -> Callable[[], int] | None:
        """``member``'s orders for ``slot`` as one job for the parallel senders (None: none)."""
        requests = self._requests(member, slot, k, metered)
        return self._job(member, slot, requests, report) if requests else None

    def _job(
        self, member: Household, slot: int, requests: list[TxRequest], report: TraderReport
    ) -> Callable[[], int]:
        def run() -> int:
            try:
                receipts = member.account.sender.send_batch(requests)
            except Exception as exc:  # one household's failure must not stop the market
                report.errors.append(f"{member.name}: {exc}")
                logger.warning("%s: orders for slot %d failed: %s", member.name, slot, exc)
                return 0
            ids = self.sandbox.placed_order_ids(receipts)
            self._book.add(slot, ids)
            return len(ids)

        return run

    def _claim(self, slot: int, report: TraderReport) -> int:
        ids = self._book.take(slot)
        if not ids:
            return 0
        try:
            self._claimer().sender.transact(
                self.sandbox.contracts.market.claim_batch(
                    ids, gas=GAS_PER_CLAIM * len(ids) + 60_000
                )
            )
        except Exception as exc:
            report.errors.append(f"claims of slot {slot}: {exc}")
            logger.warning("claims of slot %d failed: %s", slot, exc)
            return 0
        return len(ids)

    def _claimer(self) -> Participant:
        """Anyone may claim (the outcome goes to the order's owner): one batch, one key."""
        return self.households[0].account

    def _prices(self, member: Household, k: int) -> tuple[int, int]:
        """(buy tick, sell tick) of ``member`` in replayed slot ``k``."""
        buy = self.plan.price_of_fraction(k, self.decision.buy_frac)
        sell = self.plan.price_of_fraction(k, self.decision.sell_frac)
        return (
            chain_tick(self.sandbox, buy, round_up=False),
            chain_tick(self.sandbox, sell, round_up=True),
        )


class RuntimeTrader:
    """Agent households: one ``agents.live.runtime.AgentRuntime`` per household, on its agent key.

    The runtime decides each slot ahead (battery set-point, buy and sell prices from its
    policy), bids for the expected import, offers the export once it is in the owner's vault,
    and claims cleared slots. The owner's home gateway (the owner key) moves freshly minted
    slot tokens into the vault: the agent key can only trade what is there.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        plan: DayPlan,
        households: Sequence[Household],
        runtimes: Mapping[int, Any],
        policy_name: str,
    ) -> None:
        self.sandbox = sandbox
        self.plan = plan
        self.households = list(households)
        self.runtimes = dict(runtimes)
        self.name = policy_name
        self.min_wh = sandbox.params.min_order_wh

    def planned_net_wh(self, index: int, slot: int) -> int | None:
        """The net import the runtime planned for ``slot`` (its battery decision), if any."""
        runtime = self.runtimes.get(index)
        plan = runtime.state.slot(slot) if runtime is not None else None
        return plan.net_wh if plan is not None else None

    def prepare(self, now: int) -> None:
        """Decide the first slot before it starts (one step just before ``now``)."""
        _parallel([functools.partial(r.step, now - 1) for r in self.runtimes.values()])

    def step(self, context: SlotContext) -> TraderReport:
        report = TraderReport()
        if context.trade_slot is not None:
            jobs = []
            for member in self.households:
                exported = context.metered.get(member.index, Metered()).export_wh
                if exported >= self.min_wh:
                    jobs.append(self._deposit(member, context.trade_slot, exported, report))
            _parallel(jobs)

        def run(member: Household) -> Callable[[], Any]:
            def job() -> Any:
                try:
                    return self.runtimes[member.index].step(context.now)
                except Exception as exc:  # one agent's failure must not stop the market
                    report.errors.append(f"{member.name}: {exc}")
                    logger.warning("agent of %s: %s", member.name, exc)
                    return None

            return job

        for step in _parallel([run(m) for m in self.households]):
            if step is None:
                continue
            report.orders += len(step.placed)
            report.claims += len(step.claimed)
            report.errors.extend(f"agent: {e}" for e in step.errors)
        return report

    def _deposit(
        self, member: Household, slot: int, qty: int, report: TraderReport
    ) -> Callable[[], None]:
        def job() -> None:
            try:
                member.account.sender.transact(
                    self.sandbox.deposit_energy_request(member.account, slot, qty)
                )
            except Exception as exc:
                report.errors.append(f"{member.name}: deposit of slot {slot}: {exc}")

        return job

    def settle_after(self, last_slot: int) -> int:
        """Sealed market: the runtimes' commitments for slots after the day cannot be cancelled,
        so each such slot is played out: the runtimes reveal in its reveal window, the slot is
        cleared after it, and they claim. Returns the number of slots settled."""
        market = self.sandbox.contracts.market
        if not isinstance(market, SealedMarket):
            raise TypeError("settle_after plays out sealed commitments: the market is open")
        slots = sorted({s for r in self.runtimes.values() for s in r.unsettled_slots(last_slot)})
        runtimes = list(self.runtimes.values())
        for slot in slots:
            opens_after, closes_at = market.reveal_window(slot)
            self.sandbox.advance_to(opens_after + 1)
            _parallel([functools.partial(r.wind_down, opens_after + 1) for r in runtimes])
            self.sandbox.advance_to(closes_at + 1)
            self.sandbox.clear(slot)
            _parallel([functools.partial(r.wind_down, closes_at + 1) for r in runtimes])
        return len(slots)

    def cancel_after(self, last_slot: int) -> int:
        """Cancel (through the agent keys) orders the runtimes placed for slots after the day."""
        market = self.sandbox.contracts.market
        cancelled = 0
        for member in self.households:
            assert member.agent is not None
            logs = EventReader(market).read(
                "OrderPlaced",
                self.sandbox.deployment.block_number,
                filters={"owner": member.account.address},
            )
            ids = [int(x["args"]["orderId"]) for x in logs if int(x["args"]["slot"]) > last_slot]
            live = [i for i in ids if market.order(i) is not None]
            if live:
                member.agent.sender.transact(
                    market.cancel_orders(live, gas=80_000 * len(live) + 60_000)
                )
                cancelled += len(live)
        return cancelled


def planned_nets(
    plan: DayPlan, first: int, traders: Sequence[Trader]
) -> dict[int, Callable[[int], int]]:
    """Each household's net energy per replayed slot ``k`` (what its meter integrates): an
    agent's own battery plan for chain slot ``first + k`` when it made one, else the plan's
    self-consumption battery."""
    out: dict[int, Callable[[int], int]] = {}
    runtimes = [t for t in traders if isinstance(t, RuntimeTrader)]
    for i in range(len(plan.households)):
        owner = next((t for t in runtimes if i in t.runtimes), None)

        def net(k: int, i: int = i, owner: RuntimeTrader | None = owner) -> int:
            planned = owner.planned_net_wh(i, first + k) if owner is not None else None
            return planned if planned is not None else int(plan.net_wh[i, k])

        out[i] = net
    return out
