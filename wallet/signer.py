"""The ``Signer`` protocol and the raw-key signer.

Everything that signs (oracles, agents, the CLI, the demo) takes a :class:`Signer`, so a
keystore, a raw key or a remote JSON-RPC signer can stand in for each other.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from wallet.errors import SignerError


@runtime_checkable
class Signer(Protocol):
    """Something that holds (or reaches) one key and signs with it."""

    @property
    def address(self) -> ChecksumAddress: ...

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        """Sign a complete transaction dict and return the raw signed bytes."""
        ...

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        """Sign an EIP-712 document (eth_signTypedData_v4 JSON shape); 65-byte r||s||v."""
        ...


class LocalKeySigner:
    """Signs with a private key held in memory (tests, throwaway chains, unlocked keystores).

    The key never appears in ``repr`` or in exceptions.
    """

    def __init__(self, private_key: bytes | str) -> None:
        try:
            self._account: LocalAccount = Account.from_key(private_key)
        except Exception:  # eth-account raises several types; none may carry the key along
            raise SignerError("invalid private key") from None

    @classmethod
    def random(cls) -> LocalKeySigner:
        return cls(Account.create().key)

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        return bytes(self._account.sign_transaction(tx).raw_transaction)

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        message = encode_typed_data(full_message=typed_data)
        return bytes(self._account.sign_message(message).signature)

    def __repr__(self) -> str:
        return f"LocalKeySigner({self.address})"
