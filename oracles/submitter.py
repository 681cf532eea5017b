"""Drain the outbox to the chain: batches, archive, ``submitReadings``, retry with backoff.

One batch at a time, oldest readings first. A batch is built from queued readings (at most
``batch_size`` and :data:`~oracles.archive.MAX_BATCH_BYTES`), written to the archive, recorded
in the outbox with its CID, then submitted with the binary CID as ``archiveCid``. When the
submission fails (node down, timeout, revert such as a paused registry) the batch stays open
and is sent again, unchanged, after an exponential backoff; newer readings wait behind it, so
readings reach the chain in the order they were signed.

A landed batch is not yet safe: until its block is ``confirmations`` deep, every drain looks
for its transaction on the current chain. A batch whose transaction is gone (a reorganisation
that did not bring it back, a node restarted from an older state file, a dropped transaction)
is reopened and sent again; the registry skips the readings it already holds, so that is safe.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from chain.retry import Backoff
from energychain.meter_reading import Domain
from oracles.archive import MAX_BATCH_BYTES, Archive, cid_to_bytes, encode_batch
from oracles.errors import ArchiveError, SubmissionError
from oracles.outbox import OpenBatch, Outbox, QueuedReading
from oracles.registry import RegistryGateway

logger = logging.getLogger(__name__)

#: A landed batch is re-checked until its block has this many blocks on top (itself included).
CONFIRMATIONS = 12

#: Refusals that are about the chain's clock, not the reading: a node whose head went back (a
#: reorganisation, a restart from an older state) stamps blocks before the reading's time. The
#: batch stays open and is sent again after a backoff, newer readings behind it.
RETRY_LATER = frozenset({"ReadingInFuture"})

#: Waits after failed submissions: 0.5 s doubling up to 30 s, the last 20 % random.
SUBMIT_BACKOFF = Backoff(base=0.5, cap=30.0, jitter=0.2)


@dataclass
class DrainResult:
    batches: int = 0
    accepted: int = 0
    rejected: int = 0
    error: str | None = None
    retry_in: float = 0.0
    rejections: list[tuple[bytes, int, str]] = field(default_factory=list)
    reopened: int = 0


class Submitter:
    """Moves readings from the outbox to the registry (call :meth:`drain` repeatedly)."""

    def __init__(
        self,
        outbox: Outbox,
        archive: Archive,
        registry: RegistryGateway,
        domain: Domain,
        *,
        batch_size: int = 200,
        backoff: Backoff | None = None,
        confirmations: int = CONFIRMATIONS,
    ) -> None:
        self.outbox = outbox
        self.archive = archive
        self.registry = registry
        self.domain = domain
        self.batch_size = batch_size
        self.backoff = backoff or SUBMIT_BACKOFF
        self.confirmations = confirmations
        self._failures = 0
        self._not_before = 0.0
        self.last_error: str | None = None
        self.last_tx: str | None = None
        self._lock = threading.Lock()  # one drain at a time (a batch is never built twice)

    def _next_batch(self) -> OpenBatch | None:
        batch = self.outbox.open_batch()
        if batch is not None:
            return batch
        queued = self.outbox.queued(self.batch_size)
        if not queued:
            return None
        data, chosen = self._encode_within_limit(queued)
        cid = self.archive.store(data)
        batch_id = self.outbox.create_batch(cid, len(data), [q.id for q in chosen])
        logger.info("batch %d: %d readings archived as %s", batch_id, len(chosen), cid)
        return OpenBatch(batch_id, cid, 0, chosen)

    def _encode_within_limit(
        self, queued: list[QueuedReading]
    ) -> tuple[bytes, list[QueuedReading]]:
        chosen = queued
        while True:
            data = encode_batch(self.domain, [q.signed for q in chosen])
            if len(data) <= MAX_BATCH_BYTES or len(chosen) == 1:
                return data, chosen
            chosen = chosen[: max(1, len(chosen) * MAX_BATCH_BYTES // len(data) - 1)]

    def ready(self, now: float | None = None) -> bool:
        """False while backing off after a failure."""
        return (now if now is not None else time.monotonic()) >= self._not_before

    def drain(self, *, max_batches: int | None = None) -> DrainResult:
        """Submit batches until the outbox is empty, a submission fails, or ``max_batches``.

        Safe to call from several threads: calls run one after the other.
        """
        with self._lock:
            return self._drain(max_batches)

    def _drain(self, max_batches: int | None) -> DrainResult:
        result = DrainResult()
        if not self.ready():
            result.retry_in = self._not_before - time.monotonic()
            return result
        self._push_archives()
        result.reopened = self._recheck()
        while max_batches is None or result.batches < max_batches:
            batch = self._next_batch()
            if batch is None:
                break
            try:
                outcome = self.registry.submit(
                    [q.signed for q in batch.readings], cid_to_bytes(batch.cid)
                )
            except SubmissionError as exc:
                return self._failed(batch, result, str(exc))
            outcomes: dict[tuple[bytes, int], str | None] = {}
            for q in batch.readings:
                key = (q.signed.reading.meter_id, q.signed.reading.seq)
                outcomes[key] = outcome.results.get(key, "NoEventForReading")
            early = sorted({r for r in outcomes.values() if r in RETRY_LATER})
            if early:
                return self._failed(
                    batch,
                    result,
                    f"refused for now by the registry ({', '.join(early)}) in {outcome.tx_hash}",
                )
            self._failures = 0
            self.last_error = None
            self.last_tx = outcome.tx_hash
            accepted, rejected = self.outbox.complete_batch(
                batch.id,
                tx_hash=outcome.tx_hash,
                block_number=outcome.block_number,
                outcomes=outcomes,
            )
            for (meter_id, seq), reason in outcomes.items():
                if reason is not None:
                    meter = "0x" + meter_id.hex()
                    self.outbox.record_error(
                        "rejected_on_chain", meter, f"seq {seq} rejected by the registry: {reason}"
                    )
                    logger.error("meter %s seq %d rejected by the registry: %s", meter, seq, reason)
                    result.rejections.append((meter_id, seq, reason))
            logger.info(
                "batch %d landed in %s: %d accepted, %d rejected",
                batch.id,
                outcome.tx_hash,
                accepted,
                rejected,
            )
            result.batches += 1
            result.accepted += accepted
            result.rejected += rejected
        return result

    def _failed(self, batch: OpenBatch, result: DrainResult, error: str) -> DrainResult:
        """The batch stays open: back off, then send it again as it was."""
        delay = self.backoff.delay(self._failures)
        self._failures += 1
        self._not_before = time.monotonic() + delay
        self.last_error = error
        self.outbox.batch_failed(batch.id, error)
        self.outbox.record_error("submit_failed", "", f"batch {batch.id}: {error}")
        logger.warning(
            "batch %d (%d readings) not submitted, retry in %.1f s: %s",
            batch.id,
            len(batch.readings),
            delay,
            error,
        )
        result.error, result.retry_in = error, delay
        return result

    def _recheck(self) -> int:
        """Confirm landed batches that are deep enough, reopen those no longer on chain.

        Returns how many readings were reopened. A node that does not answer leaves every
        batch as it is (the next drain checks again).
        """
        unconfirmed = self.outbox.unconfirmed_batches()
        if not unconfirmed:
            return 0
        reopened = 0
        try:
            head = self.registry.head()
            for batch_id, tx_hash, block_number, accepted in unconfirmed:
                block = self.registry.landed_block(tx_hash, accepted)
                if block is None:
                    n = self.outbox.reopen_batch(
                        batch_id,
                        f"transaction {tx_hash} (block {block_number}) left the chain or now "
                        f"accepts fewer than its {accepted} readings",
                    )
                    reopened += n
                    self.outbox.count("reopened", "", n)
                    logger.warning(
                        "batch %d: transaction %s (block %d) left the chain or accepts fewer "
                        "readings: %d readings are sent again",
                        batch_id,
                        tx_hash,
                        block_number,
                        n,
                    )
                    continue
                if block != block_number:
                    self.outbox.moved_batch(batch_id, block)
                if head - block + 1 >= self.confirmations:
                    self.outbox.confirm_batch(batch_id)
        except SubmissionError as exc:
            logger.info("landed batches not re-checked (retried at the next drain): %s", exc)
        return reopened

    def _push_archives(self) -> None:
        if self.archive.kubo is None:
            return
        for batch_id, cid in self.outbox.unpinned_cids():
            try:
                self.archive.push(cid)
            except ArchiveError as exc:
                self.outbox.record_error("archive_push_failed", "", f"{cid}: {exc}")
                logger.warning("archive %s not pushed to IPFS (will retry): %s", cid, exc)
                return
            self.outbox.mark_pinned(batch_id)
