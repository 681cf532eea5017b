"""The market day read back from the chain: totals, per-slot and per-household figures, and
the conservation identities they must satisfy.

Nothing here uses what the simulator or the traders think happened: energy and money come from
contract views (``energyTotals``, ``totalSupply``, ``balanceOf``, ``energyBalanceOf``,
``clearing``, ``order``) and event logs (``OrderPlaced``, ``OrderClaimed``, ``Deposited``, ...).

Conservation (derived from the contracts; docs/contracts.md sections 4 to 7 and 12):

*Energy.* The registry mints exactly the attributed export:
``minted = energyTotals.attributedExportWh = sum of mints (TransferSingle from 0)``.
Redemption burns: ``sum_s totalSupply(s) + redeemed = minted``. Every token is held by a wallet
or by the market: ``sum_s (wallets(s) + marketHeld(s)) = sum_s totalSupply(s)``. Inside the
market, tokens are credited to vault balances or escrowed by resting sells; a claim moves a
seller's given Wh to the buyer's received Wh and the rationing rounding (given - received >= 0)
stays in the market credited to nobody:
``marketHeld = vaultEnergy + openSellEscrow + (soldWh - boughtWh)``.

*Money.* ``deposits - withdrawals = paymentToken.balanceOf(market)``; inside, buyers' escrow
pays sellers (net), the treasury (fees) and the rounding (``paid - received - fees >= 0``) that
stays in the market: ``held = vaultBalances + openBuyEscrow + (paid - received - fees)``.

*Sealed market.* A commitment locks money and Wh of its owner's vault until it is revealed (its
order's escrow stays, the rest goes back) or ended unrevealed (the bond to the treasury's vault,
the rest back): both identities above gain the collateral still locked by open commitments,
``lockedMoney`` and ``lockedWh`` of ``OrderCommitted`` logs neither revealed
(``OrderRevealed``) nor forfeited (``CommitmentForfeited``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from chain.calls import ContractReader, call_many
from chain.rpc import JsonRpcClient
from devchain.sandbox import Sandbox
from energychain.abi import decode_record
from energychain.contracts import ContractHandle
from energychain.events import EventReader
from energychain.sealed_market import SealedMarket
from market.clearing import MarketParams

ZERO = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class PlacedOrder:
    order_id: int
    owner: str
    slot: int
    is_buy: bool
    tick: int
    qty_wh: int


@dataclass(frozen=True)
class ClaimedOrder:
    order_id: int
    owner: str
    filled_wh: int
    amount: int
    fee: int
    refund: int


@dataclass
class Ledger:
    """Everything the report needs, read from the chain at the latest block."""

    orders: dict[int, PlacedOrder] = field(default_factory=dict)
    claims: dict[int, ClaimedOrder] = field(default_factory=dict)
    cancelled: set[int] = field(default_factory=set)
    cleared: dict[int, tuple[int, int]] = field(default_factory=dict)
    """slot -> (volume Wh, clearing tick), from ``SlotCleared``."""
    commitments: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Sealed market: commit id -> (locked money, locked Wh), from ``OrderCommitted``."""
    revealed: set[int] = field(default_factory=set)
    forfeited: dict[int, int] = field(default_factory=dict)
    """Sealed market: commit id -> bond forfeited to the treasury."""
    totals: dict[str, int] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def conservation_ok(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    def follow(self, sandbox: Sandbox, from_block: int) -> int:
        """Add the orders and claims logged from ``from_block`` on; returns the next block."""
        latest = int(sandbox.w3.eth.block_number)
        if latest < from_block:
            return from_block
        events = EventReader(sandbox.contracts.market)
        for log in events.read("OrderPlaced", from_block, latest):
            self._placed(log["args"])
        for log in events.read("OrderClaimed", from_block, latest):
            self._claimed(log["args"])
        return latest + 1

    def _placed(self, a: Any) -> None:
        self.orders[int(a["orderId"])] = decode_record(PlacedOrder, a, "OrderPlaced")

    def _claimed(self, a: Any) -> None:
        self.claims[int(a["orderId"])] = decode_record(ClaimedOrder, a, "OrderClaimed")


def _uint_calls(
    sandbox: Sandbox, calls: Sequence[tuple[ContractHandle, str, tuple[Any, ...]]]
) -> list[int]:
    """``uint256`` views ``(handle, function, args)`` as JSON-RPC batches of ``eth_call``."""
    rpc = JsonRpcClient(str(sandbox.w3.provider.endpoint_uri))  # type: ignore[attr-defined]
    readers: dict[str, ContractReader] = {}
    try:
        batch = [
            (readers.setdefault(h.address, ContractReader(rpc, h.address, h.abi)), fn, args)
            for h, fn, args in calls
        ]
        return [int(value) for value in call_many(batch)]
    finally:
        rpc.close()


def _read_events(ledger: Ledger, sandbox: Sandbox, first: int) -> dict[str, int]:
    """Orders, claims, cancels and clearings into ``ledger``; vault and token flows summed."""
    c = sandbox.contracts
    market_events, token_events = EventReader(c.market), EventReader(c.token)
    for log in market_events.read("OrderPlaced", first):
        ledger._placed(log["args"])
    for log in market_events.read("OrderClaimed", first):
        ledger._claimed(log["args"])
    ledger.cancelled = {
        int(log["args"]["orderId"]) for log in market_events.read("OrderCancelled", first)
    }
    for log in market_events.read("SlotCleared", first):
        a = log["args"]
        ledger.cleared[int(a["slot"])] = (int(a["volumeWh"]), int(a["clearingTick"]))
    if isinstance(c.market, SealedMarket):
        for log in market_events.read("OrderCommitted", first):
            a = log["args"]
            ledger.commitments[int(a["commitId"])] = (int(a["lockedMoney"]), int(a["lockedWh"]))
        ledger.revealed = {
            int(log["args"]["commitId"]) for log in market_events.read("OrderRevealed", first)
        }
        ledger.forfeited = {
            int(log["args"]["commitId"]): int(log["args"]["bond"])
            for log in market_events.read("CommitmentForfeited", first)
        }
    return {
        "deposits": sum(int(x["args"]["amount"]) for x in market_events.read("Deposited", first)),
        "withdrawals": sum(
            int(x["args"]["amount"]) for x in market_events.read("Withdrawn", first)
        ),
        "redeemed": sum(int(x["args"]["amountWh"]) for x in token_events.read("Redeemed", first)),
        "mints": sum(
            int(x["args"]["value"])
            for x in token_events.read("TransferSingle", first, filters={"from": ZERO})
        ),
    }


def _read_holdings(
    sandbox: Sandbox, accounts: Sequence[str], slots: Sequence[int]
) -> dict[str, int]:
    """Token supply and balances of ``slots`` and vault money, summed over ``accounts``."""
    c = sandbox.contracts
    token, market, market_address = c.token, c.market, c.market.address
    calls: list[tuple[ContractHandle, str, tuple[Any, ...]]] = []
    for s in slots:
        calls.append((token, "totalSupply", (s,)))
        calls.append((token, "balanceOf", (market_address, s)))
        calls.extend((token, "balanceOf", (a, s)) for a in accounts)
        calls.extend((market, "energyBalanceOf", (a, s)) for a in accounts)
    calls.extend((market, "balanceOf", (a,)) for a in accounts)
    results = _uint_calls(sandbox, calls)
    cursor = 0
    held = dict.fromkeys(("supply", "market_held", "wallets", "vault_energy"), 0)
    width = len(accounts)
    for _ in slots:
        held["supply"] += results[cursor]
        held["market_held"] += results[cursor + 1]
        held["wallets"] += sum(results[cursor + 2 : cursor + 2 + width])
        held["vault_energy"] += sum(results[cursor + 2 + width : cursor + 2 + 2 * width])
        cursor += 2 + 2 * width
    held["vault_money"] = sum(results[cursor : cursor + width])
    held["payment_held"] = c.payment.balance_of(market_address)
    return held


def _open_escrow(ledger: Ledger, params: MarketParams) -> tuple[int, int]:
    """``(money, Wh)`` still escrowed by orders neither claimed nor cancelled."""
    buys = sells = 0
    for order_id, order in ledger.orders.items():
        if order_id in ledger.claims or order_id in ledger.cancelled:
            continue
        if order.is_buy:
            buys += params.buy_escrow(order.qty_wh, order.tick)
        else:
            sells += order.qty_wh
    return buys, sells


def _locked(ledger: Ledger) -> tuple[int, int]:
    """``(money, Wh)`` locked by commitments neither revealed nor forfeited (sealed market)."""
    money = energy = 0
    for commit_id, (locked_money, locked_wh) in ledger.commitments.items():
        if commit_id in ledger.revealed or commit_id in ledger.forfeited:
            continue
        money += locked_money
        energy += locked_wh
    return money, energy


def read_ledger(sandbox: Sandbox, holders: Iterable[str], slots: Sequence[int]) -> Ledger:
    """Read the day back: ``holders`` are every account that may hold tokens or vault money."""
    c = sandbox.contracts
    first = sandbox.deployment.block_number
    accounts = sorted({Web3.to_checksum_address(a) for a in holders})
    treasury = Web3.to_checksum_address(sandbox.deployment.settings["treasury"])
    if treasury not in accounts:
        accounts.append(treasury)
    ledger = Ledger()
    flows = _read_events(ledger, sandbox, first)
    energy = c.registry.energy_totals()
    attributed_export, attributed_import = energy.attributed_export_wh, energy.attributed_import_wh
    unattributed_export = energy.unattributed_export_wh
    unattributed_import = energy.unattributed_import_wh
    held = _read_holdings(sandbox, accounts, slots)
    supply, market_held, wallets = held["supply"], held["market_held"], held["wallets"]
    vault_energy, vault_money = held["vault_energy"], held["vault_money"]
    payment_held = held["payment_held"]
    deposits, withdrawals = flows["deposits"], flows["withdrawals"]
    redeemed, mints = flows["redeemed"], flows["mints"]
    open_buy_escrow, open_sell_escrow = _open_escrow(ledger, sandbox.params)
    locked_money, locked_wh = _locked(ledger)

    paid = received = fees = bought = sold = 0
    for order_id, claim in ledger.claims.items():
        placed = ledger.orders.get(order_id)
        if placed is None:
            continue
        if placed.is_buy:
            paid += claim.amount
            bought += claim.filled_wh
        else:
            received += claim.amount
            fees += claim.fee
            sold += claim.filled_wh
    traded = sum(volume for volume, _ in ledger.cleared.values())
    money_rounding = paid - received - fees
    energy_rounding = sold - bought

    ledger.totals = {
        "minted_wh": attributed_export,
        "metered_export_wh": attributed_export + unattributed_export,
        "metered_import_wh": attributed_import + unattributed_import,
        "unattributed_export_wh": unattributed_export,
        "traded_wh": traded,
        "bought_wh": bought,
        "sold_wh": sold,
        "paid": paid,
        "received": received,
        "fees": fees,
        "deposits": deposits,
        "withdrawals": withdrawals,
        "vault_balances": vault_money,
        "payment_held": payment_held,
        "escrow_left": payment_held - vault_money,
        "energy_escrow_left_wh": market_held - vault_energy,
        "token_supply_wh": supply,
        "tokens_in_wallets_wh": wallets,
        "tokens_in_vault_wh": vault_energy,
        "tokens_held_by_market_wh": market_held,
        "redeemed_wh": redeemed,
        "money_rounding": money_rounding,
        "energy_rounding_wh": energy_rounding,
        "orders": len(ledger.orders),
        "claims": len(ledger.claims),
        "open_orders": len(ledger.orders) - len(ledger.claims) - len(ledger.cancelled),
        "commitments": len(ledger.commitments),
        "revealed": len(ledger.revealed),
        "forfeited": len(ledger.forfeited),
        "forfeited_bonds": sum(ledger.forfeited.values()),
        "locked_in_commitments": locked_money,
        "locked_in_commitments_wh": locked_wh,
    }
    ledger.checks = {
        "minted_equals_mint_events": attributed_export == mints,
        "supply_plus_redeemed_equals_minted": supply + redeemed == attributed_export,
        "wallets_plus_market_equal_supply": wallets + market_held == supply,
        "market_energy_equals_vault_escrow_rounding": (
            market_held == vault_energy + open_sell_escrow + locked_wh + energy_rounding
        ),
        "energy_rounding_not_negative": energy_rounding >= 0,
        "bought_le_traded_le_sold": bought <= traded <= sold,
        "deposits_minus_withdrawals_equal_held": deposits - withdrawals == payment_held,
        "held_equals_vault_escrow_rounding": (
            payment_held == vault_money + open_buy_escrow + locked_money + money_rounding
        ),
        "money_rounding_not_negative": money_rounding >= 0,
    }
    return ledger


def per_household(
    ledger: Ledger,
    owners: dict[str, int],
    retail: Callable[[int], int],
    feed_in: Callable[[int], int],
) -> dict[int, dict[str, int]]:
    """Per household index: Wh bought and sold, money paid and received, savings vs the grid.

    ``retail(slot)`` and ``feed_in(slot)`` give the grid tariffs (base units per kWh) of a
    chain slot: a buyer saves what the grid would have charged minus what it paid, a seller
    what it received minus what the grid would have paid.
    """
    out: dict[int, dict[str, int]] = {
        i: {"bought_wh": 0, "sold_wh": 0, "paid": 0, "received": 0, "savings": 0}
        for i in owners.values()
    }
    for order_id, claim in ledger.claims.items():
        order = ledger.orders.get(order_id)
        index = owners.get(Web3.to_checksum_address(claim.owner))
        if order is None or index is None:
            continue
        row = out[index]
        if order.is_buy:
            row["bought_wh"] += claim.filled_wh
            row["paid"] += claim.amount
            row["savings"] += claim.filled_wh * retail(order.slot) // 1000 - claim.amount
        else:
            row["sold_wh"] += claim.filled_wh
            row["received"] += claim.amount
            row["savings"] += claim.amount - claim.filled_wh * feed_in(order.slot) // 1000
    return out
