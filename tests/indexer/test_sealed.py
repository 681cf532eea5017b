"""The indexer and the API on a sealed-bid market (issue 15), SQLite and PostgreSQL.

A sealed market shows before gate closure only how many commitments a slot holds, never what
they hide; after the reveal window its book is the revealed orders; a commitment left
unrevealed forfeits its bond to the treasury and the rest goes back to its owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from energychain.commitments import Collateral, SealedOrder, minimum_collateral, new_salt
from energychain.deploy import MarketSettings
from indexer.api import ApiConfig, create_app
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from indexer.verify import verify
from tests.indexer.conftest import ChainTemplate, Played, chain_template, snapshot, table_counts
from tests.indexer.scenario import SealedRound, sealed_commits, sealed_end, sealed_reveals
from tests.indexer.test_live import Recorder

BOND = 10_000
REVEAL = 600
SEALED = MarketSettings(mode="sealed", reveal_seconds=REVEAL, bond_amount=BOND)


@pytest.fixture(scope="module")
def sealed_template(compiled: None) -> Iterator[ChainTemplate]:
    with chain_template(SEALED) as template:
        yield template


@pytest.fixture
def sealed(sealed_template: ChainTemplate) -> Played:
    """A sealed EnergyChain market deployed, nothing played yet, this test's alone: the module's
    deployment reverted to its snapshot (instead of a new anvil and deployment per test)."""
    return sealed_template.restore()


@pytest.fixture
def committed(sealed: Played) -> SealedRound:
    """Three commitments for a slot still open for orders."""
    return sealed_commits(sealed.community, bond=BOND, reveal_seconds=REVEAL)


@pytest.fixture
def revealed(committed: SealedRound) -> SealedRound:
    """The buyer's and the seller's commitments revealed after gate closure."""
    sealed_reveals(committed)
    return committed


@pytest.fixture
def ended(revealed: SealedRound) -> SealedRound:
    """After the reveal window: cleared, both orders claimed, the dropper's commitment reclaimed."""
    sealed_end(revealed)
    return revealed


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)).all())


def rows_by_id(engine: Engine, sql: str) -> dict[str, Any]:
    """The rows of ``sql`` by their first column (the commit or order id)."""
    return {r[0]: r for r in rows(engine, sql)}


def ledger(engine: Engine, account: str) -> dict[tuple[str, str], int]:
    """Sum of the account's vault-ledger deltas per (reason, asset)."""
    totals: dict[tuple[str, str], int] = {}
    for reason, asset, delta in rows(
        engine, f"SELECT reason, asset, delta FROM vault_ledger WHERE account = '{account}'"
    ):
        totals[(reason, asset)] = totals.get((reason, asset), 0) + int(delta)
    return totals


def api(played: Played, engine: Engine) -> TestClient:
    """A client of the API over ``engine``, after indexing ``played`` up to its head."""
    played.ingester(engine).sync()
    return TestClient(create_app(engine, ApiConfig(rate_limit_per_minute=0)))


def market_of(client: TestClient, route: str) -> dict[str, Any]:
    response = client.get(route)
    assert response.status_code == 200, response.text
    market: dict[str, Any] = response.json()["market"]
    return market


# ---------------------------------------------------------------------- the market's mode
@pytest.mark.parametrize("route", ["/v1/config", "/v1/status"])
@pytest.mark.parametrize(
    ("played", "served"),
    [
        pytest.param("chain", ("open", None, None), id="open-without-reveal-window-or-bond"),
        pytest.param(
            "sealed",
            ("sealed", REVEAL, str(BOND)),
            id="sealed-with-reveal-window-and-bond-as-a-decimal-string",
        ),
    ],
)
def test_the_market_is_served_with_its_mode_reveal_window_and_bond(
    request: pytest.FixtureRequest,
    engine: Engine,
    route: str,
    played: str,
    served: tuple[str, int | None, str | None],
) -> None:
    with api(request.getfixturevalue(played), engine) as client:
        market = market_of(client, route)
    assert (market["mode"], market["reveal_seconds"], market["bond_amount"]) == served


def test_the_openapi_schema_declares_the_mode_fields_in_every_answer(
    chain: Played, engine: Engine
) -> None:
    with api(chain, engine) as client:
        schema = client.get("/openapi.json").json()
    market = schema["components"]["schemas"]["DappConfigPublic"]["properties"]["market"]
    assert {"mode", "reveal_seconds", "bond_amount"} <= set(market["required"])
    assert market["properties"]["mode"]["enum"] == ["open", "sealed"]


