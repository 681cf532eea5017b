"""Exceptions raised by the indexer (ingestion, storage, API, sign-in).

Every exception derives from :class:`IndexerError` (itself a ``market.errors.MarketError``), so the
CLI turns them into one line; the ones with a natural builtin kind inherit it too::

    IndexerError(MarketError)
    ├── IndexerConfigError(..., ValueError)      a setting, URL or deployment that cannot work
    ├── DatabaseSchemaError                      the database is not at the code's revision
    ├── ChainMismatchError                       the database indexes another chain/deployment
    ├── RpcError(..., ConnectionError)           a JSON-RPC call failed (after retries)
    │   └── RangeTooLargeError                   the node refused an eth_getLogs range
    ├── ReorgTooDeepError                        no stored block is on the canonical chain
    ├── ValueOutOfRangeError(..., OverflowError) an amount the database type cannot hold
    └── SiweError(..., ValueError)               a Sign-In with Ethereum message is refused
        ├── SiweFormatError                      not an EIP-4361 message
        └── SiweVerificationError                well formed but refused (domain, nonce, time...)
"""

from __future__ import annotations

from market.errors import MarketError


class IndexerError(MarketError):
    """Root of every exception raised on purpose by ``indexer``."""


class IndexerConfigError(IndexerError, ValueError):
    """A setting, database URL or deployment record that the indexer cannot work with."""


class DatabaseSchemaError(IndexerError):
    """The database schema is missing or not at the revision this code needs (run migrations)."""


class ChainMismatchError(IndexerError):
    """The database already holds data of another chain id or other contract addresses."""


class RpcError(IndexerError, ConnectionError):
    """A JSON-RPC call failed: the node is unreachable or answered with an error."""


class RangeTooLargeError(RpcError):
    """The node refused an ``eth_getLogs`` range (too many results, too long, timed out)."""


class ReorgTooDeepError(IndexerError):
    """A reorganisation reaches below every block the indexer stored."""


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
