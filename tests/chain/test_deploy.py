"""Deploying EnergyChain and transacting with it, on anvil and on the in-process chain."""

from __future__ import annotations

import pytest
from web3 import Web3

from chain.errors import ContractRevertError
from energychain.deploy import EnergyChain, MarketSettings, deploy_energychain, verify_deployment
from wallet.errors import TransactionRevertedError
from wallet.transactions import TransactionSender

METER = b"\x01" * 32


def _contracts(sender: TransactionSender) -> EnergyChain:
    return deploy_energychain(sender, MarketSettings()).contracts(sender.w3)


def test_deploy_records_addresses_and_code_hashes(chain_sender: TransactionSender) -> None:
    deployment = deploy_energychain(chain_sender, MarketSettings())
    assert set(deployment.addresses) == {"payment_token", "registry", "energy_token", "market"}
    assert verify_deployment(chain_sender.w3, deployment) == []
    handles = deployment.contracts(chain_sender.w3)
    assert handles.token.call("registry") == handles.registry.address
    assert handles.market.call("registry") == handles.registry.address


def test_one_transaction_changes_state(chain_sender: TransactionSender) -> None:
    registry = (
        deploy_energychain(chain_sender, MarketSettings()).contracts(chain_sender.w3).registry
    )
    owner = Web3.to_checksum_address("0x" + "22" * 20)
    receipt = chain_sender.transact(
        registry.request("registerMeter", METER, owner, chain_sender.address, 5_000)
    )
    assert registry.events(receipt, "MeterRegistered")[0]["args"]["owner"] == owner
    assert registry.call("meter", METER)[0] == owner


def test_revert_is_decoded_to_the_named_error_with_arguments(
    chain_sender: TransactionSender,
) -> None:
    registry = (
        deploy_energychain(chain_sender, MarketSettings()).contracts(chain_sender.w3).registry
    )
    with pytest.raises(TransactionRevertedError) as refused:
        chain_sender.transact(registry.request("deactivateMeter", METER))
    reason = refused.value.reason
    assert isinstance(reason, ContractRevertError)
    assert reason.name == "MeterUnknown"
    assert reason.args_decoded == (METER,)


def test_view_revert_raises_the_named_error(chain_sender: TransactionSender) -> None:
    market = _contracts(chain_sender).market
    with pytest.raises(ContractRevertError) as refused:
        market.call("previewClaim", 12345)
    assert refused.value.name == "OrderNotFound"


def test_record_mismatch_is_reported(chain_sender: TransactionSender) -> None:
    deployment = deploy_energychain(chain_sender, MarketSettings())
    tampered = type(deployment)(
        **{**deployment.__dict__, "code_hashes": {**deployment.code_hashes, "market": "0x00"}}
    )
    problems = verify_deployment(chain_sender.w3, tampered)
    assert len(problems) == 1
    assert "market" in problems[0]
