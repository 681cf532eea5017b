"""The city's figures: one row per slot (:func:`slot_row`) and the day's report
(:func:`city_report`), the JSON ``enerwise city --json`` prints."""

from __future__ import annotations

from typing import Any

from enerwise.city.config import CityConfig
from enerwise.city.pool_step import ClaimedOrder, PoolStep
from enerwise.demo.meters import Metered
from grid.scenario import Scenario
from market.clearing import ClearingRecord, MarketParams

L2_BLOCK_GAS = 30_000_000
"""Gas of one block of the L2 the city is sized for."""
L2_BLOCK_SECONDS = 2
L2_BLOCKS_PER_SLOT = 900 // L2_BLOCK_SECONDS
"""Blocks of that L2 in one 15-minute slot (450)."""
MICRO = 1_000_000
"""Base units of the payment token per euro (6 decimals)."""


def slot_row(
    *,
    slot: int,
    k: int,
    params: MarketParams,
    metered: list[dict[int, Metered]],
    records: list[ClearingRecord],
    step: PoolStep,
    publication_kept: bool,
    events: list[str],
    limits: tuple[int, int],
    violations: tuple[int, int],
    diverged: int,
    gas: dict[str, int | None],
    orders: int,
    claimed: list[ClaimedOrder],
    agent_orders: int,
    agent_nets: dict[str, int],
    off_self_consumption: int,
    errors: list[str],
    checks_ok: bool,
    seconds: float,
    seconds_by_step: dict[str, float],
    kept_any: bool,
) -> dict[str, Any]:
    imported = sum(m.import_wh for rows in metered for m in rows.values())
    exported = sum(m.export_wh for rows in metered for m in rows.values())
    local = sum(r.volume_wh for r in records)
    pool = step.clearing.volume_wh
    gas_total = sum(v for v in gas.values() if v is not None)
    fills = step.clearing.communities
    return {
        "slot": slot,
        "time": f"{k * 15 // 60:02d}:{k * 15 % 60:02d}",
        "household_import_wh": imported,
        "household_export_wh": exported,
        "local_wh": local,
        "pool_wh": pool,
        "grid_import_wh": imported - local - pool,
        "grid_export_wh": exported - local - pool,
        "grid_fees": step.clearing.grid_fees,
        "community_prices": [r.price_per_kwh if r.cleared else None for r in records],
        "pool_price": params.price(step.clearing.clearing_tick) if step.clearing.cleared else None,
        "pool_buy_prices": [params.price(f.buy_tick) if f.import_wh else None for f in fills],
        "pool_sell_prices": [params.price(f.sell_tick) if f.export_wh else None for f in fills],
        "pool_imports_wh": [f.import_wh for f in fills],
        "pool_exports_wh": [f.export_wh for f in fills],
        "limits_import_wh": limits[0],
        "limits_export_wh": limits[1],
        "limits_kept": publication_kept or kept_any,
        "events": events,
        "violations_without_limits": violations[0],
        "violations_with_limits": violations[1],
        "power_flows_diverged": diverged,
        "gas": gas,
        "gas_total": gas_total,
        "l2_blocks": round(gas_total / L2_BLOCK_GAS, 3),
        "orders": orders,
        "claims": len(claimed),
        "pool_filled_orders": sum(c.pool_wh > 0 for c in claimed),
        "battery_agent_orders": agent_orders,
        "battery_agent_net_wh": agent_nets,
        "battery_agents_off_self_consumption": off_self_consumption,
        "errors": errors,
        "conservation_ok": checks_ok,
        "seconds": round(seconds, 2),
        "seconds_by_step": seconds_by_step,
    }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _eur(values: list[int]) -> dict[str, Any]:
    """Mean, lowest and highest of prices (base units per kWh) in EUR per kWh."""
    if not values:
        return {"mean": None, "min": None, "max": None, "slots": 0}
    return {
        "mean": round(sum(values) / len(values) / MICRO, 5),
        "min": round(min(values) / MICRO, 5),
        "max": round(max(values) / MICRO, 5),
        "slots": len(values),
    }


def agents_note(agents: dict[str, Any]) -> str:
    if not agents["count"]:
        return (
            "every household bids truthfully (retail / feed-in tariff); battery owners run their "
            "battery in self-consumption (no agents)"
        )
    return (
        f"households without battery bid truthfully (retail / feed-in tariff); the "
        f"{agents['count']} battery owners are run by the demo's agents (AgentRuntime, policy "
        f"{agents['policy']}) through delegated agent keys: each decides its battery and bids "
        f"for its expected import ahead and sells its export once minted; its meter signs the "
        f"agent's battery plan"
    )


