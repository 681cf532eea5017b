"""Standing orders: set-and-forget selling and buying for a household without a battery or an
agent policy, through the agent key and within its delegation.

The household's rules (``household.yaml``, ``selling``):

- **sell surplus at no less than X** EUR/kWh: every slot's exported energy, once it is in the
  vault (:mod:`agents.live.vault` moves it there), is offered at X (raised to the delegation's
  ``minSellTick``: a stricter price is still the owner's rule);
- **buy up to Y below the tariff**: every slot's metered import (``EnergyToken.importedWh``,
  recorded with the mint) is bid for at the slot's import tariff minus Y (lowered to the
  delegation's ``maxBuyTick``), within the day's budget and the vault's money.

Both are placed in the slot's settlement window (after the meter's reading, before gate
closure) by :class:`~agents.live.placing.OrderDesk`, so the rules of the agent runtime hold:
the contract's checks first, the intent durable before the send, reconciliation after a crash,
claims once the slot is cleared.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.community import TRUTHFUL
from agents.errors import ConfigError
from agents.live.claiming import Settlement
from agents.live.history import Prices
from agents.live.link import ChainLink
from agents.live.placing import OrderDesk
from agents.live.reports import StepReport
from agents.live.state import AgentState, SlotPlan
from agents.live.vault import VaultMover
from energychain.deploy import EnergyChain
from wallet.transactions import TransactionSender, TxRequest


@dataclass(frozen=True, slots=True)
class StandingRules:
    """A household's standing orders (None: that side is not traded)."""

    sell_min_eur_kwh: float | None = None
    buy_below_tariff_eur_kwh: float | None = None

    def __post_init__(self) -> None:
        for name in ("sell_min_eur_kwh", "buy_below_tariff_eur_kwh"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ConfigError(f"standing orders: {name} must be >= 0, got {value}")


class StandingOrders:
    """Places, reconciles and claims a household's standing orders (module docstring).

    Args:
        chain: the deployed contracts.
        sender: the agent key's sender.
        owner: the owner who delegated to the agent key.
        rules: the standing orders.
        prices: the household's tariff, ``prices(t) -> (import, export)`` EUR/kWh.
        state_path: the durable state file (shared format with the agent runtime).
        move_to_vault: also move minted tokens into the vault (the owner approved the key).
    """

    def __init__(
        self,
        chain: EnergyChain,
        sender: TransactionSender,
        owner: str,
        rules: StandingRules,
        prices: Prices,
        state_path: Path,
        *,
        move_to_vault: bool = True,
        log_path: Path | None = None,
        clear_slots: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.link = ChainLink(chain, sender, owner, log_path=log_path, sleep=sleep)
        self.rules = rules
        self.prices = prices
        identity = {
            "chain_id": sender.chain_id,
            "market": self.link.market.address,
            "owner": self.link.owner,
            "agent": self.link.agent,
        }
        self.state = AgentState(state_path, identity, 0.0)
        window = self.link.params.settlement_seconds
        self.desk = OrderDesk(self.link, self.state, self._send, max(window, 1))
        self.settlement = Settlement(self.link, self.state, self._send, clear_slots)
        self.mover = VaultMover(self.link, self.state, self._send) if move_to_vault else None

    def _send(self, request: TxRequest) -> Any:
        return self.link.sender.transact(request)

    def _tick_at_least(self, eur_kwh: float) -> int:
        """The lowest tick whose price is at least ``eur_kwh``."""
        params, unit = self.link.params, self.link.unit()
        steps = (eur_kwh * unit - params.price_floor) / params.tick_size
        return min(max(math.ceil(steps - 1e-9), 0), params.max_tick)

    def _tick_at_most(self, eur_kwh: float) -> int | None:
        """The highest tick whose price is at most ``eur_kwh`` (None: below the market)."""
        params, unit = self.link.params, self.link.unit()
        steps = (eur_kwh * unit - params.price_floor) / params.tick_size
        if steps < 0:
            return None
        return min(math.floor(steps + 1e-9), params.max_tick)

    def step(self, now: int) -> StepReport:
        """Move, reconcile, claim, and place the ended slot's standing orders."""
        report = StepReport(now=now)
        if self.mover is not None:
            self.mover.move(now, report)
        self.settlement.reconcile(report)
        self.settlement.claim(now, report)
        calendar = self.link.calendar
        slot = calendar.slot_of(now) - 1
        if slot < 0 or now >= calendar.gate_closure(slot):
            return report
        plan = self.state.slot(slot)
        if plan is None:
            plan = SlotPlan(TRUTHFUL, 0, 0.0, 0, 0)
            self.state.slots[slot] = plan
            self.state.save()
        delegation = self.link.delegation(now)
        minimum = self.link.params.min_order_wh
        if self.rules.sell_min_eur_kwh is not None and not plan.gave_up("sell"):
            market = self.link.market
            held = int(self.link.read(lambda: market.energy_balance_of(self.link.owner, slot)))
            if held >= minimum:
                tick = self._tick_at_least(self.rules.sell_min_eur_kwh)
                plan.sell_plan_wh = plan.offered_wh("sell") + held
                self.desk.place(slot, plan, False, tick, held, now, delegation, report)
        if self.rules.buy_below_tariff_eur_kwh is not None and not plan.gave_up("buy"):
            token = self.link.chain.token
            imported = int(self.link.read(lambda: token.imported_wh(self.link.owner, slot)))
            qty = imported - plan.offered_wh("buy")
            retail, _ = self.prices(calendar.start(slot))
            bid = self._tick_at_most(retail - self.rules.buy_below_tariff_eur_kwh)
            if qty >= minimum and bid is not None:
                self.desk.place(slot, plan, True, bid, qty, now, delegation, report)
        return report
