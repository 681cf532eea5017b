"""SunSpec register maps: offsets of the model definitions, scale factors, raw encodings."""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.errors import DeviceConfigError
from devices.sunspec import decode_raw, encode_raw, load_map

# Offsets from the SunSpec model definitions (pysunspec2 1.3.7, models/json/model_*.json),
# counted from the model's id register; computed once from those files and pinned here.
MODEL_124 = {
    "WChaMax": 2, "StorCtl_Mod": 5, "MinRsvPct": 7, "ChaState": 8, "ChaSt": 11, "OutWRte": 12,
    "InWRte": 13, "InOutWRte_WinTms": 14, "InOutWRte_RvrtTms": 15, "InOutWRte_RmpTms": 16,
    "ChaGriSet": 17, "WChaMax_SF": 18, "ChaState_SF": 22, "InOutWRte_SF": 25,
}  # fmt: skip
MODEL_802 = {
    "WHRtg": 3, "WChaRteMax": 4, "WDisChaRteMax": 5, "SoCRsvMin": 10, "SoC": 11, "ChaSt": 16,
    "W": 47, "WHRtg_SF": 53, "SoC_SF": 56, "W_SF": 63,
}  # fmt: skip
MODEL_704 = {
    "WSetEna": 22, "WSetMod": 23, "WSet": 24, "WSetRvrt": 26, "WSetPct": 28, "WSetEnaRvrt": 30,
    "WSetRvrtTms": 31, "WSetRvrtRem": 33, "WSet_SF": 55,
}  # fmt: skip


@pytest.mark.parametrize(
    ("map_name", "model", "length", "offsets"),
    [
        ("sunspec124", 124, 24, MODEL_124),
        ("sunspec802_704", 802, 62, MODEL_802),
        ("sunspec802_704", 704, 65, MODEL_704),
    ],
)
def test_shipped_maps_follow_the_sunspec_model_definitions(
    map_name: str, model: int, length: int, offsets: dict[str, int]
) -> None:
    sunspec_map = load_map(map_name)
    assert sunspec_map.models[model] == length
    for name, offset in offsets.items():
        point = sunspec_map.point(name)
        assert (point.model, point.offset) == (model, offset), name


def test_a_value_scales_by_its_scale_factor_register() -> None:
    sunspec_map = load_map("sunspec124")
    bases = {124: 40070}
    registers = {40070 + 13: 455, 40070 + 25: encode_raw("sunssf", -1)[0]}  # InWRte, InOutWRte_SF
    assert sunspec_map.value("InWRte", registers, bases) == pytest.approx(45.5)
    assert sunspec_map.encode("InWRte", 45.5, -1) == [455]


def test_negative_and_32_bit_values_round_trip() -> None:
    assert decode_raw("int16", encode_raw("int16", -250)) == -250
    assert decode_raw("int32", encode_raw("int32", -70_000)) == -70_000
    assert encode_raw("uint32", 70_000) == [1, 4464]


def test_not_implemented_values_read_as_none() -> None:
    assert decode_raw("int16", [0x8000]) is None
    assert decode_raw("uint16", [0xFFFF]) is None


def test_a_write_outside_a_points_range_is_refused_before_sending() -> None:
    with pytest.raises(DeviceConfigError, match=r"OutWRte = 150 is outside -100\.\.100"):
        load_map("sunspec124").encode("OutWRte", 150, -1)


def test_a_malformed_map_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("models: {124: 24}\npoints: {X: {model: 125, offset: 2, type: uint16}}\n")
    with pytest.raises(DeviceConfigError, match="model 125 is not in models") as info:
        load_map(path)
    assert "\n" not in str(info.value)
