"""``agent run`` waits through a node outage instead of exiting (found by the chaos soak: the
agent runtime died whenever anvil restarted, and only a supervisor brought it back)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import requests

from agents.errors import AgentRuntimeError, NodeUnreachableError
from enerwise.cli.agent_run import trade


class _Runtime:
    """Steps that fail while the node is away, then succeed."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.steps: list[int] = []

    def step(self, now: int) -> Any:
        if self.failures:
            raise self.failures.pop(0)
        self.steps.append(now)
        return SimpleNamespace(decided_slot=7, placed=[], refused=[], claimed=[], errors=[])


class _Eth:
    def __init__(self, down: int) -> None:
        self.down = down

    def get_block(self, _which: str) -> dict[str, int]:
        if self.down:
            self.down -= 1
            raise requests.ConnectionError("connection refused")
        return {"timestamp": 1_700_000_000}


def test_agent_run_waits_for_the_node_and_trades_again_when_it_is_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    runtime = _Runtime([NodeUnreachableError("the node did not answer after 5 attempts")])
    w3 = SimpleNamespace(eth=_Eth(down=2))

    trade(runtime, w3, steps=1, interval=0.0)

    assert runtime.steps == [1_700_000_000]
    err = capsys.readouterr().err
    assert "node unreachable, waiting" in err
    assert "node back: trading again" in err


def test_an_unreachable_node_is_still_an_agent_runtime_error_for_callers() -> None:
    assert issubclass(NodeUnreachableError, AgentRuntimeError)
    assert issubclass(NodeUnreachableError, ConnectionError)


def test_agent_run_does_not_wait_on_a_runtime_error_that_is_no_outage() -> None:
    runtime = _Runtime([AgentRuntimeError("the delegation expired")])

    with pytest.raises(AgentRuntimeError, match="expired"):
        trade(runtime, SimpleNamespace(eth=_Eth(down=0)), steps=1, interval=0.0)
