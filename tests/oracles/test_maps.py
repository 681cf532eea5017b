"""Register maps are data files; decoding follows the map exactly."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from oracles.errors import OracleConfigError, RegisterValueError
from oracles.maps import RegisterMap, load_map, shipped_maps


def float_words(value: float) -> list[int]:
    raw = struct.pack(">f", value)
    return [int.from_bytes(raw[:2], "big"), int.from_bytes(raw[2:], "big")]


def test_shipped_maps_include_sdm630_and_sunspec203() -> None:
    assert {"sdm630", "sunspec203"} <= set(shipped_maps())


def test_sdm630_decodes_float32_big_endian_kwh_into_wh() -> None:
    sdm = load_map("sdm630")
    registers = sdm.encode({})  # every field present
    for address, value in ((0x48, 1234.5), (0x4A, 67.25), (0x34, -1500.0), (0x00, 231.5)):
        w0, w1 = float_words(value)
        registers[("input", address)] = w0
        registers[("input", address + 1)] = w1
    decoded = sdm.decode(registers)
    assert decoded["import_wh"] == pytest.approx(1_234_500.0)
    assert decoded["export_wh"] == pytest.approx(67_250.0)
    assert decoded["power_w"] == -1500.0
    assert decoded["voltage_l1_v"] == 231.5


def test_sunspec203_applies_the_scale_factor_register() -> None:
    spec = load_map("sunspec203")
    registers = spec.encode({})
    base = 40069
    registers[("holding", base + 46)], registers[("holding", base + 47)] = 0, 12345  # TotWhImp
    registers[("holding", base + 54)] = 2  # TotWh_SF = +2 -> x100
    registers[("holding", base + 18)] = 0xFFFF & -1234  # W = -1234
    registers[("holding", base + 22)] = 0xFFFF & -1  # W_SF = -1
    decoded = spec.decode(registers)
    assert decoded["import_wh"] == 1_234_500
    assert decoded["power_w"] == pytest.approx(-123.4)


def test_sunspec_model_id_check_refuses_another_model() -> None:
    spec = load_map("sunspec203")
    registers = spec.encode({"import_wh": 1.0})
    registers[("holding", 40069)] = 201
    with pytest.raises(RegisterValueError, match="expected 203"):
        spec.decode(registers)


def test_sunspec_not_implemented_value_is_refused() -> None:
    spec = load_map("sunspec203")
    registers = spec.encode({"import_wh": 1.0})
    registers[("holding", 40069 + 18)] = 0x8000
    with pytest.raises(RegisterValueError, match="not available"):
        spec.decode(registers)


def test_encode_then_decode_round_trips_every_shipped_map() -> None:
    for name in shipped_maps():
        m = load_map(name)
        decoded = m.decode(m.encode({"import_wh": 5_000.0, "export_wh": 42.0, "power_w": 800.0}))
        assert decoded["import_wh"] == pytest.approx(5_000.0, abs=0.01)
        assert decoded["export_wh"] == pytest.approx(42.0, abs=0.01)
        assert decoded["power_w"] == pytest.approx(800.0, abs=0.01)


def test_a_users_yaml_map_file_is_loaded_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mymeter.yaml"
    path.write_text(
        "register_type: holding\n"
        "word_order: little\n"
        "fields:\n"
        "  import_wh: {address: 10, type: uint32, unit: Wh}\n"
    )
    m = load_map(str(path))
    assert m.name == "mymeter"
    # little word order: low word first
    assert m.decode({("holding", 10): 0x0002, ("holding", 11): 0x0001})["import_wh"] == 0x10002


def test_a_users_toml_map_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "meter.toml"
    path.write_text('name = "t"\n[fields.import_wh]\naddress = 0\ntype = "uint16"\nunit = "kWh"\n')
    assert load_map(path).decode({("holding", 0): 7})["import_wh"] == 7_000


def test_a_map_without_import_register_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("fields:\n  power_w: {address: 0}\n")
    with pytest.raises(OracleConfigError, match="import_wh"):
        load_map(path)


def test_an_unknown_map_name_lists_the_shipped_ones() -> None:
    with pytest.raises(OracleConfigError, match="sdm630"):
        load_map("no-such-meter")


def test_reads_are_planned_in_few_blocks_within_the_modbus_limit() -> None:
    m = RegisterMap.model_validate(
        {
            "name": "wide",
            "fields": {
                "import_wh": {"address": 0, "type": "uint32"},
                "export_wh": {"address": 4, "type": "uint32"},
                "power_w": {"address": 300, "type": "int16"},
            },
        }
    )
    blocks = m.plan_reads()
    assert [(b.start, b.count) for b in blocks] == [(0, 6), (300, 1)]
    assert all(b.count <= 125 for b in blocks)
