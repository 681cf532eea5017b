"""EIP-712 MeterReading documents: the exact encoding, domain binding, low-s recovery only."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from energychain.meter_reading import METER_READING_TYPE, meter_reading_typed_data
from wallet.errors import TypedDataError
from wallet.signer import LocalKeySigner
from wallet.typed_data import (
    SECP256K1_N,
    check_typed_data,
    recover_typed_data_signer,
    typed_data_digest,
)

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
METER = bytes.fromhex("11" * 32)


def reading(chain_id: int = 31337, **overrides: int) -> dict[str, object]:
    values = {
        "seq": 7,
        "timestamp": 1_700_000_000,
        "import_wh": 123_456,
        "export_wh": 789,
        "prev_seq": 6,
        "prev_timestamp": 1_699_999_100,
    }
    values.update(overrides)
    return meter_reading_typed_data(chain_id, REGISTRY, METER, **values)


def high_s_twin(signature: bytes) -> bytes:
    """The other valid encoding (r, n - s, flipped v) of the same signature."""
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])


def test_document_has_the_eth_sign_typed_data_v4_shape() -> None:
    document = reading()
    assert document["primaryType"] == "MeterReading"
    assert document["domain"] == {
        "name": "EnergyChain",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": REGISTRY,
    }
    assert document["message"] == {
        "meterId": "0x" + "11" * 32,
        "seq": 7,
        "timestamp": 1_700_000_000,
        "importWh": 123_456,
        "exportWh": 789,
        "prevSeq": 6,
        "prevTimestamp": 1_699_999_100,
    }
    assert check_typed_data(document) is document


def test_type_string_is_the_one_the_contract_hashes() -> None:
    assert METER_READING_TYPE == (
        "MeterReading(bytes32 meterId,uint64 seq,uint64 timestamp,uint64 importWh,uint64 exportWh,"
        "uint64 prevSeq,uint64 prevTimestamp)"
    )


def test_digest_matches_an_independent_eip712_computation() -> None:
    domain_type = (
        b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    separator = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [keccak(domain_type), keccak(b"EnergyChain"), keccak(b"1"), 31337, REGISTRY],
        )
    )
    struct = keccak(
        encode(
            ["bytes32", "bytes32", "uint64", "uint64", "uint64", "uint64", "uint64", "uint64"],
            [
                keccak(METER_READING_TYPE.encode()),
                METER,
                7,
                1_700_000_000,
                123_456,
                789,
                6,
                1_699_999_100,
            ],
        )
    )
    assert typed_data_digest(reading()) == keccak(b"\x19\x01" + separator + struct)


def test_signature_recovers_to_the_signer() -> None:
    signature = LocalKeySigner(KEY).sign_typed_data(reading())
    assert recover_typed_data_signer(reading(), signature) == ADDRESS
    assert recover_typed_data_signer(reading(), "0x" + signature.hex()) == ADDRESS


def test_signature_for_another_chain_or_reading_recovers_to_someone_else() -> None:
    signature = LocalKeySigner(KEY).sign_typed_data(reading())
    assert recover_typed_data_signer(reading(chain_id=1), signature) != ADDRESS
    assert recover_typed_data_signer(reading(seq=8), signature) != ADDRESS


def test_signature_binds_the_predecessor() -> None:
    signature = LocalKeySigner(KEY).sign_typed_data(reading())
    assert recover_typed_data_signer(reading(prev_seq=5), signature) != ADDRESS
    assert recover_typed_data_signer(reading(prev_timestamp=1_699_998_200), signature) != ADDRESS


def test_high_s_signature_is_refused_though_eth_account_accepts_it() -> None:
    document = reading()
    twin = high_s_twin(LocalKeySigner(KEY).sign_typed_data(document))
    assert Account.recover_message(encode_typed_data(full_message=document), signature=twin) == (
        ADDRESS
    )
    with pytest.raises(TypedDataError, match="high s"):
        recover_typed_data_signer(document, twin)


@pytest.mark.parametrize(
    ("signature", "problem"),
    [
        (b"\x01" * 64, "65 bytes"),
        (b"\x01" * 64 + b"\x05", "v must be"),
        (b"\x00" * 64 + b"\x1b", "out of range"),
        ("0xnothex", "hex"),
    ],
)
def test_malformed_signatures_are_refused(signature: bytes | str, problem: str) -> None:
    with pytest.raises(TypedDataError, match=problem):
        recover_typed_data_signer(reading(), signature)


def test_v_as_0_or_1_is_accepted() -> None:
    signature = LocalKeySigner(KEY).sign_typed_data(reading())
    legacy_v = signature[:64] + bytes([signature[64] - 27])
    assert recover_typed_data_signer(reading(), legacy_v) == ADDRESS


@pytest.mark.parametrize(
    "overrides",
    [{"seq": -1}, {"timestamp": 2**64}, {"import_wh": True}, {"prev_seq": 2**64}],
    ids=["negative", "over uint64", "bool", "predecessor over uint64"],
)
def test_counters_outside_uint64_are_refused(overrides: dict[str, int]) -> None:
    with pytest.raises(TypedDataError, match="uint64"):
        reading(**overrides)


def test_meter_id_must_be_32_bytes_and_domain_must_be_valid() -> None:
    with pytest.raises(TypedDataError, match="32 bytes"):
        meter_reading_typed_data(1, REGISTRY, b"\x01" * 31, 0, 0, 0, 0, 0, 0)
    assert (
        reading()["message"]
        == meter_reading_typed_data(  # type: ignore[index]
            31337, REGISTRY, "0x" + "11" * 32, 7, 1_700_000_000, 123_456, 789, 6, 1_699_999_100
        )["message"]
    )
    with pytest.raises(TypedDataError, match="not an address"):
        meter_reading_typed_data(1, "0x1234", METER, 0, 0, 0, 0, 0, 0)
    with pytest.raises(TypedDataError, match="chain id"):
        meter_reading_typed_data(0, REGISTRY, METER, 0, 0, 0, 0, 0, 0)


def test_malformed_documents_are_refused() -> None:
    with pytest.raises(TypedDataError, match="'message'"):
        check_typed_data({"types": {}, "primaryType": "X", "domain": {}})
    with pytest.raises(TypedDataError, match="not among 'types'"):
        check_typed_data({"types": {}, "primaryType": "X", "domain": {}, "message": {}})
