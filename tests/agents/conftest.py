"""Small shared fixtures: a six-member community and its forecasts (built once per session), the
others' book of five June days and book models fitted on it (open and sealed market)."""

from __future__ import annotations

import pytest

from agents.community import Community, CommunityDraw, build_community
from agents.data.calendar import SLOTS_PER_DAY
from agents.forecasting.provider import HouseholdForecasts, household_forecasts
from agents.policies.baselines import ZIP
from agents.policies.book_model import BookHistory, BookModel, PlannerSettings
from agents.policies.mpc import PRICING_HALFWAY
from agents.policies.visible import MARKET_SEALED, plan_lag_slots
from agents.prosumer import OthersBook, others_book
from agents.rl.kinds import PLAN_REACH


@pytest.fixture(scope="session")
def community() -> Community:
    """Six households: three with PV, two of them with a battery."""
    return build_community(CommunityDraw(n_households=6, share_pv=0.5, share_battery=0.34, seed=1))


@pytest.fixture(scope="session")
def forecasts(community: Community) -> dict[int, HouseholdForecasts]:
    """Seasonal-naive forecasts of every battery household."""
    return {
        h: household_forecasts(
            community.load_kw[h], community.pv_kw[h], community.spot, community.config.year
        )
        for h in community.battery_households()
    }


@pytest.fixture(scope="session")
def june_week(community: Community) -> tuple[int, int]:
    """Slots of the first two days of June (sunny: both sides trade)."""
    start, _ = community.day_slots(6, 6)
    return start, start + 2 * 96


@pytest.fixture(scope="module")
def june_book(community: Community) -> OthersBook:
    """The others' orders (ZIP traders) of the first battery household over five June days."""
    h = community.battery_households()[0]
    start, _ = community.day_slots(6, 6)
    n = len(community.households)
    return others_book(
        community, h, [ZIP(seed=k) for k in range(n)], start, start + 5 * SLOTS_PER_DAY
    )


@pytest.fixture(scope="module")
def model(community: Community, june_book: OthersBook) -> BookModel:
    """A small book model (five boosting rounds) fitted on the June book."""
    history = BookHistory.of(
        community, june_book.household, june_book, june_book.start, june_book.end
    )
    return BookModel.fit([history], seed=0, rounds=5)


@pytest.fixture(scope="module")
def sealed_model(community: Community, june_book: OthersBook) -> BookModel:
    """The same small model fitted at the sealed market's lag, reading the sell side as the
    shipped files do, with the planner the sealed files shipped with before scenario pricing
    (halfway prices, a quarter of the plan): the halfway path stays a choice and is tested."""
    history = BookHistory.of(
        community, june_book.household, june_book, june_book.start, june_book.end
    )
    return BookModel.fit(
        [history],
        seed=0,
        lag=plan_lag_slots(MARKET_SEALED),
        rounds=5,
        shrink=(0.0, 0.0, 1.0, 1.0),
        planner=PlannerSettings(PRICING_HALFWAY, PLAN_REACH),
    )


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Tests share two cores with other processes: one torch thread avoids oversubscription."""
    import torch

    torch.set_num_threads(1)
