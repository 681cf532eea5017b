"""Clocks and slot boundaries.

Readings are taken at clock-aligned slot boundaries (like OCPP's ClockAlignedDataInterval):
``epoch + k * slot_seconds`` (:class:`energychain.calendar.SlotCalendar`). The clock is
injected, so tests and demos can run slots fast:

- :class:`SystemClock`: wall time (production).
- :class:`VirtualClock`: virtual time that jumps from one sleeper's deadline to the next after a
  short real pause (``pace``), in deadline order, so concurrent tasks (a simulated meter that
  publishes at the boundary, the oracle that reads just after it) interleave as in real time.
- :class:`AnvilClock`: chain time on anvil; sleeping until ``t`` sets the next block's
  timestamp to ``t`` and mines it (``evm_setNextBlockTimestamp`` + ``evm_mine``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import time
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Unix time in seconds, and a way to wait for it."""

    def now(self) -> float: ...

    async def sleep_until(self, t: float) -> None: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, t: float) -> None:
        while (delay := t - time.time()) > 0:
            await asyncio.sleep(min(delay, 60.0))


class VirtualClock:
    """Virtual time for tests and demos: every wait resolves in deadline order.

    ``pace`` real seconds pass before each jump, which lets threads (MQTT network loops, Modbus
    servers) do their work between two virtual instants.
    """

    def __init__(self, start: float, *, pace: float = 0.0) -> None:
        self._now = float(start)
        self.pace = pace
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()
        self._driver: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()

    def now(self) -> float:
        return self._now

    def set(self, t: float) -> None:
        """Move time forward to ``t`` (never back), waking every sleeper due by then."""
        if t > self._now:
            self._now = t
        while self._heap and self._heap[0][0] <= self._now:
            _, _, future = heapq.heappop(self._heap)
            if not future.done():
                future.set_result(None)

    async def sleep_until(self, t: float) -> None:
        if t <= self._now:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (e.g. a second asyncio.run): start over
            self._loop, self._driver, self._wake = loop, None, asyncio.Event()
            self._heap = [entry for entry in self._heap if not entry[2].done()]
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._heap, (t, next(self._counter), future))
        self._wake.set()
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await future

    async def _drive(self) -> None:
        while True:
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            await asyncio.sleep(self.pace)
            self._heap = [entry for entry in self._heap if not entry[2].done()]
            heapq.heapify(self._heap)
            if self._heap:
                self.set(self._heap[0][0])


class AnvilClock:
    """Chain time of an anvil node, moved forward on demand.

    :meth:`now` is the timestamp of the latest block (cached, refreshed by :meth:`refresh` and
    by every jump); :meth:`sleep_until` waits ``pace`` real seconds, then mines a block stamped
    ``t``. Only for anvil (it uses anvil's ``evm_*`` methods).
    """

    def __init__(self, rpc_url: str, *, pace: float = 0.0) -> None:
        self.rpc_url = rpc_url
        self.pace = pace
        self._now = float(self._latest_timestamp())

    def _rpc(self, method: str, params: list[Any] | None = None) -> Any:
        from chain.local_node import rpc_request

        return rpc_request(self.rpc_url, method, params or [], timeout=5)

    def _latest_timestamp(self) -> int:
        block = self._rpc("eth_getBlockByNumber", ["latest", False])
        return int(block["timestamp"], 16)

    def refresh(self) -> float:
        self._now = float(self._latest_timestamp())
        return self._now

    def now(self) -> float:
        return self._now

    async def sleep_until(self, t: float) -> None:
        await asyncio.sleep(self.pace)
        target = math.ceil(t)
        current = await asyncio.to_thread(self._latest_timestamp)
        if target > current:
            await asyncio.to_thread(self._rpc, "evm_setNextBlockTimestamp", [target])
            await asyncio.to_thread(self._rpc, "evm_mine")
        self._now = float(max(target, current))


class ChainClock:
    """Chain time of a node someone else moves (a soak, a demo driving anvil): never mines.

    :meth:`now` is the timestamp of the latest block seen; :meth:`sleep_until` polls the node
    every ``poll`` seconds until a block stamped ``t`` or later exists. A node that does not
    answer is waited for (the oracle's outbox keeps what was signed), so an outage of the
    node only delays the next boundary.
    """

    def __init__(self, rpc_url: str, *, poll: float = 0.2) -> None:
        self.rpc_url = rpc_url
        self.poll = poll
        self._now = 0.0
        with contextlib.suppress(Exception):
            self.refresh()

    def _latest_timestamp(self) -> int:
        from chain.local_node import rpc_request

        block = rpc_request(self.rpc_url, "eth_getBlockByNumber", ["latest", False], timeout=2)
        return int(block["timestamp"], 16)

    def refresh(self) -> float:
        self._now = max(self._now, float(self._latest_timestamp()))
        return self._now

    def now(self) -> float:
        return self._now

    async def sleep_until(self, t: float) -> None:
        while self._now < t:
            await asyncio.sleep(self.poll)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:
                continue
