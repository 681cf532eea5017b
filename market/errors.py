"""Exceptions raised by the market package.

Every exception derives from :class:`MarketError`, so callers can catch the whole package at
once; each concrete error also inherits the builtin it refines, so ``except ValueError`` works
too::

    MarketError(Exception)
    ├── MarketParamsError(MarketError, ValueError)     bad price floor, tick size, max tick, fee
    ├── OrderError(MarketError, ValueError)             bad tick or quantity, duplicate order id
    ├── ClearingRecordError(MarketError, ValueError)    a record whose facts contradict each other
    ├── OrderBookError(MarketError, ValueError)         an order-book file that cannot be used
    └── PoolError(MarketError, ValueError)              bad city pool input (limits, levels, fee)
"""


class MarketError(Exception):
    """Root of every exception raised by the market package."""


class MarketParamsError(MarketError, ValueError):
    """Market parameters outside the ranges the contract accepts."""


class OrderError(MarketError, ValueError):
    """An order the contract would reject: tick out of range, qty <= 0, or a repeated id."""


class ClearingRecordError(MarketError, ValueError):
    """A clearing record that no clearing could have produced."""


class OrderBookError(MarketError, ValueError):
    """An order-book file that is missing, not JSON, or not a valid order book.

    The message is one human-readable line, ready to print in the CLI.
    """


class PoolError(MarketError, ValueError):
    """City pool input the rule refuses: a bad limit, level or fee, a repeated community."""
