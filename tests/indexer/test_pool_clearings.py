"""The city pool's clearings in the index and the API (issue 17): a city of three communities on
a real anvil (``devchain.city.deploy_city``) clears three slots through the pool
(``energychain.pool.CityPool.clear``), the first with energy crossing from community 1 to the
indexed market (community 0), the others with nothing to cross; community 1 is paused and
resumed before, community 2 paused throughout. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, text

from chain.compiler import compile_contracts
from chain.local_node import AnvilProcess, start_anvil
from chain.rpc import JsonRpcClient
from devchain.city import City, deploy_city
from devchain.sandbox import Sandbox
from energychain.pool import SlotPoolClearing
from indexer import store
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from indexer.ingest import Ingester
from indexer.live import LiveEvent
from indexer.pool_queries import POOL_KEY
from indexer.verify import verify
from tests.indexer.conftest import indexed_fixture, query_rows
from tests.indexer.fuzzing import fuzz_operations

FEE_TICKS = 5
LEVELS = [1, 2, 1]
#: Community 0 (the indexed market): a buy of 1,000 Wh at tick 1,100 meets a sell of 600 Wh at
#: 1,000 locally; the 400 Wh left bid 1,095 in the pool. Community 1: 700 Wh asked at 900, no
#: local buyer: they ask 910 in the pool.
BOOKS: list[list[tuple[bool, int, int]]] = [
    [(True, 1_100, 1_000), (False, 1_000, 600)],
    [(False, 900, 700)],
    [],
]
#: (import, export) Wh limits: community 0 may import only 300 Wh (the cap binds).
LIMITS = [(300, 0), (0, 1_000), (0, 0)]


@dataclass
class PoolChain:
    node: AnvilProcess
    city: City
    slots: list[int]  # the slots the pool cleared, in order
    events: dict[int, SlotPoolClearing]  # the PoolCleared of each, decoded by the façade
    blocks: dict[int, int]  # the block of each PoolCleared

    @property
    def sandbox(self) -> Sandbox:
        return self.city.sandbox

    def ingester(self, engine: Engine, publisher: Any = None) -> Ingester:
        deployment = self.sandbox.deployment
        addresses = {**deployment.addresses, POOL_KEY: self.city.pool.address}
        rpc = JsonRpcClient(self.node.rpc_url)
        if publisher is None:
            return Ingester(engine, rpc, addresses, deployment.block_number)
        return Ingester(engine, rpc, addresses, deployment.block_number, publisher=publisher)


def place_books(
    city: City,
    slot: int,
    books: list[list[tuple[bool, int, int]]] = BOOKS,
    limits: list[tuple[int, int]] = LIMITS,
) -> None:
    """``books`` (one per community: (is buy, tick, Wh) orders) in ``slot`` (``City.place_books``
    moves the chain to the slot's end to mint the sellers' Wh) and ``limits`` published."""
    city.place_books(slot, books)
    city.operator.transact(city.pool.publish_limits(slot, limits))


def clear_through_pool(city: City, slot: int) -> tuple[SlotPoolClearing, int]:
    """Every active community's market clears ``slot``, then the pool: its event and block."""
    pool = city.pool
    active = [i for i in range(len(city.markets)) if not pool.is_paused(i)]
    city.clear_markets(slot, active)
    receipt = city.sandbox.admin.transact(pool.clear(slot, pool.residuals(slot), gas=3_000_000))
    (event,) = pool.cleared_events(receipt)
    return event, int(receipt["blockNumber"])


@pytest.fixture(scope="module")
def pool_chain() -> Iterator[PoolChain]:
    compile_contracts()
    with start_anvil() as node:
        sandbox = Sandbox.at(node.rpc_url)
        city = deploy_city(sandbox, 3, levels=LEVELS)
        pool, admin = city.pool, sandbox.admin
        city.operator.transact(pool.set_grid_fee(FEE_TICKS, city.operator.address))
        admin.transact(pool.pause_community(1))
        admin.transact(pool.resume_community(1))
        admin.transact(pool.pause_community(2))
        events: dict[int, SlotPoolClearing] = {}
        blocks: dict[int, int] = {}
        first = sandbox.current_slot() + 1
        place_books(city, first)
        events[first], blocks[first] = clear_through_pool(city, first)
        slots = [first]
        for _ in range(2):  # two slots where nothing is offered: nothing crosses
            slot = sandbox.current_slot() + 1
            events[slot], blocks[slot] = clear_through_pool(city, slot)
            slots.append(slot)
        yield PoolChain(node, city, slots, events, blocks)


