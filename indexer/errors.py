"""Exceptions raised by the indexer (ingestion, storage, API, sign-in).

Every exception derives from :class:`IndexerError`, so the CLI turns them into one line; the
ones with a natural builtin kind inherit it too. A node that fails raises the chain layer's
``chain.errors.RpcError`` (``RangeTooLargeError`` for a refused log range)::

    IndexerError
    ├── IndexerConfigError(..., ValueError)      a setting, URL or deployment that cannot work
    ├── DatabaseSchemaError                      the database is not at the code's revision
    ├── DatabaseUnreachableError(..., ConnectionError) the database cannot be opened (server
    │                                            down, wrong credentials, no such file)
    ├── ChainMismatchError                       the database indexes another chain/deployment
    ├── ReorgTooDeepError                        no stored block is on the canonical chain
    ├── ChainInconsistentError                   the node's blocks do not link up (a reorg
    │                                            that undoing cannot resolve)
    ├── ValueOutOfRangeError(..., OverflowError) an amount the database type cannot hold
    └── SiweError(..., ValueError)               a Sign-In with Ethereum message is refused
        ├── SiweFormatError                      not an EIP-4361 message
        └── SiweVerificationError                well formed but refused (domain, nonce, time...)
"""

from __future__ import annotations


class IndexerError(Exception):
    """Root of every exception raised on purpose by ``indexer``."""


class IndexerConfigError(IndexerError, ValueError):
    """A setting, database URL or deployment record that the indexer cannot work with."""


class DatabaseSchemaError(IndexerError):
    """The database schema is missing or not at the revision this code needs (run migrations)."""


class DatabaseUnreachableError(IndexerError, ConnectionError):
    """The database cannot be opened: its server does not answer, refuses the credentials, or
    the SQLite file's folder does not exist (the message names the URL, never the password)."""


class ChainMismatchError(IndexerError):
    """The database already holds data of another chain id or other contract addresses."""


class ReorgTooDeepError(IndexerError):
    """A reorganisation reaches below every block the indexer stored."""


class ChainInconsistentError(IndexerError):
    """The checkpoint block is on the node's chain, yet the next block does not build on it
    (for example anvil re-hashes block 0 when it reloads a state file): undoing blocks cannot
    resolve that, so the ingester stops instead of undoing the same reorganisation forever."""


class ValueOutOfRangeError(IndexerError, OverflowError):
    """An on-chain amount does not fit the database column (SQLite holds 64-bit integers)."""


class SiweError(IndexerError, ValueError):
    """A Sign-In with Ethereum (EIP-4361) message was refused; ``code`` says why."""

    code = "siwe_invalid"


class SiweFormatError(SiweError):
    """The text is not an EIP-4361 message."""

    code = "siwe_malformed"


class SiweVerificationError(SiweError):
    """The message is well formed but refused (wrong domain, nonce, time, chain or signer)."""

    def __init__(self, message: str, code: str = "siwe_refused") -> None:
        super().__init__(message)
        self.code = code
