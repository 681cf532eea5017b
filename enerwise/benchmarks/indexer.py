"""Indexer benchmarks: backfill rate, API latency under load, block-to-SSE lag.

``run()`` builds one market history on a fresh anvil, then measures:

- ``backfill``: events/s of a backfill from the deployment block into a fresh SQLite file and
  a fresh PostgreSQL database (target >= 12,000 events/s, issue 19). The history is cheap to make:
  ``placeOrders`` batches of 50 buy orders (one tx = 50 ``OrderPlaced`` events) sent with
  ``TransactionSender.send_batch``, plus ``trade_slots`` slots with real trades (signed meter
  readings, energy deposits, sells, buys, clearing), so prices exist.
- ``api_sqlite_<rate>``: ``enerwise indexer serve`` runs in its own process; a third process
  (the load generator, uvloop) sends an open-loop load of each of ``load_rates`` requests/s
  for ``load_seconds`` (bounded, loopback only; after one unrecorded warm-up second),
  alternating order-book depth of a busy slot and the price history, and reports p50/p99
  latency (targets: p99 <= 10 ms at 500 requests/s, <= 25 ms at 1,000).
- ``sse_lag``: a server with ``--ingest`` on a second anvil with a small history (see
  :func:`_lag_figures`: anvil's own block time grows with its state); one order at a time is
  sent and the time from its ``eth_sendRawTransaction`` until its SSE event arrives is
  measured (target p50 <= 30 ms, p99 <= 100 ms), once polling only (``sse_lag_polling``,
  ``ENERWISE_WS_URL=off``: the 0.2 s poll of before) and once following the node's
  ``newHeads`` subscription.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from hexbytes import HexBytes
from sqlalchemy import text

from chain.compiler import compile_contracts
from chain.local_node import free_port, start_anvil
from chain.rpc import JsonRpcClient
from devchain.sandbox import Participant, Sandbox
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from indexer.ingest import IngestConfig, Ingester, wait_for

logger = logging.getLogger(__name__)

ORDERS_PER_TX = 50
LAG_HISTORY_EVENTS = 2_000
PG_ADMIN_URL = os.environ.get(
    "ENERWISE_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REPO = Path(__file__).resolve().parents[2]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def build_history(c: Sandbox, events: int, trade_slots: int) -> dict[str, Any]:
    """Make at least ``events`` EnergyChain events on ``c``'s chain; returns what was made."""
    seller = c.new_participant()
    buyers = [c.new_participant() for _ in range(4)]
    for buyer in buyers:
        c.fund_payment(buyer, 10**13)
    (meter,) = c.register_meters([seller.address], capacity_wh=10**9)
    s0 = c.current_slot()
    c.submit_readings(
        [c.signed_reading(meter, c.slot_start(s0), 0, 0)], archive_cid=b"bench-baseline"
    )
    for k in range(trade_slots):
        slot = s0 + k
        c.advance_to(max(c.slot_start(slot + 1), c.dev.now() + 1))
        c.submit_readings(
            [c.signed_reading(meter, c.slot_start(slot + 1), 100, 5_000)],
            archive_cid=f"bench-{slot}".encode(),
        )
        c.deposit_energy(seller, slot, 5_000)
        c.place_orders(seller, [(slot, False, 100 + 7 * k, 2_500), (slot, False, 400, 2_500)])
        c.place_orders(
            buyers[k % len(buyers)], [(slot, True, 300 + 11 * k, 3_000), (slot, True, 50, 1_000)]
        )
    first_bulk = c.current_slot() + 2
    bulk_slots = 48
    rng = random.Random(7)
    txs = max(1, -(-events // ORDERS_PER_TX))
    started = time.perf_counter()
    per_buyer: dict[int, list[Any]] = {i: [] for i in range(len(buyers))}
    for n in range(txs):
        batch = [
            (
                first_bulk + rng.randrange(bulk_slots),
                True,
                rng.randrange(0, 2_000),
                10 + rng.randrange(90),
            )
            for _ in range(ORDERS_PER_TX)
        ]
        per_buyer[n % len(buyers)].append(batch)
    for i, batches in per_buyer.items():  # sequential: concurrent batches only contend
        _send_orders(buyers[i], c, batches)
    send_seconds = time.perf_counter() - started
    for k in range(trade_slots):
        c.clear(s0 + k)
    return {
        "first_slot": s0,
        "trade_slots": trade_slots,
        "busy_slot": first_bulk,
        "order_txs": txs,
        "generation_seconds": round(send_seconds, 1),
        "admin": c.admin.address,
    }


def _send_orders(owner: Participant, c: Sandbox, batches: list[Any]) -> None:
    for start in range(0, len(batches), 100):
        owner.sender.send_batch(
            [c.orders_request(owner.address, b) for b in batches[start : start + 100]]
        )


def _backfill(url: str, node_url: str, c: Sandbox) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    ingester = Ingester(
        engine,
        JsonRpcClient(node_url),
        c.deployment.addresses,
        c.deployment.block_number,
        config=IngestConfig(initial_range=2_000, max_range=50_000, target_logs=20_000),
    )
    ingester.prepare()
    started = time.perf_counter()
    ingester.sync()
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())
    engine.dispose()
    return {
        "events": count,
        "seconds": round(seconds, 2),
        "events_per_s": round(count / seconds) if seconds else None,
    }


@dataclasses.dataclass(frozen=True)
class _HistoryChain:
    """A fresh anvil holding market history: its URL, the sandbox on it, a scratch folder with
    the deployment record, and what the history holds (:func:`build_history`)."""

    rpc_url: str
    sandbox: Sandbox
    folder: Path
    deployment: Path
    history: dict[str, Any]


@contextlib.contextmanager
def _chain_with_history(events: int, trade_slots: int) -> Iterator[_HistoryChain]:
    """A fresh anvil (gas limit raised for the batches) with at least ``events`` events of
    ``trade_slots`` slots, its deployment record in a scratch folder; both go afterwards."""
    with (
        start_anvil(extra_args=["--gas-limit", "100000000"]) as node,
        tempfile.TemporaryDirectory() as tmp,
    ):
        c = Sandbox.at(node.rpc_url)
        history = build_history(c, events, trade_slots)
        deployment = c.deployment.save(Path(tmp) / "deployment.json")
        yield _HistoryChain(node.rpc_url, c, Path(tmp), deployment, history)


@contextlib.contextmanager
def _postgres_database() -> Iterator[str]:
    name = f"enerwise_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def _server(
    db_url: str, node_url: str, deployment: Path, *, ingest: bool, ws_url: str | None = None
) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "ENERWISE_RATE_LIMIT_PER_MINUTE": "0"}
    if ws_url is not None:
        env["ENERWISE_WS_URL"] = ws_url
    cmd = [
        sys.executable,
        "-m",
        "enerwise",
        "indexer",
        "serve",
        "--database-url",
        db_url,
        "--rpc-url",
        node_url,
        "--deployment",
        str(deployment),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if ingest:
        cmd.append("--ingest")
    process = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{base}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        if not wait_for(up, timeout=90, interval=0.1):  # slow start on a loaded machine
            raise RuntimeError("the API server did not start")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def _load(
    base: str, paths: list[str], rate: float, seconds: float, connections: int = 32
) -> dict[str, Any]:
    """Open-loop load: request n is due at ``n / rate`` s (``rate * seconds`` requests in all).

    Latency is measured from the due time, so time spent waiting for a free connection counts
    (no coordinated omission). The client is a minimal HTTP/1.1 keep-alive client on asyncio
    streams: httpx costs ~1 ms of CPU per request, which on 2 cores would be the bottleneck.
    """
    host, port = base.removeprefix("http://").split(":")
    total = int(rate * seconds)
    queue: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()
    latencies: dict[str, list[float]] = {p.split("?")[0]: [] for p in paths}
    errors = [0]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while (item := await queue.get()) is not None:
                path, due = item
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if status != 200:
                    errors[0] += 1
                latencies[path.split("?")[0]].append(time.perf_counter() - due)
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    begin = time.perf_counter()
    for n in range(total):
        due = begin + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((paths[n % len(paths)], due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - begin
    everything = [v for values in latencies.values() for v in values]
    result: dict[str, Any] = {
        "requests": total,
        "errors": errors[0],
        "offered_rate": rate,
        "achieved_rate": round(len(everything) / elapsed, 1),
        "p50_ms": round(_percentile(everything, 50) * 1000, 2),
        "p99_ms": round(_percentile(everything, 99) * 1000, 2),
    }
    for path, values in latencies.items():
        result[path] = {
            "p50_ms": round(_percentile(values, 50) * 1000, 2),
            "p99_ms": round(_percentile(values, 99) * 1000, 2),
        }
    return result


def _load_in_process(base: str, paths: list[str], rate: float, seconds: float) -> dict[str, Any]:
    """:func:`_load` in a process of its own (after one unrecorded warm-up second), so the
    load generator shares neither a GIL nor an event loop with this process's threads."""
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        pool.submit(_run_load, base, paths, rate, 1.0).result()
        return pool.submit(_run_load, base, paths, rate, seconds).result()


def _run_load(base: str, paths: list[str], rate: float, seconds: float) -> dict[str, Any]:
    import uvloop

    return uvloop.run(_load(base, paths, rate, seconds))


def _sse_lag(base: str, c: Sandbox, samples: int, how: str) -> dict[str, Any]:
    """Send one order at a time; time from just before its send to its SSE event.

    The transaction is signed with a preset gas limit and fee, so the clock starts at
    ``eth_sendRawTransaction``: the figure includes mining (anvil automine), the node's
    notification, the ingester's step and commit, the hub and the SSE write (an upper bound of
    block -> SSE).
    """
    arrivals: dict[str, float] = {}
    ready = threading.Event()
    done = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(timeout=30) as client,
            client.stream("GET", f"{base}/v1/stream?topics=orders") as response,
        ):
            kind = None
            for line in response.iter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind == "ready":
                    ready.set()
                elif line.startswith("data:") and kind == "orders":
                    data = json.loads(line.split(":", 1)[1])
                    arrivals[data["tx_hash"]] = time.perf_counter()
                if done.is_set():
                    return

    def listen_quietly() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server stops first at the end
            listen()

    thread = threading.Thread(target=listen_quietly, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the SSE stream did not open")
    buyer = c.new_participant()
    c.fund_payment(buyer, 10**9)
    slot = c.current_slot() + 1
    sender = buyer.sender
    gas = sender.estimate_gas(c.contracts.market.place_order(buyer.address, slot, True, 10, 10))
    fees = sender.fees()
    lags: list[float] = []
    for n in range(samples):
        req = dataclasses.replace(
            c.contracts.market.place_order(buyer.address, slot, True, 10 + n % 1_000, 10),
            gas=gas * 2,
        )
        sent = time.perf_counter()
        tx_hash = sender.send(req, fees=fees).to_0x_hex()

        def arrived(h: str = tx_hash) -> bool:
            return h in arrivals

        if wait_for(arrived, timeout=5, interval=0.0005):
            lags.append(arrivals[tx_hash] - sent)
        sender.wait(HexBytes(tx_hash))
        time.sleep(0.02 + random.random() * 0.03)  # not in phase with anything periodic
    done.set()
    return {
        "samples": len(lags),
        "lost": samples - len(lags),
        "p50_ms": round(_percentile(lags, 50) * 1000, 1),
        "p99_ms": round(_percentile(lags, 99) * 1000, 1),
        "max_ms": round(max(lags) * 1000, 1) if lags else None,
        "note": f"eth_sendRawTransaction -> SSE event received ({how})",
    }


def run(
    events: int = 100_000,
    *,
    postgres: bool = True,
    trade_slots: int = 12,
    load_rates: tuple[float, ...] = (500.0, 1_000.0),
    load_seconds: float = 10.0,
    lag_samples: int = 200,
) -> dict[str, Any]:
    """Run the three measurements and return the figures (see the module docstring)."""
    compile_contracts()
    figures: dict[str, Any] = {"target_events": events}
    with _chain_with_history(events, trade_slots) as chain:
        c, rpc_url, history = chain.sandbox, chain.rpc_url, chain.history
        figures["history"] = history
        sqlite_url = f"sqlite:///{chain.folder}/bench.sqlite3"
        figures["backfill_sqlite"] = _backfill(sqlite_url, rpc_url, c)
        if postgres:
            with _postgres_database() as pg_url:
                figures["backfill_postgresql"] = _backfill(pg_url, rpc_url, c)
        paths = [f"/v1/slots/{history['busy_slot']}/depth", "/v1/prices?limit=500"]
        with _server(sqlite_url, rpc_url, chain.deployment, ingest=False) as base:
            for rate in load_rates:
                figures[f"api_sqlite_{rate:g}"] = _load_in_process(base, paths, rate, load_seconds)
    figures.update(_lag_figures(lag_samples))
    figures["machine"] = f"{os.cpu_count()} cores, anvil automine, loopback"
    return figures


def _lag_figures(samples: int) -> dict[str, Any]:
    """SSE lag on a chain of its own with a small history (``LAG_HISTORY_EVENTS``).

    anvil's block production slows as its state grows (one order's send -> receipt: 6 ms on an
    empty chain, ~60 ms after 20,000 orders, ~100 ms after 30,000, measured 2026-12-04 with
    the indexer not running): on the backfill's chain the lag would be mostly the node's.
    """
    with _chain_with_history(LAG_HISTORY_EVENTS, 2) as chain:
        c, rpc_url = chain.sandbox, chain.rpc_url
        url = f"sqlite:///{chain.folder}/lag.sqlite3"
        _backfill(url, rpc_url, c)
        figures: dict[str, Any] = {}
        # the same lag, first with the subscription switched off (the 0.2 s poll of before)
        with _server(url, rpc_url, chain.deployment, ingest=True, ws_url="off") as base:
            figures["sse_lag_polling"] = _sse_lag(base, c, samples, "polling every 0.2 s")
        with _server(url, rpc_url, chain.deployment, ingest=True) as base:
            figures["sse_lag"] = _sse_lag(base, c, samples, "newHeads subscription")
        return figures
