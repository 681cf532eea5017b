"""A household on anvil for the gateway tests: keys in files, a delegated agent key with the
vault approval, the simulated whole house (battery, heat pump, charge point) on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from devchain.sandbox import ETHER, Participant, Sandbox
from energychain.delegation import AgentGrant, grant_agent
from energychain.deploy import MarketSettings
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.on_anvil(MarketSettings(min_order_wh=10)) as market:
        yield market


@dataclass
class Keys:
    owner: Participant
    agent: Participant
    agent_key_file: Path
    deployment: Path


def keyed_participant(sandbox: Sandbox, key_file: Path) -> Participant:
    """A funded account whose key is also in ``key_file`` (hex), for a process to load."""
    key = os.urandom(32)
    key_file.write_text("0x" + key.hex() + "\n")
    key_file.chmod(0o600)
    signer = LocalKeySigner(key)
    sandbox.dev.fund(signer.address, 10 * ETHER)
    return Participant(
        TransactionSender(sandbox.w3, signer, decode_revert=sandbox.decoder, poll_interval=0.01)
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The household's folder (one per test module)."""
    return tmp_path_factory.mktemp("household")


@pytest.fixture(scope="module")
def keys(sandbox: Sandbox, home: Path) -> Keys:
    tmp_path = home
    owner = sandbox.new_participant()
    sandbox.fund_payment(owner, 50_000_000)
    agent = keyed_participant(sandbox, tmp_path / "agent.key")
    grant = AgentGrant(
        agent.address,
        20_000_000,
        int(sandbox.params.max_tick),
        0,
        sandbox.dev.now() + 86_400 * 5,
        sell_wh_per_day=1_000_000,
    )
    grant_agent(owner.sender, sandbox.contracts.market, grant)
    token = sandbox.contracts.token
    owner.sender.transact(token.set_approval_for_all(agent.address, True, gas=80_000))
    deployment = sandbox.deployment.save(tmp_path / "deployment.json")
    return Keys(owner, agent, tmp_path / "agent.key", deployment)


@pytest.fixture(scope="module")
def household_file(home: Path, sandbox: Sandbox, keys: Keys) -> Any:
    """``household_file(sim_config, **sections)``: a household.yaml for the simulated
    devices, the chain and the agent key."""
    return lambda sim_config, **sections: _household_file(
        home, sandbox, keys, sim_config, **sections
    )


def _household_file(
    tmp_path: Path,
    sandbox: Sandbox,
    keys: Keys,
    sim_config: dict[str, Any],
    **sections: Any,
) -> Path:
    data = dict(sim_config)
    data["chain"] = {
        "rpc_url": sandbox.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "deployment": str(keys.deployment),
        "from_block": sandbox.deployment.block_number,
    }
    data["keys"] = {"agent": {"key_file": str(keys.agent_key_file)}, "owner": keys.owner.address}
    data.update(sections)
    path = tmp_path / "household.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
