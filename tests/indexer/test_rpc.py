"""The JSON-RPC client: retries, range refusals, batches; the ingester adapting its range."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from indexer.errors import RangeTooLargeError, RpcError
from indexer.rpc import Backoff, JsonRpcClient
from indexer.verify import verify
from tests.indexer.conftest import Played

FAST = Backoff(base=0.0001, attempts=4)


def answering(handler: Any) -> httpx.MockTransport:
    def respond(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return handler(body)

    return httpx.MockTransport(respond)


def test_a_failing_node_is_retried_until_it_answers() -> None:
    calls = {"n": 0}

    def handler(body: dict[str, Any]) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            return httpx.Response(503)
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": "0x10"})

    rpc = JsonRpcClient("http://node", transport=answering(handler), backoff=FAST)
    assert rpc.block_number() == 16
    assert calls["n"] == 3


def test_a_node_down_for_good_raises_an_rpc_error() -> None:
    rpc = JsonRpcClient(
        "http://node", transport=answering(lambda _: httpx.Response(502)), backoff=FAST
    )
    with pytest.raises(RpcError):
        rpc.block_number()


def test_a_refused_log_range_is_reported_as_too_large() -> None:
    def handler(body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "jsonrpc": "2.0",
                "id": body["id"],
                "error": {"code": -32005, "message": "query returned more than 10000 results"},
            },
        )

    rpc = JsonRpcClient("http://node", transport=answering(handler), backoff=FAST)
    with pytest.raises(RangeTooLargeError):
        rpc.get_logs(["0x" + "00" * 20], 0, 100_000)


def test_batch_results_come_back_in_call_order() -> None:
    def handler(body: list[dict[str, Any]]) -> httpx.Response:
        answers = [{"jsonrpc": "2.0", "id": c["id"], "result": c["params"][0]} for c in body]
        return httpx.Response(200, json=list(reversed(answers)))

    rpc = JsonRpcClient("http://node", transport=answering(handler), backoff=FAST)
    assert rpc.batch([("echo", ["a"]), ("echo", ["b"]), ("echo", ["c"])]) == ["a", "b", "c"]


def test_only_http_endpoints_are_accepted() -> None:
    with pytest.raises(RpcError):
        JsonRpcClient("ws://node")


class RangeCap(httpx.BaseTransport):
    """Forwards to a node but refuses eth_getLogs over more than ``blocks`` blocks."""

    def __init__(self, blocks: int) -> None:
        self.blocks = blocks
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if isinstance(body, dict) and body["method"] == "eth_getLogs":
            flt = body["params"][0]
            if int(flt["toBlock"], 16) - int(flt["fromBlock"], 16) + 1 > self.blocks:
                return httpx.Response(
                    200,
                    json={
                        "jsonrpc": "2.0",
                        "id": body["id"],
                        "error": {"code": -32602, "message": "block range is too large"},
                    },
                )
        return self.inner.handle_request(request)


def test_the_ingester_halves_its_range_until_the_node_accepts_it(
    played: Played, engine: Engine
) -> None:
    ingester = played.ingester(engine, initial_range=64)
    ingester.rpc = JsonRpcClient(played.node.rpc_url, transport=RangeCap(4), backoff=FAST)
    ingester.sync()
    assert ingester.range_size <= 4
    assert verify(engine, ingester.rpc).ok
