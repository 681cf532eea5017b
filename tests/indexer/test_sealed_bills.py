"""A sealed market's forfeited commitments on the bills (issue 15), SQLite and PostgreSQL.

The slot of ``sealed_commits`` (a buyer and a seller who reveal and trade, a dropper who never
reveals) plus a household with a key of its own that commits a buy, never reveals it and
reclaims the commitment after the reveal window: its bond goes to the treasury, so its bill
shows one forfeited commitment and the bond, in the household's own bill and in the
operator's, from the index as from the chain's events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from billing.bill import BillTariffs, compute_bill
from billing.chain_facts import chain_facts
from energychain.commitments import SealedOrder, minimum_collateral, new_salt
from indexer import store
from indexer.billing import indexer_facts
from tests.indexer.conftest import Played
from tests.indexer.scenario import SealedRound, sealed_commits, sealed_end, sealed_reveals
from tests.indexer.test_household_api import ADMIN_KEY, app_client, auth
from tests.indexer.test_operator_billing_api import keyed_participant
from tests.indexer.test_sealed import BOND, REVEAL, sealed, sealed_template

# the fixtures: a sealed market deployed once for the module, restored for each test
__all__ = ["sealed", "sealed_template"]

BOND_EUR = "0.010000"  # BOND base units of a 6-decimal payment token


@dataclass
class Forfeited:
    played: Played
    round: SealedRound
    household: str
    key: str
    commit_id: int
    month: str


@pytest.fixture
def forfeited(sealed: Played) -> Forfeited:
    """The sealed round played to its end, plus the household's commitment forfeited."""
    s = sealed.community
    played = sealed_commits(s, bond=BOND, reveal_seconds=REVEAL)
    house, key = keyed_participant(s)
    s.fund_payment(house, 10**7)
    order = SealedOrder(played.slot, house.address, True, 800, 200, new_salt())
    collateral = minimum_collateral(order, s.params, BOND)
    receipt = house.sender.transact(
        played.market.commit_order(order, collateral, s.deployment.chain_id, gas=300_000)
    )
    commit_id = int(played.market.events(receipt, "OrderCommitted")[0]["args"]["commitId"])
    sealed_reveals(played)
    sealed_end(played)  # the dropper's commitment is reclaimed by the admin
    house.sender.transact(played.market.reclaim_commitment(commit_id, gas=200_000))
    month = datetime.fromtimestamp(s.slot_start(played.slot), UTC).strftime("%Y-%m")
    return Forfeited(sealed, played, house.address, key, commit_id, month)


@pytest.fixture
def client(forfeited: Forfeited, engine: Engine) -> Iterator[TestClient]:
    forfeited.played.ingester(engine).sync()
    with app_client(forfeited.played, engine) as test_client:
        yield test_client


def chain_document(f: Forfeited) -> dict[str, Any]:
    """The bill the chain's events give (what ``enerwise operator billing`` computes)."""
    s = f.played.community
    facts = chain_facts(s.contracts, s.deployment, f.month)
    on_chain = s.contracts.market.params()
    top = on_chain.price_floor + on_chain.tick_size * on_chain.max_tick
    return compute_bill(facts, BillTariffs(top, on_chain.price_floor, 6)).document()


def test_a_household_that_never_reveals_sees_one_forfeited_commitment_and_the_bond_on_its_bill(
    client: TestClient, forfeited: Forfeited
) -> None:
    response = client.get(
        f"/v1/accounts/{forfeited.household}/bill",
        params={"month": forfeited.month},
        headers=auth(client, forfeited.key),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    total = body["total"]
    assert (total["forfeited_commitments"], total["forfeited_bonds"]) == (1, str(BOND))
    assert body["has_data"] is True and body["reconciles"] is True
    # nothing else happened to the household: the bond is all it paid, and all it lost
    assert (total["paid"], total["received"], total["bought_wh"]) == ("0", "0", "0")
    assert total["net"] == str(BOND)
    assert total["savings"] == str(-BOND)
    slot_day = datetime.fromtimestamp(
        forfeited.played.community.slot_start(forfeited.round.slot), UTC
    ).date()
    days = {d["date"]: d for d in body["days"]}
    assert days[slot_day.isoformat()]["forfeited_commitments"] == 1
    assert days[slot_day.isoformat()]["forfeited_bonds"] == str(BOND)
    assert sum(d["forfeited_commitments"] for d in body["days"]) == 1
    assert sum(int(d["forfeited_bonds"]) for d in body["days"]) == BOND
    assert sum(int(d["net"]) for d in body["days"]) == BOND


def test_the_operators_bill_shows_each_forfeit_in_eur_and_equals_the_chain_bill(
    client: TestClient, forfeited: Forfeited
) -> None:
    headers = auth(client, ADMIN_KEY)
    response = client.get(f"/v1/operator/billing?month={forfeited.month}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == chain_document(forfeited)  # the index bills the forfeits as the chain does
    assert body["reconciles"] is True and body["differences"] == []
    assert body["bond_eur"] == BOND_EUR
    rows = {h["household"]: h for h in body["households"]}
    house = rows[forfeited.household]
    assert (house["forfeited_commitments"], house["forfeited_bonds_eur"]) == ("1", BOND_EUR)
    assert house["net_eur"] == BOND_EUR
    dropper = rows[forfeited.round.address("dropper")]
    assert (dropper["forfeited_commitments"], dropper["forfeited_bonds_eur"]) == ("1", BOND_EUR)
    for who in ("buyer", "seller"):  # revealed: no bond lost
        row = rows[forfeited.round.address(who)]
        assert (row["forfeited_commitments"], row["forfeited_bonds_eur"]) == ("0", "0.000000")
    assert (body["total"]["forfeited_commitments"], body["total"]["forfeited_bonds_eur"]) == (
        "2",
        "0.020000",
    )
    as_csv = client.get(
        f"/v1/operator/billing?month={forfeited.month}&format=csv", headers=headers
    ).text
    assert "forfeited_commitments,forfeited_bonds_eur" in as_csv.splitlines()[0]


def test_the_index_and_the_chain_give_the_same_forfeits(
    forfeited: Forfeited, engine: Engine
) -> None:
    forfeited.played.ingester(engine).sync()
    s = forfeited.played.community
    with engine.connect() as conn:
        info = store.stored_market_info(conn)
        assert info is not None
        indexed = indexer_facts(conn, info, forfeited.month)
    on_chain = chain_facts(s.contracts, s.deployment, forfeited.month)
    assert indexed.forfeits == on_chain.forfeits
    assert indexed.bond_amount == on_chain.bond_amount == BOND
    assert sorted((x.owner, int(x.commit_id)) for x in indexed.forfeits) == sorted(
        [
            (forfeited.round.address("dropper"), forfeited.round.ids["dropper"]),
            (forfeited.household, forfeited.commit_id),
        ]
    )


def test_a_commitment_not_reclaimed_yet_is_not_on_the_bill(sealed: Played, engine: Engine) -> None:
    played = sealed_commits(sealed.community, bond=BOND, reveal_seconds=REVEAL)
    sealed_reveals(played)
    s = played.sandbox
    s.advance_to(s.gate_closure(played.slot) + REVEAL + 1)
    s.clear(played.slot)  # the dropper's commitment is still locked, its bond not forfeited
    sealed.ingester(engine).sync()
    month = datetime.fromtimestamp(s.slot_start(played.slot), UTC).strftime("%Y-%m")
    with engine.connect() as conn:
        info = store.stored_market_info(conn)
        assert info is not None
        facts = indexer_facts(conn, info, month)
    assert facts.forfeits == [] and facts.bond_amount == BOND
