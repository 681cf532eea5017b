"""Exceptions raised by the grid package.

Every exception derives from :class:`GridError`; each concrete error also inherits the builtin
it refines, so ``except ValueError`` works too::

    GridError(Exception)
    ├── UnknownNetworkError(GridError, ValueError)  a network name not in the catalogue
    ├── LayoutError(GridError, ValueError)          communities the network cannot hold
    ├── UnknownBusError(GridError, ValueError)      a household on a bus that does not exist
    ├── InjectionError(GridError, ValueError)       net energies: wrong shape, NaN, unknown ids
    ├── LimitsError(GridError, ValueError)          limits that cannot be published
    └── PublishError(GridError)                     limits not published on chain
        ├── CommunityMappingError(PublishError, ValueError)
        │                                           grid and pool communities do not match
        ├── GateClosedError(PublishError)           the slot's gate closed: nothing was sent
        ├── PublicationRevertedError(PublishError)  the pool refused (wrong role, ...): ``reason``
        │                                           is the decoded revert
        └── JournalError(PublishError)              the publication journal cannot be used

A power flow that does not converge is not an exception: it is reported as a typed event
(:class:`grid.limits.PowerFlowDiverged`) and the last good limits are kept.
"""

from __future__ import annotations


class GridError(Exception):
    """Root of every exception raised by the grid package."""


class UnknownNetworkError(GridError, ValueError):
    """A network name that the catalogue does not know."""


class LayoutError(GridError, ValueError):
    """Communities, feeders or households that do not fit the network."""


class UnknownBusError(GridError, ValueError):
    """A household mapped to a bus that the network does not have (or not a load bus of its
    community)."""


class InjectionError(GridError, ValueError):
    """Per-household net energies that cannot be used (wrong length, NaN, unknown household)."""


class LimitsError(GridError, ValueError):
    """Transfer limits that cannot be published (negative, or not whole Wh)."""


class PublishError(GridError):
    """Transfer limits that were not published on chain (:mod:`grid.publisher`)."""


class CommunityMappingError(PublishError, ValueError):
    """The grid's communities and the pool's do not match one to one."""


class GateClosedError(PublishError):
    """The slot's gate closure has passed on the chain: the limits were not sent."""


class PublicationRevertedError(PublishError):
    """The pool refused the limits (the dry run or the transaction reverted).

    ``reason`` is the decoded revert (``chain.errors.ContractRevertError``) when it was known.
    """

    def __init__(self, message: str, reason: Exception | None = None) -> None:
        self.reason = reason
        super().__init__(message)


class JournalError(PublishError):
    """The publication journal cannot be read or written, or belongs to another pool."""
