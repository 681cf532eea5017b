"""The ingester: follows the chain with ``eth_getLogs`` and keeps the database in step.

One :meth:`Ingester.step`:

1. reads the head and the checkpoint (the database is the only memory: a restart resumes
   from it), and stays ``confirmations`` blocks behind the head;
2. fetches the logs of the next range and the headers of the range's first and last block and
   of every block with a log, in one JSON-RPC batch;
3. checks that the first block's parent is the checkpoint's hash (else: reorganisation) and
   that every log's block hash is the header's (else the chain moved under us: try again);
4. decodes, applies the handlers and writes rows + block hashes + checkpoint in one
   transaction, then publishes the live events.

The range adapts: halved when the node refuses it (too many results, timeout; it then never
grows back to the refused size), doubled while ranges bring fewer than ``target_logs`` logs.
On a reorganisation the ingester walks back the stored block hashes to the last one still on
the chain, deletes everything derived from later blocks and goes on from there (the handlers
are idempotent, ApeWorX-style, since a reorg makes them see a log again). When the node or
the database fails, :meth:`Ingester.run` pauses with exponential backoff and catches up after.

When caught up, :meth:`Ingester.run` waits for the next block: woken by a
:class:`chain.heads.HeadWatcher` (``eth_subscribe("newHeads")`` over a websocket) the moment
the node announces one, and in any case after ``poll_interval`` seconds. The notification is
only a wake-up: every step still starts from the database checkpoint, so a dropped websocket,
a node without ``eth_subscribe`` or a notification about a block a reorg replaced cost latency
(back to polling), never an event lost or written twice.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

from chain.errors import RangeTooLargeError, RpcError
from chain.heads import HeadWatcher
from chain.retry import Backoff
from chain.rpc import BlockHeader, JsonRpcClient
from indexer import metrics, store
from indexer.db.migrate import check_schema, unreachable
from indexer.errors import (
    ChainInconsistentError,
    ChainMismatchError,
    DatabaseUnreachableError,
    IndexerConfigError,
    ReorgTooDeepError,
    ValueOutOfRangeError,
)
from indexer.events import ChainEvent, EventCatalog
from indexer.handlers import RangeApplier, jsonable_args, jsonable_fill
from indexer.live import TOPIC_OF, LiveEvent, NullPublisher, Publisher
from indexer.market_info import MarketInfo, read_market_info

logger = logging.getLogger(__name__)

_CHAIN_ORDER = attrgetter("block_number", "log_index")


@dataclass
class IngestConfig:
    """Tuning of the ingester.

    Attributes:
        confirmations: blocks to stay behind the head (0 on a local anvil).
        poll_interval: seconds to wait for new blocks when caught up (the longest wait when a
            head subscription wakes the ingester earlier).
        initial_range: blocks asked for in the first ``eth_getLogs``.
        max_range: most blocks in one range.
        target_logs: ranges grow while they bring fewer logs than this, shrink above it.
        outage_backoff: pause schedule after an RPC or database failure.
    """

    confirmations: int = 0
    poll_interval: float = 1.0
    initial_range: int = 500
    max_range: int = 20_000
    target_logs: int = 10_000
    outage_backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, cap=15.0))


@dataclass(frozen=True)
class StepResult:
    """What one step did: a committed range, a reorg undone, a retry, or nothing (caught up)."""

    from_block: int = 0
    to_block: int = 0
    events: int = 0
    reorged_to: int | None = None
    idle: bool = False
    retry: bool = False


#: Reorganisations in a row that find the checkpoint itself still on chain (nothing to undo)
#: before the ingester stops with :class:`ChainInconsistentError`.
MAX_REORGS_IN_PLACE = 3


class Ingester:
    """Follows one EnergyChain deployment into one database."""

    def __init__(
        self,
        engine: Engine,
        rpc: JsonRpcClient,
        addresses: dict[str, str],
        start_block: int,
        *,
        catalog: EventCatalog | None = None,
        publisher: Publisher | None = None,
        config: IngestConfig | None = None,
        heads: HeadWatcher | None = None,
    ) -> None:
        self.engine = engine
        self.heads = heads
        self.rpc = rpc
        self.addresses = dict(addresses)
        self.start_block = start_block
        self.catalog = catalog or EventCatalog.for_deployment(addresses)
        self.publisher: Publisher = publisher or NullPublisher()
        self.config = config or IngestConfig()
        self.range_size = self.config.initial_range
        self._ceiling = self.config.max_range  # lowered to below a range the node refused
        self.info: MarketInfo | None = None
        self._log_addresses = self.catalog.log_addresses
        self._reorgs_in_place = 0  # reorganisations in a row that undid nothing

    # ------------------------------------------------------------------ setup
    def prepare(self) -> store.Checkpoint:
        """Check the schema, bind the database to the deployment; returns the checkpoint.

        Raises:
            DatabaseUnreachableError: the database stopped answering during the checks (one
                line from the command line, like a database that never answered; a supervisor
                starts the indexer again).
        """
        check_schema(self.engine)  # a database that does not answer: DatabaseUnreachableError
        try:
            return self._prepare()
        except OperationalError as exc:  # it went away after the schema check (a crash)
            raise unreachable(self.engine, exc) from None

    def _prepare(self) -> store.Checkpoint:
        chain_id = self.rpc.chain_id()
        with self.engine.connect() as conn:
            info = store.stored_market_info(conn)
        if info is None:
            info = read_market_info(self.rpc, chain_id, self.addresses, self.start_block)
        elif _lowered(info.addresses) != _lowered(self.addresses):
            # the database was bound to other contracts (a city pool added since, say): their
            # events before the checkpoint were never read, so going on would index a part
            raise ChainMismatchError(
                f"the database indexes the deployment at {info.addresses}, not "
                f"{self.addresses}: use another database"
            )
        before_start = max(self.start_block - 1, 0)
        header = self.rpc.header(before_start)
        if header is None:
            raise IndexerConfigError(f"block {before_start} does not exist on the node")
        first = self.rpc.header(self.start_block) if self.start_block > 0 else None
        if first is not None and first.parent_hash != header.hash:
            # The start block is what the index builds on: anchor at the parent it names
            # (anvil re-hashes block 0 when it reloads a state file; the blocks after it keep
            # the old genesis hash as their parent).
            header = BlockHeader(
                before_start, first.parent_hash, header.parent_hash, header.timestamp
            )
        checkpoint = store.bind_deployment(self.engine, info, self.start_block, header)
        self.info = info
        metrics.CHECKPOINT_BLOCK.set(checkpoint.block_number)
        return checkpoint

    # ------------------------------------------------------------------ one step
    def step(self) -> StepResult:
        """Do one unit of work (see the module docstring)."""
        with _gc_paused():
            return self._step()

    def _step(self) -> StepResult:
        if self.info is None:
            self.prepare()
        head = self.rpc.block_number()
        metrics.HEAD_BLOCK.set(head)
        target = head - self.config.confirmations
        with self.engine.connect() as conn:
            cp = store.checkpoint(conn)
        if cp is None:
            raise IndexerConfigError("the database lost its indexer state: run prepare()")
        if cp.block_number >= target:
            return self._idle_check(cp, head)
        start = cp.block_number + 1
        end = min(target, cp.block_number + self.range_size)
        try:
            logs = self.rpc.get_logs(self._log_addresses, start, end)
        except RangeTooLargeError as exc:
            if end == start:
                raise
            self._ceiling = max(1, end - start)
            self.range_size = max(1, (end - start + 1) // 2)
            logger.info(
                "range %d-%d refused (%s); trying %d blocks", start, end, exc, self.range_size
            )
            return StepResult(from_block=start, to_block=end, retry=True)
        numbers = sorted({start, end} | {int(log["blockNumber"], 16) for log in logs})
        headers = self.rpc.headers(numbers)
        if start not in headers or end not in headers:
            return StepResult(from_block=start, to_block=end, retry=True)  # head went back
        if headers[start].parent_hash != cp.block_hash:
            return self._reorg(cp)
        for log in logs:
            header = headers.get(int(log["blockNumber"], 16))
            if log.get("removed") or header is None or header.hash != log["blockHash"]:
                logger.info("the chain changed while reading %d-%d; reading it again", start, end)
                return StepResult(from_block=start, to_block=end, retry=True)
        events = self._decode(logs, headers)
        self._commit(events, headers, headers[end], head)
        self._reorgs_in_place = 0
        self._adapt(len(logs))
        metrics.EVENTS_INGESTED.inc(len(events))
        metrics.RANGES_INGESTED.inc()
        metrics.CHECKPOINT_BLOCK.set(end)
        self._publish(events)
        return StepResult(from_block=start, to_block=end, events=len(events))

    def _decode(self, logs: list[Any], headers: dict[int, BlockHeader]) -> list[ChainEvent]:
        events: list[ChainEvent] = []
        for log in logs:
            time_ = headers[int(log["blockNumber"], 16)].timestamp
            event = self.catalog.decode_log(log, time_)
            if event is not None:
                events.append(event)
        # chain order, sorted on the decoded integers (parsing the hex keys again cost more)
        events.sort(key=_CHAIN_ORDER)
        return events

    def _commit(
        self,
        events: list[ChainEvent],
        headers: dict[int, BlockHeader],
        end: BlockHeader,
        head: int,
    ) -> None:
        assert self.info is not None
        info = self.info
        with self.engine.begin() as conn:
            treasury = store.current_treasury(conn, info)
            applier = RangeApplier(
                info,
                treasury,
                lambda ids: store.lookup_orders(conn, ids),
                lambda ids: store.lookup_commitments(conn, ids),
            )
            batch = applier.apply(events)
            store.write_range(conn, batch, headers, end, head)

    def _adapt(self, log_count: int) -> None:
        target = self.config.target_logs
        if log_count > target and self.range_size > 1:
            self.range_size = max(1, self.range_size // 2)
        elif log_count < target // 2:
            self.range_size = min(self._ceiling, self.range_size * 2)

    def _idle_check(self, cp: store.Checkpoint, head: int) -> StepResult:
        """Caught up: make sure the checkpoint block itself was not replaced."""
        header = self.rpc.header(cp.block_number)
        if header is None or header.hash != cp.block_hash:
            return self._reorg(cp)
        return StepResult(from_block=cp.block_number, to_block=cp.block_number, idle=True)

    # ------------------------------------------------------------------ reorganisations
    def find_last_good(self, cp: store.Checkpoint) -> BlockHeader:
        """The highest stored block that is still on the node's chain."""
        below = cp.block_number
        while True:
            with self.engine.connect() as conn:
                stored = store.stored_blocks_desc(conn, below, 32)
            if not stored:
                raise ReorgTooDeepError(
                    f"no stored block at or below {cp.block_number} is on the chain any more"
                )
            on_chain = self.rpc.headers([n for n, _ in stored])
            for number, block_hash in stored:
                header = on_chain.get(number)
                if header is not None and header.hash == block_hash:
                    return header
            below = stored[-1][0] - 1

    def _reorg(self, cp: store.Checkpoint) -> StepResult:
        good = self.find_last_good(cp)
        if good.number >= cp.block_number:
            # The checkpoint is still on chain, yet the next block does not build on it: a
            # fork switching under us resolves at the next look; a chain that does not link
            # up never does, and undoing nothing again and again would hide it.
            self._reorgs_in_place += 1
            if self._reorgs_in_place >= MAX_REORGS_IN_PLACE:
                raise ChainInconsistentError(
                    f"block {cp.block_number + 1} on the node does not build on block "
                    f"{cp.block_number} ({cp.block_hash}), which is on the node's chain too: "
                    "the node's chain is inconsistent (a node restarted from a state file "
                    "re-hashes its genesis); start the index at the deployment block or "
                    "re-index from a consistent node"
                )
            return StepResult(from_block=cp.block_number + 1, to_block=cp.block_number, retry=True)
        with self.engine.begin() as conn:
            deleted = store.rollback_to(conn, good)
        metrics.REORGS.inc()
        metrics.CHECKPOINT_BLOCK.set(good.number)
        removed = sum(n for t, n in deleted.items() if t != "blocks")
        logger.warning(
            "reorganisation: blocks after %d replaced; %d derived rows deleted, re-ingesting",
            good.number,
            removed,
        )
        self.publisher.publish(
            [
                LiveEvent(
                    topic="reorg",
                    name="Reorg",
                    block_number=good.number,
                    block_time=good.timestamp,
                    tx_hash="",
                    log_index=-1,
                    data={"last_good_block": good.number, "previous_checkpoint": cp.block_number},
                )
            ]
        )
        return StepResult(from_block=good.number, to_block=cp.block_number, reorged_to=good.number)

    # ------------------------------------------------------------------ live feed
    def _publish(self, events: list[ChainEvent]) -> None:
        if type(self.publisher) is NullPublisher:
            # Nobody listens (backfills, one-shot syncs): building a LiveEvent and a JSON-safe
            # copy of the arguments per event cost ~10% of a backfill for nothing.
            return
        live: list[LiveEvent] = []
        for e in events:
            topic = TOPIC_OF.get(e.name)
            if topic is None:
                continue
            data = jsonable_args(e.args)
            if e.name == "SlotCleared" and self.info is not None and e.args["volumeWh"] > 0:
                data["price"] = self.info.price(int(e.args["clearingTick"]))
            if e.name == "PoolCleared":
                data["fills"] = [jsonable_fill(fill) for fill in e.args["fills"]]
                if self.info is not None and e.args["volumeWh"] > 0:
                    data["price"] = self.info.price(int(e.args["clearingTick"]))
            live.append(
                LiveEvent(
                    topic=topic,
                    name=e.name,
                    block_number=e.block_number,
                    block_time=e.block_time,
                    tx_hash=e.tx_hash,
                    log_index=e.log_index,
                    data=data,
                )
            )
        if live:
            self.publisher.publish(live)

    # ------------------------------------------------------------------ loops
    def sync(self, until_block: int | None = None, max_steps: int = 1_000_000) -> int:
        """Step until caught up with the head (or ``until_block``); returns the checkpoint.

        Failures propagate (tests, one-shot backfills); :meth:`run` is the resilient loop.
        """
        for _ in range(max_steps):
            result = self.step()
            if result.idle:
                break
            if until_block is not None and result.to_block >= until_block and not result.retry:
                break
        with self.engine.connect() as conn:
            cp = store.checkpoint(conn)
        return cp.block_number if cp else -1

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        exit_when_idle: bool = False,
        on_step: Callable[[StepResult], None] | None = None,
    ) -> None:
        """Follow the chain until ``stop`` is set; pauses and retries on outages.

        With a :attr:`heads` watcher the loop starts it, sleeps until the node announces a
        block (or ``poll_interval`` passed) and stops it on the way out.
        """
        stop = stop or threading.Event()
        if self.heads is not None:
            self.heads.start()
        try:
            self._loop(stop, exit_when_idle, on_step)
        finally:
            if self.heads is not None:
                self.heads.stop()

    def _loop(
        self,
        stop: threading.Event,
        exit_when_idle: bool,
        on_step: Callable[[StepResult], None] | None,
    ) -> None:
        failures = 0
        while not stop.is_set():
            try:
                result = self.step()
                failures = 0
            except (RpcError, OperationalError, DBAPIError, DatabaseUnreachableError) as exc:
                if isinstance(exc, StatementError) and isinstance(exc.orig, ValueOutOfRangeError):
                    raise exc.orig from None
                cause = "rpc" if isinstance(exc, RpcError) else "database"
                metrics.OUTAGES.labels(cause).inc()
                delay = self.config.outage_backoff.delay(min(failures, 8)) + 0.05
                failures += 1
                logger.warning(
                    "ingestion paused (%s unavailable: %s); retrying in %.1f s",
                    cause,
                    _short(exc),
                    delay,
                )
                stop.wait(delay)
                continue
            except StatementError as exc:
                if isinstance(exc.orig, ValueOutOfRangeError):
                    raise exc.orig from None
                raise
            if on_step is not None:
                on_step(result)
            if result.idle:
                if exit_when_idle:
                    return
                self._wait_for_block(stop)

    def _wait_for_block(self, stop: threading.Event) -> None:
        """Caught up: sleep until a head notification, ``poll_interval`` or ``stop``."""
        if self.heads is None:
            stop.wait(self.config.poll_interval)
            return
        deadline = time.monotonic() + self.config.poll_interval
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.heads.wait(min(remaining, 0.1)):
                return


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during one step.

    A range allocates millions of objects that all live until its commit (the logs' JSON, the
    events, one dict and one tuple per row), so the collector ran full passes over an ever
    larger heap: 10-25% of a backfill's CPU time for nothing, since these objects hold no
    cycles and reference counting frees them when the step ends. The collector runs again
    as usual after the step (also between steps of :meth:`Ingester.run`).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _lowered(addresses: dict[str, str]) -> dict[str, str]:
    return {role: address.lower() for role, address in addresses.items()}


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds passed (helper for callers/tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
