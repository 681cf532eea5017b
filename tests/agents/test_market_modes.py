"""Market modes in the evaluation: in a sealed market no method sees its own slot's book.

The book-reading methods are built as ``agent eval`` builds them (``_strategies``) and run over
one June day of the small community; the others' book they read is wrapped so that the test
knows which slot each read was for, or so that the slot being decided shows other orders than
the ones that clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pytest

from agents.community import Community, CommunityDraw, Decision, Fill, SlotView, Strategy
from agents.errors import ConfigError
from agents.forecasting.provider import ForecastMethod, HouseholdForecasts
from agents.policies import ZIP, BookResponse, Halfway, Truthful
from agents.policies.mpc import PRICING_PREDICTED, BookMpc
from agents.policies.tick_model import TickModel
from agents.policies.visible import (
    MARKET_OPEN,
    MARKET_SEALED,
    SEALED_PLAN_LAG_SLOTS,
    SEALED_PRICE_LAG_SLOTS,
    SPOOFER_ID,
    SpoofedBook,
    plan_lag_slots,
    pricing_book,
)
from agents.prosumer import OthersBook, ProsumerRun, others_book, run_prosumer
from agents.rl.evaluate import SPOOFS, AgentEvalConfig, _spoof_report, _strategies
from agents.rl.kinds import PLAN_REACH
from agents.rl.setup import Period, Setup, SetupConfig, build_setup
from market.clearing import Order, Side

BOOK_METHODS = ("book_response", "mpc_book", "mpc_book_ahead", "scenario_response")
"""The rules that read the others' orders of the slot they price."""


@dataclass
class _Clock:
    """The slot being decided, shared by a strategy wrapper and the book it reads."""

    slot: int = -1


@dataclass
class _WatchedBook:
    """The others' book as a strategy reads it: records every read as ``(slot read, slot being
    decided)``; with ``scramble`` the slot being decided shows other orders than the real ones
    (every order's tick mirrored in the range, its quantity tripled)."""

    book: OthersBook
    clock: _Clock
    scramble: bool = False
    reads: list[tuple[int, int]] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.book.start

    def orders(self, slot: int) -> list[Order]:
        self.reads.append((slot, self.clock.slot))
        real = self.book.orders(slot)
        if not self.scramble or slot != self.clock.slot:
            return real
        top = max((o.tick for o in real), default=0)
        return [Order(o.id, o.side, top - o.tick, 3 * o.qty_wh) for o in real]

    def visible(self, slot: int) -> list[Order]:
        return self.orders(slot)


class _Clocked:
    """A strategy that tells the clock which slot it decides."""

    def __init__(self, strategy: Strategy, clock: _Clock) -> None:
        self.strategy = strategy
        self.clock = clock
        self.name = strategy.name

    def decide(self, view: SlotView) -> Decision:
        self.clock.slot = view.slot
        return self.strategy.decide(view)

    def observe(self, view: SlotView, fill: Fill) -> None:
        self.strategy.observe(view, fill)


@pytest.fixture(scope="module")
def june_day(
    community: Community, forecasts: dict[int, HouseholdForecasts], june_week: tuple[int, int]
) -> tuple[Setup, OthersBook]:
    """One June day, the first battery household, the others ZIP traders."""
    start = june_week[0]
    end = start + 96
    h = community.battery_households()[0]
    n = len(community.households)
    book = others_book(community, h, [ZIP(seed=30 + k) for k in range(n)], start, end)
    return Setup(community, (h,), (book,), (forecasts[h],), start, end), book


def _run(
    june_day: tuple[Setup, OthersBook], method: str, market: str, *, scramble: bool = False
) -> tuple[ProsumerRun, _WatchedBook]:
    """``method`` as ``agent eval`` builds it in ``market``, reading a watched copy of the book;
    the market clears against the real book."""
    setup, book = june_day
    clock = _Clock()
    watched = _WatchedBook(book, clock, scramble)
    seen = replace(setup, books=(watched,))
    strategy = _strategies(seen, 0, (method,), {}, market)[method]
    run = run_prosumer(setup.community, book, _Clocked(strategy, clock), setup.start, setup.end)
    return run, watched


@pytest.mark.parametrize("method", BOOK_METHODS)
def test_sealed_market_hides_the_slots_own_book_from_a_book_method(
    june_day: tuple[Setup, OthersBook], method: str
) -> None:
    _, watched = _run(june_day, method, MARKET_SEALED)
    assert watched.reads, "the method read no book at all"
    assert all(read < deciding for read, deciding in watched.reads)
    lags = {deciding - read for read, deciding in watched.reads}
    assert min(lags) == SEALED_PRICE_LAG_SLOTS
    if method.startswith("mpc_book"):
        assert SEALED_PLAN_LAG_SLOTS in lags  # the plan's newest revealed book


