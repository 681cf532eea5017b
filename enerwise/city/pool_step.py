"""The pool's step of a city slot, behind one function: :func:`clear_pool_step`.

Each community's residual is read from its market on chain (clearing record and levels, checked
against the market's ``residualCommitment``: :func:`energychain.pool.read_residual`), its limits
from the ``CityPool`` (``limits(slot, id)``: zero when none were published) and the grid fee from
the pool. The pool then clears on chain (``CityPool.clear``, which checks every residual against
its market's commitment again); the Python reference (:func:`market.pool.clear_pool`) clears
the same residuals, and the step records whether the chain's ``PoolCleared`` equals it, figure
for figure. The gas is the clearing transaction's. With ``settle`` the pool then settles the
slot with the communities' markets (``CityPool.settle`` with the event's fills: energy and money
move between the pool and the markets, whose claims then add the pool fills), its gas apart.

:func:`claim_orders` claims a market's orders of the slot (``claimBatch`` by a keeper, in id order:
the order the reference settles them in, which decides how a community's pool fill is spread over
its orders) and returns each order's ``OrderClaimed`` with its ``OrderPoolFilled``.

:func:`check_conservation` settles the slot again by the reference (:func:`market.pool.
settle_city`, from the orders as placed on chain) and checks the pool's invariants, and, given the
claims, that every claim equals the reference's outcome (:func:`claims_equal_reference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chain.artifacts import load_artifact
from energychain.events import EventReader
from energychain.market import Market
from energychain.pool import CityPool, SlotPoolClearing, read_residual
from energychain.tokens import EnergyToken, PaymentToken
from market.clearing import WH_PER_KWH, ClearingRecord, MarketParams, Order, Side
from market.pool import (
    CityCommunity,
    CityOrderOutcome,
    PoolClearing,
    PoolCommunity,
    clear_pool,
    settle_city,
)
from wallet.transactions import TransactionSender

GAS_PER_POOLED_CLAIM = 120_000
"""Gas limit per order of a ``claimBatch`` in a ``PooledEnergyMarket`` (a claim with a pool fill
uses about 60k to 85k)."""
CLAIMS_PER_BATCH = 400
"""Orders per ``claimBatch``: 400 x 120k = 48M gas at most, under the sandbox's 100M block."""


@dataclass(frozen=True, slots=True)
class PoolStep:
    """The pool's clearing of one slot.

    Attributes:
        slot: the slot.
        clearing: the pool's result (volume, price, each community's fill and fee).
        communities: what the pool cleared: each community's residual, levels and limits.
        fee_ticks_per_level: the grid fee it cleared with.
        gas_used: the clearing transaction's gas.
        chain_equals_reference: whether the chain's ``PoolCleared`` (volume, ticks, every
            community's import, export and marginal levels) equals ``clearing``.
        settle_gas_used: the settlement transaction's gas (0 when not settled).
    """

    slot: int
    clearing: PoolClearing
    communities: tuple[PoolCommunity, ...]
    fee_ticks_per_level: int
    gas_used: int
    chain_equals_reference: bool
    settle_gas_used: int = 0


def clear_pool_step(
    pool: CityPool,
    markets: Sequence[Market],
    community_ids: Sequence[str],
    slot: int,
    params: MarketParams,
    keeper: TransactionSender,
    *,
    settle: bool = False,
) -> PoolStep:
    """Clear ``slot`` of the city pool over ``markets`` (pool id order; ``community_ids`` names
    them), every market already cleared (see the module docstring).

    Raises:
        PoolInputError: a market has not cleared the slot.
        ResidualMismatchError: a residual does not hash to its market's commitment.
        TransactionRevertedError: the pool refused the clearing (its named error).
    """
    fee = pool.grid_fee().fee_ticks_per_level
    communities = []
    for community_id, (community, market) in enumerate(
        zip(pool.communities(), markets, strict=True)
    ):
        limits = pool.limits(slot, community_id)
        communities.append(
            PoolCommunity(
                community_id=community_ids[community_id],
                levels=community.levels,
                import_limit_wh=int(limits.import_wh),
                export_limit_wh=int(limits.export_wh),
                residual=read_residual(market, slot, params),
            )
        )
    clearing = clear_pool(communities, params, fee)
    receipt = keeper.transact(pool.clear(slot, [c.residual for c in communities]))
    (on_chain,) = pool.cleared_events(receipt)
    settle_gas = int(keeper.transact(pool.settle(slot, on_chain))["gasUsed"]) if settle else 0
    return PoolStep(
        slot,
        clearing,
        tuple(communities),
        fee,
        int(receipt["gasUsed"]),
        _same_clearing(on_chain, clearing),
        settle_gas,
    )