# ---------------------------------------------------------------------- the index
def test_a_commitment_is_indexed_with_owner_slot_and_collateral_and_books_no_order(
    sealed: Played, committed: SealedRound, engine: Engine
) -> None:
    sealed.ingester(engine).sync()
    stored = rows_by_id(
        engine, "SELECT commit_id, owner, slot, locked_money, locked_wh FROM commitments"
    )
    assert set(stored) == {str(i) for i in committed.ids.values()}
    seller = stored[str(committed.ids["seller"])]
    assert (seller.owner, int(seller.slot)) == (committed.address("seller"), committed.slot)
    assert (int(seller.locked_money), int(seller.locked_wh)) == (BOND + 1_000, 450)
    assert table_counts(engine)["orders"] == 0
    assert table_counts(engine)["commitment_outcomes"] == 0


def test_a_commit_takes_its_collateral_from_the_vault_ledger(
    sealed: Played, committed: SealedRound, engine: Engine
) -> None:
    sealed.ingester(engine).sync()
    seller = ledger(engine, committed.address("seller"))
    assert seller[("commit", "money")] == -(BOND + 1_000)
    assert seller[("commit", "energy")] == -450


def test_a_reveal_books_the_order_under_the_commit_id_and_the_commitment_is_revealed(
    sealed: Played, revealed: SealedRound, engine: Engine
) -> None:
    sealed.ingester(engine).sync()
    orders = rows_by_id(engine, "SELECT order_id, owner, tick, qty_wh, nonce FROM orders")
    buy_id = str(revealed.ids["buyer"])
    assert set(orders) == {buy_id, str(revealed.ids["seller"])}
    assert (orders[buy_id].owner, int(orders[buy_id].tick)) == (revealed.address("buyer"), 1_500)
    outcomes = rows_by_id(engine, "SELECT commit_id, kind, order_id FROM commitment_outcomes")
    assert outcomes[buy_id].kind == "revealed" and outcomes[buy_id].order_id == buy_id
    assert str(revealed.ids["dropper"]) not in outcomes


def test_a_reveal_returns_to_the_vault_the_collateral_the_orders_escrow_does_not_take(
    sealed: Played, revealed: SealedRound, engine: Engine
) -> None:
    sealed.ingester(engine).sync()
    params = revealed.sandbox.params
    buyer = ledger(engine, revealed.address("buyer"))
    assert buyer[("reveal", "money")] == revealed.locked["buyer"].money - params.buy_escrow(
        300, 1_500
    )
    assert ("order", "money") not in buyer  # the escrow came from the collateral, not the vault
    seller = ledger(engine, revealed.address("seller"))
    assert seller[("reveal", "money")] == BOND + 1_000
    assert seller[("reveal", "energy")] == 450 - 300


def test_an_unrevealed_commitment_is_forfeited_with_its_bond_to_the_treasury(
    sealed: Played, ended: SealedRound, engine: Engine
) -> None:
    sealed.ingester(engine).sync()
    dropped = str(ended.ids["dropper"])
    (outcome,) = rows(
        engine,
        f"SELECT kind, order_id, bond, refund_money, refund_wh FROM commitment_outcomes "
        f"WHERE commit_id = '{dropped}'",
    )
    assert outcome.kind == "forfeited" and outcome.order_id is None
    assert (int(outcome.bond), int(outcome.refund_money), int(outcome.refund_wh)) == (
        BOND,
        2_000,
        0,
    )
    treasury = sealed.community.params.treasury
    assert ledger(engine, treasury)[("bond", "money")] == BOND
    assert ledger(engine, ended.address("dropper"))[("forfeit", "money")] == 2_000


def test_the_index_equals_the_chain_after_commits_reveals_and_the_forfeit(
    sealed: Played, committed: SealedRound, engine: Engine
) -> None:
    ingester = sealed.ingester(engine)
    for stage in (None, sealed_reveals, sealed_end):
        if stage is not None:
            stage(committed)
        ingester.sync()
        report = verify(engine, ingester.rpc)
        assert report.ok, report.differences
        assert report.checked["commitment"] == 3
        assert report.checked["vault money"] >= 4


