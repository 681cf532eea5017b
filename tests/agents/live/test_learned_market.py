"""The learned book model on chain (mpc_book_learned in the runtime): the window it reads from
the chain's books and the household's PV predicts what the simulator's history predicts, it is
missing (the day-earlier books stand) until every input is there, a model for another market
mode is refused, and a prediction moves the plan. A sealed market's file runs its planner as
evaluated: halfway's prices and a quarter of the plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.community import BatterySpec, Community
from agents.data.calendar import SLOTS_PER_DAY
from agents.errors import PolicyError
from agents.forecasting.base import HORIZON
from agents.live.forecasts import SlotForecast
from agents.live.learned_market import BookWindow, LearnedBooks
from agents.live.policies import (
    BookMpcPolicy,
    MarketSnapshot,
    SlotContext,
    book_setpoint,
    learned_later,
    load_policy,
    sealed_market_warning,
)
from agents.policies.book_model import BookHistory, BookModel
from agents.policies.bound import Steps, market_steps
from agents.prosumer import OthersBook
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from market.clearing import MarketParams, Order, Side
from tests.agents.live.test_runtime import StaticForecaster, _funded, _log, _pair, _runtime

LAG = 2  # the open market's newest final book


class DataForecaster:
    """The community's tariffs and the household's PV, on a chain whose slot k is the data
    year's slot k (a gateway's record of its PV, as the runtime reads it)."""

    def __init__(self, community: Community, household: int, pv_known: bool = True) -> None:
        self.community, self.household, self.pv_known = community, household, pv_known
        year = community.config.year
        self.year_start = int((datetime(year, 1, 1, tzinfo=UTC) - timedelta(hours=1)).timestamp())

    def slot_start(self, slot: int) -> int:
        return self.year_start + 900 * slot

    def slot(self, start: int) -> int:
        return (start - self.year_start) // 900

    def forecast(self, slot_start: int) -> SlotForecast:
        tariffs, s = self.community.tariffs, self.slot(slot_start)
        return SlotForecast(
            load_kw=np.zeros(HORIZON),
            pv_kw=np.zeros(HORIZON),
            retail=np.full(HORIZON, tariffs.retail[s]),
            feed_in=np.full(HORIZON, tariffs.feed_in[s]),
        )

    def actual_pv_kw(self, slot_start: int) -> float | None:
        if not self.pv_known:
            return None
        return float(self.community.pv_kw[self.household, self.slot(slot_start)])


class NoRecord:
    """A forecaster that keeps no record of past PV."""

    def forecast(self, slot_start: int) -> SlotForecast:
        raise AssertionError("not asked without a PV record")


def _books(
    community: Community, book: OthersBook, model: BookModel, forecaster: object, lag: int = LAG
) -> tuple[LearnedBooks, list[int]]:
    """The runtime's window builder over the June book, and the slots whose book it read."""
    read: list[int] = []

    def final_book(slot: int) -> tuple[Order, ...]:
        read.append(slot)
        return tuple(book.orders(slot)) if book.start <= slot < book.end else ()

    slot_start = DataForecaster(community, book.household).slot_start
    learned = LearnedBooks(
        model,
        lag,
        slot_start,
        final_book,
        community.tariffs.market_params,
        forecaster,  # type: ignore[arg-type]
    )
    return learned, read


def _decided(book: OthersBook) -> int:
    return book.start + 3 * SLOTS_PER_DAY + 40


def test_a_window_from_the_chain_predicts_what_the_simulators_history_predicts(
    community: Community, june_book: OthersBook, model: BookModel
) -> None:
    forecaster = DataForecaster(community, june_book.household)
    learned, _ = _books(community, june_book, model, forecaster)
    decided = _decided(june_book)
    window = learned.window(decided)
    assert window is not None
    assert window.decided % SLOTS_PER_DAY == decided % SLOTS_PER_DAY  # the hour feature
    history = BookHistory.of(
        community, june_book.household, june_book, june_book.start, june_book.end
    )
    n = 40
    slots = decided + 1 + np.arange(n)
    feed_in, retail = community.tariffs.feed_in[slots], community.tariffs.retail[slots]
    np.testing.assert_array_equal(
        model.residuals(window, window.decided, window.later(n), feed_in, retail),
        model.residuals(history, decided, slots, feed_in, retail),
    )


