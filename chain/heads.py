"""New-block notifications: ``eth_subscribe("newHeads")`` over a websocket, polling as fallback.

A :class:`HeadWatcher` keeps one websocket to the node in a daemon thread and wakes its
consumer (:meth:`HeadWatcher.wait`) the moment the node announces a block. It is only a
*signal*: the consumer still reads what it needs over JSON-RPC (the indexer asks for logs from
its database checkpoint), so a notification that is lost, late, repeated or about a block that
a reorganisation replaced changes nothing but the latency. That is what makes the fallback
safe: whenever there is no subscription, :meth:`wait` simply times out after the consumer's
poll interval, as polling did before.

States (:attr:`HeadWatcher.mode`):

- ``connecting``: opening the websocket and subscribing (the consumer polls meanwhile);
- ``subscribed``: notifications arrive; every one sets the wake-up event;
- ``polling``: the websocket could not be opened or dropped; reconnects with
  :class:`chain.retry.Backoff` (0.5 s doubling to 30 s) and wakes the consumer once when the
  subscription is back, so blocks announced while it was down are read at once;
- ``unsupported``: the node answered ``eth_subscribe`` with an error (a node without the
  method) or refused the websocket handshake (an HTTP-only endpoint): polling, and asking
  again only every ``unsupported_retry`` seconds;
- ``stopped``.

The websocket is websockets' threading client (``websockets.sync.client.connect``, one thread,
``recv()`` blocking; :meth:`stop` closes the socket to end it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from chain.retry import Backoff

logger = logging.getLogger(__name__)

Mode = Literal["connecting", "subscribed", "polling", "unsupported", "stopped"]

#: Reconnect schedule after a dropped or refused websocket.
RECONNECT = Backoff(base=0.5, cap=30.0, jitter=0.5)


class SubscriptionRefusedError(Exception):
    """The node answered ``eth_subscribe`` with a JSON-RPC error."""


def ws_url_for(rpc_url: str) -> str:
    """The websocket URL a node serves beside ``rpc_url`` (anvil and reth: the same port).

    ``http://host:port/path`` -> ``ws://host:port/path``, ``https`` -> ``wss``; a ``ws(s)://``
    URL is returned as it is.
    """
    if rpc_url.startswith(("ws://", "wss://")):
        return rpc_url
    if rpc_url.startswith("https://"):
        return "wss://" + rpc_url.removeprefix("https://")
    if rpc_url.startswith("http://"):
        return "ws://" + rpc_url.removeprefix("http://")
    raise ValueError(f"{rpc_url}: not an http(s):// or ws(s):// URL")


@dataclass
class HeadStats:
    """What the watcher saw, for logs, metrics and tests."""

    notifications: int = 0
    subscriptions: int = 0
    drops: int = 0
    refusals: int = 0
    last_head: int | None = None
    last_error: str = ""


@dataclass
class HeadWatcher:
    """Wakes a consumer on every new block the node announces (see the module docstring).

    Attributes:
        url: the node's websocket endpoint (``ws://`` or ``wss://``).
        open_timeout: seconds to open the websocket and to get the subscription's answer.
        unsupported_retry: seconds between attempts once the node refused ``eth_subscribe``.
        reconnect: pause schedule after a failure to connect or a dropped socket.
    """

    url: str
    open_timeout: float = 5.0
    unsupported_retry: float = 300.0
    reconnect: Backoff = RECONNECT
    mode: Mode = "connecting"
    stats: HeadStats = field(default_factory=HeadStats)

    def __post_init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._socket: ClientConnection | None = None
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition(self._lock)

    # ------------------------------------------------------------------ consumer side
    def start(self) -> HeadWatcher:
        """Start the watcher's thread (once); returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="head-watcher", daemon=True)
            self._thread.start()
        return self

    def wait(self, timeout: float) -> bool:
        """Block until a block was announced since the last call, or ``timeout`` seconds.

        Returns True when woken by a notification (or a restored subscription), False on
        timeout. Announcements that arrive while the consumer works are not lost: the event
        stays set until the next call consumes it.
        """
        woken = self._wake.wait(timeout)
        self._wake.clear()
        return woken

    def notify(self) -> None:
        """Wake the consumer now (also used by :meth:`stop`, so a waiting consumer returns)."""
        self._wake.set()

    def wait_for_mode(self, mode: Mode, timeout: float) -> bool:
        """Block until :attr:`mode` is ``mode`` (tests, start-up); False after ``timeout``."""
        with self._changed:
            return self._changed.wait_for(lambda: self.mode == mode, timeout)

    def stop(self) -> None:
        """Close the websocket and end the thread."""
        self._stop.set()
        self._set_mode("stopped")
        with self._lock:
            sock = self._socket
        if sock is not None:
            with contextlib.suppress(Exception):
                sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(self.open_timeout + 2)
        self.notify()

    def drop(self) -> None:
        """Close the current websocket as if the network had dropped it (operators, tests)."""
        with self._lock:
            sock = self._socket
        if sock is not None:
            with contextlib.suppress(Exception):
                sock.close()

    # ------------------------------------------------------------------ watcher thread
    def _set_mode(self, mode: Mode) -> None:
        with self._changed:
            if self.mode != "stopped":
                self.mode = mode
            self._changed.notify_all()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._set_mode("connecting")
            try:
                self._follow()  # returns only when stopped
                break
            except (SubscriptionRefusedError, InvalidStatus) as exc:
                self.stats.refusals += 1
                self.stats.last_error = _short(exc)
                self._set_mode("unsupported")
                logger.warning(
                    "the node at %s offers no eth_subscribe (%s): polling for new blocks",
                    self.url,
                    self.stats.last_error,
                )
                delay = self.unsupported_retry
            except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
                was_subscribed = self.mode == "subscribed"
                self.stats.last_error = _short(exc)
                self._set_mode("polling")
                if was_subscribed:
                    self.stats.drops += 1
                    failures = 0
                    logger.warning(
                        "new-block subscription lost (%s): polling until it is back",
                        self.stats.last_error,
                    )
                elif failures == 0:
                    logger.info(
                        "no websocket subscription at %s (%s): polling for new blocks",
                        self.url,
                        self.stats.last_error,
                    )
                delay = self.reconnect.delay(failures)
                failures += 1
            finally:
                with self._lock:
                    self._socket = None
            self._stop.wait(delay)
        self._set_mode("stopped")

    def _follow(self) -> None:
        """One websocket: subscribe, then set the wake-up event per notification."""
        with connect(
            self.url, open_timeout=self.open_timeout, close_timeout=1.0, compression=None
        ) as sock:
            with self._lock:
                if self._stop.is_set():
                    return
                self._socket = sock
            sock.send(
                json.dumps(
                    {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
                )
            )
            subscription = self._subscription_id(sock)
            self.stats.subscriptions += 1
            self._set_mode("subscribed")
            self.notify()  # blocks may have come while we were not subscribed
            while not self._stop.is_set():
                message = _json(sock.recv())
                params = message.get("params")
                if (
                    message.get("method") == "eth_subscription"
                    and isinstance(params, dict)
                    and params.get("subscription") == subscription
                ):
                    self.stats.notifications += 1
                    with contextlib.suppress(KeyError, TypeError, ValueError):
                        self.stats.last_head = int(params["result"]["number"], 16)
                    self.notify()

    def _subscription_id(self, sock: ClientConnection) -> str:
        while True:
            reply = _json(sock.recv(timeout=self.open_timeout))
            if reply.get("id") != 1:
                continue  # a notification of an earlier subscription on a reused server
            if "error" in reply:
                error = reply["error"]
                text = error.get("message", error) if isinstance(error, dict) else error
                raise SubscriptionRefusedError(str(text))
            result = reply.get("result")
            if not isinstance(result, str):
                raise SubscriptionRefusedError(f"unexpected answer {reply!r}")
            return result


def _json(raw: str | bytes) -> dict[str, Any]:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"not a JSON-RPC object: {str(raw)[:100]}")
    return value


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