def _same_clearing(on_chain: SlotPoolClearing, reference: PoolClearing) -> bool:
    """Whether the chain's clearing and the reference's agree on every figure the chain emits."""
    head = (on_chain.volume_wh, on_chain.clearing_tick) == (
        reference.volume_wh,
        reference.clearing_tick,
    )
    if reference.cleared:
        head = head and (on_chain.buy_marginal_tick, on_chain.sell_marginal_tick) == (
            reference.buy_marginal_tick,
            reference.sell_marginal_tick,
        )
    fills = len(on_chain.fills) == len(reference.communities) and all(
        (chain.import_wh, chain.export_wh, chain.buy_marginal, chain.sell_marginal)
        == (ref.import_wh, ref.export_wh, ref.buy_marginal, ref.sell_marginal)
        for chain, ref in zip(on_chain.fills, reference.communities, strict=False)
    )
    return head and fills


def placed_orders(market: Market, slot: int, from_block: int, to_block: int) -> list[Order]:
    """``slot``'s orders as placed in ``market`` (``OrderPlaced`` in the block range), in id
    order: the order the reference settles them in."""
    events = EventReader(market).read("OrderPlaced", from_block, to_block, filters={"slot": slot})
    orders = [
        Order(
            id=str(int(e["args"]["orderId"])),
            side=Side.BUY if e["args"]["isBuy"] else Side.SELL,
            tick=int(e["args"]["tick"]),
            qty_wh=int(e["args"]["qtyWh"]),
        )
        for e in events
    ]
    return sorted(orders, key=lambda o: int(o.id))


@dataclass(frozen=True, slots=True)
class ClaimedOrder:
    """One order's claim on chain: its ``OrderClaimed`` and its ``OrderPoolFilled`` (0 without).

    Attributes:
        order_id: the order.
        filled_wh: Wh filled in all, local and pool.
        amount: what a buyer paid, or what a seller received after the fee.
        fee: the market's fee (a seller's).
        refund: the escrow given back.
        pool_wh: Wh filled through the pool.
    """

    order_id: int
    filled_wh: int
    amount: int
    fee: int
    refund: int
    pool_wh: int


def claim_orders(
    market: Market,
    order_ids: Sequence[int],
    keeper: TransactionSender,
    *,
    chunk: int = CLAIMS_PER_BATCH,
) -> list[ClaimedOrder]:
    """Claim ``order_ids`` of a ``PooledEnergyMarket`` (``claimBatch`` in parts of ``chunk``, in
    the given order; anyone may claim, the owner is paid) and return their claims in that order.

    Raises:
        TransactionRevertedError: a claim was refused (its named error).
    """
    if not order_ids:
        return []
    pooled = Market(market.w3, load_artifact("PooledEnergyMarket"), market.address, market.decoder)
    parts = [order_ids[i : i + chunk] for i in range(0, len(order_ids), chunk)]
    receipts = keeper.send_batch(
        [market.claim_batch(part, gas=GAS_PER_POOLED_CLAIM * len(part) + 60_000) for part in parts]
    )
    claimed: list[ClaimedOrder] = []
    for receipt in receipts:
        pool_wh = {
            int(e["args"]["orderId"]): int(e["args"]["poolWh"])
            for e in pooled.events(receipt, "OrderPoolFilled")
        }
        claimed.extend(
            ClaimedOrder(
                order_id=int(e["args"]["orderId"]),
                filled_wh=int(e["args"]["filledWh"]),
                amount=int(e["args"]["amount"]),
                fee=int(e["args"]["fee"]),
                refund=int(e["args"]["refund"]),
                pool_wh=pool_wh.get(int(e["args"]["orderId"]), 0),
            )
            for e in market.events(receipt, "OrderClaimed")
        )
    return claimed


def claims_equal_reference(
    claimed: Sequence[ClaimedOrder], outcomes: Sequence[CityOrderOutcome]
) -> bool:
    """Whether a community's claims on chain are the reference's outcomes, order for order (the
    same orders in the same order): Wh filled and through the pool, amount (a buyer's paid, a
    seller's received), fee and refund."""
    return len(claimed) == len(outcomes) and all(
        (c.order_id, c.filled_wh, c.pool_wh, c.amount, c.fee, c.refund)
        == (
            int(o.order_id),
            o.filled_wh,
            o.pool_wh,
            o.paid if o.side is Side.BUY else o.received,
            o.fee,
            o.refund,
        )
        for c, o in zip(claimed, outcomes, strict=True)
    )


