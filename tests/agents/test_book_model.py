"""The learned model of the others' book (mpc_book_learned): it reads only books final before
the decision, moves the day-earlier book by what it predicts, and its file is what it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.community import Community
from agents.data.calendar import SLOTS_PER_DAY
from agents.errors import PolicyError
from agents.forecasting.provider import HouseholdForecasts
from agents.policies.baselines import ZIP
from agents.policies.book_model import TARGETS, BookHistory, BookModel, LearnedMarket
from agents.policies.mpc import BOOK_LAG_SLOTS, DayEarlierMarket
from agents.prosumer import OthersBook, others_book
from agents.rl.evaluate import _strategies
from agents.rl.setup import Setup
from market.clearing import Order

DAYS = 5


@pytest.fixture(scope="module")
def june_book(community: Community) -> OthersBook:
    """The others' orders (ZIP traders) of the first battery household over five June days."""
    h = community.battery_households()[0]
    start, _ = community.day_slots(6, 6)
    n = len(community.households)
    return others_book(
        community, h, [ZIP(seed=k) for k in range(n)], start, start + DAYS * SLOTS_PER_DAY
    )


@pytest.fixture(scope="module")
def model(community: Community, june_book: OthersBook) -> BookModel:
    history = BookHistory.of(
        community, june_book.household, june_book, june_book.start, june_book.end
    )
    return BookModel.fit([history], seed=0, rounds=5)


class _Constant:
    """A booster that predicts one value for every row."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return np.full(len(rows), self.value)


class _BookUntil:
    """``book`` with every order after slot ``last`` removed (what is not final yet)."""

    def __init__(self, book: OthersBook, last: int) -> None:
        self.book, self.last = book, last
        self.start, self.end = book.start, book.end

    def orders(self, slot: int) -> list[Order]:
        return self.book.orders(slot) if slot <= self.last else []


def _ranges(community: Community, decided: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    slots = decided + 1 + np.arange(n)
    return community.tariffs.feed_in[slots], community.tariffs.retail[slots]


def _decision(book: OthersBook) -> int:
    return book.start + 3 * SLOTS_PER_DAY + 40


def test_the_learned_market_reads_only_books_final_before_the_decision(
    community: Community, june_book: OthersBook, model: BookModel
) -> None:
    decided = _decision(june_book)
    feed_in, retail = _ranges(community, decided, SLOTS_PER_DAY - BOOK_LAG_SLOTS)
    h = june_book.household
    full = LearnedMarket(community, june_book, h, model).later(decided, feed_in, retail)
    final = _BookUntil(june_book, decided - BOOK_LAG_SLOTS)
    seen = LearnedMarket(community, final, h, model).later(decided, feed_in, retail)  # type: ignore[arg-type]
    for (buy, sell), (buy_seen, sell_seen) in zip(full, seen, strict=True):
        np.testing.assert_array_equal(buy.widths, buy_seen.widths)
        np.testing.assert_array_equal(sell.prices, sell_seen.prices)


def test_the_learned_market_scales_and_shifts_the_day_earlier_steps(
    community: Community, june_book: OthersBook
) -> None:
    # Residuals: the kWh a buy could get doubles (plus its day-earlier kWh is added), its price
    # share rises by 0.1; the sell side is predicted unchanged.
    history = BookHistory.of(
        community, june_book.household, june_book, june_book.start, june_book.end
    )
    decided = june_book.start + 3 * SLOTS_PER_DAY + 20  # 05:00
    slot = decided + 24  # 11:00, and a day earlier too: neighbours sell
    kwh_before = history.summary[slot - SLOTS_PER_DAY, 0]
    assert kwh_before > 0
    boosters = [_Constant(kwh_before), _Constant(0.1), _Constant(0.0), _Constant(0.0)]
    moved_model = BookModel(boosters, seed=0, lag=BOOK_LAG_SLOTS)
    feed_in, retail = _ranges(community, decided, 24)
    h = june_book.household
    moved = LearnedMarket(community, june_book, h, moved_model).later(decided, feed_in, retail)
    base = DayEarlierMarket(community, june_book).later(decided, feed_in, retail)
    (buy, sell), (buy0, sell0) = moved[-1], base[-1]
    np.testing.assert_allclose(buy.widths, 2 * buy0.widths)
    span = retail[-1] - feed_in[-1]
    share0 = (buy0.prices - feed_in[-1]) / span
    np.testing.assert_allclose(buy.prices, feed_in[-1] + np.clip(share0 + 0.1, 0, 1) * span)
    np.testing.assert_allclose(sell.widths, sell0.widths)


def test_the_learned_market_is_the_day_earlier_book_without_two_days_behind_it(
    community: Community, june_book: OthersBook, model: BookModel
) -> None:
    decided = june_book.start + SLOTS_PER_DAY + 40
    feed_in, retail = _ranges(community, decided, 30)
    h = june_book.household
    learned = LearnedMarket(community, june_book, h, model).later(decided, feed_in, retail)
    base = DayEarlierMarket(community, june_book).later(decided, feed_in, retail)
    for (buy, sell), (buy0, sell0) in zip(learned, base, strict=True):
        np.testing.assert_array_equal(buy.prices, buy0.prices)
        np.testing.assert_array_equal(sell.widths, sell0.widths)


def test_a_saved_book_model_predicts_what_it_predicted_before(
    community: Community, june_book: OthersBook, model: BookModel, tmp_path: Path
) -> None:
    model.save(tmp_path / "book-model-seed0.json")
    loaded = BookModel.load(tmp_path / "book-model-seed0.json")
    history = BookHistory.of(
        community, june_book.household, june_book, june_book.start, june_book.end
    )
    decided = _decision(june_book)
    slots = decided + 1 + np.arange(20)
    feed_in, retail = _ranges(community, decided, 20)
    np.testing.assert_allclose(
        loaded.residuals(history, decided, slots, feed_in, retail),
        model.residuals(history, decided, slots, feed_in, retail),
    )
    assert loaded.residuals(history, decided, slots, feed_in, retail).shape == (20, len(TARGETS))


def test_a_file_that_is_not_a_book_model_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "policy.json").write_text('{"format": "something else"}')
    with pytest.raises(PolicyError, match=r"policy\.json: not a book model"):
        BookModel.load(tmp_path / "policy.json")


def test_an_open_market_book_model_is_refused_in_a_sealed_run(
    community: Community,
    forecasts: dict[int, HouseholdForecasts],
    june_book: OthersBook,
    model: BookModel,
) -> None:
    h = june_book.household
    setup = Setup(community, (h,), (june_book,), (forecasts[h],), june_book.start, june_book.end)
    with pytest.raises(PolicyError, match="trained for the open market"):
        _strategies(setup, 0, (), {"mpc_book_learned#0": model}, "sealed")
