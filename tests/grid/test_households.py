"""Net energies of the agents' real-data households, as the grid operator gets them."""

from __future__ import annotations

import numpy as np
import pytest

from agents.community import CommunityDraw, build_community
from agents.data.calendar import SLOTS_PER_DAY
from grid.errors import InjectionError
from grid.households import household_day, metered_series


@pytest.fixture(scope="module")
def community():  # type: ignore[no-untyped-def]
    return build_community(CommunityDraw(n_households=4, share_pv=0.5, share_battery=0.25))


def test_a_consumer_meters_its_load_and_a_pv_owner_its_surplus(community) -> None:  # type: ignore[no-untyped-def]
    start = 171 * SLOTS_PER_DAY + 48  # 21 June, noon
    series = metered_series(community, start, start + 4)
    expected = np.round((community.load_kw - community.pv_kw)[:, start : start + 4] * 250.0)
    plain = [i for i, h in enumerate(community.households) if h.battery is None]
    np.testing.assert_array_equal(series[plain], expected[plain])


def test_a_battery_in_self_consumption_lowers_the_meters_swing(community) -> None:  # type: ignore[no-untyped-def]
    start = 171 * SLOTS_PER_DAY
    series = metered_series(community, start, start + SLOTS_PER_DAY)
    k = community.battery_households()[0]
    raw = (community.load_kw - community.pv_kw)[k, start : start + SLOTS_PER_DAY] * 250.0
    assert np.abs(series[k]).sum() < np.abs(raw).sum()


def test_the_naive_forecast_is_the_day_before(community) -> None:  # type: ignore[no-untyped-def]
    start = 171 * SLOTS_PER_DAY
    day = household_day({"c01": community}, start, 8, "naive")
    before = household_day({"c01": community}, start - SLOTS_PER_DAY, SLOTS_PER_DAY + 8, "perfect")
    np.testing.assert_array_equal(day.forecast_wh, before.actual_wh[:, :8])
    assert day.household_ids[0] == "c01/h000"
    assert day.weights.export.shape == (4,)


def test_a_naive_forecast_needs_a_day_before(community) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InjectionError, match="outside the year"):
        household_day({"c01": community}, 10, 8, "naive")


def test_an_unknown_forecast_kind_is_a_clear_error(community) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InjectionError, match="naive or perfect"):
        household_day({"c01": community}, 1000, 8, "oracle")
