"""``GET /v1/operator/billing``: the operator's monthly bill from the index, behind SIWE + role.

The round of ``played`` (claimed trades) plus one more slot with an unclaimed sell, a claimed
buy and a redemption; the API's bill must equal the bill computed from the chain's events
(the ``enerwise operator billing`` computation) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from billing.bill import COLUMNS, BillTariffs, compute_bill
from billing.chain_facts import chain_facts
from chain.local_node import ANVIL_DEV_KEYS
from chain.rpc import JsonRpcClient
from devchain.sandbox import Participant, Sandbox
from indexer import store
from indexer.api import ApiConfig, create_app
from indexer.api.sessions import ChainRoles
from indexer.billing import grid_tariffs, indexer_bill
from tests.indexer.conftest import Played
from tests.indexer.test_auth import DOMAIN, login
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender

ADMIN_KEY = ANVIL_DEV_KEYS[0]
MEMBER_KEY = ANVIL_DEV_KEYS[1]


@dataclass
class Billed:
    played: Played
    month: str
    slot: int
    seller: str
    buyer: str
    keys: dict[str, str]
    """Private key per household address (they sign in to read their own bills)."""


def keyed_participant(s: Sandbox) -> tuple[Participant, str]:
    """A funded participant whose key the test keeps (``Sandbox.new_participant`` does not)."""
    key = "0x" + s.random_bytes(32).hex()
    s.dev.fund(Account.from_key(key).address, 10 * 10**18)
    sender = TransactionSender(s.w3, LocalKeySigner(key), decode_revert=s.decoder)
    return Participant(sender), key


@pytest.fixture
def billed(played: Played) -> Billed:
    """``played`` plus a slot with an unclaimed sell, a claimed buy and a redemption."""
    s = played.community
    (seller, seller_key), (buyer, buyer_key) = keyed_participant(s), keyed_participant(s)
    meter_s, meter_b = s.register_meters([seller.address, buyer.address], 10_000)
    slot = s.current_slot() + 1
    start, end = s.slot_start(slot), s.slot_start(slot + 1)
    s.advance_to(start)
    s.submit_readings(
        [s.signed_reading(meter_s, start, 0, 0), s.signed_reading(meter_b, start, 0, 0)]
    )
    s.advance_to(end)
    s.submit_readings(
        [s.signed_reading(meter_s, end, 20, 1_000), s.signed_reading(meter_b, end, 800, 0)]
    )
    s.deposit_energy(seller, slot, 700)
    s.fund_payment(buyer, 1_000_000)
    sell = s.place_orders(seller, [(slot, False, 10, 700)])
    buy = s.place_orders(buyer, [(slot, True, 500, 600)])
    s.clear(slot)
    s.claim(buy)
    market, token = s.contracts.market, s.contracts.token
    buyer.sender.send_batch(
        [
            market.request("withdrawEnergy", slot, 600, gas=200_000),
            token.request("redeem", slot, 500, gas=150_000),
        ]
    )
    month = datetime.fromtimestamp(start, UTC).strftime("%Y-%m")
    assert sell
    keys = {seller.address: seller_key, buyer.address: buyer_key}
    return Billed(played, month, slot, seller.address, buyer.address, keys)


@pytest.fixture
def client(billed: Billed, engine: Engine) -> Iterator[TestClient]:
    played = billed.played
    played.ingester(engine).sync()
    addresses = played.community.deployment.addresses
    roles = ChainRoles(
        JsonRpcClient(played.node.rpc_url), addresses["market"], addresses["registry"]
    )
    config = ApiConfig(siwe_domain=DOMAIN, rate_limit_per_minute=0, rpc_url=played.node.rpc_url)
    with TestClient(create_app(engine, config, roles=roles)) as test_client:
        yield test_client


def chain_document(billed: Billed, decimals: int = 6) -> dict[str, Any]:
    """The bill the chain's events give (what ``enerwise operator billing`` computes)."""
    s = billed.played.community
    facts = chain_facts(s.contracts, s.deployment, billed.month)
    on_chain = s.contracts.market.params()
    top = on_chain.price_floor + on_chain.tick_size * on_chain.max_tick
    return compute_bill(facts, BillTariffs(top, on_chain.price_floor, decimals)).document()


def test_billing_needs_a_session_and_an_operator_role(client: TestClient, billed: Billed) -> None:
    url = f"/v1/operator/billing?month={billed.month}"
    anonymous = client.get(url)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    member = login(client, MEMBER_KEY)
    refused = client.get(url, headers={"Authorization": f"Bearer {member}"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    forged = client.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401


def test_the_api_bill_equals_the_chain_bill_and_reconciles(
    client: TestClient, billed: Billed
) -> None:
    token = login(client, ADMIN_KEY)
    auth = {"Authorization": f"Bearer {token}"}
    response = client.get(f"/v1/operator/billing?month={billed.month}&format=json", headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = chain_document(billed)
    assert body == expected  # every column, every total, the reconciliation
    assert body["reconciles"] is True and body["differences"] == []
    assert body["supply_source"] == "chain" and body["payment_decimals"] == 6
    assert body["unclaimed_orders"] == 1  # the sell of the extra slot, priced by the rule
    assert body["columns"] == list(COLUMNS)
    total = body["total"]
    assert total["p2p_bought_wh"] == total["p2p_sold_wh"]
    assert int(total["redeemed_wh"]) == 500
    rows_by = {h["household"]: h for h in body["households"]}
    seller, buyer = rows_by[billed.seller], rows_by[billed.buyer]
    assert (seller["export_wh"], seller["p2p_sold_wh"], seller["grid_export_wh"]) == (
        "1000",
        "600",
        "400",
    )
    assert (buyer["import_wh"], buyer["p2p_bought_wh"], buyer["redeemed_wh"]) == (
        "800",
        "600",
        "500",
    )
    assert buyer["grid_import_wh"] == "300"

    as_csv = client.get(f"/v1/operator/billing?month={billed.month}&format=csv", headers=auth)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(rows[0]) == list(COLUMNS)
    assert rows == [*body["households"], body["total"]]


def test_without_a_node_the_index_alone_reconciles(billed: Billed, engine: Engine) -> None:
    """The same bill from the index only (supply from the indexed transfers)."""
    billed.played.ingester(engine).sync()
    with engine.connect() as conn:
        info = store.stored_market_info(conn)
        assert info is not None
        bill = indexer_bill(conn, info, billed.month, grid_tariffs(info, 6))
    document = bill.document()
    expected = chain_document(billed)
    assert document.pop("supply_source") == "index"
    expected.pop("supply_source")
    assert document == expected and bill.reconciles


def test_a_month_without_data_is_a_404_and_a_bad_month_a_422(
    client: TestClient, billed: Billed
) -> None:
    auth = {"Authorization": f"Bearer {login(client, ADMIN_KEY)}"}
    empty = client.get("/v1/operator/billing?month=2001-01", headers=auth)
    assert empty.status_code == 404
    error = empty.json()["error"]
    assert error["code"] == "no_billing_data" and "no data for 2001-01" in error["message"]
    for bad in ("2026-13", "november", "2026-1"):
        response = client.get(f"/v1/operator/billing?month={bad}", headers=auth)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] in ("invalid_month", "invalid_request")
    wrong_format = client.get(f"/v1/operator/billing?month={billed.month}&format=xml", headers=auth)
    assert wrong_format.status_code == 422
