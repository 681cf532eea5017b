"""A learned model of the others' next ticks, for pricing in a sealed market.

In a sealed market a household orders without seeing its slot's book; scenario pricing
(:func:`~agents.policies.visible.pricing_scenarios`) prices against the newest revealed books
instead. Those books are a slot or more old, and the others move their prices every slot (ZIP
traders follow the last clearing). Once a slot is revealed its orders carry their owners, so
each other member's tick can be followed from slot to slot and its next one predicted:

    p_t - p_{t-1} = momentum * (p_{t-1} - p_{t-2}) + pull * (q_{t-1} - p_{t-1}) + drift

with ``p`` an order's tick as a fraction of its slot's range and ``q`` the clearing fraction
of the others' revealed book at t-1. Three numbers, fitted by least squares on the training
months' books (``agent train --algo tick_model``); a member whose side changed keeps its last
tick. The model's books for slot t are the newest revealed book with every tick predicted, once
for each of the :data:`ERROR_LAGS` newest slots, each time with each member's own prediction
error there added (a bootstrap of the model's recent errors: the scenario set of
:func:`~agents.policies.best_response.expected_best_response_frac`). It reads the books of
slots t-1..t-6, all revealed before slot t's gate closes.

Validation (Oct 1..14 2015, sealed, 3 households): the learned planner priced on these books
kept 80.04 % of the bound, on the four newest revealed books 76.14, on the slot's own hidden book
(an oracle no sealed trader has) 81.28. Held out (Oct..Dec 2018): 74.78, 72.49 and 76.63. The
shipped fit's next-tick RMSE is 0.0065 of the range against 0.0141 for the last tick
(docs/agents.md, Issue 18, eleventh round).

A book model file priced ``predicted`` (``agent eval --book-pricing predicted``, ``agent
export-onnx --pricing predicted``) prices this way in ``agent eval`` and on chain, where the
members are the revealed orders' owners and sides
(:meth:`~agents.live.link.ChainLink.member_book`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from agents.community import Community
from agents.errors import ConfigError
from agents.json_files import read_json_object, write_atomically
from agents.policies.visible import Book
from market.clearing import MarketParams, Order, clear_slot

FORMAT = "enerwise-tick-model/1"

ERROR_LAGS = (1, 2, 3, 4)
"""The slots back whose prediction errors make the scenario books (four, as the revealed books
of plain scenario pricing)."""

HISTORY = 2 + max(ERROR_LAGS)
"""How many slots back the model's books read (all revealed before the slot's gate closes)."""

BookOf = Callable[[int], Sequence[Order]]
"""A slot's final (revealed) orders."""

ParamsOf = Callable[[int], MarketParams]
"""A slot's market parameters (its tick range)."""

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "pretrained" / "tick-model-sealed.json"
"""The shipped model, fitted on the training months (docs/agents.md)."""


