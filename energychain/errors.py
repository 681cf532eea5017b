"""Exceptions of the EnergyChain protocol client.

The protocol client raises the chain layer's errors for what the chain layer knows (a node that
does not answer, a revert) and its own below :class:`EnergyChainError` for what only the protocol
knows. Every one of them is a :class:`chain.errors.ChainError`, so one ``except ChainError``
catches everything about the chain; a façade never lets a bare ``IndexError``, ``KeyError`` or a
web3 exception out::

    ChainError
    ├── RpcError (ConnectionError)           the node did not answer, or answered an error
    │   └── RangeTooLargeError               the node refused an eth_getLogs range
    ├── ContractRevertError                  a call reverted (the decoded custom error)
    ├── AbiMismatchError (ValueError)        the ABI lacks a function, event or struct field
    │                                        the client needs, or an answer does not fit it
    └── EnergyChainError
        ├── DelegationError (ValueError)     a malformed agent grant (address, bound, expiry)
        └── PoolInputError (ValueError)      a city-pool request refused before sending (a limit
                                             negative, fractional or above 2^64 - 1 Wh, one
                                             entry per community missing or too many, levels
                                             or the grid fee out of range)
        └── ResidualMismatchError            a residual read from a market's book does not
                                             hash to the market's commitment
"""

from __future__ import annotations

from chain.errors import ChainError


class EnergyChainError(ChainError):
    """Root of the errors only the protocol client raises."""


class DelegationError(EnergyChainError, ValueError):
    """A delegation request is malformed (bad address, bound or expiry)."""


class PoolInputError(EnergyChainError, ValueError):
    """A city-pool request is malformed and was not sent (see :mod:`energychain.pool`)."""


class ResidualMismatchError(EnergyChainError):
    """A community's residual read from its market's book does not hash to what the market
    committed to when it cleared the slot (:func:`energychain.pool.read_residual`)."""
