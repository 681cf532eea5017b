"""Simulated meters: deterministic, monotone, driven by a pluggable profile."""

from __future__ import annotations

import pytest

from oracles.errors import OracleConfigError
from oracles.payloads import ShellyFormat, TasmotaFormat
from oracles.simulator import (
    ConstantProfile,
    HouseholdProfile,
    SimulatedMeter,
    load_profile,
    render_payload,
)

T0 = 1_800_000_000


def test_registers_integrate_the_profile() -> None:
    meter = SimulatedMeter(ConstantProfile(1_200.0), start=T0)
    assert meter.advance(T0 + 3_600)[:2] == pytest.approx((1_200.0, 0.0))
    exporter = SimulatedMeter(ConstantProfile(-600.0), start=T0)
    assert exporter.advance(T0 + 1_800)[:2] == pytest.approx((0.0, 300.0))


def test_registers_never_decrease_and_are_deterministic() -> None:
    a = SimulatedMeter(HouseholdProfile(seed=3), start=T0)
    b = SimulatedMeter(HouseholdProfile(seed=3), start=T0)
    previous = (0.0, 0.0)
    for step in range(1, 97):  # one day in 15-minute slots
        imp, exp, _ = a.advance(T0 + 900 * step)
        assert imp >= previous[0] and exp >= previous[1]
        previous = (imp, exp)
    assert b.advance(T0 + 900 * 96)[:2] == previous
    assert previous[0] > 0 and previous[1] > 0  # a prosumer both imports and exports


def test_a_profile_is_plugged_in_by_module_and_factory() -> None:
    profile = load_profile("oracles.simulator:ConstantProfile", watts=42.0)
    assert profile.power_w(T0) == 42.0


def test_an_unloadable_profile_is_a_config_error() -> None:
    with pytest.raises(OracleConfigError):
        load_profile("no.such.module:factory")


@pytest.mark.parametrize("fmt", ["tasmota", "shelly"])
def test_simulated_payloads_parse_like_real_devices(fmt: str) -> None:
    payload = render_payload(fmt, 12_345.0, 678.0, -250.0, T0)
    parser = TasmotaFormat() if fmt == "tasmota" else ShellyFormat()
    parsed = parser.parse(f"dev/{fmt}", payload)
    assert parsed.import_wh == pytest.approx(12_345.0)
    assert parsed.export_wh == pytest.approx(678.0)
    assert parsed.device_time == T0
