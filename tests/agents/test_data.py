"""The data loaders read the shipped files with the right shapes, units and provenance."""

from __future__ import annotations

import numpy as np
import pytest

from agents.data import (
    HouseholdLoadSpec,
    LoadProfile,
    PVSystemSpec,
    day_ahead_prices,
    household_load,
    pv_power,
    read_try,
    standard_profile,
)
from agents.data.calendar import slot_index
from agents.data.prices import COLUMN_DE_AT_LU, COLUMN_DE_LU
from agents.errors import AgentError, ConfigError, DataError


def test_prices_2018_are_8760_hourly_values_without_nan() -> None:
    prices = day_ahead_prices(2018)
    assert prices.eur_per_mwh.shape == (8760,)
    assert not np.isnan(prices.eur_per_mwh).any()
    assert not prices.filled.any()


def test_prices_2018_switch_to_the_de_lu_column_on_1_october() -> None:
    prices = day_ahead_prices(2018)
    first_october = int(np.flatnonzero(prices.index >= "2018-09-30 23:00:00+01:00")[0])
    assert prices.source_column[first_october - 1] == COLUMN_DE_AT_LU
    assert prices.source_column[first_october] == COLUMN_DE_LU
    assert prices.eur_per_mwh[first_october] == pytest.approx(59.53)  # SMARD, 1 Oct 00:00 CEST


def test_prices_are_in_eur_per_mwh_with_a_plausible_2018_mean() -> None:
    assert 40 < day_ahead_prices(2018).eur_per_mwh.mean() < 50  # 2018 base: 44.5 EUR/MWh


def test_prices_2015_fill_the_96_missing_hours_and_flag_them() -> None:
    prices = day_ahead_prices(2015)
    assert prices.filled.sum() == 96
    assert not np.isnan(prices.eur_per_mwh).any()


def test_prices_of_an_unshipped_year_raise_a_data_error() -> None:
    with pytest.raises(DataError):
        day_ahead_prices(2016)


def test_per_slot_prices_repeat_each_hour_four_times() -> None:
    slots = day_ahead_prices(2018).per_slot()
    assert slots.shape == (35040,)
    assert (slots[:4] == slots[0]).all()


def test_every_try_region_has_a_station_inside_germany() -> None:
    for region in range(1, 16):
        weather = read_try(region)
        assert 47 < weather.latitude < 55.5 and 5.5 < weather.longitude < 15.5
        assert weather.direct_horizontal.shape == (8760,)


def test_pv_output_is_nonnegative_kw_per_slot_with_a_plausible_yield() -> None:
    power = pv_power(PVSystemSpec(kwp=5.0, tilt=30, azimuth=180, region=4), 2018)
    assert power.shape == (35040,)
    assert (power >= 0).all()
    yield_kwh_per_kwp = power.sum() * 0.25 / 5.0
    assert 850 < yield_kwh_per_kwp < 1150
    assert power.max() <= 5.0


def test_pv_output_is_zero_at_midnight() -> None:
    power = pv_power(PVSystemSpec(kwp=5.0), 2018)
    midnight = np.asarray(slot_index(2018).hour == 0)
    assert power[midnight].max() == 0.0


def test_east_facing_pv_peaks_earlier_than_west_facing() -> None:
    hours = np.asarray(slot_index(2018).hour)
    east = pv_power(PVSystemSpec(kwp=5.0, azimuth=90, tilt=40), 2018)
    west = pv_power(PVSystemSpec(kwp=5.0, azimuth=270, tilt=40), 2018)
    assert np.average(hours, weights=east) < np.average(hours, weights=west)


def test_standard_profiles_hold_1000_kwh_a_year() -> None:
    for profile in LoadProfile:
        assert standard_profile(2018, profile).sum() * 0.25 == pytest.approx(1000.0)


def test_household_load_sums_to_its_annual_consumption() -> None:
    load = household_load(HouseholdLoadSpec(annual_kwh=3500.0, seed=3), 2018)
    assert load.shape == (35040,)
    assert load.sum() * 0.25 == pytest.approx(3500.0)
    assert (load > 0).all()


def test_households_with_different_seeds_and_shifts_differ() -> None:
    a = household_load(HouseholdLoadSpec(annual_kwh=3000.0, seed=1), 2018)
    b = household_load(HouseholdLoadSpec(annual_kwh=3000.0, seed=2, shift_slots=3), 2018)
    assert np.corrcoef(a, b)[0, 1] < 0.95


def test_household_load_is_reproducible_from_its_seed() -> None:
    spec = HouseholdLoadSpec(annual_kwh=3000.0, seed=5)
    assert np.array_equal(household_load(spec, 2018), household_load(spec, 2018))


def test_a_leap_year_is_rejected_as_a_config_error() -> None:
    with pytest.raises(ConfigError):
        standard_profile(2016, LoadProfile.H0)


def test_errors_derive_from_agent_error_and_value_error() -> None:
    with pytest.raises(AgentError):
        HouseholdLoadSpec(annual_kwh=-1.0)
    with pytest.raises(ValueError):
        PVSystemSpec(kwp=0.0)
