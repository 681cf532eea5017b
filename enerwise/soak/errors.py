"""The soak's one error: a set-up it cannot do (a missing server binary, a service that does
not come up, bad options). What the soak finds lost is its verdict (exit 1), not an error."""

from __future__ import annotations

from enerwise.errors import EnerwiseError


class SoakError(EnerwiseError, RuntimeError):
    """The soak cannot run (one line for the user)."""
