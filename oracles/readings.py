"""Signing meter readings (EIP-712), and the ids meters are known by.

The reading and its EIP-712 schema are the protocol's
(:class:`energychain.meter_reading.MeterReading`); here a reading is signed through the
:class:`wallet.signer.Signer` protocol, so a raw key, a keystore or a remote signer all work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from energychain.meter_reading import Domain, MeterReading
from oracles.errors import OracleConfigError, SignerMissingError
from wallet.errors import WalletError
from wallet.signer import Signer
from wallet.typed_data import recover_typed_data_signer


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
        keys = ("seq", "timestamp", "importWh", "exportWh", "prevSeq", "prevTimestamp")
        values = [data[k] for k in keys]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError(", ".join(keys) + " must be integers")
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
