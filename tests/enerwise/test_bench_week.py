"""``enerwise bench week``: a household's week on real data, three ways of running its devices."""

from __future__ import annotations

from datetime import date

import pytest

from enerwise.benchmarks.week import STRATEGIES, load_week, run, table, week_costs


@pytest.fixture(scope="module")
def two_days() -> dict[str, dict[str, float]]:
    return {name: o.row() for name, o in week_costs(load_week(date(2018, 3, 5), 2)).items()}


def test_every_strategy_gives_the_car_its_energy(two_days: dict[str, dict[str, float]]) -> None:
    for name in STRATEGIES:
        assert two_days[name]["car_short_kwh"] == 0.0
        assert two_days[name]["car_kwh"] == pytest.approx(30.0)  # 15 kWh a night


def test_the_heat_pump_keeps_the_comfort_band(two_days: dict[str, dict[str, float]]) -> None:
    for name in STRATEGIES:
        assert 19.0 <= two_days[name]["indoor_min_c"] <= two_days[name]["indoor_max_c"] <= 23.6


def test_a_fixed_tariff_costs_the_imports_less_the_exports() -> None:
    result = run(date(2018, 6, 4), days=1, tariffs=("fixed",))
    for row in result["tariffs"]["fixed"].values():
        expected = row["import_kwh"] * 0.32 - row["export_kwh"] * 0.08
        assert row["cost_eur"] == pytest.approx(expected, abs=0.05)
    assert "| fixed | agent |" in table(result)


def test_a_week_outside_the_years_data_is_refused() -> None:
    with pytest.raises(ValueError, match="inside 2018"):
        load_week(date(2018, 12, 28), 7)