def test_a_reorganisation_under_a_reveal_leaves_the_index_equal_to_a_fresh_ingest(
    sealed: Played, committed: SealedRound, db_url: str, tmp_path: object
) -> None:
    engine = make_engine(db_url)
    ingester = sealed.ingester(engine)
    dev = committed.sandbox.dev
    first, second = (committed.sandbox.new_participant() for _ in range(2))  # keepers
    committed.sandbox.advance_to(committed.sandbox.gate_closure(committed.slot) + 1)
    before = dev.snapshot()
    committed.reveal("buyer", "seller", keeper=first)  # blocks that will be dropped
    ingester.sync()
    assert table_counts(engine)["commitment_outcomes"] == 2
    dev.revert(before)
    committed.reveal("buyer", keeper=second)  # another history: no reveal of the seller's
    dev.mine()
    dev.mine()
    ingester.sync()
    kinds = rows(engine, "SELECT commit_id, kind FROM commitment_outcomes")
    assert [(c, k) for c, k in kinds] == [(str(committed.ids["buyer"]), "revealed")]
    fresh = make_engine(f"sqlite:///{tmp_path}/fresh.sqlite3")
    upgrade(fresh)
    sealed.ingester(fresh).sync()
    assert snapshot(engine) == snapshot(fresh)
    assert verify(engine, ingester.rpc).ok
    engine.dispose()
    fresh.dispose()


