"""A household's own monthly bill, per day of the month (the community's time zone)."""

from __future__ import annotations

from pydantic import Field

from indexer.api.schemas.common import ApiModel, Units


class BillAmountsPublic(ApiModel):
    """Energy in Wh and money in payment base units (decimal strings); counts as numbers."""

    import_wh: Units = Field(description="Metered import (reading deltas).")
    export_wh: Units = Field(description="Metered export.")
    bought_wh: Units = Field(description="Energy bought on the market (filled buy orders).")
    paid: Units = Field(description="Money paid for it.")
    sold_wh: Units = Field(description="Energy sold on the market (filled sell orders).")
    received: Units = Field(description="Money received for it, net of the fee.")
    fees: Units = Field(description="Market fees on the sales.")
    forfeited_commitments: int = Field(
        description="Sealed market: commitments never revealed, each forfeiting the market's bond "
        "to the treasury (0 in an open market)."
    )
    forfeited_bonds: Units = Field(
        description="The bonds they forfeited: money the household lost to the treasury."
    )
    redeemed_wh: Units = Field(description="Energy tokens redeemed against import.")
    grid_import_wh: Units = Field(description="Import not covered by redeemed tokens.")
    grid_import_cost: Units = Field(description="grid_import_wh at the retail tariff.")
    grid_export_wh: Units = Field(description="Export not sold on the market.")
    grid_export_revenue: Units = Field(description="grid_export_wh at the feed-in tariff.")
    net: Units = Field(
        description="paid - received + forfeited bonds + grid import cost - grid export revenue "
        "(positive: the household pays), as the operator's bill."
    )
    savings: Units = Field(
        description="Against the grid tariffs: bought Wh at the retail tariff - paid + received "
        "- sold Wh at the feed-in tariff - forfeited bonds (rounded down to a base unit; "
        "negative: a loss)."
    )


class BillDayPublic(BillAmountsPublic):
    date: str = Field(description="Day in the community's time zone, YYYY-MM-DD.")


class HouseholdBillPublic(ApiModel):
    account: str
    month: str
    time_zone: str = Field(description="The community's IANA time zone the month runs in.")
    first_slot: int
    last_slot: int
    payment_decimals: int
    retail_tariff: Units = Field(description="Payment base units per kWh (the grid's top).")
    feed_in_tariff: Units = Field(description="Payment base units per kWh (the grid's floor).")
    meters: list[str] = Field(description="The household's meter ids.")
    total: BillAmountsPublic
    days: list[BillDayPublic] = Field(description="Every day of the month, first to last.")
    unclaimed_orders: int = Field(description="Filled orders not claimed yet (counted).")
    reconciles: bool = Field(description="The community's bill of the month reconciles.")
    has_data: bool = Field(
        description="False: the account has no readings, trades, redemptions or forfeited "
        "commitments in the month (every amount is 0)."
    )
