"""Exceptions raised by the grid package.

Every exception derives from :class:`GridError`; each concrete error also inherits the builtin
it refines, so ``except ValueError`` works too::

    GridError(Exception)
    ├── UnknownNetworkError(GridError, ValueError)  a network name not in the catalogue
    ├── LayoutError(GridError, ValueError)          communities the network cannot hold
    ├── UnknownBusError(GridError, ValueError)      a household on a bus that does not exist
    ├── InjectionError(GridError, ValueError)       net energies: wrong shape, NaN, unknown ids
    └── LimitsError(GridError, ValueError)          limits that cannot be published

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
