"""Nonces for one key shared by concurrent senders.

The node's pending count is read once; afterwards nonces are handed out locally, so 50 threads
sending from one key get 50 distinct, consecutive nonces without 50 round trips. A send that
fails before the node accepted it gives its nonce back (:meth:`NonceManager.release`), and the
next reservation takes the lowest returned nonce first, so no gap stays behind to block the
account. "nonce too low" from the node means someone else used the key: :meth:`resync`.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable


class NonceManager:
    """Hands out unique nonces for one account; thread-safe."""

    def __init__(self, fetch_pending_count: Callable[[], int]) -> None:
        self._fetch = fetch_pending_count
        self._lock = threading.Lock()
        self._next: int | None = None
        self._returned: list[int] = []

    def reserve(self) -> int:
        """The nonce for the next transaction: a returned one first, else the next fresh one."""
        with self._lock:
            if self._next is None:
                self._next = self._fetch()
            if self._returned:
                return heapq.heappop(self._returned)
            nonce = self._next
            self._next += 1
            return nonce

    def release(self, nonce: int) -> None:
        """Give back a nonce whose transaction never reached the node."""
        with self._lock:
            if self._next is None:
                return
            heapq.heappush(self._returned, nonce)
            # Shrink from the top so the counter never runs ahead of what was really sent.
            while self._returned and self._next - 1 in self._returned:
                self._returned.remove(self._next - 1)
                heapq.heapify(self._returned)
                self._next -= 1

    def resync(self) -> None:
        """Forget local state and read the pending count from the node again."""
        with self._lock:
            self._next = self._fetch()
            self._returned = [n for n in self._returned if n >= self._next]
            heapq.heapify(self._returned)

    @property
    def gaps(self) -> list[int]:
        """Nonces given back below the counter: they must be used (or filled) to unblock."""
        with self._lock:
            return sorted(self._returned)
