"""Deploying EnergyChain and transacting with it, on anvil and on the in-process chain."""

from __future__ import annotations

import pytest
from web3 import Web3

from chain.errors import ContractRevertError
from energychain.commitments import Collateral, SealedOrder, commit_id
from energychain.deploy import EnergyChain, MarketSettings, deploy_energychain, verify_deployment
from energychain.market import Market
from energychain.sealed_market import SealedMarket
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


def test_sealed_mode_deploys_the_sealed_market(chain_sender: TransactionSender) -> None:
    settings = MarketSettings(mode="sealed", reveal_seconds=600, bond_amount=50_000)
    deployment = deploy_energychain(chain_sender, settings)
    assert deployment.mode == "sealed"
    assert verify_deployment(chain_sender.w3, deployment) == []
    market = deployment.contracts(chain_sender.w3).market
    assert isinstance(market, SealedMarket)
    assert market.bond_amount() == 50_000 and market.reveal_seconds() == 600
    code = chain_sender.w3.eth.get_code(market.address)
    assert len(code) <= 24_576  # EIP-170: the node refused nothing, and the code says so too
    with pytest.raises(ContractRevertError) as refused:
        market.call("placeOrder", chain_sender.address, 1, True, 1, 100)
    assert refused.value.name == "SealedMarketNoOpenOrders"


def test_open_mode_stays_the_default(chain_sender: TransactionSender) -> None:
    deployment = deploy_energychain(chain_sender, MarketSettings())
    assert deployment.mode == "open"
    assert type(deployment.contracts(chain_sender.w3).market) is Market


def test_unknown_market_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="market mode 'secret'"):
        MarketSettings(mode="secret")


def test_sealed_commit_id_and_commitment_match_the_contract(
    chain_sender: TransactionSender,
) -> None:
    deployment = deploy_energychain(chain_sender, MarketSettings(mode="sealed", bond_amount=1))
    contracts = deployment.contracts(chain_sender.w3)
    market = contracts.market
    assert isinstance(market, SealedMarket)
    owner = chain_sender.address
    slot = market.calendar().slot_of(int(chain_sender.w3.eth.get_block("latest")["timestamp"]))
    order = SealedOrder(slot, owner, True, 3, 100, b"\x07" * 32)
    assert market.commitment_of(order) == order.commitment(deployment.chain_id, market.address)
    chain_sender.transact(contracts.payment.mint(owner, 10**9))
    chain_sender.transact(contracts.payment.approve(market.address, 10**9))
    chain_sender.transact(market.deposit(10**6))
    receipt = chain_sender.transact(
        market.commit_order(order, Collateral(10**6, 0), deployment.chain_id)
    )
    mined = int(market.events(receipt, "OrderCommitted")[0]["args"]["commitId"])
    fee = market.params().fee_bps
    assert mined == commit_id(order, deployment.chain_id, market.address, fee)
