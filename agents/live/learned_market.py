"""The learned model of the others' book on chain: ``mpc_book_learned`` in the runtime.

In the simulator :class:`~agents.policies.book_model.LearnedMarket` moves each later slot's
day-earlier book by what a :class:`~agents.policies.book_model.BookModel` predicts from the
books and the household's PV behind the decision. On chain the same inputs come from the
chain and the gateway: the other owners' final books of the last two days (read once each, a
final book never changes), each summarised as in training
(:func:`~agents.policies.book_model.slot_summary`, shares of that slot's tariff range as the
forecaster gives it), and the household's PV output in those slots (the forecaster's record,
``actual_pv_kw``). :class:`BookWindow` holds them indexed so that ``index % 96`` is the slot of
the day on the data's UTC+1 axis, as the model's hour feature was trained.

Until two days of books lie behind a decision, or where the PV of a slot the model reads is not
known (a gateway's first days, a forecaster without a record), the planner plans on the
day-earlier books as ``mpc_book_ahead`` does: the simulator does the same before two days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from agents.community import FloatArray
from agents.data.calendar import SLOTS_PER_DAY, slot_of_year
from agents.errors import PolicyError
from agents.live.forecasts import Forecaster
from agents.policies.book_model import TARGETS, BookModel, slot_summary
from market.clearing import MarketParams, Order

SLOT_SECONDS = 86_400 // SLOTS_PER_DAY
"""The slot length the book model was trained on (15 minutes)."""


@runtime_checkable
class RecordsPv(Protocol):
    """A forecaster that also knows the household's PV output of past slots."""

    def actual_pv_kw(self, slot_start: int) -> float | None: ...


@dataclass(frozen=True, slots=True)
class BookWindow:
    """The books and PV behind one decision, as the book model reads them
    (:class:`~agents.policies.book_model.BookRecord`).

    Attributes:
        summary: per slot the four targets of the others' final book (NaN where none is read).
        pv_kw: per slot the household's PV output.
        decided: the index of the decided slot.
    """

    summary: FloatArray
    pv_kw: FloatArray
    decided: int

    def later(self, n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The indices of the ``n`` slots after the decided one."""
        return self.decided + 1 + np.arange(n)


class LearnedBooks:
    """Builds the :class:`BookWindow` of each decision from the chain and the forecaster.

    Args:
        model: the book model (its lag must be the chain's market mode's).
        lag: slots between a decision and the newest final book on this chain.
        slot_start: a chain slot's start, unix seconds.
        final_book: the other owners' final book of a chain slot (cached by the caller).
        market: the market a chain slot's book was placed on, prices in micro-EUR (on chain the
            same grid every slot, :meth:`~agents.live.link.ChainLink.params_micro`).
        forecaster: the household's forecaster (tariff ranges; PV of past slots if it records
            them, :class:`RecordsPv`).

    Raises:
        PolicyError: the model was trained for another market mode than this chain's.
    """

    def __init__(
        self,
        model: BookModel,
        lag: int,
        slot_start: Callable[[int], int],
        final_book: Callable[[int], tuple[Order, ...]],
        market: Callable[[int], MarketParams],
        forecaster: Forecaster | None,
    ) -> None:
        if model.lag != lag:
            raise PolicyError(
                f"the book model was trained for the {model.trained_for} market (it reads the "
                f"book {model.lag} slots back); on this chain the newest final book is {lag} "
                "slots back"
            )
        self.model = model
        self.lag = lag
        self.slot_start = slot_start
        self.final_book = final_book
        self.market = market
        self.forecaster = forecaster
        self._summaries: dict[int, FloatArray] = {}

    @property
    def span_slots(self) -> int:
        """How many slots behind a decision the window reaches (two days)."""
        return 2 * SLOTS_PER_DAY - 1

    def window(self, decided: int) -> BookWindow | None:
        """The window of chain slot ``decided``, or None where an input is missing (module
        docstring: the planner then plans on the day-earlier books)."""
        forecaster = self.forecaster
        first = decided - self.span_slots
        if forecaster is None or not isinstance(forecaster, RecordsPv) or first < 0:
            return None
        record = forecaster.actual_pv_kw
        offset = slot_of_year(self.slot_start(first)) % SLOTS_PER_DAY
        size = offset + self.span_slots + SLOTS_PER_DAY + 1
        summary = np.full((size, len(TARGETS)), np.nan)
        pv = np.full(size, np.nan)
        final = decided - self.lag
        # The model reads the PV of the later slots a day earlier and of the newest final
        # slot now and a day earlier (agents.policies.book_model.features).
        for s in [final - SLOTS_PER_DAY, *range(decided + 1 - SLOTS_PER_DAY, final + 1)]:
            kw = record(self.slot_start(s))
            if kw is None:
                return None
            pv[s - first + offset] = kw
        for s in range(first, final + 1):
            summary[s - first + offset] = self._summary(s, forecaster)
        for old in [s for s in self._summaries if s < first]:
            del self._summaries[old]
        return BookWindow(summary, pv, decided - first + offset)

    def _summary(self, slot: int, forecaster: Forecaster) -> FloatArray:
        """The summary of ``slot``'s final book (once per slot: final books do not change)."""
        if slot not in self._summaries:
            fc = forecaster.forecast(self.slot_start(slot))
            self._summaries[slot] = slot_summary(
                list(self.final_book(slot)),
                self.market(slot),
                float(fc.feed_in[0]),
                float(fc.retail[0]),
            )
        return self._summaries[slot]
