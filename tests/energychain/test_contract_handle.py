"""ContractHandle: reads and transaction data encoded from a cached signature, exactly as web3
encodes and decodes them, with the package's typed errors for what the ABI cannot do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from web3 import Web3

from chain.connection import connect
from chain.errors import AbiMismatchError
from chain.local_node import AnvilProcess
from energychain.contracts import ContractHandle, revert_decoder
from energychain.deploy import EnergyChain, MarketSettings, deploy_energychain
from wallet.transactions import TransactionSender

METER = b"\x01" * 32
OWNER = Web3.to_checksum_address("0x" + "22" * 20)
BAD_CHECKSUM = "0x000000000000000000000000000000000000dEad"  # EIP-55 says 0x...dEaD


@pytest.fixture
def contracts(chain_sender: TransactionSender) -> EnergyChain:
    chain = deploy_energychain(chain_sender, MarketSettings()).contracts(chain_sender.w3)
    chain_sender.transact(
        chain.registry.request("registerMeter", METER, OWNER, chain_sender.address, 5_000)
    )
    return chain


def _web3_call(handle: ContractHandle, function: str, *args: Any) -> Any:
    return handle.contract.functions[function](*args).call()


def test_a_struct_read_answers_as_web3_decodes_it(contracts: EnergyChain) -> None:
    market = contracts.market
    answer = market.call("clearing", 7)
    assert answer == _web3_call(market, "clearing", 7)
    assert isinstance(answer, tuple)


def test_addresses_in_an_answer_come_checksummed_as_from_web3(contracts: EnergyChain) -> None:
    meter = contracts.registry.call("meter", METER)
    assert meter == _web3_call(contracts.registry, "meter", METER)
    assert meter[0] == OWNER


def test_a_single_value_answer_is_the_value(contracts: EnergyChain) -> None:
    assert contracts.token.call("registry") == contracts.registry.address


def test_transaction_data_is_the_encoding_web3_gives(contracts: EnergyChain) -> None:
    args = (b"\x02" * 32, OWNER, OWNER, 7_000)
    request = contracts.registry.request("registerMeter", *args)
    web3_data = contracts.registry.contract.encode_abi("registerMeter", args=list(args))
    assert request.data == bytes.fromhex(web3_data[2:])


def test_hex_text_for_a_bytes32_argument_is_taken_as_web3_takes_it(
    contracts: EnergyChain,
) -> None:
    assert contracts.registry.call("meter", "0x" + METER.hex()) == contracts.registry.call(
        "meter", METER
    )


@pytest.mark.parametrize(
    ("what", "attempt"),
    [
        ("too few arguments", lambda h: h.call("meter")),
        ("a text for a uint", lambda h: h.request("registerMeter", METER, OWNER, OWNER, "many")),
        ("a bad address checksum", lambda h: h.call("hasRole", b"\0" * 32, BAD_CHECKSUM)),
        ("an unknown function", lambda h: h.call("noSuchFunction", 1)),
    ],
)
def test_what_the_abi_cannot_encode_is_an_abi_mismatch(
    contracts: EnergyChain, what: str, attempt: Callable[[ContractHandle], Any]
) -> None:
    with pytest.raises(AbiMismatchError, match=r"MeterRegistry\.") as refused:
        attempt(contracts.registry)
    assert "\n" not in str(refused.value), what


def test_a_read_where_no_contract_is_deployed_is_an_abi_mismatch(anvil: AnvilProcess) -> None:
    from chain.artifacts import load_artifact

    w3 = connect(anvil.rpc_url)
    nowhere = ContractHandle(w3, load_artifact("EnergyToken"), OWNER, revert_decoder())
    with pytest.raises(AbiMismatchError, match="an empty answer"):
        nowhere.call("registry")


def test_the_connection_asks_the_chain_id_once(anvil: AnvilProcess) -> None:
    w3 = connect(anvil.rpc_url)
    asked: list[str] = []
    provider: Any = w3.provider
    make_request = provider._make_request

    def counting(method: str, params: Any) -> Any:
        asked.append(method)
        return make_request(method, params)

    provider._make_request = counting
    for _ in range(3):
        w3.eth.call({"to": OWNER, "data": "0x"})
    assert asked.count("eth_call") == 3
    assert asked.count("eth_chainId") == 0