@pytest.mark.parametrize("method", BOOK_METHODS)
def test_open_market_still_shows_a_book_method_its_slots_own_book(
    june_day: tuple[Setup, OthersBook], method: str
) -> None:
    _, watched = _run(june_day, method, MARKET_OPEN)
    assert any(read == deciding for read, deciding in watched.reads)


@pytest.mark.parametrize("method", BOOK_METHODS)
def test_a_book_method_gains_nothing_from_its_slots_book_in_a_sealed_market(
    june_day: tuple[Setup, OthersBook], method: str
) -> None:
    """Showing the method false orders for the slot it decides (the real ones clear) changes
    nothing in a sealed market and changes its money in an open one."""
    sealed, _ = _run(june_day, method, MARKET_SEALED)
    sealed_fooled, _ = _run(june_day, method, MARKET_SEALED, scramble=True)
    assert np.array_equal(sealed.cost_eur, sealed_fooled.cost_eur)
    assert np.array_equal(sealed.soc_kwh, sealed_fooled.soc_kwh)
    opened, _ = _run(june_day, method, MARKET_OPEN)
    open_fooled, _ = _run(june_day, method, MARKET_OPEN, scramble=True)
    assert not np.array_equal(opened.cost_eur, open_fooled.cost_eur)
    assert open_fooled.savings_eur < opened.savings_eur  # what the true book is worth


def _predicted_planner(
    june_day: tuple[Setup, OthersBook], *, scramble: bool
) -> tuple[ProsumerRun, _WatchedBook]:
    """The book planner priced on a tick model's books (fitted on the day itself), sealed."""
    setup, book = june_day
    clock = _Clock()
    watched = _WatchedBook(book, clock, scramble)
    ticks = TickModel.fit([(setup.community, book, setup.end)])
    planner = BookMpc(
        setup.community,
        setup.households[0],
        setup.forecasts[0],
        watched,
        market=MARKET_SEALED,
        pricing=PRICING_PREDICTED,
        tick_model=ticks,
    )
    run = run_prosumer(setup.community, book, _Clocked(planner, clock), setup.start, setup.end)
    return run, watched


def test_the_tick_models_pricing_never_reads_the_slots_own_book_in_a_sealed_market(
    june_day: tuple[Setup, OthersBook],
) -> None:
    plain, watched = _predicted_planner(june_day, scramble=False)
    fooled, _ = _predicted_planner(june_day, scramble=True)
    assert watched.reads and all(read < deciding for read, deciding in watched.reads)
    assert np.array_equal(plain.cost_eur, fooled.cost_eur)


def test_the_last_mover_saves_more_in_an_open_market_than_in_a_sealed_one(
    june_day: tuple[Setup, OthersBook],
) -> None:
    opened, _ = _run(june_day, "book_response", MARKET_OPEN)
    sealed, _ = _run(june_day, "book_response", MARKET_SEALED)
    assert np.allclose(opened.soc_kwh, sealed.soc_kwh)  # the same battery: pricing differs
    assert opened.savings_eur > sealed.savings_eur


def test_sealed_book_response_prices_against_the_slot_before_moved_onto_its_range(
    community: Community, june_day: tuple[Setup, OthersBook]
) -> None:
    _, book = june_day
    slot = book.start + 50
    moved = pricing_book(community, book, slot, MARKET_SEALED)
    before = book.orders(slot - 1)
    assert [(o.id, o.side, o.qty_wh) for o in moved] == [(o.id, o.side, o.qty_wh) for o in before]
    top = community.tariffs.market_params(slot).max_tick
    assert all(0 <= o.tick <= top for o in moved)
    assert pricing_book(community, book, book.start, MARKET_SEALED) == []  # nothing revealed yet


def test_an_unknown_market_mode_is_refused(june_day: tuple[Setup, OthersBook]) -> None:
    _, book = june_day
    with pytest.raises(ConfigError, match="unknown market mode 'dark'"):
        BookResponse(book, "dark")
    with pytest.raises(ConfigError, match="unknown market mode"):
        AgentEvalConfig(market="dark")


