"""Exceptions of the operator tooling.

Every error raised on purpose by ``operations`` derives from :class:`OperatorError`; the
ones a caller may also want to catch by their built-in kind inherit from that kind too::

    OperatorError
    ├── CommunityConfigError (ValueError)   community.yaml unreadable or invalid (names the field)
    ├── PreflightError (ValueError)         a check before sending failed; nothing was sent
    ├── DeploymentMismatchError             the recorded deployment differs from the config/chain
    ├── RoleMissingError (PermissionError)  the signing key lacks the role an action needs
    └── MeterError (ValueError)             a meter id is taken, unknown or inactive; bad CSV row

A bill that cannot be made raises ``billing.errors.BillingError`` (billing is shared with the
indexer's API).
"""

from __future__ import annotations


class OperatorError(Exception):
    """Root of every error the operator tooling raises on purpose."""


class CommunityConfigError(OperatorError, ValueError):
    """``community.yaml`` cannot be read or a field is invalid; the message names the field."""


class PreflightError(OperatorError, ValueError):
    """A check before sending anything failed; nothing was sent to the chain."""


class DeploymentMismatchError(OperatorError):
    """An existing deployment does not match the config (``differences`` lists them)."""

    def __init__(self, message: str, differences: list[str] | None = None) -> None:
        self.differences = differences or []
        super().__init__(message)


class RoleMissingError(OperatorError, PermissionError):
    """The signing account lacks the role the action needs."""


class MeterError(OperatorError, ValueError):
    """A meter cannot be added, rotated or deactivated (id taken, unknown, inactive, bad row)."""
