"""Decoding EnergyChain logs: topic -> event name and typed arguments, from the compiled ABIs.

The catalogue is built once from the artifacts (the implementation's when compiled, which adds
AccessControl/Pausable events, else the interface's) and decodes a raw ``eth_getLogs`` entry with
``eth_abi`` directly: web3's per-log formatting costs more than the whole indexer budget.
Addresses come out EIP-55 checksummed, ``bytes32``/``bytes`` as ``0x`` hex, integers as ``int``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.crypto import keccak

from chain.abi_types import checksum, normalize, type_string
from chain.artifacts import load_artifact
from chain.errors import DeploymentError
from indexer.errors import IndexerConfigError

logger = logging.getLogger(__name__)

#: Contract roles of an EnergyChain deployment, with the artifacts holding their ABI (first found).
CONTRACT_ARTIFACTS: dict[str, tuple[str, ...]] = {
    "token": ("EnergyToken", "IEnergyToken"),
    "registry": ("MeterRegistry", "IMeterRegistry"),
    "market": ("EnergyMarket", "IEnergyMarket"),
    "pool": ("CityPool", "ICityPool"),
}
#: Roles a deployment may lack: the city pool (issue 17) is indexed only when the addresses name
#: one (``city_pool``); an indexer without it reads the three community contracts as before.
OPTIONAL_ROLES: frozenset[str] = frozenset({"pool"})
#: Artifacts whose events a role decodes besides its own ABI's (of each group, the first found):
#: the sealed market's (``OrderCommitted``, ``OrderRevealed``, ``CommitmentForfeited``) and the
#: pooled market's (``PoolFillSettled``, ``OrderPoolFilled``). One catalogue serves every market
#: kind: a market never emits the others' events.
EXTRA_EVENT_ARTIFACTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "market": (
        ("SealedEnergyMarket", "ISealedEnergyMarket"),
        ("PooledEnergyMarket", "IPooledEnergyMarket"),
    ),
}
#: Keys of ``Deployment.addresses`` for each role.
ADDRESS_KEYS: dict[str, str] = {
    "token": "energy_token",
    "registry": "registry",
    "market": "market",
    "pool": "city_pool",
}


@dataclass(frozen=True)
class EventSpec:
    """One event of one contract: its selector and how to decode topics and data."""

    contract: str
    name: str
    topic0: bytes
    indexed: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]

    @property
    def data_types(self) -> list[str]:
        return [t for _, t in self.data]

    @functools.cached_property
    def static_data(self) -> bool:
        """Whether every data field is a static type (decoded word by word)."""
        return all(_is_static(kind) for _, kind in self.data)

    @functools.cached_property
    def _topic_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.indexed)

    @functools.cached_property
    def _topic_decoders(self) -> tuple[Callable[[bytes], Any], ...]:
        return tuple(
            _hashed_topic
            if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")
            else _word_decoder(kind)
            for _, kind in self.indexed
        )

    @functools.cached_property
    def _data_decoders(self) -> tuple[tuple[str, Callable[[bytes], Any]], ...]:
        """Word decoders of the data fields (only used when they are all static)."""
        return tuple((name, _word_decoder(kind)) for name, kind in self.data if _is_static(kind))

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        """Arguments by name; raises ``DecodingError``/``ValueError`` on a malformed log.

        Static types (integers, bool, address, bytesN) are read straight from their 32-byte
        words, checked like eth_abi checks them; anything dynamic goes through eth_abi.
        """
        if len(topics) != len(self.indexed) + 1:
            raise ValueError(
                f"{self.name}: {len(topics) - 1} indexed topics, expected {len(self.indexed)}"
            )
        args: dict[str, Any] = {}
        for name, decode_topic, topic in zip(
            self._topic_names, self._topic_decoders, topics[1:], strict=True
        ):
            args[name] = decode_topic(topic)
        if self.data:
            if self.static_data:
                if len(data) < 32 * len(self.data):
                    raise ValueError(f"{self.name}: data too short")
                for index, (name, decode_word) in enumerate(self._data_decoders):
                    args[name] = decode_word(data[32 * index : 32 * index + 32])
            else:
                values = abi_decode(self.data_types, data)
                for (name, kind), value in zip(self.data, values, strict=True):
                    args[name] = normalize(kind, value)
        return args


def _with_events_of(abi: list[Any], artifacts: tuple[str, ...]) -> list[Any]:
    """``abi`` plus the events of the first of ``artifacts`` found that ``abi`` lacks (by
    signature); unchanged when none is compiled."""
    for name in artifacts:
        try:
            extra = load_artifact(name).abi
        except DeploymentError:
            continue
        known = {_event_signature(item) for item in abi if item.get("type") == "event"}
        added = [
            item
            for item in extra
            if item.get("type") == "event" and _event_signature(item) not in known
        ]
        return [*abi, *added]
    return abi


def _event_signature(item: Mapping[str, Any]) -> str:
    return f"{item['name']}({','.join(type_string(i) for i in item['inputs'])})"


def _is_static(kind: str) -> bool:
    return (
        kind in ("address", "bool")
        or (kind.startswith(("uint", "int")) and not kind.endswith("]"))
        or (kind.startswith("bytes") and kind != "bytes" and not kind.endswith("]"))
    )


def _static_word(kind: str, word: bytes) -> Any:
    """One 32-byte ABI word of a static type, with eth_abi's padding checks."""
    return _word_decoder(kind)(word)