#: The city indexed with its pool, and a client of the API over it.
indexed = indexed_fixture("pool_chain", response_cache_seconds=0)


def _fill_fields(event: SlotPoolClearing, community_id: int) -> dict[str, Any]:
    fill = event.fills[community_id]
    b, s = fill.buy_marginal, fill.sell_marginal
    return {
        "import_wh": str(fill.import_wh),
        "export_wh": str(fill.export_wh),
        "buy_marginal_tick": b.tick,
        "buy_marginal_filled_wh": str(b.allocated_wh),
        "buy_marginal_total_wh": str(b.level_wh),
        "sell_marginal_tick": s.tick,
        "sell_marginal_filled_wh": str(s.allocated_wh),
        "sell_marginal_total_wh": str(s.level_wh),
    }


def test_the_scenario_crosses_energy_from_community_1_to_community_0(
    pool_chain: PoolChain,
) -> None:
    """The scenario the other tests read back: the cap of 300 Wh binds, the paused community
    gets an all-zero fill, the empty slots clear nothing."""
    event = pool_chain.events[pool_chain.slots[0]]
    assert event.volume_wh == 300
    assert [(f.import_wh, f.export_wh) for f in event.fills] == [(300, 0), (0, 300), (0, 0)]
    assert event.fee_ticks_per_level == FEE_TICKS
    assert [pool_chain.events[s].volume_wh for s in pool_chain.slots[1:]] == [0, 0]


def test_one_row_per_clearing_and_one_per_community_fill(indexed: dict[str, Any]) -> None:
    chain: PoolChain = indexed["chain"]
    clearings = query_rows(
        indexed["engine"],
        "SELECT slot, volume_wh, clearing_tick, buy_marginal_tick, sell_marginal_tick, "
        "fee_ticks_per_level, block_number FROM pool_clearings ORDER BY slot",
    )
    assert [(r[0], int(r[1]), *r[2:]) for r in clearings] == [
        (
            s,
            chain.events[s].volume_wh,
            chain.events[s].clearing_tick,
            chain.events[s].buy_marginal_tick,
            chain.events[s].sell_marginal_tick,
            FEE_TICKS,
            chain.blocks[s],
        )
        for s in chain.slots
    ]
    fills = query_rows(
        indexed["engine"],
        "SELECT slot, community_id, import_wh, export_wh FROM pool_fills "
        "ORDER BY slot, community_id",
    )
    assert [(r[0], r[1], int(r[2]), int(r[3])) for r in fills] == [
        (s, f.community_id, f.import_wh, f.export_wh)
        for s in chain.slots
        for f in chain.events[s].fills
    ]


def test_a_clearing_answers_exactly_what_the_chain_emitted(indexed: dict[str, Any]) -> None:
    chain: PoolChain = indexed["chain"]
    slot = chain.slots[0]
    event, params = chain.events[slot], chain.sandbox.params
    body = indexed["client"].get(f"/v1/pool/clearings/{slot}").json()
    assert body["slot"] == slot
    assert body["volume_wh"] == str(event.volume_wh)
    assert body["clearing_tick"] == event.clearing_tick
    assert body["price"] == str(params.price(event.clearing_tick))
    assert (body["buy_marginal_tick"], body["sell_marginal_tick"]) == (
        event.buy_marginal_tick,
        event.sell_marginal_tick,
    )
    assert body["fee_ticks_per_level"] == FEE_TICKS
    assert body["fee_per_level"] == str(FEE_TICKS * params.tick_size)
    assert body["block_number"] == chain.blocks[slot]
    assert [c["community_id"] for c in body["communities"]] == [0, 1, 2]
    for entry in body["communities"]:
        k = entry["community_id"]
        assert {name: entry[name] for name in _fill_fields(event, k)} == _fill_fields(event, k)
        assert entry["market"] == chain.city.markets[k]
        assert entry["fee_ticks"] == LEVELS[k] * FEE_TICKS


