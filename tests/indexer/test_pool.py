"""The city pool in the index and the API: a city of two communities on a real anvil
(``devchain.city.deploy_city``), a grid fee, limits published twice for one slot (a revision)
and once for the next, on SQLite and PostgreSQL; an indexer without the pool as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from chain.compiler import compile_contracts
from chain.local_node import AnvilProcess, start_anvil
from chain.rpc import JsonRpcClient
from devchain.city import City, deploy_city
from devchain.sandbox import Sandbox
from indexer import store
from indexer.api import ApiConfig, create_app
from indexer.db.engine import make_engine
from indexer.ingest import Ingester
from indexer.pool_queries import POOL_KEY
from indexer.verify import verify
from tests.indexer.conftest import indexed_fixture, query_rows
from tests.indexer.fuzzing import fuzz_operations

FEE_TICKS = 3
FIRST = [(4_000, 2_500), (1_000, 0)]
REVISED = [(3_500, 2_000), (1_200, 700)]
NEXT = [(9_000, 8_000), (7_000, 6_000)]


@dataclass
class CityChain:
    node: AnvilProcess
    city: City
    slot: int
    publications: list[dict[str, Any]]

    @property
    def addresses(self) -> dict[str, str]:
        return {**self.city.sandbox.deployment.addresses, POOL_KEY: self.city.pool.address}

    def ingester(self, engine: Engine, *, pool: bool = True) -> Ingester:
        deployment = self.city.sandbox.deployment
        addresses = self.addresses if pool else dict(deployment.addresses)
        return Ingester(
            engine, JsonRpcClient(self.node.rpc_url), addresses, deployment.block_number
        )


@pytest.fixture(scope="module")
def city_chain() -> Iterator[CityChain]:
    compile_contracts()
    with start_anvil() as node:
        sandbox = Sandbox.at(node.rpc_url)
        city = deploy_city(sandbox, 2, levels=2)
        operator, pool = city.operator, city.pool
        operator.transact(pool.set_grid_fee(FEE_TICKS, operator.address))
        now = int(sandbox.w3.eth.get_block("latest")["timestamp"])
        slot = pool.calendar().slot_of(now) + 2
        publications = []
        for when, limits in ((slot, FIRST), (slot, REVISED), (slot + 1, NEXT)):
            receipt = operator.transact(pool.publish_limits(when, limits, communities=2))
            publications.append(
                {
                    "slot": when,
                    "block": int(receipt["blockNumber"]),
                    "tx": receipt["transactionHash"].to_0x_hex(),
                }
            )
        yield CityChain(node, city, slot, publications)


#: The city indexed with its pool, and a client of the API over it.
indexed = indexed_fixture("city_chain")


def test_the_communities_are_indexed_with_their_markets_and_levels(
    indexed: dict[str, Any],
) -> None:
    city = indexed["chain"].city
    rows = query_rows(
        indexed["engine"],
        "SELECT community_id, market, levels, block_number FROM pool_communities "
        "ORDER BY community_id",
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [(0, city.markets[0], 2), (1, city.markets[1], 2)]
    assert indexed["chain"].city.sandbox.deployment.block_number < rows[0][3] <= rows[1][3]


def test_every_publication_is_kept_one_row_per_community(indexed: dict[str, Any]) -> None:
    chain = indexed["chain"]
    rows = query_rows(
        indexed["engine"],
        "SELECT slot, community_id, import_wh, export_wh, block_number FROM pool_limits "
        "ORDER BY block_number, log_index, community_id",
    )
    expected = [
        (p["slot"], i, imp, exp, p["block"])
        for p, limits in zip(chain.publications, (FIRST, REVISED, NEXT), strict=True)
        for i, (imp, exp) in enumerate(limits)
    ]
    assert [(r[0], r[1], int(r[2]), int(r[3]), r[4]) for r in rows] == expected
    fees = query_rows(
        indexed["engine"], "SELECT fee_ticks_per_level, recipient FROM pool_fee_changes"
    )
    assert fees == [(FEE_TICKS, chain.city.operator.address)]


def test_the_pool_answers_its_address_communities_and_fee(indexed: dict[str, Any]) -> None:
    chain = indexed["chain"]
    body = indexed["client"].get("/v1/pool").json()
    assert body["address"] == chain.city.pool.address
    assert body["community_count"] == 2
    assert body["market_community_id"] == 0
    fee = body["grid_fee"]
    assert fee["fee_ticks_per_level"] == FEE_TICKS
    assert fee["fee_per_level"] == str(FEE_TICKS * chain.city.sandbox.params.tick_size)
    assert fee["recipient"] == chain.city.operator.address
    items = indexed["client"].get("/v1/pool/communities").json()["items"]
    assert [(c["community_id"], c["market"], c["levels"]) for c in items] == [
        (0, chain.city.markets[0], 2),
        (1, chain.city.markets[1], 2),
    ]


def test_a_slots_limits_are_its_latest_revision(indexed: dict[str, Any]) -> None:
    chain = indexed["chain"]
    body = indexed["client"].get(f"/v1/pool/limits/{chain.slot}").json()
    assert body["revisions"] == 2
    assert body["gate_closure"] == chain.city.pool.gate_closure(chain.slot)
    revised = chain.publications[1]
    assert [
        (c["community_id"], c["published"], c["import_wh"], c["export_wh"], c["tx_hash"])
        for c in body["communities"]
    ] == [(i, True, str(a), str(b), revised["tx"]) for i, (a, b) in enumerate(REVISED)]
    on_chain = chain.city.pool.slot_limits(chain.slot)
    assert [(x.import_wh, x.export_wh) for x in on_chain] == REVISED


def test_a_slot_without_limits_lists_every_community_unpublished(indexed: dict[str, Any]) -> None:
    chain = indexed["chain"]
    body = indexed["client"].get(f"/v1/pool/limits/{chain.slot + 5}").json()
    assert body["revisions"] == 0
    assert [(c["published"], c["import_wh"], c["tx_hash"]) for c in body["communities"]] == [
        (False, "0", None),
        (False, "0", None),
    ]


def test_limits_of_consecutive_slots(indexed: dict[str, Any]) -> None:
    chain = indexed["chain"]
    items = (
        indexed["client"]
        .get("/v1/pool/limits", params={"from_slot": chain.slot, "slots": 3})
        .json()["items"]
    )
    assert [(s["slot"], s["revisions"]) for s in items] == [
        (chain.slot, 2),
        (chain.slot + 1, 1),
        (chain.slot + 2, 0),
    ]
    assert [c["export_wh"] for c in items[1]["communities"]] == ["8000", "6000"]
    # without from_slot: from the slot now running on the indexed chain, 8 slots
    default = indexed["client"].get("/v1/pool/limits").json()["items"]
    assert len(default) == 8 and default[2]["slot"] == chain.slot


@pytest.mark.parametrize(
    "path",
    [
        "/v1/pool/limits/-1",
        "/v1/pool/limits/abc",
        f"/v1/pool/limits/{2**63}",
        "/v1/pool/limits?slots=0",
        "/v1/pool/limits?slots=97",
        "/v1/pool/limits?from_slot=-3",
    ],
)
def test_a_bad_slot_is_a_422(indexed: dict[str, Any], path: str) -> None:
    response = indexed["client"].get(path)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_reorg_brings_the_revision_before_back(city_chain: CityChain, engine: Engine) -> None:
    ingester = city_chain.ingester(engine)
    ingester.sync()
    revised_block = city_chain.publications[1]["block"]
    good = ingester.rpc.header(revised_block - 1)
    assert good is not None
    with engine.begin() as conn:
        deleted = store.rollback_to(conn, good)
    assert deleted["pool_limits"] == 4  # the revision and the next slot's publication
    app = create_app(engine, ApiConfig(rate_limit_per_minute=0, response_cache_seconds=0))
    with TestClient(app) as client:
        body = client.get(f"/v1/pool/limits/{city_chain.slot}").json()
        assert body["revisions"] == 1
        assert [c["import_wh"] for c in body["communities"]] == [str(a) for a, _ in FIRST]
        ingester.sync()  # the blocks are still on the chain: the revision comes back
        body = client.get(f"/v1/pool/limits/{city_chain.slot}").json()
        assert body["revisions"] == 2
        assert [c["import_wh"] for c in body["communities"]] == [str(a) for a, _ in REVISED]


def test_an_indexer_without_the_pool_works_as_before(city_chain: CityChain, engine: Engine) -> None:
    city_chain.ingester(engine, pool=False).sync()
    counts = query_rows(
        engine,
        "SELECT (SELECT count(*) FROM pool_communities), (SELECT count(*) FROM pool_limits), "
        "(SELECT count(*) FROM events WHERE contract = 'pool')",
    )
    assert counts == [(0, 0, 0)]
    app = create_app(engine, ApiConfig(rate_limit_per_minute=0))
    with TestClient(app) as client:
        assert client.get("/v1/status").status_code == 200
        for path in (
            "/v1/pool",
            "/v1/pool/communities",
            "/v1/pool/limits/1",
            "/v1/pool/limits",
            "/v1/pool/clearings",
            "/v1/pool/clearings/1",
        ):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "pool_not_indexed"


def test_a_database_of_the_pool_less_deployment_refuses_the_pool(
    city_chain: CityChain, engine: Engine
) -> None:
    from indexer.errors import ChainMismatchError

    city_chain.ingester(engine, pool=False).sync()
    with pytest.raises(ChainMismatchError, match="use another database"):
        city_chain.ingester(engine).prepare()


def test_indexer_run_follows_the_pool_named_by_pool(city_chain: CityChain, tmp_path: Any) -> None:
    from tests.indexer.test_cli import enerwise

    db = f"sqlite:///{tmp_path}/cli.sqlite3"
    deployment = city_chain.city.sandbox.deployment.save(tmp_path / "deployment.json")
    assert enerwise("migrate", "--database-url", db).returncode == 0
    run = enerwise(
        "run", "--once", "--database-url", db, "--rpc-url", city_chain.node.rpc_url,
        "--deployment", str(deployment), "--pool", city_chain.city.pool.address.lower(),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    engine = make_engine(db)
    try:
        assert query_rows(engine, "SELECT count(*) FROM pool_limits") == [(6,)]
    finally:
        engine.dispose()
    verified = enerwise(
        "verify", "--json", "--database-url", db, "--rpc-url", city_chain.node.rpc_url
    )
    assert verified.returncode == 0, verified.stderr
    checked = json.loads(verified.stdout)["checked"]
    assert checked["pool communities"] == 1 and checked["pool community"] == 2
    assert checked["pool grid fee"] == 1 and checked["pool limits"] == 4  # 2 slots x 2


def test_verify_finds_a_tampered_limit(city_chain: CityChain, engine: Engine) -> None:
    ingester = city_chain.ingester(engine)
    ingester.sync()
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE pool_limits SET import_wh = import_wh + 1 "
                "WHERE block_number = :b AND community_id = 1"
            ),
            {"b": city_chain.publications[1]["block"]},
        )
    report = verify(engine, ingester.rpc)
    assert report.differences == [
        f"pool limits slot {city_chain.slot} community 1: database (True, {REVISED[1][0] + 1}, "
        f"{REVISED[1][1]}), chain (True, {REVISED[1][0]}, {REVISED[1][1]})"
    ]


def test_no_generated_request_to_the_pool_routes_causes_a_server_error(
    indexed: dict[str, Any],
) -> None:
    import schemathesis

    app = indexed["client"].app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/v1/pool")
    assert len(list(schema.get_all_operations())) == 6  # with the clearings' two
    assert fuzz_operations(schema).server_errors == []


def test_limits_of_a_slot_beyond_int64_stay_in_events_and_stop_nothing(
    city_chain: CityChain, engine: Engine
) -> None:
    """The pool takes any uint64 slot whose gate closure is ahead: one no column can hold is
    logged and kept in ``events`` only (the tables and the answers above do not change)."""
    far = 2**63
    pool, operator = city_chain.city.pool, city_chain.city.operator
    if not pool.limits(far, 0).published:  # once per module: the chain is shared
        operator.transact(pool.publish_limits(far, [(1, 1), (1, 1)], communities=2))
    ingester = city_chain.ingester(engine)
    ingester.sync()
    assert ingester.rpc.block_number() == ingester.sync()
    assert query_rows(engine, "SELECT count(*) FROM pool_limits") == [(6,)]
    published = query_rows(engine, "SELECT args FROM events WHERE name = 'LimitsPublished'")
    assert len(published) == 4
