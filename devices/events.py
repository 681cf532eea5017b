"""What a control cycle reports besides states: typed device events, each one log line.

=================  =========================================================================
kind               when
=================  =========================================================================
``offline``        the device did not answer (connection refused, timeout, charger gone)
``refused``        the device refused a write (Modbus exception code, OCPP ``Rejected``)
``mismatch``       a written value read back as another value
``out_of_range``   a value read from the device is impossible (a state of charge of 130 %)
``deviation``      the device does not do what it was told (battery power off its set-point)
``limited``        the controller changed a command to keep a limit (SoC, comfort, power)
``safe_default``   a device was returned to its safe default (or could not be)
=================  =========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EventKind = Literal[
    "offline", "refused", "mismatch", "out_of_range", "deviation", "limited", "safe_default"
]


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    kind: EventKind
    device: str
    message: str
    at: float
    code: int | str | None = None

    def line(self) -> str:
        code = f" (code {self.code})" if self.code is not None else ""
        return f"{self.device}: {self.kind}{code}: {self.message}"
