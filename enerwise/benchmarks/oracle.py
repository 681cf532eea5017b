"""Meter-oracle throughput: readings signed and persisted per second, readings landed per second.

``run(meters=1000, slots=3)`` on a fresh anvil:

1. deploys a MeterRegistry (60 s slots) and registers ``meters`` simulated meters (not timed);
2. **sign + persist**: for each of ``slots`` slot boundaries, every meter is read (in-process
   simulated source), validated, signed with its own key (EIP-712) and appended to the SQLite
   outbox (WAL, synchronous=FULL, one fsynced transaction per slot) - the oracle's real path;
3. **landed**: the outbox is drained to anvil in ``submitReadings`` batches of ``batch_size``
   (archive file + CID, one transaction per batch, receipt and events decoded).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from chain.connection import connect
from chain.local_node import ANVIL_DEV_KEYS, start_anvil
from devchain.meter_registry import MeterRegistration, deploy_registry, register_meters
from energychain.contracts import revert_decoder
from oracles.archive import Archive, LocalArchive
from oracles.clock import VirtualClock
from oracles.config import dev_key
from oracles.outbox import Outbox
from oracles.readings import meter_id_from_name
from oracles.registry import Web3Registry
from oracles.runner import MeterRuntime, OracleRunner
from oracles.simulator import simulated_households
from oracles.submitter import Submitter
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def run(meters: int = 1_000, slots: int = 3, batch_size: int = 250) -> dict[str, Any]:
    names = [f"bench-{i:05d}" for i in range(meters)]
    signers = {n: LocalKeySigner(dev_key(n)) for n in names}
    with (
        start_anvil() as node,
        tempfile.TemporaryDirectory() as tmp,
    ):
        w3 = connect(node.rpc_url)
        admin = TransactionSender(
            w3, LocalKeySigner(ANVIL_DEV_KEYS[0]), decode_revert=revert_decoder()
        )
        registry_address, epoch = deploy_registry(
            admin, slot_seconds=60, max_clock_skew_seconds=3_600
        )
        register_meters(
            admin,
            registry_address,
            [
                MeterRegistration(meter_id_from_name(n), admin.address, s.address, 100_000)
                for n, s in signers.items()
            ],
        )
        registry = Web3Registry(node.rpc_url, registry_address, LocalKeySigner(ANVIL_DEV_KEYS[1]))
        domain = registry.domain()
        clock = VirtualClock(epoch + 1)
        sources = simulated_households(names, clock)
        runtimes = [
            MeterRuntime(
                n, meter_id_from_name(n), sources[n], signers[n], capacity_wh_per_slot=100_000
            )
            for n in names
        ]
        outbox = Outbox(Path(tmp) / "outbox.sqlite")
        schedule = registry.schedule()
        runner = OracleRunner(
            runtimes, outbox=outbox, domain=domain, schedule=schedule, clock=clock
        )

        async def sign_and_persist() -> float:
            await runner.start()
            started = time.perf_counter()
            for k in range(1, slots + 1):
                boundary = schedule.start(k)
                clock.set(boundary)
                report = await runner.read_slot(boundary)
                assert report.signed == meters, report.errors[:3]
            return time.perf_counter() - started

        signing_seconds = asyncio.run(sign_and_persist())
        signed = outbox.depth()

        submitter = Submitter(
            outbox,
            Archive(LocalArchive(Path(tmp) / "archive")),
            registry,
            domain,
            batch_size=batch_size,
        )
        started = time.perf_counter()
        result = submitter.drain()
        landing_seconds = time.perf_counter() - started
        assert result.error is None, result.error
        gas = [
            int(w3.eth.get_transaction_receipt(b["tx_hash"])["gasUsed"])
            for b in outbox.batches(100)
        ]
        totals = outbox.totals()
        outbox.close()
    return {
        "meters": meters,
        "slots": slots,
        "readings": signed,
        "signed_persisted_per_s": _rate(signed, signing_seconds),
        "landed_per_s": _rate(totals["accepted"], landing_seconds),
        "batch_size": batch_size,
        "batches": result.batches,
        "accepted": totals["accepted"],
        "rejected": totals["rejected"],
        "gas_per_reading": round(sum(gas) / max(totals["accepted"], 1)),
        "node": "anvil 1.7.1 (automine, default 30M gas blocks)",
        "outbox": "SQLite WAL, synchronous=FULL, one transaction per slot",
    }
