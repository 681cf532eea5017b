"""Following new blocks by ``eth_subscribe("newHeads")``, and falling back to polling.

The subscription only wakes the ingester; these tests check that it does (a block is indexed
long before the poll interval), and that a dropped websocket, a node without
``eth_subscribe`` and a reorganisation during a subscription lose no event and write none
twice, in the database and on the live feed.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, text
from websockets.sync.server import ServerConnection, serve

from chain.heads import HeadWatcher, ws_url_for
from chain.local_node import free_port
from chain.retry import Backoff
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from indexer.ingest import Ingester, wait_for
from indexer.live import TOPIC_OF, LiveEvent
from tests.indexer.conftest import Played, snapshot

FAST_RECONNECT = Backoff(base=0.05, cap=0.2, jitter=0.0)


class Recorder:
    def __init__(self) -> None:
        self.events: list[LiveEvent] = []

    def publish(self, events: Sequence[LiveEvent]) -> None:
        self.events.extend(events)


class CuttableProxy:
    """A TCP relay to ``upstream`` that can drop every connection and refuse new ones."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.blocked = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.blocked:
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every open connection; refuse new ones until :meth:`restore`."""
        self.blocked = True
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.blocked = False

    def close(self) -> None:
        self.cut()
        self._listener.close()


class RunningIngester:
    """``Ingester.run`` in a thread until the ``with`` block ends."""

    def __init__(self, ingester: Ingester) -> None:
        self.ingester = ingester
        self.stop = threading.Event()
        self.thread = threading.Thread(target=ingester.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> RunningIngester:
        self.ingester.prepare()
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def _checkpoint(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT block_number FROM indexer_state")).scalar_one())


def _indexed_up_to(engine: Engine, block: int, timeout: float) -> bool:
    return wait_for(lambda: _checkpoint(engine) >= block, timeout=timeout, interval=0.01)


def _live_keys(engine: Engine) -> set[tuple[str, int]]:
    """(tx hash, log index) of every stored event that the live feed publishes."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, tx_hash, log_index FROM events")).all()
    return {(tx, int(index)) for name, tx, index in rows if name in TOPIC_OF}


def _fresh_snapshot(played: Played, tmp_path: Any) -> dict[str, Any]:
    fresh = make_engine(f"sqlite:///{tmp_path}/fresh.sqlite3")
    upgrade(fresh)
    played.ingester(fresh).sync()
    result = snapshot(fresh)
    fresh.dispose()
    return result


@pytest.fixture
def proxy(played: Played) -> Iterator[CuttableProxy]:
    host, port = played.node.rpc_url.removeprefix("http://").split(":")
    relay = CuttableProxy((host, int(port)))
    yield relay
    relay.close()


def test_ws_url_for_maps_http_to_ws_and_https_to_wss() -> None:
    assert ws_url_for("http://127.0.0.1:8545") == "ws://127.0.0.1:8545"
    assert ws_url_for("https://node.example/v3/key") == "wss://node.example/v3/key"
    assert ws_url_for("wss://node.example/ws") == "wss://node.example/ws"
    with pytest.raises(ValueError, match="not an http"):
        ws_url_for("ipc:///tmp/node.ipc")


def test_the_watcher_is_woken_by_each_block_anvil_announces(played: Played) -> None:
    watcher = HeadWatcher(ws_url_for(played.node.rpc_url)).start()
    try:
        assert watcher.wait_for_mode("subscribed", timeout=10)
        watcher.wait(0)  # the wake-up given on subscribing
        played.community.dev.mine()
        assert watcher.wait(5)
        assert watcher.stats.last_head == played.community.w3.eth.block_number
    finally:
        watcher.stop()
    assert watcher.mode == "stopped"


def test_a_subscribed_ingester_indexes_a_new_block_long_before_its_poll_interval(
    played: Played, engine: Engine
) -> None:
    ingester = played.ingester(engine, poll_interval=60.0)
    ingester.heads = HeadWatcher(ws_url_for(played.node.rpc_url))
    with RunningIngester(ingester):
        assert ingester.heads.wait_for_mode("subscribed", timeout=10)
        head = played.community.w3.eth.block_number
        assert _indexed_up_to(engine, head, timeout=20)  # the first sync needs no wake-up
        played.community.fund_payment(played.community.new_participant(), 1_000)
        assert _indexed_up_to(engine, head + 1, timeout=10)  # polling would wait 60 s


