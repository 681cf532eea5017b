"""Renderables of the live view (Rich): recent slots, running totals, agents' results.

Built here, printed by the CLI (``rich.live.Live``): library code never prints.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table

from enerwise.demo.run import SlotSummary, Standing


def _eur(units: int) -> str:
    return f"{units / 1e6:,.2f}"


class LiveView:
    """Keeps the last slots and the standings; :meth:`render` draws them."""

    def __init__(self, rows: int = 12) -> None:
        self.recent: deque[SlotSummary] = deque(maxlen=rows)
        self.standings: list[Standing] = []
        self.notes: deque[str] = deque(maxlen=6)
        self.slots = 0
        self.traded_wh = 0
        self.import_wh = 0

    def note(self, message: str) -> None:
        self.notes.append(message)

    def slot(self, summary: SlotSummary, standings: list[Standing]) -> None:
        self.recent.append(summary)
        self.standings = standings
        self.slots += 1
        self.traded_wh += summary.volume_wh
        self.import_wh += summary.import_wh

    def render(self) -> RenderableType:
        slots = Table(title=f"EnergyChain community market: {self.slots} slots cleared")
        for column in (
            "slot",
            "start (UTC)",
            "price EUR/kWh",
            "retail",
            "traded kWh",
            "import kWh",
            "export kWh",
            "local share",
            "orders",
        ):
            slots.add_column(column, justify="right")
        for s in self.recent:
            slots.add_row(
                str(s.slot),
                datetime.fromtimestamp(s.start, UTC).strftime("%m-%d %H:%M"),
                f"{s.clearing_price / 1e6:.4f}" if s.clearing_price is not None else "-",
                f"{s.retail / 1e6:.4f}",
                f"{s.volume_wh / 1000:.2f}",
                f"{s.import_wh / 1000:.2f}",
                f"{s.export_wh / 1000:.2f}",
                f"{100 * s.local_share:.0f} %",
                str(s.orders) + (f" ({s.errors} errors)" if s.errors else ""),
            )
        share = self.traded_wh / self.import_wh if self.import_wh else 0.0
        agents = Table(title=f"P&L on chain (local share so far {100 * share:.1f} %)")
        for column in (
            "household",
            "role",
            "strategy",
            "bought kWh",
            "sold kWh",
            "paid EUR",
            "received EUR",
            "saved vs grid EUR",
        ):
            agents.add_column(column, justify="right")
        for row in sorted(self.standings, key=lambda r: (r.role != "agent", r.name)):
            if row.role != "agent" and not (row.bought_wh or row.sold_wh):
                continue
            agents.add_row(
                row.name,
                row.role,
                row.strategy,
                f"{row.bought_wh / 1000:.2f}",
                f"{row.sold_wh / 1000:.2f}",
                _eur(row.paid),
                _eur(row.received),
                _eur(row.savings),
            )
        notes = Table.grid()
        for message in self.notes:
            notes.add_row(f"[dim]{message}[/]")
        return Group(notes, slots, agents)
