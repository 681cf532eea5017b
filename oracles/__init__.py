"""Meter oracles: read meters (Modbus TCP, MQTT, simulated), sign readings (EIP-712), keep them
in a durable outbox, submit them in archived batches, and audit what landed on chain.

See docs/oracles.md. The modules are importable on their own; the names below are the public
API most callers need.
"""

from oracles.archive import Archive, KuboClient, LocalArchive, compute_cid
from oracles.clock import AnvilClock, Clock, SlotSchedule, SystemClock, VirtualClock
from oracles.config import OracleConfig, load_config
from oracles.errors import OracleError
from oracles.maps import RegisterMap, load_map
from oracles.outbox import Outbox
from oracles.readings import Domain, MeterReading, SignedReading, meter_id_from_name, sign_reading
from oracles.registry import RegistryGateway, Web3Registry
from oracles.runner import MeterRuntime, OracleRunner, build_runner
from oracles.sources.base import MeterSource, Sample
from oracles.submitter import Submitter
from oracles.verify import VerificationReport, verify_batch

__all__ = [
    "AnvilClock",
    "Archive",
    "Clock",
    "Domain",
    "KuboClient",
    "LocalArchive",
    "MeterReading",
    "MeterRuntime",
    "MeterSource",
    "OracleConfig",
    "OracleError",
    "OracleRunner",
    "Outbox",
    "RegisterMap",
    "RegistryGateway",
    "Sample",
    "SignedReading",
    "SlotSchedule",
    "Submitter",
    "SystemClock",
    "VerificationReport",
    "VirtualClock",
    "Web3Registry",
    "build_runner",
    "compute_cid",
    "load_config",
    "load_map",
    "meter_id_from_name",
    "sign_reading",
    "verify_batch",
]