def test_each_final_book_is_read_once(
    community: Community, june_book: OthersBook, model: BookModel
) -> None:
    forecaster = DataForecaster(community, june_book.household)
    learned, read = _books(community, june_book, model, forecaster)
    decided = _decided(june_book)
    learned.window(decided)
    learned.window(decided + 1)
    assert sorted(read) == list(range(decided - 2 * SLOTS_PER_DAY + 1, decided + 1 - LAG + 1))


def test_no_window_without_a_record_of_the_households_pv(
    community: Community, june_book: OthersBook, model: BookModel
) -> None:
    unknown = DataForecaster(community, june_book.household, pv_known=False)
    assert _books(community, june_book, model, unknown)[0].window(_decided(june_book)) is None
    assert _books(community, june_book, model, NoRecord())[0].window(_decided(june_book)) is None
    assert _books(community, june_book, model, None)[0].window(_decided(june_book)) is None


def test_no_window_before_two_days_of_slots(
    community: Community, june_book: OthersBook, model: BookModel
) -> None:
    forecaster = DataForecaster(community, june_book.household)
    learned, _ = _books(community, june_book, model, forecaster)
    assert learned.window(2 * SLOTS_PER_DAY - 2) is None
    assert learned.window(2 * SLOTS_PER_DAY - 1) is not None


def test_an_open_market_model_is_refused_on_a_sealed_chain(
    community: Community, june_book: OthersBook, model: BookModel
) -> None:
    with pytest.raises(PolicyError, match="trained for the open market"):
        _books(community, june_book, model, None, lag=3)


class _Constant:
    """A booster that predicts one value for every row."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return np.full(len(rows), self.value)


MICRO = MarketParams(price_floor=50_000, tick_size=150, max_tick=2_000, fee_bps=0)
"""The chain's grid in micro-EUR: 0.05..0.35 EUR/kWh."""


def _window(sell_kwh_day_earlier: float) -> BookWindow:
    """Two days of history in which every slot's bids could take ``sell_kwh_day_earlier``."""
    size = 3 * SLOTS_PER_DAY + 1
    summary = np.zeros((size, 4))
    summary[:, 2], summary[:, 3] = sell_kwh_day_earlier, 1.0
    return BookWindow(summary, np.zeros(size), 2 * SLOTS_PER_DAY)


MORE_BIDS = BookModel(
    [_Constant(0.0), _Constant(0.0), _Constant(2.7), _Constant(0.0)],
    seed=0,
    lag=LAG,
    shrink=(0.0, 0.0, 1.0, 0.0),
)
"""A model that reads only the sell kWh and predicts 2.7 kWh more bids than a day earlier."""


def test_a_predicted_deeper_bid_side_moves_the_later_market() -> None:
    bid = [Order("1", Side.BUY, 1_000, 300)]  # 0.3 kWh at 0.2 EUR/kWh a day earlier
    later = [market_steps(bid, MICRO)] * 8
    range_ = np.full(8, 0.05), np.full(8, 0.30)
    moved = learned_later(MORE_BIDS, _window(0.3), later, *range_)
    for (buy, sell), (buy0, sell0) in zip(moved, later, strict=True):
        assert sell.widths.sum() == pytest.approx(3.0)  # 0.3 kWh + 2.7 predicted
        np.testing.assert_array_equal(buy.widths, buy0.widths)  # buy side not read
        np.testing.assert_allclose(sell.prices, sell0.prices)  # shares not read


def test_the_planner_plans_on_the_moved_market_when_it_has_a_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import agents.policies.mpc as mpc

    planned: list[list[tuple[Steps, Steps]]] = []
    real = mpc.plan_with_book

    def recording(**kwargs: Any) -> float:
        planned.append(list(kwargs["later"]))
        return real(**kwargs)

    monkeypatch.setattr(mpc, "plan_with_book", recording)
    bid = (Order("1", Side.BUY, 1_000, 300),)  # 0.2 EUR/kWh, inside 0.05..0.30
    context = SlotContext(
        slot=10,
        slot_start=1_700_000_100 - 1_700_000_100 % 3_600,
        soc_kwh=3.0,
        battery=BatterySpec(capacity_kwh=6.0, power_kw=3.0),
        forecast=SlotForecast(
            load_kw=np.full(HORIZON, 1.0),
            pv_kw=np.zeros(HORIZON),
            retail=np.full(HORIZON, 0.30),
            feed_in=np.full(HORIZON, 0.05),
        ),
        market=MarketSnapshot(),
        params_micro=MICRO,
        later_books=(bid,) * 8,
    )
    learned = dataclasses.replace(context, book_window=_window(0.3))
    book_setpoint(context, market_model=MORE_BIDS)  # no window: the day-earlier books
    book_setpoint(learned)  # no model: the same
    book_setpoint(learned, market_model=MORE_BIDS)
    day_earlier, no_model, moved = ([sell.widths.sum() for _, sell in p] for p in planned)
    assert day_earlier == no_model == [pytest.approx(0.3)] * 8
    assert moved == [pytest.approx(3.0)] * 8