def test_a_communitys_prices_are_p_star_shifted_by_its_fee(indexed: dict[str, Any]) -> None:
    chain: PoolChain = indexed["chain"]
    event, params = chain.events[chain.slots[0]], chain.sandbox.params
    body = indexed["client"].get(f"/v1/pool/clearings/{chain.slots[0]}").json()
    p_star = event.clearing_tick
    assert [(c["buy_price"], c["sell_price"]) for c in body["communities"]] == [
        (str(params.price(p_star + f)), str(params.price(p_star - f)))
        for f in (LEVELS[k] * FEE_TICKS for k in range(3))
    ]


def test_the_indexed_markets_own_clearing_stands_beside_its_pool_fill(
    indexed: dict[str, Any],
) -> None:
    chain: PoolChain = indexed["chain"]
    slot = chain.slots[0]
    own = chain.sandbox.contracts.market.clearing(slot)
    body = indexed["client"].get(f"/v1/pool/clearings/{slot}").json()
    local = body["communities"][0]["local"]
    assert own.volume_wh == 600
    assert local == {
        "volume_wh": str(own.volume_wh),
        "clearing_tick": own.clearing_tick,
        "price": str(chain.sandbox.params.price(own.clearing_tick)),
    }
    # the indexer follows community 0's market only
    assert [c["local"] for c in body["communities"][1:]] == [None, None]


def test_a_clearing_where_nothing_crossed_has_no_prices(indexed: dict[str, Any]) -> None:
    chain: PoolChain = indexed["chain"]
    body = indexed["client"].get(f"/v1/pool/clearings/{chain.slots[1]}").json()
    assert (body["volume_wh"], body["price"]) == ("0", "0")
    assert [(c["import_wh"], c["buy_price"], c["sell_price"]) for c in body["communities"]] == [
        ("0", None, None)
    ] * 3


def test_clearings_are_listed_newest_first_in_pages(indexed: dict[str, Any]) -> None:
    chain: PoolChain = indexed["chain"]
    client = indexed["client"]
    first = client.get("/v1/pool/clearings", params={"limit": 2}).json()
    assert [c["slot"] for c in first["items"]] == chain.slots[::-1][:2]
    assert first["next_cursor"] is not None
    rest = client.get(
        "/v1/pool/clearings", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [c["slot"] for c in rest["items"]] == [chain.slots[0]]
    assert rest["next_cursor"] is None
    assert first["items"][-1]["volume_wh"] == "0"


def test_clearings_within_a_slot_range(indexed: dict[str, Any]) -> None:
    chain: PoolChain = indexed["chain"]
    a, b, c = chain.slots
    body = indexed["client"].get("/v1/pool/clearings", params={"from_slot": a, "to_slot": b})
    assert [x["slot"] for x in body.json()["items"]] == [b, a]
    body = indexed["client"].get("/v1/pool/clearings", params={"from_slot": c + 1})
    assert body.json() == {"items": [], "next_cursor": None}


def test_the_communities_show_which_is_paused(indexed: dict[str, Any]) -> None:
    items = indexed["client"].get("/v1/pool/communities").json()["items"]
    assert [(c["community_id"], c["paused"]) for c in items] == [(0, False), (1, False), (2, True)]
    assert items[2]["paused_block_number"] is not None
    sql = "SELECT community_id, paused FROM pool_pauses ORDER BY id"
    pauses = query_rows(indexed["engine"], sql)
    assert [(r[0], bool(r[1])) for r in pauses] == [(1, True), (1, False), (2, True)]


def test_a_slot_the_pool_has_not_cleared_is_a_404(indexed: dict[str, Any]) -> None:
    slot = indexed["chain"].slots[-1] + 1
    response = indexed["client"].get(f"/v1/pool/clearings/{slot}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "pool_clearing_not_found"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/pool/clearings/-1", "invalid_request"),
        ("/v1/pool/clearings/abc", "invalid_request"),
        (f"/v1/pool/clearings/{2**63}", "invalid_request"),
        ("/v1/pool/clearings?from_slot=-1", "invalid_request"),
        ("/v1/pool/clearings?limit=0", "invalid_request"),
        ("/v1/pool/clearings?limit=501", "invalid_request"),
        ("/v1/pool/clearings?cursor=nonsense", "invalid_cursor"),
        ("/v1/pool/clearings?from_slot=9&to_slot=3", "invalid_range"),
    ],
)
def test_bad_input_is_a_422(indexed: dict[str, Any], path: str, code: str) -> None:
    response = indexed["client"].get(path)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_verify_checks_the_clearings_and_pauses(indexed: dict[str, Any]) -> None:
    chain: PoolChain = indexed["chain"]
    report = verify(indexed["engine"], JsonRpcClient(chain.node.rpc_url))
    assert report.differences == []
    assert report.checked["pool clearing"] == 3
    assert report.checked["pool fills"] == 3
    assert report.checked["pool community paused"] == 3