# ---------------------------------------------------------------------- the API
def get(client: TestClient, route: str, **params: Any) -> Any:
    response = client.get(route, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_before_gate_closure_a_slot_shows_how_many_commitments_it_holds_and_no_order(
    sealed: Played, committed: SealedRound, engine: Engine
) -> None:
    with api(sealed, engine) as client:
        slot = get(client, f"/v1/slots/{committed.slot}")
        listed = get(client, "/v1/slots", status="open")["items"]
        depth = get(client, f"/v1/slots/{committed.slot}/depth")
    assert slot["status"] == "open"
    assert (slot["commitments"], slot["revealed"], slot["forfeited"]) == (3, 0, 0)
    assert [(s["slot"], s["commitments"]) for s in listed] == [(committed.slot, 3)]
    assert slot["stats"]["order_count"] == 0
    assert depth["levels"] == [] and depth["best_bid_tick"] is None
    assert slot["reveal_ends"] == slot["gate_closure"] + REVEAL


def test_a_commitment_is_listed_for_its_owner_as_committed_without_side_price_or_quantity(
    sealed: Played, committed: SealedRound, engine: Engine
) -> None:
    with api(sealed, engine) as client:
        (item,) = get(client, f"/v1/accounts/{committed.address('seller')}/commitments")["items"]
    assert item["commit_id"] == str(committed.ids["seller"])
    assert item["status"] == "committed"
    assert (item["locked_money"], item["locked_wh"]) == (str(BOND + 1_000), "450")
    assert item["order_id"] is None and item["bond"] is None
    assert not {"side", "tick", "price", "qty_wh", "is_buy"} & set(item)


def test_after_the_reveal_the_slots_book_holds_the_revealed_orders(
    sealed: Played, revealed: SealedRound, engine: Engine
) -> None:
    with api(sealed, engine) as client:
        slot = get(client, f"/v1/slots/{revealed.slot}")
        depth = get(client, f"/v1/slots/{revealed.slot}/depth")
        order = get(client, f"/v1/orders/{revealed.ids['buyer']}")
    assert (slot["commitments"], slot["revealed"], slot["forfeited"]) == (3, 2, 0)
    levels = {lv["tick"]: (lv["buy_wh"], lv["sell_wh"]) for lv in depth["levels"]}
    assert levels == {1_500: ("300", "0"), 100: ("0", "300")}
    assert (order["owner"], order["side"], order["status"]) == (
        revealed.address("buyer"),
        "buy",
        "open",
    )


def test_a_revealed_commitment_names_its_order_and_what_went_back_to_the_vault(
    sealed: Played, revealed: SealedRound, engine: Engine
) -> None:
    with api(sealed, engine) as client:
        (item,) = get(client, f"/v1/accounts/{revealed.address('seller')}/commitments")["items"]
    assert item["status"] == "revealed"
    assert item["order_id"] == item["commit_id"] == str(revealed.ids["seller"])
    assert (item["bond"], item["refund_money"], item["refund_wh"]) == (
        "0",
        str(BOND + 1_000),
        "150",
    )
    assert item["ended_tx_hash"] is not None


def test_a_never_revealed_commitment_is_listed_forfeited_with_its_bond(
    sealed: Played, ended: SealedRound, engine: Engine
) -> None:
    with api(sealed, engine) as client:
        dropper = f"/v1/accounts/{ended.address('dropper')}/commitments"
        (item,) = get(client, dropper, status="forfeited")["items"]
        pending = get(client, dropper, status="committed")["items"]
        slot = get(client, f"/v1/slots/{ended.slot}")
    assert item["commit_id"] == str(ended.ids["dropper"])
    assert (item["bond"], item["refund_money"], item["refund_wh"]) == (str(BOND), "2000", "0")
    assert pending == []
    assert (slot["status"], slot["revealed"], slot["forfeited"]) == ("cleared", 2, 1)


def test_a_cleared_slot_with_a_commitment_still_unrevealed_is_not_served_as_final(
    sealed: Played, revealed: SealedRound, engine: Engine
) -> None:
    s = revealed.sandbox
    s.advance_to(s.gate_closure(revealed.slot) + REVEAL + 1)
    s.clear(revealed.slot)  # the dropper's commitment is reclaimed only later
    with api(sealed, engine) as client:
        response = client.get(f"/v1/slots/{revealed.slot}")
    assert response.json()["status"] == "cleared"
    assert "ETag" not in response.headers


def test_an_accounts_commitments_page_newest_first_each_once(
    sealed: Played, committed: SealedRound, engine: Engine
) -> None:
    buyer = committed.participants["buyer"]
    extra = [
        (committed.slot, bytes([n]) * 32, BOND, 0) for n in (1, 2, 3)
    ]  # three more commitments of the buyer, in one transaction
    buyer.sender.transact(committed.market.commit_orders(buyer.address, extra, gas=600_000))
    route = f"/v1/accounts/{buyer.address}/commitments"
    with api(sealed, engine) as client:
        everything = get(client, route)["items"]
        seen: list[str] = []
        cursor = None
        while True:
            page = get(client, route, limit=1, **({"cursor": cursor} if cursor else {}))
            seen += [c["commit_id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert len(everything) == 4
    assert seen == [c["commit_id"] for c in everything]
    assert seen[-1] == str(committed.ids["buyer"])  # the first commitment comes last


def test_an_open_markets_slots_have_no_commitment_fields(played: Played, engine: Engine) -> None:
    with api(played, engine) as client:
        slot = get(client, f"/v1/slots/{played.round['slot']}")
        owner = played.round["accounts"][0]
        commitments = get(client, f"/v1/accounts/{owner}/commitments")["items"]
    assert (slot["commitments"], slot["revealed"], slot["forfeited"]) == (None, None, None)
    assert slot["reveal_ends"] is None
    assert commitments == []


def test_the_live_feed_carries_commitments_reveals_and_forfeits(
    sealed: Played, ended: SealedRound, engine: Engine
) -> None:
    recorder = Recorder()
    ingester = sealed.ingester(engine)
    ingester.publisher = recorder
    ingester.sync()
    names = [e.name for e in recorder.events if e.topic == "commitments"]
    assert sorted(names) == sorted(
        ["OrderCommitted"] * 3 + ["OrderRevealed"] * 2 + ["CommitmentForfeited"]
    )
    forfeit = next(e for e in recorder.events if e.name == "CommitmentForfeited")
    assert forfeit.data["commitId"] == str(ended.ids["dropper"])  # beyond 2^53: a string


def test_revealed_orders_are_numbered_in_chain_order_since_their_ids_carry_no_nonce(
    sealed: Played, revealed: SealedRound, engine: Engine
) -> None:
    with api(sealed, engine) as client:
        listed = [
            (o["order_id"], o["nonce"])
            for who in ("buyer", "seller")
            for o in get(client, f"/v1/accounts/{revealed.address(who)}/orders")["items"]
        ]
    (buy_id, buy_nonce), (sell_id, sell_nonce) = listed
    assert (buy_id, sell_id) == (str(revealed.ids["buyer"]), str(revealed.ids["seller"]))
    assert 0 < buy_nonce < sell_nonce < 2**63  # revealed in that order, in one transaction


def test_the_fills_of_a_sealed_slot_are_those_of_its_revealed_orders(
    sealed: Played, ended: SealedRound, engine: Engine
) -> None:
    with api(sealed, engine) as client:
        fills = get(client, f"/v1/slots/{ended.slot}/fills")["items"]
    assert sorted((f["order_id"], f["filled_wh"], f["claimed"]) for f in fills) == sorted(
        [(str(ended.ids["buyer"]), "300", True), (str(ended.ids["seller"]), "300", True)]
    )


# ---------------------------------------------------------------------- ledger paths
def test_a_forfeited_sell_commitment_returns_its_locked_wh_to_the_vault_of_its_slot(
    sealed: Played, committed: SealedRound, engine: Engine
) -> None:
    seller = committed.participants["seller"]
    hidden = SealedOrder(committed.slot, seller.address, False, 100, 50, new_salt())
    chain_id = committed.sandbox.deployment.chain_id
    receipt = seller.sender.transact(
        committed.market.commit_order(hidden, Collateral(BOND, 50), chain_id, gas=300_000)
    )
    extra = int(committed.market.events(receipt, "OrderCommitted")[0]["args"]["commitId"])
    sealed_reveals(committed)
    sealed_end(committed)
    committed.sandbox.admin.transact(committed.market.reclaim_commitment(extra, gas=200_000))
    ingester = sealed.ingester(engine)
    ingester.sync()
    (outcome,) = rows(
        engine,
        f"SELECT kind, bond, refund_money, refund_wh FROM commitment_outcomes "
        f"WHERE commit_id = '{extra}'",
    )
    assert (outcome.kind, int(outcome.bond), int(outcome.refund_money)) == ("forfeited", BOND, 0)
    assert int(outcome.refund_wh) == 50
    (slot,) = rows(
        engine,
        f"SELECT slot FROM vault_ledger WHERE reason = 'forfeit' AND asset = 'energy' "
        f"AND account = '{seller.address}'",
    )
    assert int(slot.slot) == committed.slot
    assert verify(engine, ingester.rpc).ok


def test_revealed_orders_cancelled_in_a_void_slot_give_their_escrow_back_as_on_chain(
    sealed: Played, revealed: SealedRound, engine: Engine
) -> None:
    s = revealed.sandbox
    s.advance_to(s.gate_closure(revealed.slot) + 86_400)  # CLEAR_WINDOW_SECONDS: never cleared
    s.admin.transact(
        revealed.market.cancel_orders([revealed.ids["buyer"], revealed.ids["seller"]], gas=300_000)
    )
    ingester = sealed.ingester(engine)
    ingester.sync()
    buyer = ledger(engine, revealed.address("buyer"))
    assert buyer[("cancel", "money")] == s.params.buy_escrow(300, 1_500)
    assert ledger(engine, revealed.address("seller"))[("cancel", "energy")] == 300
    report = verify(engine, ingester.rpc)
    assert report.ok, report.differences


def test_a_commitment_sent_by_an_agent_is_indexed_and_charged_under_its_owner(
    sealed: Played, committed: SealedRound, engine: Engine
) -> None:
    s = committed.sandbox
    owner, agent = committed.participants["buyer"], s.new_participant()
    expiry = s.dev.now() + 86_400
    owner.sender.transact(
        committed.market.authorize_agent(agent.address, 10**6, 0, 2_000, 0, expiry, gas=200_000)
    )
    order = SealedOrder(committed.slot, owner.address, True, 1_000, 100, new_salt())
    locked = minimum_collateral(order, s.params, BOND)
    chain_id = s.deployment.chain_id
    agent.sender.transact(committed.market.commit_order(order, locked, chain_id, gas=300_000))
    ingester = sealed.ingester(engine)
    ingester.sync()
    owners = {r.owner for r in rows(engine, "SELECT owner FROM commitments")}
    assert agent.address not in owners and owner.address in owners
    charged = rows(engine, f"SELECT 1 FROM vault_ledger WHERE account = '{agent.address}'")
    assert charged == []
    assert ledger(engine, owner.address)[("commit", "money")] == -(
        committed.locked["buyer"].money + locked.money
    )
    assert verify(engine, ingester.rpc).ok
