"""Tariffs, batteries, households and the community market (cleared by market.clearing)."""

from __future__ import annotations

import numpy as np
import pytest

import market.clearing
from agents import community as community_module
from agents.community import (
    TRUTHFUL,
    BatterySpec,
    Community,
    CommunityDraw,
    draw_households,
    self_sufficiency,
    simulate,
)
from agents.errors import ConfigError
from agents.policies import Truthful
from agents.tariffs import MICRO_EUR, TariffSpec, tariffs_from_spot


def test_retail_is_spot_plus_surcharges_plus_vat() -> None:
    tariffs = tariffs_from_spot(np.array([50.0]), TariffSpec(surcharges=0.2, vat=0.19))
    assert tariffs.retail[0] == pytest.approx((0.05 + 0.2) * 1.19)


def test_feed_in_is_the_nonnegative_spot_price() -> None:
    tariffs = tariffs_from_spot(np.array([-30.0, 60.0]))
    assert tariffs.feed_in.tolist() == pytest.approx([0.0, 0.06])


def test_retail_exceeds_feed_in_over_the_whole_year(community: Community) -> None:
    assert (community.tariffs.retail > community.tariffs.feed_in + 0.1).all()


def test_market_range_runs_from_feed_in_to_at_most_retail(community: Community) -> None:
    params = community.tariffs.market_params(1000)
    assert params.price_floor == round(community.tariffs.feed_in[1000] * MICRO_EUR)
    assert params.price(params.max_tick) <= community.tariffs.retail[1000] * MICRO_EUR
    assert params.price(params.max_tick) > community.tariffs.retail[1000] * MICRO_EUR - 100


def test_draw_gives_the_configured_mix_of_households() -> None:
    kinds = [h.kind for h in draw_households(CommunityDraw(n_households=8))]
    assert kinds.count("pv+battery") == 2
    assert kinds.count("pv") == 2
    assert kinds.count("consumer") == 4


def test_households_differ_in_size_and_shape(community: Community) -> None:
    annual = community.load_kw.sum(axis=1) * 0.25
    assert len(set(np.round(annual))) == len(annual)
    correlation = np.corrcoef(community.load_kw[0], community.load_kw[2])[0, 1]
    assert correlation < 0.95


def test_invalid_community_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        CommunityDraw(share_pv=0.2, share_battery=0.5)


def test_self_consumption_charges_exactly_the_surplus() -> None:
    battery = BatterySpec(capacity_kwh=10.0, power_kw=5.0, initial_soc=0.5)
    assert battery.power(0.0, surplus_kw=2.0, soc_kwh=5.0) == pytest.approx(2.0)
    assert battery.power(0.0, surplus_kw=-1.5, soc_kwh=5.0) == pytest.approx(-1.5)


def test_setpoint_extremes_reach_full_power() -> None:
    battery = BatterySpec(capacity_kwh=10.0, power_kw=5.0)
    assert battery.power(1.0, surplus_kw=-3.0, soc_kwh=5.0) == pytest.approx(5.0)
    assert battery.power(-1.0, surplus_kw=3.0, soc_kwh=5.0) == pytest.approx(-5.0)


def test_state_of_charge_stays_within_capacity() -> None:
    battery = BatterySpec(capacity_kwh=4.0, power_kw=4.0, efficiency=0.9)
    soc = 3.9
    power = battery.power(1.0, surplus_kw=0.0, soc_kwh=soc)
    assert battery.next_soc(soc, power) == pytest.approx(4.0)
    power = battery.power(-1.0, surplus_kw=0.0, soc_kwh=0.1)
    assert battery.next_soc(0.1, power) == pytest.approx(0.0)


def test_community_clearing_calls_market_clearing_settle(
    community: Community, june_week: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = market.clearing.settle

    def spy(orders, params):  # type: ignore[no-untyped-def]
        calls.append(len(orders))
        return real(orders, params)

    assert community_module.settle is market.clearing.settle
    monkeypatch.setattr(community_module, "settle", spy)
    start, _ = june_week
    simulate(community, [Truthful() for _ in community.households], start, start + 8)
    assert len(calls) == 8


def test_p2p_market_never_costs_a_truthful_household_more_than_the_grid(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    strategies = [Truthful() for _ in community.households]
    with_market = simulate(community, strategies, start, end)
    without = simulate(community, strategies, start, end, p2p=False)
    assert (with_market.cost_eur.sum(axis=1) <= without.cost_eur.sum(axis=1) + 1e-9).all()
    assert with_market.p2p_kwh.clip(min=0).sum() > 0


def test_market_conserves_energy_bought_and_sold(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    result = simulate(community, [Truthful() for _ in community.households], start, end)
    bought = result.p2p_kwh.clip(min=0).sum(axis=0)
    sold = -result.p2p_kwh.clip(max=0).sum(axis=0)
    assert np.all(sold >= bought - 1e-9)  # rationed sellers give ceil, buyers get floor
    assert np.all(sold - bought <= 0.001 * len(community.households) + 1e-9)  # 1 Wh per order


def test_consumers_save_nothing_without_the_market(
    community: Community, june_week: tuple[int, int]
) -> None:
    start, end = june_week
    result = simulate(community, [Truthful() for _ in community.households], start, end, p2p=False)
    consumers = [i for i, h in enumerate(community.households) if h.kind == "consumer"]
    assert result.savings_eur()[consumers] == pytest.approx(0.0)


def test_self_sufficiency_is_a_share(community: Community, june_week: tuple[int, int]) -> None:
    start, end = june_week
    result = simulate(community, [Truthful() for _ in community.households], start, end)
    assert 0.0 < self_sufficiency(community, result) < 1.0


def test_truthful_decision_bids_retail_and_asks_feed_in() -> None:
    assert (TRUTHFUL.buy_frac, TRUTHFUL.sell_frac, TRUTHFUL.battery) == (1.0, 0.0, 0.0)


@pytest.mark.parametrize("surplus", [-3.0, -0.4, 0.0, 1.2, 6.0])
@pytest.mark.parametrize("power", [-5.0, -1.0, 0.0, 0.7, 5.0])
def test_setpoint_for_is_the_inverse_of_battery_power(surplus: float, power: float) -> None:
    battery = BatterySpec(capacity_kwh=10.0, power_kw=5.0)
    soc = 4.0
    charge, discharge = battery.limits(soc)
    feasible = min(max(power, -discharge), charge)
    setpoint = battery.setpoint_for(feasible, surplus, soc)
    assert battery.power(setpoint, surplus, soc) == pytest.approx(feasible)