def test_a_dropped_websocket_falls_back_to_polling_and_resubscribes_losing_no_event(
    played: Played, engine: Engine, proxy: CuttableProxy, tmp_path: Any
) -> None:
    c, recorder = played.community, Recorder()
    ingester = played.ingester(engine, poll_interval=0.2)
    ingester.publisher = recorder
    ingester.heads = HeadWatcher(proxy.url, reconnect=FAST_RECONNECT)
    buyers = [c.new_participant() for _ in range(3)]
    for buyer in buyers:
        c.fund_payment(buyer, 10**9)
    with RunningIngester(ingester):
        assert ingester.heads.wait_for_mode("subscribed", timeout=10)
        c.place_orders(buyers[0], [(c.current_slot() + 2, True, 10, 100)])
        assert _indexed_up_to(engine, c.w3.eth.block_number, timeout=10)

        proxy.cut()
        assert ingester.heads.wait_for_mode("polling", timeout=10)
        c.place_orders(buyers[1], [(c.current_slot() + 2, True, 11, 100)])
        assert _indexed_up_to(engine, c.w3.eth.block_number, timeout=10)  # by polling

        proxy.restore()
        assert ingester.heads.wait_for_mode("subscribed", timeout=10)
        c.place_orders(buyers[2], [(c.current_slot() + 2, True, 12, 100)])
        assert _indexed_up_to(engine, c.w3.eth.block_number, timeout=10)
    assert ingester.heads.stats.drops >= 1 and ingester.heads.stats.subscriptions >= 2
    published = [(e.tx_hash, e.log_index) for e in recorder.events]
    assert len(published) == len(set(published))  # nothing published twice
    assert set(published) == _live_keys(engine)  # nothing left out
    assert snapshot(engine) == _fresh_snapshot(played, tmp_path)


def _refusing_node(handler: Any) -> tuple[Any, str]:
    """A websocket server on a free port running ``handler`` per connection."""
    server = serve(handler, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.socket.getsockname()[:2]
    return server, f"ws://{host}:{port}"


def _method_not_found(conn: ServerConnection) -> None:
    for raw in conn:
        request = json.loads(raw)
        error = {"code": -32601, "message": "the method eth_subscribe does not exist"}
        conn.send(json.dumps({"jsonrpc": "2.0", "id": request["id"], "error": error}))


def test_a_node_without_eth_subscribe_is_polled_and_loses_no_event(
    played: Played, engine: Engine
) -> None:
    server, url = _refusing_node(_method_not_found)
    c = played.community
    ingester = played.ingester(engine, poll_interval=0.1)
    ingester.heads = HeadWatcher(url, reconnect=FAST_RECONNECT)
    buyer = c.new_participant()
    c.fund_payment(buyer, 10**9)
    try:
        with RunningIngester(ingester):
            assert ingester.heads.wait_for_mode("unsupported", timeout=10)
            c.place_orders(buyer, [(c.current_slot() + 2, True, 10, 100)])
            assert _indexed_up_to(engine, c.w3.eth.block_number, timeout=10)
    finally:
        server.shutdown()
    assert ingester.heads.stats.refusals == 1  # asked once, not in a loop
    assert "does not exist" in ingester.heads.stats.last_error


def test_an_endpoint_that_refuses_the_websocket_handshake_counts_as_no_subscription() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def http_only() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    threading.Thread(target=http_only, daemon=True).start()
    watcher = HeadWatcher(f"ws://127.0.0.1:{port}").start()
    try:
        assert watcher.wait_for_mode("unsupported", timeout=10)
        assert "405" in watcher.stats.last_error
    finally:
        watcher.stop()
        listener.close()


def test_a_reorganisation_during_a_subscription_is_undone_and_republished_once(
    played: Played, engine: Engine, tmp_path: Any
) -> None:
    c, recorder = played.community, Recorder()
    ingester = played.ingester(engine, poll_interval=60.0)  # only notifications wake it
    ingester.publisher = recorder
    ingester.heads = HeadWatcher(ws_url_for(played.node.rpc_url))
    first, second = c.new_participant(), c.new_participant()
    c.fund_payment(first, 10**9)
    c.fund_payment(second, 10**9)
    with RunningIngester(ingester):
        assert ingester.heads.wait_for_mode("subscribed", timeout=10)
        assert _indexed_up_to(engine, c.w3.eth.block_number, timeout=20)
        snapshot_id = c.dev.snapshot()
        c.place_orders(first, [(c.current_slot() + 2, True, 10, 100)])  # to be replaced
        assert _indexed_up_to(engine, c.w3.eth.block_number, timeout=10)
        c.dev.revert(snapshot_id)
        c.place_orders(second, [(c.current_slot() + 2, True, 20, 100)])
        c.place_orders(second, [(c.current_slot() + 2, True, 21, 100)])  # a longer chain
        head = c.w3.eth.block_number

        def reorg_undone() -> bool:
            return any(e.topic == "reorg" for e in recorder.events) and _checkpoint(engine) >= head

        assert wait_for(
            reorg_undone,
            timeout=10,
            interval=0.01,
        )
    reorgs = [i for i, e in enumerate(recorder.events) if e.topic == "reorg"]
    assert len(reorgs) == 1
    last_good = recorder.events[reorgs[0]].data["last_good_block"]
    kept = {
        (e.tx_hash, e.log_index)
        for e in recorder.events[: reorgs[0]]
        if e.block_number <= last_good
    }
    after = [(e.tx_hash, e.log_index) for e in recorder.events[reorgs[0] + 1 :]]
    assert len(after) == len(set(after))  # the new branch published once
    assert kept | set(after) == _live_keys(engine)  # what the feed says stands = the database
    assert snapshot(engine) == _fresh_snapshot(played, tmp_path)
