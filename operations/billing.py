"""``enerwise operator billing``: a community's monthly bill from the chain.

The computation is :mod:`billing` (shared with the indexer's ``/v1/operator/billing``); here
the community's config gives the tariffs (the market's grid: floor = feed-in, top = retail) and
its meter inventory the names.
"""

from __future__ import annotations

from billing.bill import Bill, BillTariffs, compute_bill
from billing.chain_facts import chain_facts
from operations.context import Community
from operations.meters import load_inventory


def community_tariffs(community: Community) -> BillTariffs:
    """The config's tariffs as the market's grid has them (floor = feed-in, top = retail)."""
    grid = community.config.price_grid()
    return BillTariffs(
        retail=grid.params.price_top,
        feed_in=grid.params.price_floor,
        decimals=community.config.payment_decimals,
    )


def meter_names(community: Community) -> dict[str, str]:
    """Meter id -> the operator's name, from the local inventory."""
    return {meter_id: entry.name for meter_id, entry in load_inventory(community).items()}


def monthly_bill(community: Community, month: str) -> Bill:
    """The bill of ``month`` (in the community's time zone) from the chain; :class:`BillingError`
    when it holds no data."""
    deployment = community.deployment()
    contracts = deployment.contracts(community.w3)
    facts = chain_facts(contracts, deployment, month, community.config.time_zone)
    return compute_bill(facts, community_tariffs(community), meter_names(community))
