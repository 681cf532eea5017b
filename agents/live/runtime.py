"""The live agent: a policy trading for its owner on chain, through a delegated agent key.

Every slot :meth:`AgentRuntime.step` does, in this order:

1. **Reconcile** orders whose intent was written but whose outcome is not known
   (:mod:`agents.live.claiming`): a restart never places an order twice.
2. **Claim** every placed order of a cleared slot (with ``clear_slots``, clearing a slot past
   gate closure that nobody cleared first; with ``claim=False`` nothing is claimed).
3. **Decide** the next slot (:mod:`agents.live.deciding`): forecasts, the policy, the battery
   model; a buy for the expected import, a sell plan for the expected export. Book policies
   (``mpc_book`` and residual learned policies) plan in the last ``plan_lead_seconds`` before the
   slot on the chain's newest book and place both plans late.
4. **Place** the late buys and the sells whose tokens the vault holds
   (:mod:`agents.live.placing`), each checked against the contract's rules first.

On a device (a household gateway) the step takes the battery's *measured* state of charge
(``step(now, soc_kwh=...)``), so each slot is planned on the real battery, not on the model's
running estimate; :meth:`AgentRuntime.follow` redoes a slot's plan on the power the battery
really runs at, and the slot's buy follows (:mod:`agents.live.replanning`).

The runtime holds only the agent key; the owner's key is never needed. Its state is one JSON
file (:mod:`agents.live.state`); decisions and actions go to an optional JSON lines log
(:mod:`agents.live.link`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.community import BatterySpec
from agents.errors import ConfigError
from agents.live.claiming import Settlement
from agents.live.deciding import Decider
from agents.live.forecasts import Forecaster
from agents.live.link import ChainLink
from agents.live.placing import OrderDesk
from agents.live.policies import RuntimePolicy
from agents.live.replanning import Replanner
from agents.live.reports import StepReport
from agents.live.revealing import Revealer
from agents.live.state import AgentState
from energychain.deploy import EnergyChain
from energychain.records import Delegation
from market.clearing import MarketParams, Order
from wallet.transactions import TransactionSender, TxRequest


class AgentRuntime:
    """One owner's trading agent on an EnergyChain market (see the module docstring).

    Args:
        chain: the deployed contracts (``energychain.deploy.EnergyChain``).
        sender: a ``TransactionSender`` for the *agent* key.
        owner: the owner who delegated to the agent.
        policy: decides battery and prices per slot.
        state_path: the durable state file (created if missing).
        forecaster: forecasts per slot; without one no buy/sell plan is made from forecasts
            and only the sell of energy already in the vault is offered.
        battery: the owner's battery (simulated from the decisions; None: no battery).
        log_path: JSON lines decision log (None: the ``agents.live`` logger only).
        clear_slots: clear slots past gate closure that nobody cleared, before claiming.
        claim: claim cleared slots (False: whoever settles the market claims, and the agent
            never claims nor refunds a void slot: ``enerwise city``, whose claims step claims
            every order once the pool has settled the slot).
        late_seconds: book policies place their orders from ``late_seconds`` before gate
            closure on (default: half the settlement window).
        plan_lead_seconds: book policies decide the next slot only in its last
            ``plan_lead_seconds`` before it starts (default 60), so the book two slots back is
            final or nearly so; other policies decide as soon as the slot is next.
        book_from_block: first block whose logs are read for the visible books (the market's
            deployment block spares a long chain's early history).
        retries: attempts of a read on connection errors.
        backoff: first wait between attempts, seconds (doubles each time).
        sleep: the wait function (tests pass a no-op).

    Raises:
        ConfigError: a bad owner address, the owner's own key as agent key, or
            ``late_seconds`` not in ``1..slot_seconds + settlement_seconds``, or
            ``plan_lead_seconds`` not in ``1..slot_seconds``.
    """

    def __init__(
        self,
        chain: EnergyChain,
        sender: TransactionSender,
        owner: str,
        policy: RuntimePolicy,
        state_path: Path,
        forecaster: Forecaster | None = None,
        *,
        battery: BatterySpec | None = None,
        log_path: Path | None = None,
        clear_slots: bool = False,
        claim: bool = True,
        late_seconds: int | None = None,
        plan_lead_seconds: int = 60,
        book_from_block: int = 0,
        retries: int = 5,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.link = ChainLink(
            chain,
            sender,
            owner,
            log_path=log_path,
            book_from_block=book_from_block,
            retries=retries,
            backoff=backoff,
            sleep=sleep,
        )
        self.owner, self.agent = self.link.owner, self.link.agent
        self.policy = policy
        calendar, params = self.link.calendar, self.link.params
        window = calendar.slot_seconds + params.settlement_seconds
        self.late_seconds = (
            max(params.settlement_seconds // 2, 1) if late_seconds is None else int(late_seconds)
        )
        if not 0 < self.late_seconds <= window:
            raise ConfigError(f"late_seconds must be in 1..{window}, got {late_seconds}")
        if not 0 < plan_lead_seconds <= calendar.slot_seconds:
            raise ConfigError(
                f"plan_lead_seconds must be in 1..{calendar.slot_seconds}, got {plan_lead_seconds}"
            )
        soc = battery.initial_soc * battery.capacity_kwh if battery else 0.0
        identity = {
            "chain_id": sender.chain_id,
            "market": self.link.market.address,
            "owner": self.owner,
            "agent": self.agent,
        }
        self.state = AgentState(state_path, identity, soc)
        self.desk = OrderDesk(self.link, self.state, self._send_hook, self.late_seconds)
        self.decider = Decider(
            self.link, self.state, self.desk, policy, forecaster, battery, int(plan_lead_seconds)
        )
        self.settlement = Settlement(self.link, self.state, self._send_hook, clear_slots)
        self.replanner = Replanner(self.link, self.state, self.desk, self._send_hook)
        self.revealer = Revealer(self.link, self.state, self._send_hook)
        self.claims = claim

    # ------------------------------------------------------------------ the step
    def step(self, now_ts: int, soc_kwh: float | None = None) -> StepReport:
        """Reconcile open intents, claim cleared slots, decide and order for the next slot.

        ``soc_kwh``: the battery's measured state of charge (a device's), planned on instead of
        the model's estimate.

        Raises:
            AgentRuntimeError: the delegation is missing or expired, or the node stays
                unreachable for every retry.
        """
        report = StepReport(now=now_ts)
        if soc_kwh is not None:
            self.state.soc_kwh = float(soc_kwh)
        self.settlement.reconcile(report)
        self.replanner.reconcile()
        if self.link.sealed:
            self.revealer.step(now_ts, report)
        if self.claims:
            self.settlement.claim(now_ts, report)
        delegation = self.link.delegation(now_ts)
        self.decider.decide(now_ts, delegation, report)
        self.desk.place_late_buys(now_ts, delegation, report)
        self.desk.place_sells(now_ts, report)
        return report

    def wind_down(self, now_ts: int) -> StepReport:
        """Settle what is open without taking a new position: reconcile intents, reveal due
        commitments (ending those whose window passed), claim cleared slots. An agent being
        stopped calls it at each slot's reveal window and after its clearing until
        :meth:`unsettled_slots` is empty: a sealed commitment cannot be cancelled, and left
        alone it forfeits its bond."""
        report = StepReport(now=now_ts)
        self.settlement.reconcile(report)
        if self.link.sealed:
            self.revealer.step(now_ts, report)
        self.settlement.claim(now_ts, report)
        return report

    def unsettled_slots(self, after: int = -1) -> list[int]:
        """Slots after ``after`` holding an order that is committed or in the book, oldest first."""
        return sorted(
            slot
            for slot, plan in self.state.slots.items()
            if slot > after and any(o.status in ("committed", "placed") for o in plan.orders)
        )

    def follow(self, slot: int, battery_kw: float, now_ts: int) -> StepReport:
        """Redo ``slot``'s plan for the battery power a device really runs at (positive:
        charging); the slot's buy follows (:mod:`agents.live.replanning`)."""
        report = StepReport(now=now_ts)
        self.replanner.follow(slot, battery_kw, now_ts, self.link.delegation(now_ts), report)
        return report

    def reconcile(self, report: StepReport | None = None) -> None:
        """Settle every order intent whose outcome is not recorded."""
        self.settlement.reconcile(report or StepReport(now=0))

    def _send(self, request: TxRequest) -> Any:
        """Hook for sending (tests interpose a crash here)."""
        return self.link.sender.transact(request)

    def _send_hook(self, request: TxRequest) -> Any:
        return self._send(request)

    # ------------------------------------------------------------------ views
    def slot_at(self, timestamp: int) -> int:
        """The slot running at ``timestamp``."""
        return self.link.calendar.slot_of(timestamp)

    def slot_start(self, slot: int) -> int:
        return self.link.calendar.start(slot)

    def gate_closure(self, slot: int) -> int:
        return self.link.calendar.gate_closure(slot)

    def delegation(self, now: int) -> Delegation:
        """The agent's delegation (raises ``AgentRuntimeError`` if absent or expired)."""
        return self.link.delegation(now)

    def visible_book(self, slot: int) -> tuple[Order, ...]:
        """The other owners' orders of ``slot`` on chain now (cancelled ones removed)."""
        return self.link.visible_book(slot)

    def params_micro(self) -> MarketParams:
        """The chain's market in micro-EUR per kWh, with the fee in force now."""
        return self.link.params_micro()
