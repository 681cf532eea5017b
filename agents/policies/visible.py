"""What a household sees of the others' orders when it orders, in each market mode.

* ``open`` (today's contracts): every order is public the moment it is mined, so a household
  that orders just before gate closure sees the others' orders of its own slot (the last
  mover, docs/contracts.md section 8).
* ``sealed`` (issue 15): during the order window only commitments are on chain; the orders of a
  slot become readable in its reveal window, after gate closure. A household never sees its own
  slot's book before it orders; the newest book it can read is an earlier slot's, revealed.

Which earlier slot, with the deployed defaults (``slotSeconds = settlementSeconds = 900``) and a
reveal window shorter than a slot:

* pricing, just before gate closure of slot ``t`` (``end(t) + settlement``): slot ``t - 1``
  closed at ``start(t) + settlement`` and is revealed a reveal window later, before ``t``'s
  gate closure (:data:`SEALED_PRICE_LAG_SLOTS`);
* planning the battery, when slot ``t`` starts: slot ``t - 2`` closed exactly then and is still
  in its reveal window, so the newest revealed book is ``t - 3``'s
  (:data:`SEALED_PLAN_LAG_SLOTS`; the open market's planner reads ``t - 2``,
  :data:`OPEN_PLAN_LAG_SLOTS`).

A book-reading method therefore runs in a sealed market as its *no-book variant*: the slot's own
book is replaced by the newest revealed one, moved onto the slot's tick range
(:func:`moved_book`), a forecast of the book rather than the book. Clearing does not change:
revealed orders clear by the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from agents.community import Community
from agents.errors import ConfigError
from market.clearing import MarketParams, Order, Side

MARKET_OPEN = "open"
"""The household sees the others' orders of its own slot before it orders (the last mover)."""

MARKET_SEALED = "sealed"
"""Commit-reveal: no order of the slot is readable before its gate closure."""

MARKET_MODES = (MARKET_OPEN, MARKET_SEALED)
"""Every market mode, the default first."""

OPEN_PLAN_LAG_SLOTS = 2
"""Open market: the newest final book when a slot starts is the slot two before it (its gate
closed ``slotSeconds - settlementSeconds`` before the start, with a settlement window of at most
one slot); sells of the slot just before are still being placed then, since sellers need their
metered tokens."""

SEALED_PLAN_LAG_SLOTS = 3
"""Sealed market: the newest revealed book when a slot starts (module docstring)."""

SEALED_PRICE_LAG_SLOTS = 1
"""Sealed market: the newest revealed book just before the slot's gate closure (module
docstring)."""


class Book(Protocol):
    """The others' orders per slot, as a strategy reads them.

    ``orders(slot)`` is the slot's final book (what clears, public once final or revealed);
    ``visible(slot)`` is what an open market shows of the slot just before its gate closure (the
    same orders in the simulation: the others never cancel, a spoofer would).
    """

    @property
    def start(self) -> int: ...

    def orders(self, slot: int) -> list[Order]: ...

    def visible(self, slot: int) -> list[Order]: ...


def check_market(market: str) -> str:
    """``market`` if it is a known mode.

    Raises:
        ConfigError: any other value.
    """
    if market not in MARKET_MODES:
        raise ConfigError(f"unknown market mode {market!r}; known: {', '.join(MARKET_MODES)}")
    return market


def plan_lag_slots(market: str) -> int:
    """How many slots back the newest final book lies when a slot starts."""
    return SEALED_PLAN_LAG_SLOTS if check_market(market) == MARKET_SEALED else OPEN_PLAN_LAG_SLOTS


def moved_book(orders: Sequence[Order], seen: MarketParams, onto: MarketParams) -> list[Order]:
    """``orders`` of a slot with market ``seen`` moved onto ``onto``'s tick range (same fraction
    of the range: the simulator's slots each span their own feed-in..retail)."""
    scale = onto.max_tick / seen.max_tick
    return [
        Order(o.id, o.side, min(onto.max_tick, round(o.tick * scale)), o.qty_wh) for o in orders
    ]


def recent_book(community: Community, book: Book, slot: int, lag: int) -> list[Order]:
    """The final book ``lag`` slots before ``slot``, moved onto ``slot``'s tick range (empty
    before the book's first slot)."""
    seen = slot - lag
    if seen < book.start:
        return []
    tariffs = community.tariffs
    return moved_book(book.orders(seen), tariffs.market_params(seen), tariffs.market_params(slot))


def pricing_book(community: Community, book: Book, slot: int, market: str) -> list[Order]:
    """The others' orders a household prices its order for ``slot`` against: in an open market
    the slot's visible book; in a sealed one the newest revealed book
    (:data:`SEALED_PRICE_LAG_SLOTS` back), moved onto the slot's range."""
    if check_market(market) == MARKET_OPEN:
        return book.visible(slot)
    return recent_book(community, book, slot, SEALED_PRICE_LAG_SLOTS)


SCENARIO_BOOKS = 4
"""How many revealed books a sealed market's scenario pricing averages over
(:func:`pricing_scenarios`): on the validation fortnight (Oct 1..14 2015) one book kept 74.05 %
of the bound, four 75.14, eight 75.12, four and the same slot one and two days earlier 75.10
(docs/agents.md, Issue 18, tenth round)."""


def pricing_scenarios(
    community: Community, book: Book, slot: int, market: str
) -> list[list[Order]]:
    """The books a household's scenario pricing for ``slot`` averages over
    (:func:`~agents.policies.best_response.expected_best_response_frac`): in an open market the
    slot's visible book alone; in a sealed one the :data:`SCENARIO_BOOKS` newest revealed books
    (:data:`SEALED_PRICE_LAG_SLOTS` back and earlier), each moved onto the slot's range (none
    before the book's first slot)."""
    if check_market(market) == MARKET_OPEN:
        return [book.visible(slot)]
    lags = range(SEALED_PRICE_LAG_SLOTS, SEALED_PRICE_LAG_SLOTS + SCENARIO_BOOKS)
    return [recent_book(community, book, slot, lag) for lag in lags if slot - lag >= book.start]


SPOOFER_ID = "spoofer"
"""The order id of :class:`SpoofedBook`'s fake order."""


@dataclass(frozen=True, slots=True)
class SpoofedBook:
    """A book with a spoofer in it: in every slot a fake order is shown before gate closure and
    cancelled before the slot clears (audit finding L-3, place-then-cancel).

    ``visible(slot)`` holds the others' orders and the fake one; ``orders(slot)``, the final
    book that clears and that later slots read, does not. A sealed market never shows a slot's
    orders before its gate closure, so there the fake order reaches no one.

    Attributes:
        book: the others' real orders.
        community: the community (each slot's tick range).
        side: the fake order's side.
        frac: its tick as a fraction of the slot's range (1: retail, 0: feed-in).
        qty_wh: its quantity.
    """

    book: Book
    community: Community
    side: Side
    frac: float
    qty_wh: int

    @property
    def start(self) -> int:
        """First recorded slot."""
        return self.book.start

    def orders(self, slot: int) -> list[Order]:
        """The final book of ``slot`` (the fake order was cancelled)."""
        return self.book.orders(slot)

    def visible(self, slot: int) -> list[Order]:
        """The book of ``slot`` as an open market shows it just before gate closure."""
        top = self.community.tariffs.market_params(slot).max_tick
        fake = Order(SPOOFER_ID, self.side, round(self.frac * top), self.qty_wh)
        return [*self.book.visible(slot), fake]
