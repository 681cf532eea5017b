"""The live agent's durable state: one JSON file, written atomically (temp file, fsync, rename).

Per slot the decision and its plans (:class:`SlotPlan`) and each order with its status
(:class:`OrderEntry`): ``intent`` -> ``placed`` -> ``claimed``, or ``refused`` / ``failed``; in a
sealed market ``intent`` -> ``committed`` (the commitment is on chain; the entry holds the salt,
written before the commitment was sent) -> ``placed`` once revealed, or ``forfeited`` when the
reveal window passed without a reveal;
an intent whose send was lost becomes ``unsent`` after reconciliation, and ``retried`` once a
new order replaces it; a placed order that a re-plan withdraws goes ``cancelling`` ->
``cancelled``. Per slot also the energy tokens moved into the vault (:class:`MoveEntry`,
``intent`` -> ``moved``, or ``unsent``). Plus the state of charge (planned, or measured on a
device). The file names the chain, market,
owner and agent it belongs to, and refuses to serve another.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents.community import Decision
from agents.errors import AgentRuntimeError
from agents.json_files import OwnedFile, known_fields
from agents.policies.mpc import PRICING_BOOK

STATE_FILE = OwnedFile("state file", version=1, refusal=AgentRuntimeError)

Side = Literal["buy", "sell"]
OPEN_STATUSES = ("intent", "committed", "placed", "claimed", "cancelling")
"""Orders that are on chain or may be (an intent whose send is not settled yet, a cancel whose
outcome is not known yet)."""


@dataclass
class OrderEntry:
    """One order of a slot, from the intent on (see the module docstring for ``status``)."""

    side: Side
    tick: int
    qty_wh: int
    status: str
    order_id: int | None = None
    block: int | None = None
    """The block the intent was written at: reconciliation reads the logs from there."""
    tx: str | None = None
    reason: str | None = None
    filled_wh: int | None = None
    amount: int | None = None
    refund: int | None = None
    salt: str | None = None
    """Sealed market: the commitment's salt (hex), on disk before the commitment is sent."""

    @property
    def is_buy(self) -> bool:
        return self.side == "buy"

    def summary(self) -> dict[str, Any]:
        """Side, tick and quantity (what the log lines carry)."""
        return {"side": self.side, "tick": self.tick, "qty_wh": self.qty_wh}

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        out["order_id"] = self.order_id
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderEntry:
        return cls(**known_fields(cls, data))


@dataclass
class MoveEntry:
    """Energy tokens of one slot moved from the owner's wallet into the market's vault."""

    qty_wh: int
    status: str
    block: int | None = None
    tx: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MoveEntry:
        return cls(**known_fields(cls, data))


@dataclass
class SlotPlan:
    """What was decided for one slot, and its orders.

    A book policy's plans (``book``) are placed late, at the best response to the visible book,
    on the slot's tariffs as decided (``retail``, ``feed_in``, EUR/kWh), or with ``pricing``
    ``"halfway"`` at the decision's ticks (``buy_tick``, ``sell_tick``).
    """

    decision: Decision
    net_wh: int
    battery_kw: float
    sell_plan_wh: int
    sell_tick: int
    orders: list[OrderEntry] = field(default_factory=list)
    book: bool = False
    buy_plan_wh: int = 0
    retail: float | None = None
    feed_in: float | None = None
    buy_tick: int | None = None
    """The decision's buy price (a re-plan that needs a buy places it there)."""
    replanned: int = 0
    """How often the plan was redone on the devices' real state."""
    pricing: str = PRICING_BOOK
    """How a book policy's late orders are priced: ``book`` (the best response at gate closure)
    or ``halfway`` (the decision's ticks)."""

    def offered_wh(self, side: Side) -> int:
        """Energy of the slot's orders on ``side`` that are on chain or may be."""
        return sum(o.qty_wh for o in self.orders if o.side == side and o.status in OPEN_STATUSES)

    def gave_up(self, side: Side) -> bool:
        """Whether an order on ``side`` was refused or failed (decided once, not retried)."""
        return any(o.side == side and o.status in ("refused", "failed") for o in self.orders)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "decision": asdict(self.decision),
            "net_wh": self.net_wh,
            "battery_kw": self.battery_kw,
            "sell_plan_wh": self.sell_plan_wh,
            "sell_tick": self.sell_tick,
            "orders": [o.to_json() for o in self.orders],
        }
        if self.book:
            out.update(
                book=True, buy_plan_wh=self.buy_plan_wh, retail=self.retail, feed_in=self.feed_in
            )
            if self.pricing != PRICING_BOOK:
                out["pricing"] = self.pricing
        if self.replanned:
            out["replanned"] = self.replanned
        if self.buy_tick is not None:
            out["buy_tick"] = self.buy_tick
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SlotPlan:
        return cls(
            decision=Decision(**data["decision"]),
            net_wh=int(data["net_wh"]),
            battery_kw=float(data["battery_kw"]),
            sell_plan_wh=int(data.get("sell_plan_wh", 0)),
            sell_tick=int(data.get("sell_tick", 0)),
            orders=[OrderEntry.from_json(o) for o in data.get("orders", [])],
            book=bool(data.get("book", False)),
            buy_plan_wh=int(data.get("buy_plan_wh", 0)),
            retail=data.get("retail"),
            feed_in=data.get("feed_in"),
            replanned=int(data.get("replanned", 0)),
            buy_tick=data.get("buy_tick"),
            pricing=str(data.get("pricing", PRICING_BOOK)),
        )


class AgentState:
    """The state file (see the module docstring); ``slots`` by slot number."""

    def __init__(self, path: Path, identity: dict[str, Any], soc_kwh: float) -> None:
        self.path = path
        self.identity = dict(identity)
        self.soc_kwh = soc_kwh
        self.slots: dict[int, SlotPlan] = {}
        self.moves: dict[int, MoveEntry] = {}
        if path.is_file():
            self._load()
        else:
            self.save()

    def _load(self) -> None:
        data = STATE_FILE.read(self.path, self.identity)
        try:
            self.soc_kwh = float(data["soc_kwh"])
            self.slots = {int(k): SlotPlan.from_json(v) for k, v in data["slots"].items()}
            moves = data.get("moves", {})
            self.moves = {int(k): MoveEntry.from_json(v) for k, v in moves.items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise STATE_FILE.damaged(self.path, exc) from None

    def slot(self, slot: int) -> SlotPlan | None:
        return self.slots.get(slot)

    def known_order_ids(self) -> set[int]:
        """Every order id the file records (reconciliation never adopts one twice)."""
        return {o.order_id for p in self.slots.values() for o in p.orders if o.order_id is not None}

    def save(self) -> None:
        body: dict[str, Any] = {
            "soc_kwh": self.soc_kwh,
            "slots": {str(k): v.to_json() for k, v in self.slots.items()},
        }
        if self.moves:
            body["moves"] = {str(k): v.to_json() for k, v in self.moves.items()}
        STATE_FILE.write(self.path, self.identity, body)
