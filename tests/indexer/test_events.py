"""Decoding logs: the fast path for static words equals eth_abi, and refuses what it refuses."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from indexer.events import EventSpec, _static_word

SPEC = EventSpec(
    contract="market",
    name="OrderPlaced",
    topic0=keccak(text="OrderPlaced(uint256,address,uint64,bool,uint16,uint64)"),
    indexed=(("orderId", "uint256"), ("owner", "address"), ("slot", "uint64")),
    data=(("isBuy", "bool"), ("tick", "uint16"), ("qtyWh", "uint64")),
)
OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_a_static_event_decodes_to_the_values_encoded() -> None:
    topics = [
        SPEC.topic0,
        encode(["uint256"], [2**200 + 5]),
        encode(["address"], [OWNER]),
        encode(["uint64"], [42]),
    ]
    args = SPEC.decode(topics, encode(["bool", "uint16", "uint64"], [True, 900, 2_500]))
    assert args == {
        "orderId": 2**200 + 5,
        "owner": OWNER,
        "slot": 42,
        "isBuy": True,
        "tick": 900,
        "qtyWh": 2_500,
    }


@pytest.mark.parametrize(
    ("kind", "word"),
    [
        ("uint16", (70_000).to_bytes(32, "big")),
        ("bool", (2).to_bytes(32, "big")),
        ("address", b"\x01" + bytes(31)),
        ("bytes4", bytes(4) + b"\x01" + bytes(27)),
    ],
)
def test_a_word_that_eth_abi_would_refuse_is_refused(kind: str, word: bytes) -> None:
    with pytest.raises(ValueError):
        _static_word(kind, word)


def test_signed_integers_keep_their_sign() -> None:
    assert _static_word("int64", encode(["int64"], [-5])) == -5


def test_a_short_data_field_is_refused() -> None:
    topics = [SPEC.topic0, bytes(32), bytes(32), bytes(32)]
    with pytest.raises(ValueError):
        SPEC.decode(topics, bytes(64))
