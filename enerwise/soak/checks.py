"""What a soak proves at the end, each from the chain or the databases, never from what the
driver believes happened:

- **readings**: every reading the oracle signed (its outbox) is on chain exactly once
  (``ReadingAccepted`` for its meter and seq), and the chain holds no reading the oracle did
  not sign;
- **orders**: no order was placed twice: per owner, slot and side at most one order that was
  not cancelled (the agent and the gateways place one order per slot and side);
- **identities**: the nine conservation identities of :mod:`enerwise.demo.ledger` on chain;
- **indexer**: the indexer's database equals a fresh ingest of the final chain into an empty
  database (every chain-derived table, row for row), and ``indexer.verify`` finds no difference
  with the chain;
- **API**: no 5xx answer outside the windows when its database was down.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devchain.sandbox import Sandbox
from energychain.events import EventReader

CHAIN_TABLES = (
    "events",
    "orders",
    "order_cancellations",
    "order_claims",
    "clearings",
    "vault_ledger",
    "token_transfers",
    "meters",
    "meter_updates",
    "readings",
    "fee_changes",
    "slots",
    "accounts",
)
"""Tables derived from the chain alone (``blocks`` holds the hashes of the ranges each
ingester happened to read; the others hold sessions and requests)."""


@dataclass
class ReadingsCheck:
    signed: int
    on_chain: int
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unsigned: list[str] = field(default_factory=list)


def check_readings(sandbox: Sandbox, outbox: Path) -> ReadingsCheck:
    """The outbox's signed readings against the chain's ``ReadingAccepted`` events."""
    with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True) as conn:
        signed = {
            (bytes(meter).hex(), int(seq))
            for meter, seq in conn.execute("SELECT meter_id, seq FROM readings")
        }
    events = EventReader(sandbox.contracts.registry).read(
        "ReadingAccepted", sandbox.deployment.block_number
    )
    on_chain = Counter((bytes(e["args"]["meterId"]).hex(), int(e["args"]["seq"])) for e in events)
    return ReadingsCheck(
        signed=len(signed),
        on_chain=sum(on_chain.values()),
        lost=[f"{m[:8]}#{s}" for m, s in sorted(signed - set(on_chain))],
        duplicated=[f"{m[:8]}#{s}" for (m, s), n in sorted(on_chain.items()) if n > 1],
        unsigned=[f"{m[:8]}#{s}" for m, s in sorted(set(on_chain) - signed)],
    )


def duplicate_orders(sandbox: Sandbox) -> list[str]:
    """``owner slot side`` of every (owner, slot, side) with more than one live order."""
    events = EventReader(sandbox.contracts.market)
    first = sandbox.deployment.block_number
    cancelled = {int(e["args"]["orderId"]) for e in events.read("OrderCancelled", first)}
    live = Counter(
        (e["args"]["owner"], int(e["args"]["slot"]), bool(e["args"]["isBuy"]))
        for e in events.read("OrderPlaced", first)
        if int(e["args"]["orderId"]) not in cancelled
    )
    return [
        f"{owner} slot {slot} {'buy' if buy else 'sell'} x{n}"
        for (owner, slot, buy), n in sorted(live.items())
        if n > 1
    ]


def order_count(sandbox: Sandbox) -> int:
    events = EventReader(sandbox.contracts.market)
    return len(events.read("OrderPlaced", sandbox.deployment.block_number))


def check_identities(sandbox: Sandbox, holders: Iterable[str]) -> dict[str, bool]:
    """The nine conservation identities (name -> holds) over every slot that saw a mint."""
    from enerwise.demo.ledger import ZERO, read_ledger

    token_events = EventReader(sandbox.contracts.token)
    first = sandbox.deployment.block_number
    slots = sorted(
        {
            int(e["args"]["id"])
            for e in token_events.read("TransferSingle", first, filters={"from": ZERO})
        }
    )
    return read_ledger(sandbox, holders, slots).checks


def failing(checks: dict[str, bool]) -> list[str]:
    return [name for name, ok in checks.items() if not ok]


# ---------------------------------------------------------------------------------- indexer
def table_rows(database_url: str, tables: Sequence[str] = CHAIN_TABLES) -> dict[str, Counter[Any]]:
    """Every row of ``tables`` without its surrogate ``id``, as a multiset per table."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(database_url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=list(tables))
        out: dict[str, Counter[Any]] = {}
        with engine.connect() as conn:
            for name in tables:
                table = meta.tables[name]
                columns = [c for c in table.columns if c.name != "id"]
                out[name] = Counter(
                    tuple(_hashable(v) for v in row) for row in conn.execute(select(*columns))
                )
        return out
    finally:
        engine.dispose()


def _hashable(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def indexer_differences(live_url: str, fresh_url: str) -> list[str]:
    """Per table, how the live index differs from a fresh ingest (empty: equal)."""
    live, fresh = table_rows(live_url), table_rows(fresh_url)
    problems: list[str] = []
    for name in CHAIN_TABLES:
        extra = live[name] - fresh[name]
        missing = fresh[name] - live[name]
        if extra or missing:
            sample = next(iter(extra or missing))
            problems.append(
                f"{name}: {sum(extra.values())} rows only in the live index, "
                f"{sum(missing.values())} only in the fresh ingest (e.g. {sample!r:.160})"
            )
    return problems


def fresh_ingest(database_url: str, rpc_url: str, deployment: Path) -> int:
    """Migrate an empty database and ingest the whole chain into it; the checkpoint."""
    from chain.rpc import JsonRpcClient
    from energychain.deploy import load_deployment
    from indexer.db.engine import make_engine
    from indexer.db.migrate import upgrade
    from indexer.ingest import IngestConfig, Ingester

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        from chain.connection import connect

        record = load_deployment(connect(rpc_url), deployment)
        ingester = Ingester(
            engine,
            JsonRpcClient(rpc_url),
            record.addresses,
            record.block_number,
            config=IngestConfig(confirmations=0),
        )
        return ingester.sync()
    finally:
        engine.dispose()


def verify_index(database_url: str, rpc_url: str) -> list[str]:
    """``indexer verify``'s differences between a database and the chain."""
    from chain.rpc import JsonRpcClient
    from indexer.db.engine import make_engine
    from indexer.verify import verify

    engine = make_engine(database_url)
    rpc = JsonRpcClient(rpc_url)
    try:
        report = verify(engine, rpc)
        return [str(d) for d in report.differences]
    finally:
        rpc.close()
        engine.dispose()


# ---------------------------------------------------------------------------------- API
@dataclass(frozen=True)
class Probe:
    at: float
    status: int
    """HTTP status, 0 when no answer came."""
    route: str


def api_errors_outside(
    probes: Sequence[Probe], outages: Sequence[tuple[float, float]], grace: float
) -> list[Probe]:
    """5xx answers (and no answer at all) outside ``outages`` widened by ``grace`` seconds."""

    def excused(at: float) -> bool:
        return any(start - grace <= at <= end + grace for start, end in outages)

    return [p for p in probes if (p.status >= 500 or p.status == 0) and not excused(p.at)]
