"""A city on a development chain: one registry, N community markets and a ``CityPool``.

The sandbox's deployment is the first community; every further community is another
``EnergyMarket`` on the same registry, payment token, calendar and price grid. With
``pooled=True`` the pool is deployed first and every community is a ``PooledEnergyMarket`` of it
(the sandbox's market is left out): the pool's fills flow into their claims (``CityPool.settle``).
The pool is
administered by the sandbox's admin and its ``GRID_OPERATOR_ROLE`` is handed to a separate
grid operator key (anvil's second dev key by default), as a real city would do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chain.artifacts import load_artifact
from chain.local_node import ANVIL_DEV_KEYS
from devchain.sandbox import GAS_DEPOSIT, GAS_ERC20, GAS_ERC1155_TRANSFER, Sandbox, dev_sender
from energychain.deploy import deploy_city_pool, deploy_contract
from energychain.market import Market
from energychain.pool import CityPool
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender

#: One level of a community's book: ``(is_buy, tick, qty_wh)``.
BookLevel = tuple[bool, int, int]


@dataclass
class City:
    """The sandbox, its community markets in pool id order, the pool, the grid operator."""

    sandbox: Sandbox
    markets: list[str]
    pool: CityPool
    operator: TransactionSender

    def market(self, community_id: int) -> Market:
        """The façade of community ``community_id``'s market."""
        box = self.sandbox
        return Market(
            box.w3, load_artifact("EnergyMarket"), self.markets[community_id], box.decoder
        )

    def place_books(
        self, slot: int, books: Sequence[Sequence[BookLevel]]
    ) -> list[list[tuple[BookLevel, int]]]:
        """Places one book per community (in id order) in ``slot``: a fresh buyer and seller
        funded with exactly what the orders lock (the chain moves to the slot's end to mint).
        Returns each community's orders as ``(level, order id)`` in the order they were placed
        (the buys, then the sells, each in book order)."""
        box = self.sandbox
        buyer, seller = box.new_participant(), box.new_participant()
        sells = [sum(qty for is_buy, _, qty in book if not is_buy) for book in books]
        if sum(sells):
            box.mint_energy([(seller, sum(sells))], slot)
        payment, token = box.contracts.payment, box.contracts.token
        placed: list[list[tuple[BookLevel, int]]] = []
        for community_id, (book, sell_wh) in enumerate(zip(books, sells, strict=True)):
            market = self.market(community_id)
            cost = sum(qty * box.params.price(tick) for is_buy, tick, qty in book if is_buy)
            amount = cost // 1000 + len(book)
            if amount:
                buyer.sender.send_batch(
                    [
                        payment.mint(buyer.address, amount, gas=GAS_ERC20),
                        payment.approve(market.address, amount, gas=GAS_ERC20),
                        market.deposit(amount, gas=GAS_DEPOSIT),
                    ]
                )
            if sell_wh:
                seller.sender.transact(
                    token.transfer(
                        seller.address, market.address, slot, sell_wh, gas=GAS_ERC1155_TRANSFER
                    )
                )
            placed.append([])
            for who, side in ((buyer, True), (seller, False)):
                levels = [level for level in book if level[0] is side]
                orders = [(slot, b, tick, qty) for b, tick, qty in levels]
                if orders:
                    receipt = who.sender.transact(
                        market.place_orders(who.address, orders, gas=150_000 * len(orders))
                    )
                    ids = [int(e["args"]["orderId"]) for e in market.events(receipt, "OrderPlaced")]
                    placed[-1] += zip(levels, ids, strict=True)
        return placed

    def clear_markets(self, slot: int, community_ids: Sequence[int] | None = None) -> None:
        """Moves the chain to ``slot``'s gate closure and clears it in the communities' markets
        (every one unless ``community_ids`` names some)."""
        box = self.sandbox
        box.advance_to(box.gate_closure(slot))
        ids = range(len(self.markets)) if community_ids is None else community_ids
        box.admin.send_batch([self.market(i).clear(slot, gas=1_000_000) for i in ids])


def deploy_city(
    sandbox: Sandbox,
    communities: int,
    *,
    levels: int | Sequence[int] = 1,
    operator_key: str = ANVIL_DEV_KEYS[1],
    pooled: bool = False,
) -> City:
    """Deploy ``communities - 1`` more markets beside the sandbox's, a pool with all of them
    (``levels`` network levels each, or one entry per community), and give the grid operator
    role to ``operator_key``. ``pooled``: ``communities`` new ``PooledEnergyMarket``s of the
    pool instead (the sandbox's plain market takes no part), so that the pool can settle."""
    if communities < 1:
        raise ValueError(f"a city needs at least one community, got {communities}")
    per_community = [levels] * communities if isinstance(levels, int) else list(levels)
    if len(per_community) != communities:
        raise ValueError(f"{len(per_community)} levels for {communities} communities")
    admin = sandbox.admin
    addresses = sandbox.deployment.addresses
    params = sandbox.params
    operator = dev_sender(sandbox.w3, LocalKeySigner(operator_key), sandbox.decoder)
    pool = deploy_city_pool(
        admin,
        registry=addresses["registry"],
        payment_token=addresses["payment_token"],
        params=params,
        grid_operator=operator.address,
    )
    values = {
        "admin": admin.address,
        "payment_token": addresses["payment_token"],
        "registry": addresses["registry"],
        **params.fields(),
    }
    if pooled:
        markets = [
            deploy_contract(admin, "PooledEnergyMarket", {**values, "pool": pool.address})
            for _ in range(communities)
        ]
    else:
        markets = [addresses["market"]]
        markets += [deploy_contract(admin, "EnergyMarket", values) for _ in range(communities - 1)]
    admin.send_batch(
        [pool.add_community(m, n) for m, n in zip(markets, per_community, strict=True)]
    )
    return City(sandbox=sandbox, markets=markets, pool=pool, operator=operator)
