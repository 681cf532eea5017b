"""The JSON-RPC client: retries, range refusals, batches."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from chain.errors import RangeTooLargeError, RpcError
from chain.retry import Backoff
from chain.rpc import JsonRpcClient
from tests.jsonrpc import error_answer

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
        return error_answer(body, -32005, "query returned more than 10000 results")

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
