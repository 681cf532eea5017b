"""One retry policy for everything that waits on a node, a broker or a service.

:class:`Backoff` is exponential with jitter: the wait after the ``n``-th failure (``n`` from 0)
is drawn from ``[(1 - jitter) * d, d]`` with ``d = min(cap, base * 2**n)``. ``jitter=1`` is "full
jitter" (``uniform(0, d)``: many clients that failed together do not retry together), ``jitter=0``
waits exactly ``d``. :meth:`Backoff.call` runs a function up to ``attempts`` times.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter (see the module docstring).

    Attributes:
        base: the first wait's upper bound, seconds.
        cap: the longest wait, seconds.
        attempts: how many times :meth:`call` tries (at least 1).
        jitter: the fraction of each wait that is random, 0..1.
    """

    base: float = 0.2
    cap: float = 10.0
    attempts: int = 5
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0 or self.attempts < 1 or not 0 <= self.jitter <= 1:
            raise ValueError(
                f"backoff needs base, cap >= 0, attempts >= 1, jitter in 0..1, not {self}"
            )

    def delay(self, failures: int) -> float:
        """The wait after ``failures + 1`` consecutive failures (``failures`` counts from 0)."""
        ceiling = min(self.cap, self.base * 2.0 ** min(failures, 64))
        return ceiling * (1.0 - self.jitter * random.random())

    def call(
        self,
        fn: Callable[[], _T],
        retry_on: tuple[type[BaseException], ...],
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[int, BaseException, float], None] | None = None,
    ) -> _T:
        """``fn()``, tried up to :attr:`attempts` times while it raises one of ``retry_on``.

        ``on_retry(attempt, error, delay)`` is told before each wait; the last failure is
        raised as it is.
        """
        for attempt in range(self.attempts):
            try:
                return fn()
            except retry_on as exc:
                if attempt + 1 >= self.attempts:
                    raise
                wait = self.delay(attempt)
                if on_retry is not None:
                    on_retry(attempt + 1, exc, wait)
                sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
