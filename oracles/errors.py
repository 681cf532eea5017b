"""Exceptions of the meter-oracle package::

    OracleError
    ├── OracleConfigError (ValueError)      a config file, register map or payload format is invalid
    ├── SourceError (ConnectionError)       a meter could not be read
    │   ├── ModbusReadError                 timeout, refused connection, Modbus exception code
    │   ├── MqttConnectionError             broker down, TLS failure, credentials refused
    │   └── NoFreshSampleError              no sample recent enough for the slot boundary
    ├── PayloadError (ValueError)           malformed JSON, missing field, unknown topic
    ├── ReadingInvalidError (ValueError)    a sample that must not be signed (``reason`` names why)
    │   ├── RegisterValueError              NaN, infinite, negative or absurd register
    │   ├── RegisterDecreasedError          a register went backwards: meter put on hold
    │   ├── ImplausibleDeltaError           more energy than the meter's capacity allows
    │   ├── DuplicateReadingError           timestamp not after the last signed reading
    │   ├── StaleSampleError                the sample was taken too far from the boundary
    │   └── ClockSkewError                  device or local clock too far from the reference
    ├── MeterOnHoldError                    the meter waits for ``enerwise oracle release``
    ├── SignerMissingError (LookupError)    the meter's key cannot be loaded or unlocked
    ├── OutboxError                         the SQLite outbox cannot be opened or written
    ├── ArchiveError                        a batch cannot be archived or fetched
    │   └── CidMismatchError (ValueError)   bytes do not hash to the CID they were stored under
    ├── SubmissionError                     a batch could not be submitted (``retryable``)
    ├── OcmfError (ValueError)              an OCMF record is malformed or its signature is bad
    └── VerificationError                   ``enerwise oracle verify`` found a problem

Every message names the meter, file, topic or endpoint involved and never carries a secret.
"""

from __future__ import annotations


class OracleError(Exception):
    """Root of every error the oracles package raises on purpose."""


class OracleConfigError(OracleError, ValueError):
    """A configuration file, register map or payload format is invalid."""


class SourceError(OracleError, ConnectionError):
    """A meter could not be read."""


class ModbusReadError(SourceError):
    """A Modbus request failed: no connection, timeout or an exception response.

    ``exception_code`` is the Modbus exception code when the device answered with one.
    """

    def __init__(self, message: str, exception_code: int | None = None) -> None:
        self.exception_code = exception_code
        super().__init__(message)


class MqttConnectionError(SourceError):
    """The MQTT broker cannot be reached, refused the credentials, or TLS failed."""


class NoFreshSampleError(SourceError):
    """No sample of the meter is recent enough for the slot boundary being read."""


class PayloadError(OracleError, ValueError):
    """A payload could not be parsed (malformed JSON, missing field, unknown topic)."""


class ReadingInvalidError(OracleError, ValueError):
    """A sample that must not be signed; ``reason`` is a short machine-readable code."""

    reason = "invalid"


class RegisterValueError(ReadingInvalidError):
    """A register is NaN, infinite, negative or beyond any real meter."""

    reason = "invalid_register"


class RegisterDecreasedError(ReadingInvalidError):
    """A cumulative register went backwards (meter replaced or reset): needs an operator."""

    reason = "register_decreased"


class ImplausibleDeltaError(ReadingInvalidError):
    """A register grew by more than the meter's capacity over the slots covered."""

    reason = "implausible_delta"


class DuplicateReadingError(ReadingInvalidError):
    """The slot boundary is not after the last signed reading (duplicate or late)."""

    reason = "duplicate_timestamp"


class StaleSampleError(ReadingInvalidError):
    """The sample was taken too far from the slot boundary to stand for it."""

    reason = "stale_sample"


class ClockSkewError(ReadingInvalidError):
    """A clock (device or local) differs from its reference by more than allowed."""

    reason = "clock_skew"


class MeterOnHoldError(OracleError):
    """The meter is on hold until an operator releases it."""


class SignerMissingError(OracleError, LookupError):
    """The meter's signing key cannot be loaded or unlocked."""


class OutboxError(OracleError):
    """The SQLite outbox cannot be opened, read or written."""


class ArchiveError(OracleError):
    """A batch cannot be archived or fetched."""


class CidMismatchError(ArchiveError, ValueError):
    """Bytes do not hash to the CID under which they were stored or announced."""


class SubmissionError(OracleError):
    """A batch could not be submitted; ``retryable`` says whether a later try may succeed."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        self.retryable = retryable
        super().__init__(message)


class OcmfError(OracleError, ValueError):
    """An OCMF record is malformed, or its signature does not verify."""


class VerificationError(OracleError):
    """An archived batch failed verification; ``problems`` lists every finding."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)