@dataclass(frozen=True, slots=True)
class TickModel:
    """The next-tick rule (module docstring) and how well it fitted.

    Attributes:
        momentum: the coefficient of the member's last move.
        pull: the coefficient of the gap between the last clearing and its tick.
        drift: the constant.
        rmse: the fit's next-tick error, as a fraction of the range.
        naive_rmse: the error of the last tick as the prediction, on the same rows.
        rows: the orders fitted.
    """

    momentum: float
    pull: float
    drift: float
    rmse: float = float("nan")
    naive_rmse: float = float("nan")
    rows: int = 0

    def __post_init__(self) -> None:
        if not all(np.isfinite((self.momentum, self.pull, self.drift))):
            raise ConfigError(f"a tick model's coefficients must be finite, got {self}")

    def predict(self, last: float, before: float, cleared: float) -> float:
        """The next tick fraction of an order at ``last`` (and ``before`` one slot earlier)
        after a clearing at ``cleared``."""
        step = self.momentum * (last - before) + self.pull * (cleared - last) + self.drift
        return last + step

    @classmethod
    def fit(cls, books: Sequence[tuple[Community, Book, int]]) -> TickModel:
        """Least squares over every order with two earlier orders on its side, in every slot
        of every ``(community, book, end)`` before ``end`` that follows a cleared slot.

        Raises:
            ConfigError: too few such orders (fewer than 100) to fit three numbers.
        """
        rows = [row for community, book, end in books for row in _rows(community, book, end)]
        if len(rows) < 100:
            raise ConfigError(f"too few orders to fit a tick model: {len(rows)} (at least 100)")
        data = np.asarray(rows, dtype=float)
        now, last, before, cleared = data.T
        features = np.column_stack([last - before, cleared - last, np.ones(len(data))])
        coef, *_ = np.linalg.lstsq(features, now - last, rcond=None)
        error = now - last - features @ coef
        return cls(
            momentum=float(coef[0]),
            pull=float(coef[1]),
            drift=float(coef[2]),
            rmse=float(np.sqrt(np.mean(error**2))),
            naive_rmse=float(np.sqrt(np.mean((now - last) ** 2))),
            rows=len(data),
        )

    def scenarios(self, community: Community, book: Book, slot: int) -> list[list[Order]]:
        """The books the model expects for ``slot`` in the simulation (:meth:`expected_books`
        over ``book``'s orders and the community's tick ranges); none where the history is
        shorter than :data:`HISTORY` slots."""
        if slot - HISTORY < book.start:
            return []
        return self.expected_books(book.orders, community.tariffs.market_params, slot)

    def expected_books(self, orders: BookOf, params: ParamsOf, slot: int) -> list[list[Order]]:
        """The newest revealed book (``orders(slot - 1)``) with its ticks predicted, plus each
        member's own error at each of :data:`ERROR_LAGS` (module docstring): one book per lag.
        A member is an order id that recurs from slot to slot (a household's name in the
        simulation, its owner and side on chain). Reads each of slots ``slot - HISTORY ..
        slot - 1`` once (on chain a read is an RPC query)."""
        read: dict[int, Sequence[Order]] = {}

        def once(seen: int) -> Sequence[Order]:
            if seen not in read:
                read[seen] = orders(seen)
            return read[seen]

        top = params(slot).max_tick
        expected = self._predicted(once, params, slot)
        books = []
        for lag in ERROR_LAGS:
            errors = self._errors(once, params, slot - lag)
            books.append(
                [
                    Order(
                        order.id,
                        order.side,
                        round(_within(frac + errors.get(order.id, 0.0)) * top),
                        order.qty_wh,
                    )
                    for order, frac in expected.values()
                ]
            )
        return books

    def _predicted(
        self, orders: BookOf, params: ParamsOf, slot: int
    ) -> dict[str, tuple[Order, float]]:
        """Each order of slot - 1 with its predicted tick fraction for ``slot`` (its last one
        where the member changed side or nothing cleared)."""
        cleared, members = _history(orders, params, slot)
        return {
            order.id: (
                order,
                last if cleared is None or before is None else self.predict(last, before, cleared),
            )
            for order, last, before in members
        }

    def _errors(self, orders: BookOf, params: ParamsOf, slot: int) -> dict[str, float]:
        """Each member's prediction error at ``slot`` (as a fraction of the range), where it
        kept its side."""
        top = params(slot).max_tick
        actual = {order.id: order for order in orders(slot)}
        return {
            member: actual[member].tick / top - frac
            for member, (order, frac) in self._predicted(orders, params, slot).items()
            if member in actual and actual[member].side == order.side
        }

    def save(self, path: Path) -> None:
        """Write the model as JSON (whole: a reader never sees half a file)."""
        write_atomically(path, {"format": FORMAT, **asdict(self)})

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE) -> TickModel:
        """Read a model :meth:`save` wrote.

        Raises:
            ConfigError: the file is missing, not JSON, of another format or its numbers do
                not read (naming the file).
        """
        document = read_json_object(path, "a tick model file", ConfigError)
        if document.get("format") != FORMAT:
            raise ConfigError(f"{path}: not a tick model file (format {FORMAT!r} expected)")
        try:
            return cls(
                momentum=float(document["momentum"]),
                pull=float(document["pull"]),
                drift=float(document["drift"]),
                rmse=float(document.get("rmse", "nan")),
                naive_rmse=float(document.get("naive_rmse", "nan")),
                rows=int(document.get("rows", 0)),
            )
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise ConfigError(f"{path}: the tick model's numbers do not read: {exc}") from exc


def _within(frac: float) -> float:
    return min(max(frac, 0.0), 1.0)


def _history(
    orders: BookOf, params: ParamsOf, slot: int
) -> tuple[float | None, list[tuple[Order, float, float | None]]]:
    """What the model reads for ``slot``: slot - 1's clearing fraction of the others' book (None
    if nothing cleared) and each order of slot - 1 with its tick fraction and the same member's
    at slot - 2 on the same side (None if it had none)."""
    last_params, before_params = params(slot - 1), params(slot - 2)
    last = list(orders(slot - 1))
    before = {order.id: order for order in orders(slot - 2)}
    record = clear_slot(last, last_params)
    cleared = record.clearing_tick / last_params.max_tick if record.cleared else None
    members = []
    for order in last:
        earlier = before.get(order.id)
        members.append(
            (
                order,
                order.tick / last_params.max_tick,
                earlier.tick / before_params.max_tick
                if earlier is not None and earlier.side == order.side
                else None,
            )
        )
    return cleared, members


def _rows(community: Community, book: Book, end: int) -> list[tuple[float, float, float, float]]:
    """(tick now, last, before, last clearing) fractions of every order of slots before
    ``end`` that kept its side over three slots after a cleared one."""
    params = community.tariffs.market_params
    rows = []
    for slot in range(book.start + 2, end):
        cleared, members = _history(book.orders, params, slot)
        if cleared is None:
            continue
        top = params(slot).max_tick
        now = {order.id: order for order in book.orders(slot)}
        for order, last, before in members:
            current = now.get(order.id)
            if before is None or current is None or current.side != order.side:
                continue
            rows.append((current.tick / top, last, before, cleared))
    return rows
