"""Role ids of the contracts' AccessControl that need no chain read."""

from __future__ import annotations

DEFAULT_ADMIN_ROLE = b"\x00" * 32
"""``DEFAULT_ADMIN_ROLE`` of OpenZeppelin AccessControl (fees, roles)."""