def test_every_replayed_order_is_visible_in_an_open_market(
    june_day: tuple[Setup, OthersBook],
) -> None:
    _, book = june_day
    slot = book.start + 40
    assert book.visible(slot) == book.orders(slot)


def test_a_spoofers_order_is_visible_before_gate_closure_and_gone_from_the_final_book(
    community: Community, june_day: tuple[Setup, OthersBook]
) -> None:
    _, book = june_day
    slot = book.start + 40
    spoofed = SpoofedBook(book, community, Side.BUY, 1.0, 10_000)
    assert spoofed.orders(slot) == book.orders(slot)
    fake = [o for o in spoofed.visible(slot) if o.id == SPOOFER_ID]
    top = community.tariffs.market_params(slot).max_tick
    assert fake == [Order(SPOOFER_ID, Side.BUY, top, 10_000)]


def _spoofed(
    setup: Setup, book: OthersBook, method: str, market: str, side: Side, frac: float
) -> ProsumerRun:
    fooled = SpoofedBook(book, setup.community, side, frac, 10_000)
    strategy = _strategies(setup, 0, (method,), {}, market, fooled)[method]
    return run_prosumer(setup.community, book, strategy, setup.start, setup.end)


def test_a_spoofer_moves_the_last_mover_in_an_open_market_and_no_one_in_a_sealed_one(
    june_day: tuple[Setup, OthersBook],
) -> None:
    setup, book = june_day
    for market in (MARKET_OPEN, MARKET_SEALED):
        clean, _ = _run(june_day, "book_response", market)
        runs = {
            name: _spoofed(setup, book, "book_response", market, side, frac)
            for name, (side, frac) in SPOOFS.items()
        }
        report = _spoof_report(
            AgentEvalConfig(market=market, spoof_kwh=10.0, rules=("book_response",)),
            setup,
            [{f"book_response/{name}": (clean, run) for name, run in runs.items()}],
        )
        moved = report["methods"]["book_response"]
        if market == MARKET_SEALED:
            for run in runs.values():
                assert np.array_equal(run.cost_eur, clean.cost_eur)
            assert all(row["savings_delta_eur"] == 0.0 for row in moved.values())
            assert all(row["slots_price_moved_pct"] == 0.0 for row in moved.values())
        else:
            assert all(row["savings_delta_eur"] < 0.0 for row in moved.values())
            assert moved["buy_at_top"]["price_delta_ct_per_kwh"] > 0.0  # sellers asked more
            assert moved["sell_at_floor"]["price_delta_ct_per_kwh"] < 0.0  # buyers bid less


def test_the_others_market_gain_is_never_negative_for_truthful_members(
    community: Community, june_week: tuple[int, int]
) -> None:
    """What the neighbours keep (``others_gain_eur``): members who bid their own values never
    pay more than the grid would charge them (the simulator's market has no fee), and gain
    nothing without the market."""
    start = june_week[0]
    end = start + 96
    h = community.battery_households()[0]
    n = len(community.households)
    book = others_book(community, h, [Truthful() for _ in range(n)], start, end)
    run = run_prosumer(community, book, Truthful(), start, end)
    assert np.all(run.others_gain_eur >= -1e-9)
    assert run.others_gain_eur.sum() > 0.0
    alone = run_prosumer(community, book, Truthful(), start, end, p2p=False)
    assert np.all(alone.others_gain_eur == 0.0)


def test_the_other_members_can_bid_truthfully() -> None:
    config = SetupConfig(
        community=CommunityDraw(n_households=6, share_pv=0.5, share_battery=0.34, seed=1),
        forecast=ForecastMethod.NAIVE,
        max_households=1,
        cache_dir=None,
        others="truthful",
    )
    setup = build_setup(config, Period(6, 6, days=1))
    book = setup.books[0]
    orders = [o for s in range(book.start, book.end) for o in book.orders(s)]
    assert {o.side for o in orders} == {Side.BUY, Side.SELL}
    for s in range(book.start, book.end):
        top = setup.community.tariffs.market_params(s).max_tick
        assert all(o.tick == (top if o.side is Side.BUY else 0) for o in book.orders(s))
    with pytest.raises(ConfigError, match="unknown others 'dark'"):
        SetupConfig(others="dark")


