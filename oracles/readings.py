"""Meter readings as the registry sees them, and signing them (EIP-712).

A :class:`MeterReading` is exactly the Solidity struct
``MeterReading(bytes32 meterId,uint64 seq,uint64 timestamp,uint64 importWh,uint64 exportWh)``:
cumulative import and export registers in whole watt-hours, taken at a slot boundary, with a
per-meter sequence number that starts at 1 and only grows. The EIP-712 document comes from
:func:`wallet.typed_data.meter_reading_typed_data` and is signed through the
:class:`wallet.signer.Signer` protocol, so a raw key, a keystore or a remote signer all work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from oracles.errors import OracleConfigError, SignerMissingError
from wallet.errors import WalletError
from wallet.signer import Signer
from wallet.typed_data import meter_reading_typed_data, recover_typed_data_signer

UINT64_MAX = 2**64 - 1


def meter_id_from_name(name: str) -> bytes:
    """The 32-byte meter id for ``name``.

    ``0x`` followed by 64 hex digits is taken as the id itself; any other text is hashed:
    ``keccak256(utf8(name))``, so ids are fixed-size and never collide by truncation.
    """
    text = name.strip()
    if text.startswith("0x") and len(text) == 66:
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise OracleConfigError(f"meter id {name!r} is not valid hex") from None
    if not text:
        raise OracleConfigError("a meter name cannot be empty")
    return keccak(text.encode("utf-8"))


@dataclass(frozen=True)
class Domain:
    """Where readings are valid: one chain and one MeterRegistry (the EIP-712 domain)."""

    chain_id: int
    registry: str


@dataclass(frozen=True)
class MeterReading:
    """One reading as signed by the meter and checked by the registry."""

    meter_id: bytes
    seq: int
    timestamp: int
    import_wh: int
    export_wh: int

    def typed_data(self, domain: Domain) -> dict[str, Any]:
        """The eth_signTypedData_v4 document of this reading for ``domain``."""
        return meter_reading_typed_data(
            domain.chain_id,
            domain.registry,
            self.meter_id,
            self.seq,
            self.timestamp,
            self.import_wh,
            self.export_wh,
        )

    def as_tuple(self) -> tuple[bytes, int, int, int, int]:
        """The ABI tuple of the Solidity struct, in field order."""
        return (self.meter_id, self.seq, self.timestamp, self.import_wh, self.export_wh)

    def as_json(self) -> dict[str, Any]:
        return {
            "meterId": "0x" + self.meter_id.hex(),
            "seq": self.seq,
            "timestamp": self.timestamp,
            "importWh": self.import_wh,
            "exportWh": self.export_wh,
        }


@dataclass(frozen=True)
class SignedReading:
    """A reading with its 65-byte ``r || s || v`` signature."""

    reading: MeterReading
    signature: bytes

    def as_json(self) -> dict[str, Any]:
        return {**self.reading.as_json(), "signature": "0x" + self.signature.hex()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedReading:
        """Parse the object written by :meth:`as_json` (``ValueError``/``KeyError`` if not)."""
        meter = bytes.fromhex(str(data["meterId"]).removeprefix("0x"))
        if len(meter) != 32:
            raise ValueError("meterId must be 32 bytes")
        values = [data[k] for k in ("seq", "timestamp", "importWh", "exportWh")]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError("seq, timestamp, importWh and exportWh must be integers")
        return cls(
            MeterReading(meter, *values),
            bytes.fromhex(str(data["signature"]).removeprefix("0x")),
        )


def sign_reading(signer: Signer, reading: MeterReading, domain: Domain) -> SignedReading:
    """Sign ``reading`` for ``domain`` with the meter's key.

    A signer that cannot sign (locked keystore, remote signer gone) raises
    :class:`SignerMissingError`; a reading out of uint64 range raises ``ValueError``.
    """
    document = reading.typed_data(domain)
    try:
        signature = signer.sign_typed_data(document)
    except WalletError as exc:
        raise SignerMissingError(f"signer {signer!r} cannot sign: {exc}") from None
    return SignedReading(reading, bytes(signature))


def recover_reading_signer(signed: SignedReading, domain: Domain) -> ChecksumAddress:
    """The address whose key signed ``signed`` for ``domain`` (low-s signatures only)."""
    return recover_typed_data_signer(signed.reading.typed_data(domain), signed.signature)