@lru_cache(maxsize=256)
def _word_decoder(kind: str) -> Callable[[bytes], Any]:
    """The decoder of one 32-byte word of static type ``kind``, specialised once per type: the
    string dispatch per word cost more than the decoding on a backfill."""

    def check(word: bytes) -> None:
        if len(word) != 32:
            raise ValueError("an ABI word is 32 bytes")

    if kind == "address":

        def address(word: bytes) -> str:
            check(word)
            if any(word[:12]):
                raise ValueError("address word with non-zero padding")
            return checksum("0x" + word[12:].hex())

        return address
    if kind == "bool":

        def boolean(word: bytes) -> bool:
            check(word)
            value = int.from_bytes(word, "big")
            if value > 1:
                raise ValueError("bool word is neither 0 nor 1")
            return value == 1

        return boolean
    if kind.startswith("uint"):
        bits = int(kind[4:] or 256)

        def unsigned(word: bytes) -> int:
            check(word)
            value = int.from_bytes(word, "big")
            if value >> bits:
                raise ValueError(f"{kind} out of range")
            return value

        return unsigned
    if kind.startswith("int"):
        bits = int(kind[3:] or 256)
        low, high = -(1 << (bits - 1)), 1 << (bits - 1)

        def signed(word: bytes) -> int:
            check(word)
            value = int.from_bytes(word, "big", signed=True)
            if not low <= value < high:
                raise ValueError(f"{kind} out of range")
            return value

        return signed
    size = int(kind[5:])  # bytesN: left-aligned

    def fixed_bytes(word: bytes) -> str:
        check(word)
        if any(word[size:]):
            raise ValueError(f"{kind} word with non-zero padding")
        return "0x" + word[:size].hex()

    return fixed_bytes


def _hashed_topic(topic: bytes) -> str:
    return "0x" + topic.hex()  # dynamic indexed values are stored hashed


@dataclass(frozen=True)
class ChainEvent:
    """A decoded log with its position on the chain."""

    contract: str
    name: str
    args: dict[str, Any]
    address: str
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    block_time: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return (self.tx_hash, self.log_index)


@dataclass
class EventCatalog:
    """Every event of the three EnergyChain contracts (and of the city pool when the deployment
    names one), keyed by (address, topic0)."""

    addresses: dict[str, str]
    specs: dict[tuple[str, bytes], EventSpec] = field(default_factory=dict)
    abis: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def from_abis(
        cls, addresses: Mapping[str, str], abis: Mapping[str, Iterable[Any]]
    ) -> EventCatalog:
        """``addresses``/``abis`` keyed by role (token, registry, market)."""
        catalog = cls(addresses={role: checksum(a).lower() for role, a in addresses.items()})
        for role, abi in abis.items():
            catalog.abis[role] = list(abi)
            address = catalog.addresses[role]
            for item in abi:
                if item.get("type") != "event" or item.get("anonymous"):
                    continue
                inputs = item["inputs"]
                spec = EventSpec(
                    contract=role,
                    name=str(item["name"]),
                    topic0=keccak(text=_event_signature(item)),
                    indexed=tuple((i["name"], type_string(i)) for i in inputs if i["indexed"]),
                    data=tuple((i["name"], type_string(i)) for i in inputs if not i["indexed"]),
                )
                catalog.specs[(address, spec.topic0)] = spec
        return catalog

    @classmethod
    def for_deployment(cls, addresses: Mapping[str, str]) -> EventCatalog:
        """The catalogue for a ``Deployment.addresses`` mapping, from the compiled artifacts
        (the pool's only when the mapping has a ``city_pool`` address)."""
        abis: dict[str, list[Any]] = {}
        picked: dict[str, str] = {}
        for role, names in CONTRACT_ARTIFACTS.items():
            if role in OPTIONAL_ROLES and ADDRESS_KEYS[role] not in addresses:
                continue
            for name in names:
                try:
                    abis[role] = load_artifact(name).abi
                    picked[role] = addresses[ADDRESS_KEYS[role]]
                    break
                except DeploymentError:
                    continue
                except KeyError:
                    raise IndexerConfigError(
                        f"the deployment has no {ADDRESS_KEYS[role]} address"
                    ) from None
            else:
                raise IndexerConfigError(
                    f"no ABI for the {role} contract: run `enerwise chain compile`"
                )
        for role, groups in EXTRA_EVENT_ARTIFACTS.items():
            for names in groups:
                abis[role] = _with_events_of(abis[role], names)
        return cls.from_abis(picked, abis)

    @property
    def log_addresses(self) -> list[str]:
        """The contract addresses to pass to ``eth_getLogs``."""
        return sorted(self.addresses.values())

    def spec_for(self, contract: str, name: str) -> EventSpec:
        for spec in self.specs.values():
            if spec.contract == contract and spec.name == name:
                return spec
        raise KeyError(f"{contract}.{name}")

    def decode_log(self, log: Mapping[str, Any], block_time: int = 0) -> ChainEvent | None:
        """Decode one raw JSON-RPC log; ``None`` for a foreign or malformed log (logged)."""
        topics_hex: list[str] = log.get("topics") or []
        if not topics_hex:
            return None
        address = str(log["address"]).lower()
        topics = [bytes.fromhex(t[2:]) for t in topics_hex]
        spec = self.specs.get((address, topics[0]))
        if spec is None:
            return None
        try:
            args = spec.decode(topics, bytes.fromhex(str(log["data"])[2:]))
        except (DecodingError, ValueError, OverflowError) as exc:
            logger.warning(
                "skipping undecodable %s log %s/%s: %s",
                spec.name,
                log.get("transactionHash"),
                log.get("logIndex"),
                exc,
            )
            return None
        return ChainEvent(
            contract=spec.contract,
            name=spec.name,
            args=args,
            address=checksum(address),
            block_number=int(log["blockNumber"], 16),
            block_hash=str(log["blockHash"]),
            tx_hash=str(log["transactionHash"]),
            tx_index=int(log["transactionIndex"], 16),
            log_index=int(log["logIndex"], 16),
            block_time=block_time,
        )
