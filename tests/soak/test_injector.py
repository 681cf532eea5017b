"""When the soak counts an ``indexer_kill`` as recovered: the checkpoint reached the head as of
the restart, on the node's chain, whether or not the node answered when the indexer restarted.

The services are stand-ins (no processes): what is under test is the injector's bookkeeping,
which once left a fault whose restart met the node down without a target, "did not recover"
for ever although the index caught up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chain.errors import RpcUnreachableError
from enerwise.soak import run
from enerwise.soak.faults import Fault, FaultKind


@dataclass
class _Process:
    """A managed service that starts and stops on demand and is ready once started."""

    process: object | None = field(default_factory=object)
    log: Path = Path("/nonexistent.log")

    def start(self, wait: bool = True) -> None:
        self.process = object()

    def kill(self) -> None:
        self.process = None

    def ready(self) -> bool:
        return self.process is not None


class _Chain:
    """The node (up or down, its head, the hash of every block) and the indexer's checkpoint."""

    def __init__(self, head: int) -> None:
        self.up = True
        self.head = head
        self.salt = ""  # a reorganisation changes the hashes
        self.checkpoint: tuple[int, str] | None = None

    def hash(self, number: int) -> str:
        return f"0x{self.salt}{number:x}"

    def indexed_up_to(self, number: int) -> None:
        self.checkpoint = (number, self.hash(number))

    def rpc_request(self, _url: str, method: str, params: list[Any], **_: Any) -> Any:
        if not self.up:
            raise RpcUnreachableError("cannot reach the JSON-RPC node: connection refused")
        number = self.head if params[0] == "latest" else int(params[0], 16)
        assert method == "eth_getBlockByNumber"
        return {"number": hex(number), "hash": self.hash(number)} if number <= self.head else None


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> _Chain:
    node = _Chain(head=40)
    monkeypatch.setattr(run, "rpc_request", node.rpc_request)
    monkeypatch.setattr(run, "_checkpoint", lambda _url: node.checkpoint)
    return node


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _injector(clock: _Clock) -> tuple[run.Injector, _Process]:
    indexer = _Process()
    services = SimpleNamespace(
        rpc_url="http://node",
        live_url="postgresql://live",
        indexer=indexer,
        oracle=_Process(),
        agent=_Process(),
        anvil=_Process(),
        redis=_Process(),
        mosquitto=_Process(),
    )
    state = run._State(blocks_since_anvil_start=10)
    return run.Injector(services, SimpleNamespace(), state, clock), indexer  # type: ignore[arg-type]


def _indexer_killed(chain: _Chain, indexed_up_to: int) -> tuple[run.Injector, _Process, Fault]:
    """An injector that killed the indexer once it had indexed up to ``indexed_up_to``, the
    indexer and the fault; the downtime has passed, so the next advance restarts it."""
    clock = _Clock()
    injector, indexer = _injector(clock)
    chain.indexed_up_to(indexed_up_to)
    fault = Fault(FaultKind.INDEXER_KILL, down_seconds=1.0)
    injector.inject(fault)
    clock.now = 2.0
    return injector, indexer, fault


def test_an_indexer_kill_recovers_when_the_checkpoint_reaches_the_head_of_its_restart(
    chain: _Chain,
) -> None:
    injector, indexer, fault = _indexer_killed(chain, indexed_up_to=35)
    assert indexer.process is None
    assert not injector.advance(fault)  # restarted; the head then was 40, the index at 35
    assert indexer.process is not None
    chain.head = 47  # the chain moves on: the target stays the head as of the restart
    chain.indexed_up_to(39)
    assert not injector.advance(fault)
    chain.indexed_up_to(40)
    assert injector.advance(fault)


def test_an_indexer_restarted_while_the_node_was_down_recovers_once_it_indexed_the_head(
    chain: _Chain,
) -> None:
    injector, indexer, fault = _indexer_killed(chain, indexed_up_to=40)
    chain.up = False  # an anvil restart overlaps: the restart cannot read the head
    assert not injector.advance(fault)
    assert indexer.process is not None
    chain.up = True
    chain.head = 42  # the node answers again: the target is its head now
    assert not injector.advance(fault)
    chain.indexed_up_to(42)
    assert injector.advance(fault)  # failed before: no target, "did not recover" for ever


def test_an_indexer_kill_is_not_recovered_while_its_checkpoint_is_on_a_replaced_block(
    chain: _Chain,
) -> None:
    injector, _, fault = _indexer_killed(chain, indexed_up_to=38)
    assert not injector.advance(fault)
    chain.indexed_up_to(40)
    chain.salt = "f"  # a reorganisation of the same height replaced block 40
    assert not injector.advance(fault)
    chain.indexed_up_to(40)  # the indexer undid it and indexed the new block 40
    assert injector.advance(fault)
