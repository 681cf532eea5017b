"""Baselines behave as documented and the perfect-foresight bound beats every method."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from agents.community import (
    BatterySpec,
    Community,
    Decision,
    Fill,
    MarketHistory,
    SlotView,
    Strategy,
)
from agents.data.calendar import SLOTS_PER_DAY
from agents.envs import action_to_decision
from agents.forecasting.provider import HouseholdForecasts
from agents.policies import ZIP, BookResponse, Halfway, Threshold, Truthful
from agents.policies.best_response import best_response_frac
from agents.policies.bound import (
    BatteryProgram,
    Steps,
    market_steps,
    perfect_foresight,
    solve_program,
)
from agents.policies.mpc import (
    BOOK_LAG_SLOTS,
    BookMpc,
    MpcBattery,
    MpcConfig,
    MpcStrategy,
    plan_with_book,
)
from agents.policies.visible import moved_book
from agents.prosumer import OthersBook, others_book, run_prosumer
from market.clearing import MarketParams, Order, Side

PARAMS = MarketParams(price_floor=0, tick_size=1, max_tick=100, fee_bps=0)


class _Random:
    """Random decisions, seeded: a deliberately bad strategy the bound must also beat."""

    name = "random"

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def decide(self, view: SlotView) -> Decision:
        return action_to_decision(self.rng.uniform(-1, 1, 3))

    def observe(self, view: SlotView, fill: Fill) -> None:
        pass


def _view(community: Community, slot: int, soc: float = 2.0) -> SlotView:
    return SlotView(
        community,
        community.battery_households()[0],
        slot,
        soc,
        MarketHistory.empty(community.n_slots),
    )


def test_threshold_charges_in_the_cheapest_hours_of_the_day(community: Community) -> None:
    day = 200 * SLOTS_PER_DAY
    cheapest = day + int(np.argmin(community.tariffs.retail[day : day + SLOTS_PER_DAY]))
    assert Threshold().decide(_view(community, cheapest)).battery == 1.0


def test_threshold_self_consumes_in_the_dearest_hours(community: Community) -> None:
    day = 200 * SLOTS_PER_DAY
    dearest = day + int(np.argmax(community.tariffs.retail[day : day + SLOTS_PER_DAY]))
    assert Threshold().decide(_view(community, dearest)).battery == 0.0


def test_threshold_holds_its_charge_in_between(community: Community) -> None:
    day = 200 * SLOTS_PER_DAY
    prices = community.tariffs.retail[day : day + SLOTS_PER_DAY]
    h = community.battery_households()[0]
    middle = [
        day + k
        for k in np.argsort(prices)[40:56]
        if community.pv_kw[h, day + k] < community.load_kw[h, day + k]
    ]
    view = _view(community, middle[0])
    decision = Threshold().decide(view)
    battery = community.households[h].battery
    assert battery is not None
    surplus = community.pv_kw[h, middle[0]] - community.load_kw[h, middle[0]]
    assert battery.power(decision.battery, surplus, view.soc_kwh) == pytest.approx(0.0, abs=1e-9)


def test_zip_seller_raises_its_ask_after_trading_below_the_clearing_price(
    community: Community,
) -> None:
    trader = ZIP(seed=1)
    trader.ask = 0.2
    view = _view(community, 100)
    trader.observe(view, Fill(net_wh=-100, p2p_wh=-100, cost_eur=0.0, cleared_tick_frac=0.6))
    assert trader.ask > 0.2


def test_zip_buyer_raises_its_bid_when_nothing_clears(community: Community) -> None:
    trader = ZIP(seed=2)
    trader.bid = 0.3
    trader.observe(_view(community, 100), Fill(100, 0, 0.0, float("nan")))
    assert trader.bid > 0.3


def test_truthful_bids_its_marginal_values(community: Community) -> None:
    decision = Truthful().decide(_view(community, 100))
    assert (decision.buy_frac, decision.sell_frac) == (1.0, 0.0)


def test_buy_steps_price_a_lone_offer_at_its_own_tick() -> None:
    buy, sell = market_steps([Order("s", Side.SELL, 30, 2000)], PARAMS)
    assert buy.widths.tolist() == [2.0]
    assert buy.prices.tolist() == [30 / 1e6]
    assert sell.widths.size == 0


def test_buy_steps_never_go_below_the_others_clearing_price_when_supply_is_used_up() -> None:
    orders = [Order("s", Side.SELL, 0, 1000), Order("b", Side.BUY, 100, 1000)]
    buy, _ = market_steps(orders, PARAMS)
    assert buy.prices.min() == pytest.approx(50 / 1e6)  # p0 = (0 + 100) // 2


def _first_battery_and_book(
    community: Community, start: int, end: int, trader: Callable[[int], Strategy]
) -> tuple[int, OthersBook]:
    """The first battery household and the book the others make from ``start`` to ``end``,
    member ``k`` trading as ``trader(k)``."""
    h = community.battery_households()[0]
    traders = [trader(k) for k in range(len(community.households))]
    return h, others_book(community, h, traders, start, end)


def test_bound_is_at_least_every_method_on_the_same_data(
    community: Community,
    june_week: tuple[int, int],
    forecasts: dict[int, HouseholdForecasts],
) -> None:
    start, end = june_week
    h, book = _first_battery_and_book(community, start, end, lambda k: ZIP(seed=10 + k))
    bound = perfect_foresight(community, book, start, end)
    mpc = MpcStrategy(MpcBattery(community, h, forecasts[h], book), Halfway(), "mpc")
    methods: list[Strategy] = [
        Truthful(),
        ZIP(seed=3),
        Threshold(),
        Halfway(),
        mpc,
        BookResponse(book),
        BookMpc(community, h, forecasts[h], book),
        _Random(0),
        _Random(1),
    ]
    for method in methods:
        saved = run_prosumer(community, book, method, start, end).savings_eur
        assert saved <= bound.savings_eur + 1e-6, method.name


def test_battery_only_bound_is_at_least_self_consumption_without_market(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    _, book = _first_battery_and_book(community, start, end, lambda _: Truthful())
    bound = perfect_foresight(community, book, start, end, p2p=False)
    saved = run_prosumer(community, book, Truthful(), start, end, p2p=False).savings_eur
    assert saved <= bound.savings_eur + 1e-6
    assert bound.savings_eur <= perfect_foresight(community, book, start, end).savings_eur + 1e-6


class _RecordingBook:
    """An others' book that records which slots were read."""

    def __init__(self, book: OthersBook) -> None:
        self.book = book
        self.start = book.start
        self.read: list[int] = []

    def orders(self, slot: int) -> list[Order]:
        self.read.append(slot)
        return self.book.orders(slot)


