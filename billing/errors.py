"""Exceptions of billing: one, for a month that is malformed or holds no data."""

from __future__ import annotations


class BillingError(ValueError):
    """A billing period is malformed or holds no data (the message is one line)."""
