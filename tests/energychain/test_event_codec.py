"""``EventCodec`` decodes a log exactly as web3's ``get_event_data`` does, for every event of every
contract of the protocol (logs built from random values of each event's types), and the readers
built on it (``ContractHandle.events``, ``EventReader.read``) answer what web3's own
``process_receipt`` and ``get_logs`` answer on a real anvil."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi.exceptions import DecodingError
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.events import get_event_data
from web3.datastructures import AttributeDict
from web3.logs import DISCARD

from chain.abi_types import split_tuple, type_string
from chain.artifacts import load_artifact
from chain.errors import AbiMismatchError
from devchain.city import City, deploy_city
from devchain.sandbox import Sandbox
from energychain.contracts import ENERGYCHAIN_CONTRACTS
from energychain.deploy import MarketSettings
from energychain.event_codec import EventCodec
from energychain.events import EventReader

CODEC = Web3().codec


def random_value(kind: str, rng: random.Random) -> Any:
    """A random value of ABI type ``kind`` (arrays of 0..3 items, strings and bytes of any size)."""
    if kind.endswith("]"):
        base, size = kind[: kind.rindex("[")], kind[kind.rindex("[") + 1 : -1]
        return [random_value(base, rng) for _ in range(int(size) if size else rng.randint(0, 3))]
    if kind.startswith("("):
        return tuple(random_value(part, rng) for part in split_tuple(kind))
    if kind == "address":
        return Web3.to_checksum_address(rng.randbytes(20))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "string":
        return "kWh" * rng.randint(0, 20)
    if kind == "bytes":
        return rng.randbytes(rng.randint(0, 70))
    if kind.startswith("bytes"):
        return rng.randbytes(int(kind[5:]))
    if kind.startswith("uint"):
        return rng.randrange(2 ** int(kind[4:] or 256))
    bits = int(kind[3:] or 256)
    return rng.randrange(-(2 ** (bits - 1)), 2 ** (bits - 1))


def random_log(event_abi: dict[str, Any], rng: random.Random) -> AttributeDict[str, Any]:
    """A log of ``event_abi`` as web3's receipts and ``get_logs`` hand it over."""
    topics = [HexBytes(keccak(text=f"{event_abi['name']}({','.join(types(event_abi))})"))]
    data_types, data_values = [], []
    for param in event_abi["inputs"]:
        kind = type_string(param)
        value = random_value(kind, rng)
        if not param.get("indexed"):
            data_types.append(kind)
            data_values.append(value)
        elif kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
            topics.append(HexBytes(rng.randbytes(32)))  # a dynamic value's topic is its hash
        else:
            topics.append(HexBytes(CODEC.encode([kind], [value])))
    return AttributeDict(
        {
            "address": Web3.to_checksum_address(rng.randbytes(20)),
            "topics": topics,
            "data": HexBytes(CODEC.encode(data_types, data_values)),
            "logIndex": rng.randint(0, 9),
            "transactionIndex": rng.randint(0, 9),
            "transactionHash": HexBytes(rng.randbytes(32)),
            "blockHash": HexBytes(rng.randbytes(32)),
            "blockNumber": rng.randint(1, 10**6),
            "removed": False,
        }
    )


def types(event_abi: dict[str, Any]) -> list[str]:
    return [type_string(p) for p in event_abi["inputs"]]


EVENTS = sorted(
    {
        (event["name"], tuple(types(event))): event
        for name in ENERGYCHAIN_CONTRACTS
        for event in load_artifact(name).abi
        if event.get("type") == "event"
    }.items()
)


@pytest.mark.parametrize("event_abi", [e for _, e in EVENTS], ids=[k[0] for k, _ in EVENTS])
def test_a_log_decodes_as_web3_decodes_it(event_abi: dict[str, Any]) -> None:
    rng = random.Random(event_abi["name"])
    codec = EventCodec.of(event_abi)  # type: ignore[arg-type]
    for _ in range(5):
        log = random_log(event_abi, rng)
        assert codec.matches(log)
        assert codec.decode(CODEC, log) == get_event_data(CODEC, event_abi, log)  # type: ignore[arg-type]


