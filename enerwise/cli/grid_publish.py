"""``enerwise grid publish``: a day's transfer limits computed and published on a CityPool,
each slot before its gate closure, signed by the grid operator's key (grid/publisher.py).

Without ``--pool`` the city is a throwaway one on a fresh local anvil: the scenario's N
communities become N community markets on one registry and a CityPool whose grid operator is
anvil's second dev key; the chain's clock moves one slot per published slot, so each slot's
limits go out while the slot before it runs. With ``--pool ADDRESS`` (and ``--rpc-url``,
``--keystore``) the limits go to that pool, for the chain's next ``--slots`` slots, at once.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from enerwise.cli.connection import contract_sender, node
from enerwise.cli.console import confirm, console
from enerwise.cli.options import (
    JsonFlag,
    KeystoreDir,
    PasswordEnv,
    PasswordFile,
    RpcUrl,
    SigningKey,
    YesFlag,
)
from enerwise.cli.output import print_json_line
from enerwise.errors import OptionError

if TYPE_CHECKING:
    from energychain.pool import CityPool
    from grid.publisher import Publication
    from grid.scenario import Scenario
    from wallet.transactions import TransactionSender

WH_PER_KWH = 1000


def publish(
    network: Annotated[
        str, typer.Option(help="Network name (see `enerwise grid networks`).")
    ] = "cigre-mv-kerber-small",
    communities: Annotated[
        int, typer.Option(min=1, help="Communities (groups of feeders; one pool community each).")
    ] = 3,
    households: Annotated[
        int, typer.Option(min=2, max=500, help="Real-data households per community.")
    ] = 10,
    day: Annotated[str, typer.Option(help="Day of 2015 or 2018 (YYYY-MM-DD).")] = "2018-06-21",
    slots: Annotated[int, typer.Option(min=1, max=96, help="Slots from midnight.")] = 4,
    forecast: Annotated[
        str, typer.Option(help="Limits on `naive` (yesterday's meters) or `perfect` forecasts.")
    ] = "naive",
    seed: Annotated[int, typer.Option(min=0, help="Seed of households and placement.")] = 0,
    pool: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Publish to this CityPool (with --rpc-url and --keystore); without it, a "
            "throwaway city on a fresh local anvil.",
        ),
    ] = None,
    rpc_url: RpcUrl = None,
    keystore: Annotated[
        str | None,
        typer.Option(
            metavar="PATH|ADDRESS",
            help="The grid operator's key (a keystore file or address); with --pool.",
        ),
    ] = None,
    keystore_dir: KeystoreDir = None,
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    journal: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Publication journal (default: .run/grid/publications-<chain>-<pool>.json with "
            "--pool, a temporary file without).",
        ),
    ] = None,
    yes: YesFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Compute each slot's transfer limits and publish them on a CityPool before the slot's
    gate closure, signed by the grid operator's key: one line per slot and a summary."""
    if pool is None and keystore is not None:
        raise OptionError("--keystore signs for --pool ADDRESS: give both, or neither")
    if pool is not None and keystore is None:
        raise OptionError("--pool needs the grid operator's key: give --keystore")
    target: _Target | None = None
    if pool is not None:  # the pool and the key first: they fail in a second, the scenario not
        _address(pool)
        assert keystore is not None
        key = SigningKey(keystore, keystore_dir, password_file, password_env)
        target = _existing_pool(pool, rpc_url, key)
        count = target.pool.community_count()
        if count != communities:
            raise OptionError(
                f"the pool has {count} communities, one per grid community: pass "
                f"--communities {count}"
            )
        journal = journal or _default_journal(target)
        confirm(
            f"Publish {slots} slots of limits to {pool}?",
            yes=yes,
            plan=[
                f"pool {target.pool.address} on chain {target.sender.chain_id}, grid operator "
                f"{target.sender.address}",
                f"the chain's next {slots} slots: {network}, {communities} communities of "
                f"{households} households, day {day}",
            ],
        )
    from grid.scenario import build_scenario

    began = time.perf_counter()
    scenario = build_scenario(
        network, communities, households, day, slots=slots, forecast=forecast, seed=seed
    )
    setup_s = time.perf_counter() - began
    with ExitStack() as stack:
        if target is None:
            target = _dev_city(stack, communities)
            journal = journal or Path(stack.enter_context(tempfile.TemporaryDirectory())) / (
                "publications.json"
            )
        assert journal is not None
        _run(scenario, target, journal, slots, setup_s, json_out)


class _Target:
    """Where the limits go: the pool, the grid operator's sender, and how to pass a slot."""

    def __init__(
        self, pool: CityPool, sender: TransactionSender, dev: Any = None, kind: str = "pool"
    ) -> None:
        self.pool = pool
        self.sender = sender
        self.dev = dev
        self.kind = kind


def _default_journal(target: _Target) -> Path:
    from chain.paths import run_dir

    name = f"publications-{target.sender.chain_id}-{target.pool.address}.json"
    return run_dir() / "grid" / name


def _address(pool: str) -> None:
    from web3 import Web3

    if not Web3.is_address(pool):
        raise OptionError(f"--pool: {pool!r} is not an address")


def _dev_city(stack: ExitStack, communities: int) -> _Target:
    """A fresh anvil with N community markets and a CityPool (grid operator: dev key 1)."""
    from devchain.city import deploy_city
    from devchain.sandbox import Sandbox

    sandbox = stack.enter_context(Sandbox.on_anvil())
    city = deploy_city(sandbox, communities)
    return _Target(city.pool, city.operator, sandbox, kind="anvil")


