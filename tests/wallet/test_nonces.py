"""NonceManager: unique nonces under concurrency, no gaps after failed sends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from wallet.nonces import NonceManager


def test_nonces_start_at_the_pending_count() -> None:
    nonces = NonceManager(lambda: 7)
    assert [nonces.reserve() for _ in range(3)] == [7, 8, 9]


def test_concurrent_reservations_are_unique_and_consecutive() -> None:
    nonces = NonceManager(lambda: 0)
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(lambda _: nonces.reserve(), range(500)))
    assert sorted(got) == list(range(500))


def test_released_top_nonce_is_reused_next() -> None:
    nonces = NonceManager(lambda: 0)
    first, second = nonces.reserve(), nonces.reserve()
    nonces.release(second)
    assert nonces.reserve() == second
    assert first == 0


def test_released_nonce_below_the_top_fills_the_gap_first() -> None:
    nonces = NonceManager(lambda: 0)
    taken = [nonces.reserve() for _ in range(3)]
    nonces.release(taken[1])
    assert nonces.gaps == [1]
    assert nonces.reserve() == 1
    assert nonces.reserve() == 3
    assert nonces.gaps == []


def test_resync_reads_the_node_again() -> None:
    counts = iter([0, 10])
    nonces = NonceManager(lambda: next(counts))
    assert nonces.reserve() == 0
    nonces.resync()
    assert nonces.reserve() == 10
