"""``agent run`` warns in one line when a book policy starts on a sealed market (docs/agents.md:
every book policy saved less there than halfway on held-out data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.live.policies import load_policy
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from enerwise.cli.agent_run import AgentLink

SEALED = MarketSettings(mode="sealed", reveal_seconds=300, bond_amount=1_000)


def _start(sandbox: Sandbox, policy: str, state: Path) -> None:
    owner, agent = sandbox.new_participant(), sandbox.new_participant()
    link = AgentLink(
        sandbox.w3, sandbox.deployment, agent.sender, owner.address, load_policy(policy)
    )
    link.runtime(
        state,
        None,
        household=0,
        forecast="naive",
        battery_kwh=5.0,
        clear=False,
        late_seconds=None,
        interval=1.0,
    )


@pytest.mark.usefixtures("compiled")
def test_a_book_policy_on_a_sealed_market_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox.on_anvil(SEALED) as sandbox:
        _start(sandbox, "mpc_book_ahead", tmp_path / "agent.json")
    err = " ".join(capsys.readouterr().err.split())  # however the console wrapped it
    assert "mpc_book_ahead plans on the others' books" in err
    assert "--policy halfway" in err


@pytest.mark.usefixtures("compiled")
def test_halfway_on_a_sealed_market_and_a_book_policy_on_an_open_one_are_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox.on_anvil(SEALED) as sandbox:
        _start(sandbox, "halfway", tmp_path / "halfway.json")
    with Sandbox.on_anvil(MarketSettings()) as sandbox:
        _start(sandbox, "mpc_book_ahead", tmp_path / "ahead.json")
    err = " ".join(capsys.readouterr().err.split())
    assert "trading for" in err
    assert "--policy halfway" not in err
