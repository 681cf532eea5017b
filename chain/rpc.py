"""A small JSON-RPC client: logs, block headers, calls and batches, with retries.

It speaks plain JSON-RPC over HTTP (any node: anvil, geth, a hosted endpoint) and returns the
node's raw JSON, so its callers decode only what they need (the indexer's fast log decoding,
:class:`chain.calls.ContractReader`'s batched views, the local node's readiness probe). web3
(:mod:`chain.connection`) is the other way to a node: contract handles and sending.

Transient failures (connection refused, timeouts, HTTP 429/5xx) are retried with exponential
backoff and jitter (:class:`chain.retry.Backoff`); an error answer that means "this
``eth_getLogs`` range is too big" becomes :class:`RangeTooLargeError`, so the caller can halve
the range instead of retrying it.
"""

from __future__ import annotations

import functools
import itertools
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from chain.errors import RangeTooLargeError, RpcError
from chain.retry import Backoff

logger = logging.getLogger(__name__)

#: Fragments of node error messages that mean "ask for fewer blocks" (geth, erigon, alchemy,
#: infura, quicknode, anvil, nethermind phrase it differently).
_RANGE_HINTS = (
    "query returned more than",
    "too many",
    "block range",
    "range is too large",
    "exceed",
    "limit",
    "response size",
    "timeout",
    "timed out",
)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying TLS context, built once per process.

    Building one loads the CA bundle: about 20 ms of CPU, which every short-lived client (a
    readiness probe, a poll of the chain's clock, a route that asks the node) paid again,
    even for plain http:// on loopback. A context is safe to share between clients and threads.
    """
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class BlockHeader:
    """The parts of a block the indexer keeps."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int


class JsonRpcClient:
    """JSON-RPC over HTTP with retries; one connection pool, safe to share between threads.

    ``transport`` replaces the network (an ``httpx.MockTransport`` in tests: same code path).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise RpcError(f"{url}: only http(s):// JSON-RPC endpoints are supported")
        self.url = url
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._ids = itertools.count(1)
        self._http = httpx.Client(
            timeout=timeout,
            headers={"Content-Type": "application/json"},
            transport=transport,
            verify=tls_context(),
        )

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ transport
    def _post(self, body: Any) -> Any:
        last: Exception | None = None
        for attempt in range(self.backoff.attempts):
            try:
                response = self._http.post(self.url, json=body)
                if response.status_code == 429 or response.status_code >= 500:
                    raise RpcError(f"{self.url}: HTTP {response.status_code}")
                if response.status_code == 413:
                    raise RangeTooLargeError(f"{self.url}: request too large (HTTP 413)")
                response.raise_for_status()
                return response.json()
            except RangeTooLargeError:
                raise
            except (httpx.HTTPError, RpcError, ValueError) as exc:
                if isinstance(exc, httpx.TimeoutException) and _is_logs(body):
                    raise RangeTooLargeError(f"{self.url}: eth_getLogs timed out") from None
                last = exc
                if attempt + 1 < self.backoff.attempts:
                    delay = self.backoff.delay(attempt)
                    logger.info("JSON-RPC %s failed (%s); retrying in %.2f s", self.url, exc, delay)
                    self._sleep(delay)
        raise RpcError(f"{self.url}: {type(last).__name__}: {last}") from None

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        answer = self._post(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        )
        return _result(method, answer)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]], chunk: int = 500) -> list[Any]:
        """Results of several calls, in order (one HTTP request per ``chunk`` calls)."""
        results: list[Any] = []
        for start in range(0, len(calls), chunk):
            part = calls[start : start + chunk]
            ids = [next(self._ids) for _ in part]
            body = [
                {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
                for i, (m, p) in zip(ids, part, strict=True)
            ]
            answers = self._post(body)
            if not isinstance(answers, list):
                # some nodes answer a whole batch with one error object
                raise RpcError(f"{self.url}: batch refused: {answers}")
            by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
            for i, (method, _) in zip(ids, part, strict=True):
                if i not in by_id:
                    raise RpcError(f"{self.url}: no answer to {method} in a batch")
                results.append(_result(method, by_id[i]))
        return results

    # ------------------------------------------------------------------ typed helpers
    def chain_id(self) -> int:
        return int(self.request("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber"), 16)

    def get_logs(self, addresses: Sequence[str], from_block: int, to_block: int) -> list[Any]:
        flt = {"address": list(addresses), "fromBlock": hex(from_block), "toBlock": hex(to_block)}
        logs = self.request("eth_getLogs", [flt])
        if not isinstance(logs, list):
            raise RpcError(f"{self.url}: eth_getLogs answered {type(logs).__name__}")
        return logs

    def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]:
        """Headers of the given blocks (missing ones, beyond the head, are left out)."""
        answers = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        found: dict[int, BlockHeader] = {}
        for block in answers:
            if block:
                header = _header(block)
                found[header.number] = header
        return found

    def header(self, number: int) -> BlockHeader | None:
        block = self.request("eth_getBlockByNumber", [hex(number), False])
        return _header(block) if block else None

    def call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        tag = hex(block) if isinstance(block, int) else block
        result = self.request("eth_call", [{"to": to, "data": "0x" + data.hex()}, tag])
        return bytes.fromhex(str(result)[2:])


def _is_logs(body: Any) -> bool:
    return isinstance(body, dict) and body.get("method") == "eth_getLogs"


def _result(method: str, answer: Any) -> Any:
    if not isinstance(answer, dict):
        raise RpcError(f"{method}: malformed JSON-RPC answer")
    error = answer.get("error")
    if error is not None:
        message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
        if method == "eth_getLogs" and any(h in message.lower() for h in _RANGE_HINTS):
            raise RangeTooLargeError(f"eth_getLogs: {message}")
        raise RpcError(f"{method}: {message}")
    return answer.get("result")


def _header(block: dict[str, Any]) -> BlockHeader:
    return BlockHeader(
        number=int(block["number"], 16),
        hash=str(block["hash"]),
        parent_hash=str(block["parentHash"]),
        timestamp=int(block["timestamp"], 16),
    )
