"""household.yaml: the schema, the tariffs, and one-line errors for malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.charger.modes import ChargeMode
from devices.errors import DeviceConfigError
from devices.household import AgentMode, DynamicTariff, TimeOfUseTariff, load_household

FULL = """\
household: house-7
meters:
  - name: house-7-grid
    key: {dev: true}
    source: {kind: modbus, host: 127.0.0.1, port: 502, unit: 1, map: sdm630}
keys:
  agent: {keystore: keys/agent.json, password_env: AGENT_PASSWORD}
  owner: "0x00000000000000000000000000000000000000a1"
devices:
  battery: {kind: sunspec, protocol: model124, host: 127.0.0.1, unit: 1, capacity_wh: 10000}
  charger: {kind: ocpp, version: "1.6", charge_point_id: wallbox-1, listen: {port: 9100}}
  heat_pump: {kind: sgready-mqtt, topic: heatpump-relays}
limits:
  battery_soc_min_pct: 10
  battery_soc_max_pct: 95
  comfort: {min_state: 2, max_state: 3}
modes: {agent: hold, charger: plan, plan: {departure: "07:30", target_wh: 20000}}
tariff:
  kind: time_of_use
  export_eur_kwh: 0.08
  periods: [{start: "00:00", import_eur_kwh: 0.25}, {start: "06:00", import_eur_kwh: 0.35}]
home_assistant: {broker: "127.0.0.1:1883"}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "household.yaml"
    path.write_text(text)
    return path


def test_a_complete_household_file_loads(tmp_path: Path) -> None:
    household = load_household(_write(tmp_path, FULL))
    assert household.household == "house-7"
    assert household.devices.charger is not None and household.devices.charger.version == "1.6"
    assert household.modes.agent == AgentMode.HOLD
    assert household.modes.charger == ChargeMode.PLAN
    assert household.keys.agent is not None
    assert household.keys.agent.keystore == tmp_path / "keys" / "agent.json"  # relative to the file


def test_a_time_of_use_tariff_prices_each_hour(tmp_path: Path) -> None:
    tariff = load_household(_write(tmp_path, FULL)).tariff
    assert isinstance(tariff, TimeOfUseTariff)
    midnight_utc = 1_798_761_600  # 2027-01-01 00:00 UTC = 01:00 at UTC+1
    assert tariff.prices(midnight_utc) == (0.25, 0.08)
    assert tariff.prices(midnight_utc + 6 * 3_600) == (0.35, 0.08)


def test_a_dynamic_tariff_reads_a_day_ahead_file(tmp_path: Path) -> None:
    (tmp_path / "prices.csv").write_text(
        "start,eur_per_mwh\n2027-01-01T00:00:00Z,50\n2027-01-01T01:00:00Z,-20\n"
    )
    household = load_household(
        _write(tmp_path, "household: h\ntariff: {kind: dynamic, file: prices.csv}\n")
    )
    tariff = household.tariff
    assert isinstance(tariff, DynamicTariff)
    buy, sell = tariff.prices(1_798_761_600 + 600)
    assert buy == pytest.approx((0.05 + 0.2083) * 1.19)
    assert sell == pytest.approx(0.05)
    assert tariff.prices(1_798_761_600 + 3_700)[1] == 0.0  # negative spot: no feed-in pay


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "household: h\n"
            "devices: {battery: {kind: sunspec, host: x, port: 70000, capacity_wh: 1}}\n",
            "devices.battery.port: Input should be less than 65536",
        ),
        (
            "household: h\ndevices: {battery: {kind: sunspec, host: x}}\n",
            "model 124 has no capacity register: give capacity_wh",
        ),
        (
            "household: h\ndevices: {battery: {kind: tesla, host: x}}\n",
            "devices.battery.kind: Input should be 'sunspec'",
        ),
        ("household: h\nmodes: {charger: plan}\n", "charger mode plan needs plan"),
        (
            "household: h\nlimits: {battery_soc_min_pct: 90, battery_soc_max_pct: 20}\n",
            "battery_soc_min_pct must be below battery_soc_max_pct",
        ),
        (
            "household: h\nlimits: {comfort: {min_state: 4, max_state: 2}}\n",
            "min_state 4 is above max_state 2",
        ),
        (
            "household: h\ntariff: {kind: time_of_use, periods: ["
            "{start: '06:00', import_eur_kwh: 0.3}, {start: '01:00', import_eur_kwh: 0.2}]}\n",
            "periods must start at increasing times",
        ),
        ("household: h\ncolour: blue\n", "colour: Extra inputs are not permitted"),
        ("household: [unclosed\n", "line 2"),
        ("- just\n- a list\n", "must hold a mapping"),
        ("household: h\ntariff: {kind: dynamic, file: missing.csv}\n", "cannot be read"),
    ],
)
def test_a_malformed_household_file_is_one_clear_line(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(
        DeviceConfigError, match=message.replace("[", r"\[").replace("(", r"\(")
    ) as info:
        load_household(_write(tmp_path, text))
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("household file") or "price file" in str(info.value)


def test_a_price_file_with_a_bad_line_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "prices.csv").write_text("start,eur_per_mwh\n2027-01-01T00:00:00Z,cheap\n")
    with pytest.raises(DeviceConfigError, match=r"prices.csv line 2: need start and eur_per_mwh"):
        load_household(
            _write(tmp_path, "household: h\ntariff: {kind: dynamic, file: prices.csv}\n")
        )