def test_verify_finds_a_tampered_fill(indexed: dict[str, Any]) -> None:
    chain: PoolChain = indexed["chain"]
    engine: Engine = indexed["engine"]
    slot = chain.slots[0]
    update = "UPDATE pool_fills SET import_wh = import_wh + :d WHERE slot = :s AND community_id = 0"
    with engine.begin() as conn:
        conn.execute(text(update), {"d": 1, "s": slot})
    try:
        report = verify(engine, JsonRpcClient(chain.node.rpc_url))
        assert report.differences == [f"pool fills slot {slot} match: database True, chain False"]
    finally:
        with engine.begin() as conn:
            conn.execute(text(update), {"d": -1, "s": slot})


def test_a_reorg_removes_the_clearing_and_resync_brings_it_back(indexed: dict[str, Any]) -> None:
    chain: PoolChain = indexed["chain"]
    engine: Engine = indexed["engine"]
    ingester = chain.ingester(engine)
    last = chain.slots[-1]
    good = ingester.rpc.header(chain.blocks[last] - 1)
    assert good is not None
    with engine.begin() as conn:
        deleted = store.rollback_to(conn, good)
    assert (deleted["pool_clearings"], deleted["pool_fills"]) == (1, 3)
    client = indexed["client"]
    assert client.get(f"/v1/pool/clearings/{last}").status_code == 404
    assert [c["slot"] for c in client.get("/v1/pool/clearings").json()["items"]] == (
        chain.slots[:2][::-1]
    )
    ingester.sync()  # the blocks are still on the chain: the clearing comes back
    assert client.get(f"/v1/pool/clearings/{last}").status_code == 200


def test_pool_events_appear_on_the_live_feed(pool_chain: PoolChain, tmp_path: Any) -> None:
    """The ingester publishes PoolCleared (with its fills by name and p*'s price) and the
    pause events under the ``pool`` topic."""
    published: list[LiveEvent] = []

    class Recorder:
        def publish(self, events: Any) -> None:
            published.extend(events)

    path = tmp_path / "live.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    try:
        pool_chain.ingester(engine, publisher=Recorder()).sync()
    finally:
        engine.dispose()
    pool = [e for e in published if e.topic == "pool"]
    assert [e.name for e in pool] == [
        "CommunityPaused",
        "CommunityResumed",
        "CommunityPaused",
        *["PoolCleared"] * 3,
    ]
    first = pool[3]
    event = pool_chain.events[pool_chain.slots[0]]
    assert first.data["slot"] == pool_chain.slots[0]
    assert first.data["price"] == pool_chain.sandbox.params.price(event.clearing_tick)
    assert [(f["import_wh"], f["export_wh"]) for f in first.data["fills"]] == [
        (300, 0),
        (0, 300),
        (0, 0),
    ]


def test_no_generated_request_to_the_pool_clearing_routes_causes_a_server_error(
    indexed: dict[str, Any],
) -> None:
    import schemathesis

    app = indexed["client"].app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(
        path_regex="^/v1/pool/clearings"
    )
    assert len(list(schema.get_all_operations())) == 2
    assert fuzz_operations(schema).server_errors == []
