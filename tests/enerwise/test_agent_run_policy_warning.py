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


WARNING = "--policy halfway"


@pytest.mark.usefixtures("compiled")
@pytest.mark.parametrize(
    ("settings", "policy", "said", "not_said"),
    [
        pytest.param(
            SEALED,
            "mpc_book_ahead",
            ("mpc_book_ahead plans on the others' books", WARNING),
            (),
            id="a book policy on a sealed market is warned about",
        ),
        pytest.param(
            SEALED, "halfway", ("trading for",), (WARNING,), id="halfway on a sealed market is not"
        ),
        pytest.param(
            MarketSettings(),
            "mpc_book_ahead",
            ("trading for",),
            (WARNING,),
            id="a book policy on an open market is not",
        ),
    ],
)
def test_a_book_policy_is_warned_about_on_a_sealed_market_only(
    settings: MarketSettings,
    policy: str,
    said: tuple[str, ...],
    not_said: tuple[str, ...],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Sandbox.on_anvil(settings) as sandbox:
        _start(sandbox, policy, tmp_path / "agent.json")
    err = " ".join(capsys.readouterr().err.split())  # however the console wrapped it
    for text in said:
        assert text in err
    for text in not_said:
        assert text not in err
