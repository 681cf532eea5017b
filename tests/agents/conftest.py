"""Small shared fixtures: a six-member community and its forecasts (built once per session)."""

from __future__ import annotations

import pytest

from agents.community import Community, CommunityDraw, build_community
from agents.forecasting.provider import HouseholdForecasts, household_forecasts


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


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Tests share two cores with other processes: one torch thread avoids oversubscription."""
    import torch

    torch.set_num_threads(1)
