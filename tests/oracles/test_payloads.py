"""MQTT payload formats: Tasmota, Shelly Gen2, generic JSON."""

from __future__ import annotations

import json
import math

import pytest

from oracles.errors import PayloadError
from oracles.payloads import JsonFormat, JsonFormatSettings, ShellyFormat, TasmotaFormat

TASMOTA = {
    "Time": "2024-05-01T12:15:00",
    "ENERGY": {
        "TotalStartTime": "2023-10-21T22:15:00",
        "Total": 3.705,
        "Yesterday": 0.028,
        "Today": 0.026,
        "Power": 5,
        "ExportActive": 1.25,
        "Voltage": 233,
    },
}


def test_tasmota_total_and_export_are_kwh() -> None:
    parsed = TasmotaFormat().parse("tele/plug/SENSOR", json.dumps(TASMOTA).encode())
    assert parsed.import_wh == pytest.approx(3_705.0)
    assert parsed.export_wh == pytest.approx(1_250.0)
    assert parsed.power_w == 5.0
    assert parsed.extras == {"voltage_l1_v": 233.0}


def test_tasmota_without_export_has_zero_export() -> None:
    doc = {"ENERGY": {"Total": 1.0, "Power": 10}}
    assert TasmotaFormat().parse("t", json.dumps(doc).encode()).export_wh == 0.0


def test_tasmota_naive_local_time_is_not_taken_as_device_time() -> None:
    assert TasmotaFormat().parse("t", json.dumps(TASMOTA).encode()).device_time is None
    aware = {**TASMOTA, "Time": "2024-05-01T12:15:00+02:00"}
    assert TasmotaFormat().parse("t", json.dumps(aware).encode()).device_time == 1714558500.0


def test_tasmota_multi_channel_values_are_summed() -> None:
    doc = {"ENERGY": {"Total": [1.0, 2.0], "Power": [10, 20]}}
    parsed = TasmotaFormat().parse("t", json.dumps(doc).encode())
    assert parsed.import_wh == 3_000.0 and parsed.power_w == 30.0


def test_tasmota_malformed_json_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="malformed JSON"):
        TasmotaFormat().parse("tele/plug/SENSOR", b'{"ENERGY": {"Total": ')


def test_tasmota_message_without_energy_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="ENERGY"):
        TasmotaFormat().parse("tele/plug/SENSOR", b'{"Time": "x", "AM2301": {}}')


def test_tasmota_nan_passes_parsing_for_validation_to_refuse() -> None:
    parsed = TasmotaFormat().parse("t", b'{"ENERGY": {"Total": NaN}}')
    assert parsed.import_wh is not None and math.isnan(parsed.import_wh)


def test_shelly_em1data_status_topic_is_in_wh() -> None:
    payload = b'{"id":1,"total_act_energy":6644.90,"total_act_ret_energy":2595.26}'
    parsed = ShellyFormat().parse("shellyproem50/status/em1data:1", payload)
    assert (parsed.import_wh, parsed.export_wh) == (6644.90, 2595.26)


def test_shelly_notify_status_carries_device_time_and_power() -> None:
    doc = {
        "src": "shellyproem50-abc",
        "method": "NotifyStatus",
        "params": {
            "ts": 1714558500.12,
            "em1data:0": {"id": 0, "total_act_energy": 10.0, "total_act_ret_energy": 2.0},
            "em1:0": {"id": 0, "act_power": 501.8},
        },
    }
    parsed = ShellyFormat().parse("shellyproem50/events/rpc", json.dumps(doc).encode())
    assert parsed.import_wh == 10.0 and parsed.export_wh == 2.0
    assert parsed.power_w == 501.8 and parsed.device_time == 1714558500.12


def test_shelly_component_selects_the_channel() -> None:
    doc = {
        "method": "NotifyStatus",
        "params": {
            "em1data:0": {"total_act_energy": 1.0, "total_act_ret_energy": 0.0},
            "em1data:1": {"total_act_energy": 7.0, "total_act_ret_energy": 3.0},
        },
    }
    parsed = ShellyFormat("em1data:1").parse("x/events/rpc", json.dumps(doc).encode())
    assert parsed.import_wh == 7.0


def test_shelly_3em_emdata_totals() -> None:
    payload = b'{"id":0,"total_act":1500.5,"total_act_ret":20.25}'
    parsed = ShellyFormat().parse("shellypro3em/status/emdata:0", payload)
    assert (parsed.import_wh, parsed.export_wh) == (1500.5, 20.25)


def test_shelly_plug_switch_aenergy() -> None:
    payload = b'{"id":0,"apower":12.5,"aenergy":{"total":4321.0},"ret_aenergy":{"total":1.5}}'
    parsed = ShellyFormat().parse("shellyplugs/status/switch:0", payload)
    assert (parsed.import_wh, parsed.export_wh, parsed.power_w) == (4321.0, 1.5, 12.5)


def test_shelly_power_only_message_has_no_energy() -> None:
    parsed = ShellyFormat().parse("shellyproem50/status/em1:0", b'{"id":0,"act_power":99.0}')
    assert not parsed.has_energy and parsed.power_w == 99.0


def test_shelly_payload_without_any_meter_component_is_refused() -> None:
    with pytest.raises(PayloadError, match="no Shelly energy"):
        ShellyFormat().parse("shelly/status/sys", b'{"mac":"x"}')


def test_json_format_follows_paths_and_units() -> None:
    fmt = JsonFormat(
        JsonFormatSettings(
            import_path="meter.registers.0.value",
            import_unit="kWh",
            export_path="meter.registers.1.value",
            export_unit="kWh",
            power_path="meter.p",
            power_unit="kW",
            time_path="ts",
        )
    )
    doc = {"meter": {"registers": [{"value": 1.5}, {"value": 0.5}], "p": 2.0}, "ts": 1700000000}
    parsed = fmt.parse("x", json.dumps(doc).encode())
    assert (parsed.import_wh, parsed.export_wh, parsed.power_w) == (1_500.0, 500.0, 2_000.0)
    assert parsed.device_time == 1700000000.0


def test_json_format_missing_field_names_the_path() -> None:
    fmt = JsonFormat(JsonFormatSettings(import_path="a.b"))
    with pytest.raises(PayloadError, match=r"a\.b is missing"):
        fmt.parse("topic/x", b'{"a": {}}')


def test_json_format_non_numeric_field_is_refused() -> None:
    fmt = JsonFormat(JsonFormatSettings(import_path="e"))
    with pytest.raises(PayloadError, match="not a number"):
        fmt.parse("t", b'{"e": "12"}')