class _Compared:
    """``mpc_book_ahead_halfway`` checked slot by slot against what it is made of: at every
    view, the set-point of ``mpc_book_ahead`` (its plan) and the prices of ``halfway``."""

    def __init__(self, strategy: Strategy, plan: BookMpc) -> None:
        self.strategy = strategy
        self.plan = plan
        self.name = strategy.name
        self.checked = 0

    def decide(self, view: SlotView) -> Decision:
        decision = self.strategy.decide(view)
        halfway = Halfway().decide(view)
        assert decision.battery == self.plan.setpoint(view)
        assert (decision.buy_frac, decision.sell_frac) == (halfway.buy_frac, halfway.sell_frac)
        self.checked += 1
        return decision

    def observe(self, view: SlotView, fill: Fill) -> None:
        self.strategy.observe(view, fill)


@pytest.mark.parametrize("market", [MARKET_OPEN, MARKET_SEALED])
def test_the_halfway_priced_planner_plans_as_mpc_book_ahead_and_prices_as_halfway(
    june_day: tuple[Setup, OthersBook], market: str
) -> None:
    setup, book = june_day
    made = _strategies(setup, 0, ("mpc_book_ahead_halfway", "mpc_book_ahead"), {}, market)
    plan = made["mpc_book_ahead"]
    assert isinstance(plan, BookMpc)
    compared = _Compared(made["mpc_book_ahead_halfway"], plan)
    run = run_prosumer(setup.community, book, compared, setup.start, setup.end)
    assert compared.checked == setup.end - setup.start
    ahead = run_prosumer(setup.community, book, plan, setup.start, setup.end)
    assert np.allclose(run.soc_kwh, ahead.soc_kwh)  # the same battery: only the prices differ
    assert not np.array_equal(run.cost_eur, ahead.cost_eur)


@pytest.mark.parametrize("market", [MARKET_OPEN, MARKET_SEALED])
def test_the_halfway_priced_planner_reads_only_the_books_its_plan_reads(
    june_day: tuple[Setup, OthersBook], market: str
) -> None:
    """No book of the slot it prices, nor the slot before: in either mode its newest book is
    the plan's (two slots back when open, three when sealed), so a spoofer reaches nothing."""
    _, watched = _run(june_day, "mpc_book_ahead_halfway", market)
    assert watched.reads
    assert min(deciding - read for read, deciding in watched.reads) == plan_lag_slots(market)


def test_an_unknown_pricing_is_refused(june_day: tuple[Setup, OthersBook]) -> None:
    setup, book = june_day
    with pytest.raises(ConfigError, match="unknown pricing 'guess'"):
        BookMpc(setup.community, setup.households[0], setup.forecasts[0], book, pricing="guess")
    with pytest.raises(ConfigError, match="unknown pricing"):
        AgentEvalConfig(book_pricing="guess")


class _Leaning:
    """``halfway_ahead`` checked slot by slot against ``mpc_book_ahead_halfway`` at the same
    view: a quarter of its set-point, the same prices."""

    def __init__(self, strategy: Strategy, planned: Strategy) -> None:
        self.strategy = strategy
        self.planned = planned
        self.name = strategy.name
        self.leaned = 0

    def decide(self, view: SlotView) -> Decision:
        lean, full = self.strategy.decide(view), self.planned.decide(view)
        assert lean.battery == pytest.approx(PLAN_REACH * full.battery)
        assert (lean.buy_frac, lean.sell_frac) == (full.buy_frac, full.sell_frac)
        self.leaned += lean.battery != 0.0
        return lean

    def observe(self, view: SlotView, fill: Fill) -> None:
        self.strategy.observe(view, fill)


@pytest.mark.parametrize("market", [MARKET_OPEN, MARKET_SEALED])
def test_halfway_ahead_leans_a_quarter_of_the_plan_off_halfways_self_consumption(
    june_day: tuple[Setup, OthersBook], market: str
) -> None:
    setup, book = june_day
    made = _strategies(setup, 0, ("halfway_ahead", "mpc_book_ahead_halfway"), {}, market)
    leaning = _Leaning(made["halfway_ahead"], made["mpc_book_ahead_halfway"])
    run_prosumer(setup.community, book, leaning, setup.start, setup.end)
    assert PLAN_REACH == 0.25
    assert leaning.leaned > 0  # the plan does lean the battery somewhere


def test_a_battery_reach_out_of_range_is_refused(june_day: tuple[Setup, OthersBook]) -> None:
    setup, book = june_day
    with pytest.raises(ConfigError, match=r"battery_reach must be in 0\.\.1"):
        BookMpc(setup.community, setup.households[0], setup.forecasts[0], book, battery_reach=1.5)
    with pytest.raises(ConfigError, match=r"book_reach must be in 0\.\.1"):
        AgentEvalConfig(book_reach=-0.1)