def _existing_pool(address: str, rpc_url: str | None, key: SigningKey) -> _Target:
    """The pool at ``address``, checked to be a contract the key may publish to."""
    from energychain.pool import CityPool

    signer = key.signer()
    w3 = node(rpc_url)
    if not w3.eth.get_code(w3.to_checksum_address(address)):
        raise OptionError(f"--pool: no contract at {address} on chain {w3.eth.chain_id}")
    pool = CityPool.at(w3, address)
    if not pool.has_role("GRID_OPERATOR_ROLE", signer.address):
        raise OptionError(
            f"{signer.address} does not hold GRID_OPERATOR_ROLE on the pool {pool.address}: "
            "nothing sent"
        )
    key.unlock(signer)
    return _Target(pool, contract_sender(w3, signer))


def _run(
    scenario: Scenario,
    target: _Target,
    journal_path: Path,
    slots: int,
    setup_s: float,
    json_out: bool,
) -> None:
    from grid.publisher import LimitsPublisher, PoolCommunities, PublicationJournal

    operator, data = scenario.operator, scenario.data
    mapping = PoolCommunities.in_order(c.id for c in operator.communities)
    mapping.check(target.pool.community_count(), (c.id for c in operator.communities))
    journal = PublicationJournal(journal_path, LimitsPublisher.identity(target.pool, target.sender))
    publisher = LimitsPublisher(target.pool, target.sender, mapping, journal=journal)
    recovered = publisher.recover()
    calendar = publisher.calendar
    first = calendar.slot_of(publisher.chain_time()) + 1
    rows: list[dict[str, Any]] = []
    for j in range(slots):
        slot = first + j
        began = time.perf_counter()
        limits = operator.limits(slot, data.forecast_wh[:, j])
        limits_s = time.perf_counter() - began
        published = publisher.publish(limits)
        row = _row(published, j, limits.power_flows, limits_s, time.perf_counter() - began)
        row["gate_closure"] = calendar.gate_closure(slot)
        row["chain_time"] = publisher.chain_time()
        rows.append(row)
        _show(row, json_out)
        if target.dev is not None:  # the dev chain moves on: the published slot starts
            target.dev.advance_to(calendar.start(slot))
    summary = _summary(rows, recovered, target, journal_path, setup_s)
    if json_out:
        print_json_line(summary)
        return
    console.print(
        f"published {summary['published']} of {summary['slots']} slots to the pool "
        f"{summary['pool']} ({summary['chain']}): gas {summary['gas_mean']:,.0f} per "
        f"publication ({summary['gas_max']:,} at most), {summary['seconds_per_slot']:.2f} s per "
        f"slot of limits + publishing; {summary['kept']} kept after a diverged power flow",
        highlight=False,
    )


def _row(
    published: Publication, j: int, power_flows: int, limits_s: float, total_s: float
) -> dict[str, Any]:
    from grid.limits import LimitsKept

    return {
        "slot": published.slot,
        "time_of_day": f"{j * 15 // 60:02d}:{j * 15 % 60:02d}",
        "status": published.status,
        "communities": len(published.import_wh),
        "import_wh": list(published.import_wh),
        "export_wh": list(published.export_wh),
        "import_total_wh": published.import_total_wh,
        "export_total_wh": published.export_total_wh,
        "kept": published.kept,
        "events": sorted({type(e).__name__ for e in published.events}),
        "kept_from": sorted(
            {e.from_slot for e in published.events if isinstance(e, LimitsKept)},
            key=lambda s: -1 if s is None else s,
        ),
        "gas_used": published.gas_used,
        "tx": published.tx,
        "power_flows": power_flows,
        "limits_s": round(limits_s, 3),
        "publish_s": round(total_s - limits_s, 3),
    }


def _show(row: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json_line(row)
        return
    events = ", ".join(row["events"]) or "-"
    gas = f"{row['gas_used']:,}" if row["gas_used"] is not None else "-"
    console.out(
        f"slot {row['slot']} ({row['time_of_day']}) {row['status']}: {row['communities']} "
        f"communities, import {row['import_total_wh'] / WH_PER_KWH:,.1f} kWh, export "
        f"{row['export_total_wh'] / WH_PER_KWH:,.1f} kWh; events {events}; gas {gas}; "
        f"{row['limits_s']:.2f} s limits + {row['publish_s']:.2f} s publishing",
        highlight=False,
    )


def _summary(
    rows: list[dict[str, Any]],
    recovered: list[Publication],
    target: _Target,
    journal: Path,
    setup_s: float,
) -> dict[str, Any]:
    gas = [r["gas_used"] for r in rows if r["gas_used"] is not None]
    seconds = [r["limits_s"] + r["publish_s"] for r in rows]
    return {
        "summary": True,
        "pool": target.pool.address,
        "chain": target.kind,
        "chain_id": target.sender.chain_id,
        "grid_operator": target.sender.address,
        "journal": str(journal),
        "slots": len(rows),
        "published": sum(r["status"] == "published" for r in rows),
        "unchanged": sum(r["status"] == "unchanged" for r in rows),
        "recovered": [{"slot": p.slot, "status": p.status} for p in recovered],
        "kept": sum(r["kept"] for r in rows),
        "import_total_wh": sum(r["import_total_wh"] for r in rows),
        "export_total_wh": sum(r["export_total_wh"] for r in rows),
        "gas_mean": sum(gas) / len(gas) if gas else 0.0,
        "gas_max": max(gas, default=0),
        "seconds_per_slot": sum(seconds) / len(seconds) if seconds else 0.0,
        "limits_s_mean": _mean([r["limits_s"] for r in rows]),
        "publish_s_mean": _mean([r["publish_s"] for r in rows]),
        "setup_s": round(setup_s, 2),
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