def market_solvent(
    market: Market,
    payment: PaymentToken,
    token: EnergyToken,
    accounts: Sequence[str],
    slot: int,
    later_orders: Sequence[int],
    params: MarketParams,
) -> bool:
    """Whether ``market``, after ``slot``'s claims, holds what it still owes: payment tokens at
    least the vault balances of ``accounts`` (its members and the treasury) plus the escrow of
    the buys of ``later_orders`` still open (orders of later slots: the agents' buys placed
    ahead), and ``slot``'s tokens at least what ``accounts`` hold of them in the vault."""
    owed = sum(int(market.balance_of(a)) for a in accounts)
    for order_id in later_orders:
        order = market.order(order_id)
        if order is not None and order.is_buy:
            owed += params.buy_escrow(order.qty_wh, order.tick)
    owed_wh = sum(int(market.energy_balance_of(a, slot)) for a in accounts)
    return (
        payment.balance_of(market.address) >= owed
        and token.balance_of(market.address, slot) >= owed_wh
    )


def check_conservation(
    step: PoolStep,
    records: Sequence[ClearingRecord],
    orders: Sequence[Sequence[Order]],
    params: MarketParams,
    claimed: Sequence[Sequence[ClaimedOrder]] | None = None,
) -> dict[str, bool]:
    """The slot's invariants, each by name: the reference's settlement of the placed orders
    against the on-chain records and the pool's step.

    * ``local clearings equal the reference``: each market's record is the reference's;
    * ``pool on chain equals the reference``: ``CityPool.clear``'s event, figure for figure;
    * ``pool equals the reference``: the same pool clearing from the orders as from the levels;
    * ``imports = exports = V*``;
    * ``community = sum of its members' pool fills``: each community's import (export) is the
      sum of its buy (sell) orders' pool fills;
    * ``limits respected``;
    * ``grid fees counted once``: the pool keeps ``sum pays - sum paid``, which is the fee of
      every level crossed, ``tick_size * sum_k (import_k + export_k) * f_k / 1000``, plus less
      than one base unit per community and side of rounding;
    * ``claims on chain equal the reference`` (given ``claimed``, each community's claims in its
      orders' order): every order's ``OrderClaimed`` and ``OrderPoolFilled`` is the reference's
      outcome (:func:`claims_equal_reference`).
    """
    settlement = settle_city(
        [
            CityCommunity(c.community_id, c.levels, c.import_limit_wh, c.export_limit_wh, o)
            for c, o in zip(step.communities, orders, strict=True)
        ],
        params,
        step.fee_ticks_per_level,
    )
    pool = step.clearing
    fills = pool.communities
    members_ok = True
    for fill in fills:
        outcomes = settlement.outcomes[fill.community_id]
        bought = sum(o.pool_wh for o in outcomes if o.side is Side.BUY)
        sold = sum(o.pool_wh for o in outcomes if o.side is Side.SELL)
        members_ok &= bought == fill.import_wh and sold == fill.export_wh
    exact_milli = params.tick_size * sum((f.import_wh + f.export_wh) * f.fee_ticks for f in fills)
    kept_milli = pool.grid_fees * WH_PER_KWH
    checks = {
        "local clearings equal the reference": all(
            settlement.records[c.community_id] == r
            for c, r in zip(step.communities, records, strict=True)
        ),
        "pool on chain equals the reference": step.chain_equals_reference,
        "pool equals the reference": settlement.pool == pool,
        "imports = exports = V*": sum(f.import_wh for f in fills)
        == sum(f.export_wh for f in fills)
        == pool.volume_wh,
        "community = sum of its members' pool fills": members_ok,
        "limits respected": all(
            f.import_wh <= c.import_limit_wh and f.export_wh <= c.export_limit_wh
            for f, c in zip(fills, step.communities, strict=True)
        ),
        "grid fees counted once": pool.grid_fees
        == sum(f.pays for f in fills) - sum(f.paid for f in fills)
        and 0 <= kept_milli - exact_milli < 2 * len(fills) * WH_PER_KWH,
    }
    if claimed is not None:
        checks["claims on chain equal the reference"] = all(
            claims_equal_reference(mine, settlement.outcomes[community.community_id])
            for mine, community in zip(claimed, step.communities, strict=True)
        )
    return checks
