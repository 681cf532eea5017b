"""A city on a development chain: one registry, N community markets and a ``CityPool``.

The sandbox's deployment is the first community; every further community is another
``EnergyMarket`` on the same registry, payment token, calendar and price grid. The pool is
administered by the sandbox's admin and its ``GRID_OPERATOR_ROLE`` is handed to a separate
grid operator key (anvil's second dev key by default), as a real city would do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chain.local_node import ANVIL_DEV_KEYS
from devchain.sandbox import Sandbox, dev_sender
from energychain.deploy import deploy_city_pool, deploy_contract
from energychain.pool import CityPool
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender


@dataclass
class City:
    """The sandbox, its community markets in pool id order, the pool, the grid operator."""

    sandbox: Sandbox
    markets: list[str]
    pool: CityPool
    operator: TransactionSender


def deploy_city(
    sandbox: Sandbox,
    communities: int,
    *,
    levels: int | Sequence[int] = 1,
    operator_key: str = ANVIL_DEV_KEYS[1],
) -> City:
    """Deploy ``communities - 1`` more markets beside the sandbox's, a pool with all of them
    (``levels`` network levels each, or one entry per community), and give the grid operator
    role to ``operator_key``."""
    if communities < 1:
        raise ValueError(f"a city needs at least one community, got {communities}")
    per_community = [levels] * communities if isinstance(levels, int) else list(levels)
    if len(per_community) != communities:
        raise ValueError(f"{len(per_community)} levels for {communities} communities")
    admin = sandbox.admin
    addresses = sandbox.deployment.addresses
    params = sandbox.params
    markets = [addresses["market"]]
    for _ in range(communities - 1):
        markets.append(
            deploy_contract(
                admin,
                "EnergyMarket",
                {
                    "admin": admin.address,
                    "payment_token": addresses["payment_token"],
                    "registry": addresses["registry"],
                    **params.fields(),
                },
            )
        )
    operator = dev_sender(sandbox.w3, LocalKeySigner(operator_key), sandbox.decoder)
    pool = deploy_city_pool(
        admin,
        registry=addresses["registry"],
        payment_token=addresses["payment_token"],
        params=params,
        grid_operator=operator.address,
    )
    admin.send_batch(
        [pool.add_community(m, n) for m, n in zip(markets, per_community, strict=True)]
    )
    return City(sandbox=sandbox, markets=markets, pool=pool, operator=operator)
