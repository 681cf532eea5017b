"""What the gateway shows in Home Assistant: the household's figures from its agent's durable
state, and the mode select wired to the device controller.

Figures (:class:`devices.homeassistant.HouseholdFigures`) of the local day (``time_zone``):

- bought / sold today: the claimed fills of the day's slots (kWh);
- savings against the tariff: per fill, a buy's ``filled x import tariff - paid`` and a sell's
  ``received - filled x export tariff`` (EUR);
- the slot price: the latest slot the market cleared with a trade (EUR/kWh), read from the
  chain at most once per slot;
- pending orders: the orders on chain or possibly on chain, not yet claimed;
- the battery's plan and mode: the command of the running control cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from agents.live.link import ChainLink
from agents.live.state import AgentState
from devices.homeassistant import HouseholdFigures
from devices.interface import BatteryCommand, BatteryMode

Prices = Callable[[float], tuple[float, float]]
PENDING = ("intent", "placed", "cancelling")
#: How many slots back the slot price looks for a traded slot.
LOOKBACK_SLOTS = 8


def day_start(now: float, time_zone: str) -> float:
    """The start of ``now``'s local day (unix s)."""
    zone = ZoneInfo(time_zone)
    local = datetime.fromtimestamp(now, zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone).timestamp()


def day_figures(
    state: AgentState,
    link: ChainLink,
    prices: Prices,
    *,
    now: float,
    time_zone: str,
) -> HouseholdFigures:
    """Bought, sold, savings and pending orders of ``now``'s local day."""
    calendar, unit = link.calendar, link.unit()
    first = day_start(now, time_zone)
    bought = sold = savings = 0.0
    pending = 0
    for slot, plan in state.slots.items():
        start = calendar.start(slot)
        for order in plan.orders:
            if order.status in PENDING:
                pending += 1
            if order.status != "claimed" or not order.filled_wh or start < first:
                continue
            kwh = order.filled_wh / 1000.0
            eur = (order.amount or 0) / unit
            retail, feed_in = prices(start)
            if order.is_buy:
                bought += kwh
                savings += kwh * retail - eur
            else:
                sold += kwh
                savings += eur - kwh * feed_in
    return HouseholdFigures(
        bought_today_kwh=bought,
        sold_today_kwh=sold,
        savings_eur=savings,
        pending_orders=pending,
    )


def latest_price(link: ChainLink, slot: int) -> float | None:
    """The clearing price (EUR/kWh) of the latest slot before ``slot`` that traded."""
    for s in range(slot - 1, max(slot - 1 - LOOKBACK_SLOTS, -1), -1):
        record = link.clearing(s)
        if record.cleared and record.volume_wh > 0:
            return float(link.params.price(record.clearing_tick)) / link.unit()
    return None


def battery_figures(command: BatteryCommand | None) -> tuple[float, BatteryMode]:
    """The battery's planned power (W, charging positive) and mode."""
    if command is None:
        return 0.0, BatteryMode.SELF_CONSUMPTION
    sign = -1.0 if command.mode == BatteryMode.DISCHARGE else 1.0
    return sign * command.power_w, command.mode
