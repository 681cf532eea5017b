"""Sign-In with Ethereum through the API, with roles read from the contracts on chain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from chain.local_node import ANVIL_DEV_KEYS
from chain.rpc import JsonRpcClient
from indexer.api import ApiConfig, create_app
from indexer.api.sessions import ChainRoles
from indexer.siwe import SiweMessage
from tests.indexer.conftest import Played

DOMAIN = "indexer.test:8000"
ADMIN_KEY = ANVIL_DEV_KEYS[0]  # deployer: DEFAULT_ADMIN_ROLE and METER_ADMIN_ROLE
MEMBER_KEY = ANVIL_DEV_KEYS[1]


@pytest.fixture
def client(chain: Played, engine: Engine) -> Iterator[TestClient]:
    chain.ingester(engine).sync()
    addresses = chain.community.deployment.addresses
    roles = ChainRoles(
        JsonRpcClient(chain.node.rpc_url), addresses["market"], addresses["registry"]
    )
    app = create_app(engine, ApiConfig(siwe_domain=DOMAIN, rate_limit_per_minute=0), roles=roles)
    with TestClient(app) as test_client:
        yield test_client


def signed_login(client: TestClient, key: str, **changes: Any) -> dict[str, Any]:
    """What a wallet sends: an EIP-4361 message with a fresh server nonce, and its signature."""
    nonce = client.get("/v1/auth/nonce").json()
    account = Account.from_key(key)
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "domain": nonce["domain"],
        "address": account.address,
        "uri": f"http://{DOMAIN}",
        "version": "1",
        "chain_id": nonce["chain_id"],
        "nonce": nonce["nonce"],
        "issued_at": now.isoformat().replace("+00:00", "Z"),
        "statement": nonce["statement"],
        "expiration_time": (now + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
    }
    fields.update(changes)
    text = SiweMessage(**fields).to_text()
    signature = Account.sign_message(encode_defunct(text=text), key).signature
    return {"message": text, "signature": "0x" + bytes(signature).hex()}


def login(client: TestClient, key: str) -> str:
    response = client.post("/v1/auth/login", json=signed_login(client, key))
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def test_the_deployer_signs_in_with_the_roles_it_holds_on_chain(client: TestClient) -> None:
    body = client.post("/v1/auth/login", json=signed_login(client, ADMIN_KEY)).json()
    assert set(body["roles"]) == {"admin", "meter_admin", "pauser"}
    session = client.get(
        "/v1/auth/session", headers={"Authorization": f"Bearer {body['token']}"}
    ).json()
    assert session["address"] == Account.from_key(ADMIN_KEY).address


def test_a_member_signs_in_without_roles(client: TestClient) -> None:
    body = client.post("/v1/auth/login", json=signed_login(client, MEMBER_KEY)).json()
    assert body["roles"] == []


def test_a_replayed_nonce_is_refused(client: TestClient) -> None:
    request = signed_login(client, MEMBER_KEY)
    assert client.post("/v1/auth/login", json=request).status_code == 200
    replay = client.post("/v1/auth/login", json=request)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "siwe_nonce_invalid"


def test_a_nonce_the_server_never_issued_is_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/login", json=signed_login(client, MEMBER_KEY, nonce="madeUp12345")
    )
    assert response.json()["error"]["code"] == "siwe_nonce_invalid"


def test_a_message_for_another_domain_is_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/login", json=signed_login(client, MEMBER_KEY, domain="phish.example")
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "siwe_wrong_domain"


def test_an_expired_message_is_refused(client: TestClient) -> None:
    past = datetime.now(UTC) - timedelta(minutes=10)
    response = client.post(
        "/v1/auth/login",
        json=signed_login(
            client,
            MEMBER_KEY,
            issued_at=past.isoformat().replace("+00:00", "Z"),
            expiration_time=(past + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
        ),
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "siwe_expired"


def test_a_malformed_message_is_a_422(client: TestClient) -> None:
    response = client.post("/v1/auth/login", json={"message": "hello", "signature": "0x00"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "siwe_malformed"


def test_operator_endpoints_need_a_session(client: TestClient) -> None:
    response = client.get("/v1/operator/exports/orders")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_forged_token_is_refused(client: TestClient) -> None:
    response = client.get(
        "/v1/operator/exports/orders", headers={"Authorization": "Bearer not.a.token"}
    )
    assert response.json()["error"]["code"] == "invalid_token"


def test_a_member_without_role_cannot_export(client: TestClient) -> None:
    token = login(client, MEMBER_KEY)
    response = client.get(
        "/v1/operator/exports/orders", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


def test_an_admin_exports_csv(client: TestClient) -> None:
    token = login(client, ADMIN_KEY)
    response = client.get(
        "/v1/operator/exports/ledger", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0].startswith("id,")


def test_a_member_files_a_meter_request_that_the_meter_admin_lists(client: TestClient) -> None:
    member, admin = login(client, MEMBER_KEY), login(client, ADMIN_KEY)
    owner = Account.from_key(MEMBER_KEY).address
    created = client.post(
        "/v1/operator/meter-requests",
        json={"owner": owner, "signer": Account.create().address, "capacity_wh_per_slot": 5000},
        headers={"Authorization": f"Bearer {member}"},
    )
    assert created.status_code == 201
    assert (
        client.get(
            "/v1/operator/meter-requests", headers={"Authorization": f"Bearer {member}"}
        ).status_code
        == 403
    )
    listed = client.get(
        "/v1/operator/meter-requests", headers={"Authorization": f"Bearer {admin}"}
    ).json()["items"]
    assert [r["requester"] for r in listed] == [owner]


def test_an_admin_gets_a_kpi_report_with_a_daily_breakdown(client: TestClient) -> None:
    token = login(client, ADMIN_KEY)
    response = client.get(
        "/v1/operator/reports/kpi",
        params={"from_slot": 0, "to_slot": 200},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert len(response.json()["daily"]) >= 2
