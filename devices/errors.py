"""Exceptions of the device package::

    DeviceError
    ├── DeviceConfigError (ValueError)      household.yaml, a register map or a plan is invalid
    ├── DeviceOfflineError (ConnectionError) no connection, a timeout, a charger not connected
    ├── WriteRefusedError                   the device refused a write (Modbus exception code,
    │                                       OCPP ``Rejected``); ``code`` names it
    ├── ReadBackMismatchError               a written value reads back as another value
    └── DeviceValueError (ValueError)       a value read from a device is outside its physical
                                            range (a state of charge outside 0..100 %)

Protocol trouble that does not concern one request (an unknown OCPP action, a malformed frame, a
charger gone mid-transaction, an unknown Home Assistant command) is logged and counted, not
raised.

Every message names the device and, where one is involved, the register, point or message; it
is one line and never carries a secret.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Root of every error the devices package raises on purpose."""


class DeviceConfigError(DeviceError, ValueError):
    """A household file, register map or plan is invalid."""


class DeviceOfflineError(DeviceError, ConnectionError):
    """The device cannot be reached (no connection, a timeout, not connected to us)."""


class WriteRefusedError(DeviceError):
    """The device refused a write; ``code`` is the Modbus exception code or OCPP status."""

    def __init__(self, message: str, *, code: int | str | None = None) -> None:
        self.code = code
        super().__init__(message)


class ReadBackMismatchError(DeviceError):
    """A value written to the device reads back as another value."""

    def __init__(self, message: str, *, point: str, wanted: float, got: float) -> None:
        self.point = point
        self.wanted = wanted
        self.got = got
        super().__init__(message)


class DeviceValueError(DeviceError, ValueError):
    """A value read from a device lies outside its physical range."""