def _recorded_june_book(community: Community, *, days: int) -> tuple[int, int, _RecordingBook]:
    """The first battery household, the first slot of June and, recording which slots are read,
    the book the others (ZIP traders) make over ``days`` days from there."""
    start, _ = community.day_slots(6, 6)
    h, book = _first_battery_and_book(community, start, start + days * 96, lambda k: ZIP(seed=k))
    return h, start, _RecordingBook(book)


def test_mpc_reads_only_the_public_books_of_earlier_slots(
    community: Community, forecasts: dict[int, HouseholdForecasts]
) -> None:
    h, start, recording = _recorded_june_book(community, days=3)
    market = MpcConfig(market=True)
    mpc = MpcBattery(community, h, forecasts[h], recording, market)  # type: ignore[arg-type]
    decided = start + 2 * 96 + 40
    mpc.setpoint(decided, 2.0)
    assert recording.read, "the plan used no market model"
    assert max(recording.read) < decided


def test_mpc_of_a_household_without_battery_is_self_consumption(
    community: Community, forecasts: dict[int, HouseholdForecasts]
) -> None:
    plain = next(i for i, house in enumerate(community.households) if house.battery is None)
    any_forecasts = next(iter(forecasts.values()))
    assert MpcBattery(community, plain, any_forecasts).setpoint(5000, 0.0) == 0.0


def test_program_keeps_energy_stored_when_it_has_a_terminal_value(community: Community) -> None:
    battery = community.households[community.battery_households()[0]].battery
    n = 8
    none = Steps(np.zeros(0), np.zeros(0))

    def final_soc(value: float) -> float:
        program = BatteryProgram(
            load_kw=np.full(n, 1.0),
            pv_kw=np.zeros(n),
            retail=np.full(n, 0.30),
            feed_in=np.full(n, 0.05),
            buys=[none] * n,
            sells=[none] * n,
            battery=battery,
            soc0_kwh=2.0,
            terminal_eur_per_kwh=value,
            one_side=False,
        )
        return float(solve_program(program).soc_kwh[-1])

    assert final_soc(0.0) == pytest.approx(0.0, abs=1e-6)  # worth nothing after: used up
    assert final_soc(1.0) > 1.9  # worth more than retail: kept