class RecordedPv(StaticForecaster):
    """Flat forecasts, and a record of 1 kW of PV in every past slot."""

    def actual_pv_kw(self, slot_start: int) -> float | None:
        return 1.0


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.on_anvil(MarketSettings(min_order_wh=10)) as market:
        yield market


def test_on_chain_the_learned_planner_reads_two_days_of_books_and_plans_on_the_model(
    sandbox: Sandbox, tmp_path: Path, model: BookModel
) -> None:
    from agents.policies.book_model_onnx import export_book_model

    export_book_model(model.with_shrink((0.0, 0.0, 1.0, 0.0)), tmp_path / "book-model.onnx")
    if sandbox.current_slot() < 2 * SLOTS_PER_DAY:  # a young chain: two days behind it first
        sandbox.advance_to(sandbox.slot_start(2 * SLOTS_PER_DAY))
    owner, agent = _pair(sandbox)
    seen = sandbox.current_slot() + 1
    sandbox.place_orders(_funded(sandbox), [(seen, True, 1_000, 300)])  # 0.3 kWh a sell could fill
    # A day on: the bid's slot is in the window, and so is the same slot a day before.
    decided = seen + SLOTS_PER_DAY + 3
    sandbox.advance_to(sandbox.slot_start(decided) - sandbox.slot_seconds // 2)
    runtime = _runtime(
        sandbox,
        owner,
        agent,
        tmp_path,
        forecaster=RecordedPv(load_kw=1.0, pv_kw=0.0),
        policy=load_policy(tmp_path / "book-model.onnx"),
        plan_lead_seconds=sandbox.slot_seconds,
        battery=BatterySpec(capacity_kwh=6.0, power_kw=3.0),
    )
    assert runtime.step(sandbox.dev.now()).decided_slot == decided
    (decision,) = [e for e in _log(tmp_path) if e["event"] == "decision"]
    assert (decision["policy"], decision["later_market"]) == ("mpc_book_learned", "learned")
    learned = runtime.decider.learned
    assert learned is not None
    window = learned.window(decided)
    assert window is not None
    assert window.summary[window.decided - (decided - seen), 2] == pytest.approx(0.3)  # the bid


# The sealed market's learned planner: halfway prices and a quarter of the plan, from its file.


@pytest.fixture(scope="module")
def sealed_model_file(tmp_path_factory: pytest.TempPathFactory, sealed_model: BookModel) -> Path:
    """The small June model fitted at the sealed lag, exported as a shipped sealed file is."""
    from agents.policies.book_model_onnx import export_book_model

    path = tmp_path_factory.mktemp("sealed") / "book-model-sealed-seed0.onnx"
    export_book_model(sealed_model, path)
    return path


def _charging_context(anchors: MarketSnapshot) -> SlotContext:
    """A slot whose newest book offers 2 kWh at the floor (the plan charges from it), after a
    cleared slot whose quotes are ``anchors``."""
    return SlotContext(
        slot=10,
        slot_start=1_700_000_100 - 1_700_000_100 % 3_600,
        soc_kwh=3.0,
        battery=BatterySpec(capacity_kwh=6.0, power_kw=3.0),
        forecast=StaticForecaster(0.5, 0.5).value,
        market=anchors,
        recent_book=(Order("1", Side.SELL, 0, 2_000),),
        params_micro=MICRO,
    )


QUOTES = MarketSnapshot(recent=(0.5,) * 4, unfilled_bid=0.4, unfilled_ask=0.7, imbalance_kwh=0.1)
"""A last cleared slot with bids and asks left over (halfway's anchors: 0.7 to buy, 0.4 to sell)."""


def test_a_sealed_market_file_loads_as_a_planner_at_halfway_prices_and_a_quarter_of_its_plan(
    sealed_model_file: Path,
) -> None:
    policy = load_policy(sealed_model_file)
    assert isinstance(policy, BookMpcPolicy)
    assert (policy.name, policy.pricing, policy.reach) == ("mpc_book_learned", "halfway", 0.25)


def test_a_file_priced_on_the_tick_models_books_loads_as_a_planner_priced_so(
    tmp_path: Path, sealed_model: BookModel
) -> None:
    from agents.policies.book_model import PlannerSettings
    from agents.policies.book_model_onnx import export_book_model

    path = tmp_path / "predicted.onnx"
    export_book_model(sealed_model.with_planner(PlannerSettings("predicted", 0.25)), path)
    policy = load_policy(path)
    assert isinstance(policy, BookMpcPolicy)
    assert (policy.pricing, policy.reach) == ("predicted", 0.25)


def test_the_sealed_planner_follows_a_quarter_of_its_planned_setpoint(
    sealed_model_file: Path,
) -> None:
    policy = load_policy(sealed_model_file)
    assert isinstance(policy, BookMpcPolicy)
    context = _charging_context(QUOTES)
    planned = book_setpoint(context, market_model=policy.market_model)
    assert planned > 0.3  # the plan charges from the offer
    assert policy.decide(context).battery == pytest.approx(0.25 * planned)


def test_the_sealed_planner_prices_its_orders_as_the_live_halfway_policy(
    sealed_model_file: Path,
) -> None:
    context = _charging_context(QUOTES)
    decision, halfway = load_policy(sealed_model_file).decide(context), load_policy("halfway")
    expected = halfway.decide(context)
    assert (decision.buy_frac, decision.sell_frac) == (expected.buy_frac, expected.sell_frac)
    assert (decision.buy_frac, decision.sell_frac) == pytest.approx((0.85, 0.2))


def test_an_open_market_file_plans_the_whole_setpoint_and_leaves_the_prices_to_gate_closure(
    model: BookModel, tmp_path: Path
) -> None:
    from agents.policies.book_model_onnx import export_book_model

    export_book_model(model.with_shrink((0.0, 0.0, 1.0, 0.0)), tmp_path / "book-model.onnx")
    policy = load_policy(tmp_path / "book-model.onnx")
    assert isinstance(policy, BookMpcPolicy)
    context = _charging_context(QUOTES)
    decision = policy.decide(context)
    assert decision.battery == book_setpoint(context, market_model=policy.market_model)
    assert (policy.pricing, policy.reach) == ("book", 1.0)


def test_a_sealed_market_model_is_refused_on_an_open_chain(
    community: Community, june_book: OthersBook, sealed_model: BookModel
) -> None:
    with pytest.raises(PolicyError, match="trained for the sealed market"):
        _books(community, june_book, sealed_model, None, lag=LAG)


def test_a_file_whose_reach_is_out_of_range_is_refused_naming_it(
    sealed_model_file: Path, tmp_path: Path
) -> None:
    import onnx

    document = onnx.load(str(sealed_model_file))
    (entry,) = [p for p in document.metadata_props if p.key == "enerwise.reach"]
    entry.value = "1.5"
    onnx.save(document, str(tmp_path / "bold.onnx"))
    with pytest.raises(
        PolicyError, match=r"bold\.onnx: the planner's settings .*reach must be in 0"
    ):
        load_policy(tmp_path / "bold.onnx")


def test_the_sealed_planner_is_not_warned_about_in_a_sealed_market(sealed_model_file: Path) -> None:
    assert sealed_market_warning(load_policy(sealed_model_file)) is None


def test_a_halfway_priced_plan_keeps_its_pricing_across_a_restart(tmp_path: Path) -> None:
    from agents.community import Decision
    from agents.live.state import AgentState, SlotPlan

    identity = {"chain_id": 31337, "owner": "0xowner"}
    state = AgentState(tmp_path / "state.json", identity, 3.0)
    state.slots[7] = SlotPlan(
        Decision(battery=0.1, buy_frac=0.85, sell_frac=0.2),
        net_wh=500,
        battery_kw=0.1,
        sell_plan_wh=0,
        sell_tick=300,
        book=True,
        buy_plan_wh=500,
        buy_tick=1_500,
        pricing="halfway",
    )
    state.save()
    assert AgentState(tmp_path / "state.json", identity, 3.0).slots[7].pricing == "halfway"
