"""The ingester adapting its log range to what the node accepts."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import Engine

from chain.retry import Backoff
from chain.rpc import JsonRpcClient
from indexer.verify import verify
from tests.indexer.conftest import Played
from tests.jsonrpc import error_answer

FAST = Backoff(base=0.0001, attempts=4)


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
                return error_answer(body, -32602, "block range is too large")
        return self.inner.handle_request(request)


def test_the_ingester_halves_its_range_until_the_node_accepts_it(
    played: Played, engine: Engine
) -> None:
    ingester = played.ingester(engine, initial_range=64)
    ingester.rpc = JsonRpcClient(played.node.rpc_url, transport=RangeCap(4), backoff=FAST)
    ingester.sync()
    assert ingester.range_size <= 4
    assert verify(engine, ingester.rpc).ok
