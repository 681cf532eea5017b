"""Exceptions of the wallet package::

WalletError
├── SignerError                 a signer could not sign (locked, remote refused, no key)
├── TransactionError            a transaction could not be sent or did not succeed
│   ├── FeeCapExceededError     the network asks more than the user's fee cap
│   ├── InsufficientFundsError  the account cannot pay value + gas
│   └── TransactionRevertedError  the call reverted (``reason`` is the decoded error)
├── KeystoreError               a keystore folder or file cannot be used (``path`` names it)
│   ├── KeystoreNotFoundError   no keystore file for that address or path
│   ├── KeystoreExistsError     a keystore for that address is there already (use force)
│   ├── KeystoreCorruptError    not a readable Web3 Secret Storage v3 file (truncated, bad JSON)
│   ├── WrongPasswordError      the password does not decrypt the file (file left untouched)
│   ├── MnemonicError           bad BIP-39 mnemonic (unknown word, checksum) or derivation path
│   └── PasswordError           no password could be read (file, environment variable, prompt)
└── TypedDataError (ValueError) a malformed EIP-712 document or a non-canonical signature

Messages name the file or variable involved and never carry a secret (password, private key,
mnemonic). Where a library exception could quote a secret, ours is raised after the ``except``
block, so not even ``__context__`` keeps the library's exception.
"""

from __future__ import annotations


class WalletError(Exception):
    """Root of every error the wallet package raises on purpose."""


class SignerError(WalletError):
    """A signer could not produce a signature."""


class TransactionError(WalletError):
    """A transaction could not be sent or did not succeed."""


class FeeCapExceededError(TransactionError):
    """The fee the network asks for is above the configured cap."""


class InsufficientFundsError(TransactionError):
    """The sending account cannot pay for value plus gas."""


class TransactionRevertedError(TransactionError):
    """The transaction (or its dry run) reverted.

    ``reason`` is the decoded revert (e.g. ``chain.errors.ContractRevertError``) when a decoder
    knew the error, else ``None``; ``tx_hash`` is set when the revert happened on chain.
    """

    def __init__(self, message: str, reason: Exception | None = None, tx_hash: str | None = None):
        self.reason = reason
        self.tx_hash = tx_hash
        super().__init__(message)


class KeystoreError(WalletError):
    """A keystore folder or file cannot be used; ``path`` names it when there is one."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class KeystoreNotFoundError(KeystoreError):
    """No keystore file matches the address or path."""


class KeystoreExistsError(KeystoreError):
    """A keystore for the address is in the folder already (import with ``force`` to replace)."""


class KeystoreCorruptError(KeystoreError):
    """Not a valid Web3 Secret Storage v3 keystore (truncated, bad JSON, missing fields)."""


class WrongPasswordError(KeystoreError):
    """The password does not decrypt the keystore (MAC mismatch); the file is left untouched."""


class MnemonicError(KeystoreError):
    """A BIP-39 mnemonic (unknown words, bad checksum) or a derivation path is invalid."""


class PasswordError(KeystoreError):
    """A password could not be read from its source (file, environment variable, prompt)."""


class TypedDataError(WalletError, ValueError):
    """A malformed EIP-712 document, or a signature over one that is malformed or high-s."""


def unreadable(exc: OSError) -> str:
    """Why a file could not be opened, as our messages end: ``keystore file X`` + this."""
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, PermissionError):
        return "is not readable"
    return f"cannot be read: {exc.strerror}"