def test_book_response_never_pays_more_than_truthful_in_any_slot(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    _, book = _first_battery_and_book(community, start, end, lambda k: ZIP(seed=20 + k))
    truthful = run_prosumer(community, book, Truthful(), start, end)
    last_mover = run_prosumer(community, book, BookResponse(book), start, end)
    assert np.allclose(last_mover.soc_kwh, truthful.soc_kwh)  # the same battery path
    assert np.all(last_mover.cost_eur <= truthful.cost_eur + 1e-9)
    assert last_mover.savings_eur > truthful.savings_eur  # seeing the book is worth something


def _book_mpc_reads(
    community: Community, forecasts: dict[int, HouseholdForecasts], config: MpcConfig
) -> tuple[int, list[int]]:
    """The slot a :class:`BookMpc` of the first battery household sets its battery for on the
    second day of June, and the slots of the others' book its plan read."""
    h, start, recording = _recorded_june_book(community, days=2)
    planner = BookMpc(community, h, forecasts[h], recording, config)  # type: ignore[arg-type]
    decided = start + 96 + 40
    planner.setpoint(SlotView(community, h, decided, 2.0, MarketHistory.empty(community.n_slots)))
    return decided, recording.read


def test_book_mpc_plans_its_battery_on_the_newest_final_book_only(
    community: Community, forecasts: dict[int, HouseholdForecasts]
) -> None:
    decided, read = _book_mpc_reads(community, forecasts, MpcConfig())
    assert read == [decided - BOOK_LAG_SLOTS]


def test_book_mpc_ahead_plans_each_later_slot_on_its_final_book_a_day_earlier(
    community: Community, forecasts: dict[int, HouseholdForecasts]
) -> None:
    decided, read = _book_mpc_reads(community, forecasts, MpcConfig(market=True))
    later = sorted(set(read) - {decided - BOOK_LAG_SLOTS})
    # Every later slot of the day's plan, each read a day earlier, up to the newest final book.
    assert later == list(range(decided + 1 - SLOTS_PER_DAY, decided - BOOK_LAG_SLOTS))


def test_book_mpc_ahead_keeps_its_charge_for_a_bid_it_expects_later() -> None:
    battery = BatterySpec(capacity_kwh=5.0, power_kw=2.0, efficiency=0.95, initial_soc=0.0)
    n = 16
    params = MarketParams(price_floor=50_000, tick_size=1_000, max_tick=250, fee_bps=0)
    # Slot 3's expected market: a neighbour buys 2 kWh at 0.40 EUR/kWh, above retail.
    bid = (Steps(np.zeros(0), np.zeros(0)), Steps(np.array([2.0]), np.array([0.40])))

    def first_power(later: list[tuple[Steps, Steps]]) -> float:
        return plan_with_book(
            load_kw=np.zeros(n),
            pv_kw=np.r_[2.0, np.zeros(n - 1)],
            retail=np.full(n, 0.30),
            feed_in=np.full(n, 0.05),
            others=[],
            params=params,
            battery=battery,
            soc_kwh=0.0,
            terminal_value=0.0,
            later=later,
        )

    empty = (Steps(np.zeros(0), np.zeros(0)), Steps(np.zeros(0), np.zeros(0)))
    assert first_power([]) == pytest.approx(0.0, abs=1e-9)  # nothing later is worth storing for
    assert first_power([empty, empty, bid]) > 1.0  # stores the surplus for the bid


def test_book_mpc_prices_its_order_at_the_best_response_to_its_slots_book(
    community: Community, forecasts: dict[int, HouseholdForecasts], june_week: tuple[int, int]
) -> None:
    start, end = june_week
    h, book = _first_battery_and_book(community, start, end, lambda k: ZIP(seed=k))
    planner = BookMpc(community, h, forecasts[h], book)
    slot = start + 50
    view = SlotView(community, h, slot, 2.0, MarketHistory.empty(community.n_slots))
    decision = planner.priced(view, 0.5)
    battery = community.households[h].battery
    assert battery is not None
    surplus = float(community.pv_kw[h, slot] - community.load_kw[h, slot])
    net = round((battery.power(0.5, surplus, 2.0) - surplus) * 250.0)
    expected = best_response_frac(
        book.orders(slot),
        community.households[h].id,
        net,
        community.tariffs.market_params(slot),
        float(community.tariffs.retail[slot]),
        float(community.tariffs.feed_in[slot]),
    )
    assert decision == Decision(battery=0.5, buy_frac=expected, sell_frac=expected)


def test_plan_with_book_charges_from_offers_cheaper_than_the_import_they_displace() -> None:
    battery = BatterySpec(capacity_kwh=5.0, power_kw=2.0, efficiency=0.95, initial_soc=0.0)
    n = 16
    params = MarketParams(price_floor=50_000, tick_size=1_000, max_tick=250, fee_bps=0)
    cheap = [Order("seller", Side.SELL, 50, 2_000)]  # 0.10 EUR/kWh, retail is 0.30

    def first_power(others: list[Order]) -> float:
        return plan_with_book(
            load_kw=np.r_[0.0, np.full(n - 1, 1.0)],
            pv_kw=np.zeros(n),
            retail=np.full(n, 0.30),
            feed_in=np.full(n, 0.05),
            others=others,
            params=params,
            battery=battery,
            soc_kwh=0.0,
        )

    assert first_power([]) == pytest.approx(0.0, abs=1e-9)  # the grid alone: nothing to gain
    assert first_power(cheap) > 1.0


def test_moved_book_keeps_each_orders_share_of_the_price_range() -> None:
    seen = MarketParams(price_floor=0, tick_size=1, max_tick=200, fee_bps=0)
    onto = MarketParams(price_floor=0, tick_size=1, max_tick=100, fee_bps=0)
    moved = moved_book([Order("a", Side.BUY, 150, 7), Order("b", Side.SELL, 200, 3)], seen, onto)
    assert [(o.id, o.side, o.tick, o.qty_wh) for o in moved] == [
        ("a", Side.BUY, 75, 7),
        ("b", Side.SELL, 100, 3),
    ]