def test_the_protocol_has_events_of_structs_and_arrays_to_check() -> None:
    kinds = {k for (_, ts) in (key for key, _ in EVENTS) for k in ts}
    assert any(k.startswith("(") or "[" in k for k in kinds)


def test_a_log_of_another_event_does_not_match() -> None:
    (_, placed), (_, other) = EVENTS[0], EVENTS[1]
    assert not EventCodec.of(placed).matches(random_log(other, random.Random(1)))  # type: ignore[arg-type]


def test_a_log_whose_data_is_cut_short_is_a_decoding_error() -> None:
    event_abi = next(e for (name, _), e in EVENTS if name == "OrderPlaced")
    log = dict(random_log(event_abi, random.Random(2)))
    log["data"] = HexBytes(bytes(log["data"])[:31])
    with pytest.raises(DecodingError):
        EventCodec.of(event_abi).decode(CODEC, log)  # type: ignore[arg-type]


SETTINGS = MarketSettings(max_tick=40, min_order_wh=1, settlement_seconds=3_600)


@pytest.fixture(scope="module")
def traded(compiled: None) -> Iterator[tuple[City, int, list[Any]]]:
    """A city of two markets whose books were placed and cleared: (the city, the slot, the
    receipts of the placements)."""
    with Sandbox.on_anvil(SETTINGS) as sandbox:
        city = deploy_city(sandbox, 2, levels=(1, 2))
        slot = sandbox.current_slot() + 1
        books = [[(True, 30, 700), (False, 12, 200), (False, 1, 900)], [(True, 5, 50)]]
        placed = city.place_books(slot, books)
        city.clear_markets(slot)
        yield city, slot, placed


def test_events_of_a_receipt_equal_web3s_process_receipt(
    traded: tuple[City, int, list[Any]],
) -> None:
    city, _, _ = traded
    market = city.market(0)
    reader = EventReader(market)
    (first,) = reader.read("OrderPlaced", 0)[:1]
    receipt = market.w3.eth.get_transaction_receipt(first["transactionHash"])
    web3s = market.contract.events.OrderPlaced().process_receipt(receipt, errors=DISCARD)
    assert market.events(receipt, "OrderPlaced") == [
        e for e in web3s if e["address"] == market.address
    ]
    assert market.events(receipt, "OrderPlaced")


@pytest.mark.parametrize(
    ("event", "filters"),
    [
        ("OrderPlaced", None),
        ("OrderPlaced", {"isBuy": True}),
        ("Deposited", None),
        ("SlotCleared", None),
    ],
)
def test_read_equals_web3s_get_logs(
    traded: tuple[City, int, list[Any]], event: str, filters: dict[str, Any] | None
) -> None:
    city, _, _ = traded
    market = city.market(0)
    web3s = market.contract.events[event]().get_logs(
        from_block=0, argument_filters=dict(filters or {})
    )
    assert EventReader(market, chunk_blocks=7).read(event, 0, filters=filters) == list(web3s)
    assert web3s


def test_read_filters_an_indexed_argument_on_the_node(traded: tuple[City, int, list[Any]]) -> None:
    city, slot, _ = traded
    market = city.market(0)
    assert len(EventReader(market).read("OrderPlaced", 0, filters={"slot": slot})) == 3
    assert EventReader(market).read("OrderPlaced", 0, filters={"slot": slot + 1}) == []


def test_a_filter_on_an_argument_the_event_lacks_is_refused(
    traded: tuple[City, int, list[Any]],
) -> None:
    with pytest.raises(AbiMismatchError, match="OrderPlaced has no argument colour"):
        EventReader(traded[0].market(0)).read("OrderPlaced", 0, filters={"colour": 1})


def test_an_event_the_abi_lacks_is_refused(traded: tuple[City, int, list[Any]]) -> None:
    with pytest.raises(AbiMismatchError, match="has no event Sunrise"):
        traded[0].market(0).event_codec("Sunrise")
