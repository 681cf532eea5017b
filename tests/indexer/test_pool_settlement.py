"""The city pool's settlement in the index and the API (issue 17): a city of two
``PooledEnergyMarket``s on a real anvil (``deploy_city(pooled=True)``, 1 and 2 network levels, a
grid fee of 5 ticks per level) clears three slots through the pool with energy crossing from
community 1 to community 0, the indexed market. The pool settles the first two and their orders
are claimed (in the second community 0 only buys: its buy fills through the pool alone); the
third stays unsettled. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, text

from chain.local_node import AnvilProcess, start_anvil
from chain.rpc import JsonRpcClient
from devchain.city import BookLevel, City, deploy_city
from devchain.sandbox import Sandbox
from energychain.pool import PooledMarket, PoolSettlement, SlotPoolClearing
from indexer.ingest import Ingester
from indexer.pool_queries import POOL_KEY
from indexer.verify import verify
from tests.indexer.conftest import indexed_fixture, query_rows

FEE_TICKS = 5
LEVELS = [1, 2]
#: Community 0 (the indexed market): a buy of 1,000 Wh at tick 1,100 meets a sell of 600 Wh at
#: 1,000 locally; the 400 Wh left bid in the pool. Community 1: 700 Wh asked at 900, no local
#: buyer. Community 0 may import 300 Wh: the buy fills 600 locally and 300 through the pool.
BOOKS: list[list[BookLevel]] = [[(True, 1_100, 1_000), (False, 1_000, 600)], [(False, 900, 700)]]
LIMITS = [(300, 0), (0, 1_000)]
#: A slot where community 0 only buys: its buy fills through the pool alone.
POOL_ONLY: list[list[BookLevel]] = [[(True, 1_100, 400)], [(False, 900, 700)]]


@dataclass
class SettledCity:
    node: AnvilProcess
    city: City
    settled_slot: int
    unsettled_slot: int
    events: dict[int, SlotPoolClearing]
    settlement: PoolSettlement
    settle_block: int
    orders: list[int]  # community 0's (the indexed market's) orders: the buy, then the sell
    pool_only_slot: int
    pool_only_order: int  # community 0's buy in it

    @property
    def market(self) -> PooledMarket:
        return PooledMarket.at(self.city.sandbox.w3, self.city.markets[0])

    def ingester(self, engine: Engine) -> Ingester:
        deployment = self.city.sandbox.deployment
        addresses = {
            **deployment.addresses,
            "market": self.city.markets[0],
            POOL_KEY: self.city.pool.address,
        }
        rpc = JsonRpcClient(self.node.rpc_url)
        return Ingester(engine, rpc, addresses, deployment.block_number)


def _clear(
    city: City, books: list[list[BookLevel]] = BOOKS
) -> tuple[int, list[list[tuple[BookLevel, int]]], SlotPoolClearing]:
    slot = city.sandbox.current_slot() + 1
    placed = city.place_books(slot, books)
    city.operator.transact(city.pool.publish_limits(slot, LIMITS))
    city.clear_markets(slot)
    receipt = city.sandbox.admin.transact(city.pool.clear(slot, city.pool.residuals(slot)))
    return slot, placed, city.pool.cleared_events(receipt)[0]


@pytest.fixture(scope="module")
def settled_city(compiled: None) -> Iterator[SettledCity]:
    with start_anvil() as node:
        sandbox = Sandbox.at(node.rpc_url)
        city = deploy_city(sandbox, len(LEVELS), levels=LEVELS, pooled=True)
        city.operator.transact(city.pool.set_grid_fee(FEE_TICKS, city.operator.address))
        markets = [PooledMarket.at(sandbox.w3, address) for address in city.markets]

        def settle_and_claim(books: list[list[BookLevel]]) -> tuple[int, Any, list[int]]:
            slot, placed, event = _clear(city, books)
            receipt = sandbox.admin.transact(city.pool.settle(slot, event))
            for market, book in zip(markets, placed, strict=True):
                sandbox.admin.transact(market.claim_batch([oid for _, oid in book]))
            events[slot] = event
            return slot, receipt, [oid for _, oid in placed[0]]

        events: dict[int, SlotPoolClearing] = {}
        slot, receipt, orders = settle_and_claim(BOOKS)
        (settlement,) = city.pool.settled_events(receipt)
        pool_only, _, (pool_only_order,) = settle_and_claim(POOL_ONLY)
        later, _, events[later] = _clear(city)
        yield SettledCity(
            node,
            city,
            slot,
            later,
            events,
            settlement,
            int(receipt["blockNumber"]),
            orders,
            pool_only,
            pool_only_order,
        )


#: The pooled market and its pool indexed, and a client of the API over them.
indexed = indexed_fixture("settled_city", response_cache_seconds=0)


def test_the_scenario_fills_the_indexed_markets_buy_through_the_pool(
    settled_city: SettledCity,
) -> None:
    """What the other tests read back: 300 Wh cross into community 0 in both slots."""
    for slot in (settled_city.settled_slot, settled_city.unsettled_slot):
        fills = settled_city.events[slot].fills
        assert [(f.import_wh, f.export_wh) for f in fills] == [(300, 0), (0, 300)]
    assert settled_city.settlement.slot == settled_city.settled_slot
    assert settled_city.settlement.fees_paid > 0


def test_one_row_per_pool_settlement(indexed: dict[str, Any]) -> None:
    chain: SettledCity = indexed["chain"]
    rows = query_rows(
        indexed["engine"], "SELECT slot, fees_paid, block_number FROM pool_settlements ORDER BY id"
    )
    assert [r[0] for r in rows] == [chain.settled_slot, chain.pool_only_slot]
    assert (int(rows[0][1]), rows[0][2]) == (chain.settlement.fees_paid, chain.settle_block)


def test_the_markets_settlement_is_what_it_exchanged_with_the_pool(
    indexed: dict[str, Any],
) -> None:
    chain: SettledCity = indexed["chain"]
    rows = query_rows(
        indexed["engine"],
        "SELECT slot, import_wh, export_wh, paid_to_pool, block_number "
        "FROM market_pool_settlements ORDER BY id",
    )
    params = chain.city.sandbox.params
    # ceil(import * price(p* + f) / 1000): the market pays once-rounded up (docs/pool.md)
    paid = [
        -(-300 * params.price(chain.events[slot].clearing_tick + FEE_TICKS) // 1_000)
        for slot in (chain.settled_slot, chain.pool_only_slot)
    ]
    assert [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows] == [
        (chain.settled_slot, 300, 0, paid[0]),
        (chain.pool_only_slot, 300, 0, paid[1]),
    ]
    assert rows[0][4] == chain.settle_block


def test_a_settled_clearing_carries_its_settlement(indexed: dict[str, Any]) -> None:
    chain: SettledCity = indexed["chain"]
    body = indexed["client"].get(f"/v1/pool/clearings/{chain.settled_slot}").json()
    assert body["settlement"] == {
        "fees_paid": str(chain.settlement.fees_paid),
        "block_number": chain.settle_block,
        "block_time": body["settlement"]["block_time"],
        "tx_hash": body["settlement"]["tx_hash"],
    }
    assert body["settlement"]["block_time"] > 0
    assert body["settlement"]["tx_hash"].startswith("0x")


def test_the_indexed_communitys_entry_shows_what_its_market_settled(
    indexed: dict[str, Any],
) -> None:
    chain: SettledCity = indexed["chain"]
    body = indexed["client"].get(f"/v1/pool/clearings/{chain.settled_slot}").json()
    ours, theirs = body["communities"]
    assert (ours["settled"]["import_wh"], ours["settled"]["export_wh"]) == ("300", "0")
    assert ours["settled"]["block_number"] == chain.settle_block
    # the indexer follows community 0's market only
    assert theirs["settled"] is None


def test_an_unsettled_clearing_has_no_settlement(indexed: dict[str, Any]) -> None:
    chain: SettledCity = indexed["chain"]
    body = indexed["client"].get(f"/v1/pool/clearings/{chain.unsettled_slot}").json()
    assert body["settlement"] is None
    assert [c["settled"] for c in body["communities"]] == [None, None]
    listed = indexed["client"].get("/v1/pool/clearings").json()["items"]
    assert [(c["slot"], c["settlement"] is not None) for c in listed] == [
        (chain.unsettled_slot, False),
        (chain.pool_only_slot, True),
        (chain.settled_slot, True),
    ]


def test_a_claimed_orders_pool_part_is_recorded_once(indexed: dict[str, Any]) -> None:
    chain: SettledCity = indexed["chain"]
    buy, _ = chain.orders
    rows = query_rows(
        indexed["engine"], "SELECT order_id, slot, pool_wh FROM order_pool_fills ORDER BY id"
    )
    # the sell filled locally alone: its claim emits no OrderPoolFilled
    assert [(r[0], r[1], int(r[2])) for r in rows] == [
        (str(buy), chain.settled_slot, 300),
        (str(chain.pool_only_order), chain.pool_only_slot, 300),
    ]


def test_fills_split_a_pooled_claim_into_local_and_pool(indexed: dict[str, Any]) -> None:
    chain: SettledCity = indexed["chain"]
    buy, sell = chain.orders
    body = indexed["client"].get(f"/v1/slots/{chain.settled_slot}/fills").json()
    fills = {f["order_id"]: f for f in body["items"]}
    assert (fills[str(buy)]["filled_wh"], fills[str(buy)]["pool_filled_wh"]) == ("900", "300")
    assert (fills[str(sell)]["filled_wh"], fills[str(sell)]["pool_filled_wh"]) == ("600", "0")
    assert fills[str(buy)]["claimed"] and fills[str(sell)]["claimed"]


def test_an_order_filled_through_the_pool_alone_is_a_fill(indexed: dict[str, Any]) -> None:
    """Its market traded nothing in the slot (no local clearing volume), yet the order filled."""
    chain: SettledCity = indexed["chain"]
    body = indexed["client"].get(f"/v1/slots/{chain.pool_only_slot}/fills").json()
    assert [
        (f["order_id"], f["filled_wh"], f["pool_filled_wh"], f["price"]) for f in body["items"]
    ] == [(str(chain.pool_only_order), "300", "300", "0")]


def test_an_unclaimed_fill_has_no_pool_part_yet(indexed: dict[str, Any]) -> None:
    chain: SettledCity = indexed["chain"]
    body = indexed["client"].get(f"/v1/slots/{chain.unsettled_slot}/fills").json()
    assert body["items"]
    assert all(f["pool_filled_wh"] is None and not f["claimed"] for f in body["items"])


def test_verify_checks_which_slots_were_settled(indexed: dict[str, Any]) -> None:
    chain: SettledCity = indexed["chain"]
    report = verify(indexed["engine"], JsonRpcClient(chain.node.rpc_url))
    assert report.differences == []
    assert report.checked["pool settlement"] == 3


def test_verify_finds_a_settlement_the_chain_never_made(indexed: dict[str, Any]) -> None:
    chain: SettledCity = indexed["chain"]
    engine: Engine = indexed["engine"]
    slot = chain.unsettled_slot
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO pool_settlements (slot, fees_paid, block_number, block_time, "
                "tx_hash, log_index) VALUES (:s, 0, 1, 0, '0x00', 999)"
            ),
            {"s": slot},
        )
    try:
        report = verify(engine, JsonRpcClient(chain.node.rpc_url))
        assert report.differences == [
            f"pool settlement slot {slot} settled: database True, chain False"
        ]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM pool_settlements WHERE slot = :s"), {"s": slot})
