"""The signed meter reading of EnergyChain: the ``MeterReading`` struct and its EIP-712 schema.

A :class:`MeterReading` is exactly the Solidity struct (version 2 of the reading)
``MeterReading(bytes32 meterId,uint64 seq,uint64 timestamp,uint64 importWh,uint64 exportWh,
uint64 prevSeq,uint64 prevTimestamp)``: cumulative import and export registers in whole
watt-hours, taken at a slot boundary, with a per-meter sequence number that starts at 1 and only
grows (the registry requires it to increase). ``prevSeq`` and ``prevTimestamp`` name the reading
this one follows (0 and 0 for a meter's first): the registry accepts a reading only right after
its predecessor, so a relayer who reorders a batch can delay readings but never turn their
energy into unattributed energy (docs/contracts.md section 4).

The signed document is in the ``eth_signTypedData_v4`` JSON shape, under the domain
``{name: "EnergyChain", version: "1", chainId, verifyingContract}``: a signature is bound to one
chain and one registry, so it cannot be replayed elsewhere. Signing and recovering are the
wallet's (:mod:`wallet.signer`, :func:`wallet.typed_data.recover_typed_data_signer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import is_hex_address, to_checksum_address

from wallet.errors import TypedDataError
from wallet.typed_data import EIP712_DOMAIN_FIELDS

DOMAIN_NAME = "EnergyChain"
DOMAIN_VERSION = "1"
METER_READING_FIELDS: list[dict[str, str]] = [
    {"name": "meterId", "type": "bytes32"},
    {"name": "seq", "type": "uint64"},
    {"name": "timestamp", "type": "uint64"},
    {"name": "importWh", "type": "uint64"},
    {"name": "exportWh", "type": "uint64"},
    {"name": "prevSeq", "type": "uint64"},
    {"name": "prevTimestamp", "type": "uint64"},
]
#: ``MeterReading(bytes32 meterId,uint64 seq,uint64 timestamp,uint64 importWh,uint64 exportWh,``
#: ``uint64 prevSeq,uint64 prevTimestamp)``
METER_READING_TYPE = (
    "MeterReading(" + ",".join(f"{f['type']} {f['name']}" for f in METER_READING_FIELDS) + ")"
)
UINT64_MAX = 2**64 - 1


def energychain_domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The EIP-712 domain of an EnergyChain contract on one chain."""
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
        raise TypedDataError(f"chain id must be a positive integer, not {chain_id!r}")
    if not is_hex_address(verifying_contract):
        raise TypedDataError(f"verifying contract {verifying_contract!r} is not an address")
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(verifying_contract),
    }


def meter_reading_typed_data(
    chain_id: int,
    registry: str,
    meter_id: bytes | str,
    seq: int,
    timestamp: int,
    import_wh: int,
    export_wh: int,
    prev_seq: int,
    prev_timestamp: int,
) -> dict[str, Any]:
    """The ``MeterReading`` document a meter signs for the registry at ``registry``.

    ``meter_id`` is 32 bytes (or ``0x`` + 64 hex digits); the counters are uint64 (``import_wh``
    and ``export_wh`` are the cumulative registers in watt-hours, ``timestamp`` Unix seconds;
    ``prev_seq`` and ``prev_timestamp`` those of the reading this one follows, 0 for the first).
    """
    meter = _bytes32(meter_id)
    values = {
        "seq": seq,
        "timestamp": timestamp,
        "importWh": import_wh,
        "exportWh": export_wh,
        "prevSeq": prev_seq,
        "prevTimestamp": prev_timestamp,
    }
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= UINT64_MAX:
            raise TypedDataError(f"{name} must be an integer in uint64 range, not {value!r}")
    return {
        "types": {
            "EIP712Domain": [dict(f) for f in EIP712_DOMAIN_FIELDS],
            "MeterReading": [dict(f) for f in METER_READING_FIELDS],
        },
        "primaryType": "MeterReading",
        "domain": energychain_domain(chain_id, registry),
        "message": {"meterId": "0x" + meter.hex(), **values},
    }


def _bytes32(value: bytes | str) -> bytes:
    if isinstance(value, str):
        digits = value.removeprefix("0x")
        try:
            value = bytes.fromhex(digits)
        except ValueError:
            raise TypedDataError("meter id must be 0x-prefixed hex") from None
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise TypedDataError("meter id must be exactly 32 bytes")
    return bytes(value)


@dataclass(frozen=True)
class Domain:
    """Where readings are valid: one chain and one MeterRegistry (the EIP-712 domain)."""

    chain_id: int
    registry: str


@dataclass(frozen=True)
class MeterReading:
    """One reading as signed by the meter and checked by the registry.

    ``prev_seq`` and ``prev_timestamp`` are those of the meter's previous reading (0 and 0 for
    its first one); :meth:`after` builds the successor of a reading.
    """

    meter_id: bytes
    seq: int
    timestamp: int
    import_wh: int
    export_wh: int
    prev_seq: int
    prev_timestamp: int

    @classmethod
    def first(cls, meter_id: bytes, timestamp: int, import_wh: int, export_wh: int) -> MeterReading:
        """A meter's first reading (seq 1, no predecessor)."""
        return cls(meter_id, 1, timestamp, import_wh, export_wh, 0, 0)

    def after(self, timestamp: int, import_wh: int, export_wh: int) -> MeterReading:
        """The reading that follows this one (next seq, bound to this one)."""
        return MeterReading(
            self.meter_id, self.seq + 1, timestamp, import_wh, export_wh, self.seq, self.timestamp
        )

    def typed_data(self, domain: Domain) -> dict[str, Any]:
        """The eth_signTypedData_v4 document of this reading for ``domain``."""
        return meter_reading_typed_data(domain.chain_id, domain.registry, *self.as_tuple())

    def as_tuple(self) -> tuple[bytes, int, int, int, int, int, int]:
        """The ABI tuple of the Solidity struct, in field order."""
        return (
            self.meter_id,
            self.seq,
            self.timestamp,
            self.import_wh,
            self.export_wh,
            self.prev_seq,
            self.prev_timestamp,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "meterId": "0x" + self.meter_id.hex(),
            "seq": self.seq,
            "timestamp": self.timestamp,
            "importWh": self.import_wh,
            "exportWh": self.export_wh,
            "prevSeq": self.prev_seq,
            "prevTimestamp": self.prev_timestamp,
        }