def city_report(
    config: CityConfig,
    scenario: Scenario,
    params: MarketParams,
    rows: list[dict[str, Any]],
    checks: dict[str, bool],
    first: int,
    agents: dict[str, Any],
) -> dict[str, Any]:
    ids = [c.id for c in scenario.operator.communities]
    imported = sum(r["household_import_wh"] for r in rows)
    exported = sum(r["household_export_wh"] for r in rows)
    local = sum(r["local_wh"] for r in rows)
    pool = sum(r["pool_wh"] for r in rows)
    gas_totals = [r["gas_total"] for r in rows]
    steps = ("limits", "readings", "orders", "clears", "pool", "settle", "claims")
    gas_max = max(gas_totals, default=0)
    kept = [r for r in rows if r["limits_kept"]]
    return {
        "network": config.network,
        "communities": config.communities,
        "households": config.households,
        "households_total": len(scenario.households),
        "day": config.day,
        "slots": config.slots,
        "first_slot": first,
        "forecast": config.forecast,
        "seed": config.seed,
        "grid_fee_ticks_per_level": config.grid_fee_ticks,
        "grid_fee_eur_per_kwh_per_level": config.grid_fee_ticks * params.tick_size / MICRO,
        "household_import_kwh": imported / 1000,
        "household_export_kwh": exported / 1000,
        "local_kwh": local / 1000,
        "pool_kwh": pool / 1000,
        "local_share": _share(local, imported),
        "pool_share": _share(pool, imported),
        "local_plus_pool_share": _share(local + pool, imported),
        "local_plus_pool_higher": local + pool > local,
        "grid_import_kwh": sum(r["grid_import_wh"] for r in rows) / 1000,
        "grid_export_kwh": sum(r["grid_export_wh"] for r in rows) / 1000,
        "grid_fees_eur": sum(r["grid_fees"] for r in rows) / MICRO,
        "prices_eur_per_kwh": {
            "communities": {
                cid: _eur([p for r in rows if (p := r["community_prices"][i]) is not None])
                for i, cid in enumerate(ids)
            },
            "pool": _eur([r["pool_price"] for r in rows if r["pool_price"] is not None]),
            "pool_buy": _eur([p for r in rows for p in r["pool_buy_prices"] if p is not None]),
            "pool_sell": _eur([p for r in rows for p in r["pool_sell_prices"] if p is not None]),
        },
        "violations_without_limits": sum(r["violations_without_limits"] for r in rows),
        "violations_with_limits": sum(r["violations_with_limits"] for r in rows),
        "violations_with_limits_published_slots": sum(
            r["violations_with_limits"] for r in rows if not r["limits_kept"]
        ),
        "slots_with_violations_without_limits": sum(
            bool(r["violations_without_limits"]) for r in rows
        ),
        "slots_with_violations_with_limits": sum(bool(r["violations_with_limits"]) for r in rows),
        "slots_limits_kept": len(kept),
        "power_flows_diverged": sum(r["power_flows_diverged"] for r in rows),
        "pool_clear_gas_max": max((r["gas"]["pool"] for r in rows), default=0),
        "pool_settle_gas_max": max((r["gas"]["settle"] for r in rows), default=0),
        "claims_gas_max": max((r["gas"]["claims"] for r in rows), default=0),
        "conservation_ok": all(r["conservation_ok"] for r in rows),
        "conservation": dict(checks),
        "gas_per_slot_mean": round(sum(gas_totals) / len(gas_totals)) if gas_totals else 0,
        "gas_per_slot_max": gas_max,
        "gas_per_slot_by_step_mean": {
            s: round(sum(r["gas"][s] for r in rows) / len(rows)) if rows else 0 for s in steps
        },
        "l2_block_gas": L2_BLOCK_GAS,
        "l2_blocks_per_slot": L2_BLOCKS_PER_SLOT,
        "l2_blocks_needed_max": round(gas_max / L2_BLOCK_GAS, 3),
        "l2_block_space_share_max": round(gas_max / L2_BLOCK_GAS / L2_BLOCKS_PER_SLOT, 6),
        "orders": sum(r["orders"] for r in rows),
        "claims": sum(r["claims"] for r in rows),
        "pool_filled_orders": sum(r["pool_filled_orders"] for r in rows),
        "order_errors": sum(len(r["errors"]) for r in rows),
        "battery_agents": agents,
        "notes": [
            "pool cleared on chain by CityPool.clear from residuals read from the markets; the "
            "Python reference (market.pool.clear_pool) cleared the same residuals, and "
            "conservation.pool_on_chain_equals_reference says whether every figure agreed",
            agents_note(agents),
            "claims are sent: after CityPool.settle a keeper claims every order of the slot "
            "(claimBatch, in id order, the agents' buys placed ahead included; the agents claim "
            "nothing themselves), and conservation.claims_on_chain_equal_the_reference says "
            "whether every OrderClaimed (filledWh, amount, fee, refund) and OrderPoolFilled "
            "(poolWh) equals the outcome of the Python reference (market.pool.settle_city); "
            "conservation.markets_solvent_after_claims whether every market's payment and slot "
            "tokens still cover its members' and treasury's vault balances and its open buys",
        ],
        "per_slot": rows,
    }
