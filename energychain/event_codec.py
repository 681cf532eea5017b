"""Decoding one contract event's logs exactly as web3 does, without its per-log ABI work.

web3's ``get_event_data`` derives the event's types, names and topic from the ABI again for
every log it decodes and normalizes every value through a recursive formatter: about 2 ms of
Python per log, so reading the 10,000 ``OrderPlaced`` logs of one busy slot took 16 s (the gas
benchmark) and every receipt's events paid it too. :class:`EventCodec` derives all of that once
per event and decodes a log with ``eth_abi`` directly; structs and arrays still go through web3's
own normalizer and ``named_tree``, so the answer equals web3's (``AttributeDict`` for logs that
come as one), which the tests check on every event of the contracts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from eth_abi.codec import ABICodec
from eth_typing import ABIEvent
from eth_utils.abi import event_abi_to_log_topic, get_abi_input_names
from eth_utils.address import to_checksum_address
from web3._utils.abi import (
    exclude_indexed_event_inputs,
    get_indexed_event_inputs,
    map_abi_data,
    named_tree,
    normalize_event_input_types,
)
from web3._utils.events import get_event_abi_types_for_decoding
from web3._utils.normalizers import BASE_RETURN_NORMALIZERS
from web3.datastructures import AttributeDict
from web3.types import EventData, LogReceipt


@dataclass(frozen=True, slots=True)
class EventCodec:
    """One event of an ABI, ready to decode its logs (module docstring).

    Attributes:
        name: the event's name.
        topic: its first topic, the keccak of its canonical signature.
        topic_names, topic_types: the indexed inputs (dynamic ones as ``bytes32``: their hash).
        data_names, data_types: the other inputs, in ABI order.
        data_inputs: those inputs as web3 normalizes them, for ``named_tree``.
        flat: no struct and no array among the data inputs (the fast path).
    """

    name: str
    topic: bytes
    topic_names: tuple[str, ...]
    topic_types: tuple[str, ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    data_inputs: tuple[Any, ...]
    flat: bool

    @classmethod
    def of(cls, event_abi: ABIEvent) -> EventCodec:
        """The codec of ``event_abi`` (one ``"type": "event"`` entry of an ABI)."""
        topic_inputs = normalize_event_input_types(get_indexed_event_inputs(event_abi))
        data_inputs = normalize_event_input_types(exclude_indexed_event_inputs(event_abi))
        data_types = tuple(get_event_abi_types_for_decoding(data_inputs))
        name = event_abi["name"]
        return cls(
            name=name,
            topic=bytes(event_abi_to_log_topic(event_abi)),
            topic_names=_names(name, topic_inputs),
            topic_types=tuple(get_event_abi_types_for_decoding(topic_inputs)),
            data_names=_names(name, data_inputs),
            data_types=data_types,
            data_inputs=tuple(data_inputs),
            flat=not any("[" in t or t.startswith("(") for t in data_types),
        )

    def matches(self, log: Mapping[str, Any]) -> bool:
        """Whether ``log`` is one of this event's (its first topic and topic count)."""
        topics = log["topics"]
        return len(topics) == 1 + len(self.topic_types) and bytes(topics[0]) == self.topic

    def decode(self, codec: ABICodec, log: LogReceipt) -> EventData:
        """``log`` decoded as web3's ``get_event_data`` decodes it.

        Raises:
            eth_abi.exceptions.DecodingError: the log's data does not fit the event's types.
        """
        topics = log["topics"][1:]
        args: dict[str, Any] = {
            name: _normalized(kind, codec.decode([kind], bytes(topic))[0])
            for name, kind, topic in zip(self.topic_names, self.topic_types, topics, strict=True)
        }
        values = codec.decode(self.data_types, bytes(log["data"]))
        if self.flat:
            for name, kind, value in zip(self.data_names, self.data_types, values, strict=True):
                args[name] = _normalized(kind, value)
        else:
            normalized = map_abi_data(BASE_RETURN_NORMALIZERS, self.data_types, values)
            args.update(named_tree(self.data_inputs, normalized))
        event = EventData(
            args=args,
            event=self.name,
            logIndex=log["logIndex"],
            transactionIndex=log["transactionIndex"],
            transactionHash=log["transactionHash"],
            address=log["address"],
            blockHash=log["blockHash"],
            blockNumber=log["blockNumber"],
        )
        if isinstance(log, AttributeDict):
            return cast(EventData, AttributeDict.recursive(event))
        return event


def _names(name: str, inputs: Any) -> tuple[str, ...]:
    """The inputs' names (every input of the protocol's events is named)."""
    event = cast(ABIEvent, {"name": name, "type": "event", "inputs": list(inputs)})
    return tuple(n or "" for n in get_abi_input_names(event))


def _normalized(kind: str, value: Any) -> Any:
    """What web3's return normalizers make of a scalar: addresses checksummed."""
    return to_checksum_address(value) if kind == "address" else value
