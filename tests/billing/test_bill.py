""":func:`billing.bill.compute_bill` on hand-made facts: a sealed market's forfeited commitments
on the bill (count, bond in EUR, in the net) and the bond check of the reconciliation."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from billing.bill import (
    COLUMNS,
    BillTariffs,
    Forfeit,
    MeteredReading,
    MonthFacts,
    Settlement,
    compute_bill,
)
from billing.errors import BillingError

BOND = 250_000  # 0.25 EUR with 6 decimals
TARIFFS = BillTariffs(retail=320_000, feed_in=80_000, decimals=6)
BUYER, SELLER, DROPPER = "0xB0", "0x5E", "0xD0"
METERS = {"0x" + "01" * 32: SELLER, "0x" + "02" * 32: BUYER}


def traded(bond_amount: int | None = BOND, forfeits: list[Forfeit] | None = None) -> MonthFacts:
    """A cleared slot: the seller sold 600 Wh to the buyer for 120,000 (fee 1,200, no dust)."""
    return MonthFacts(
        month="2026-11",
        slots=(10, 20),
        meter_owners=METERS,
        readings=[MeteredReading("0x" + "01" * 32, 12, 0, 1_000)],
        settlements=[
            Settlement("1", BUYER, 12, True, 600, 120_000, 0, claimed=True),
            Settlement("2", SELLER, 12, False, 600, 118_800, 1_200, claimed=True),
        ],
        volumes={12: 600},
        supply={12: 1_000},
        forfeits=forfeits or [],
        bond_amount=bond_amount,
    )


def test_a_forfeited_commitment_is_counted_with_its_bond_in_eur_on_its_owners_row() -> None:
    facts = traded(forfeits=[Forfeit("7", DROPPER, 12, BOND), Forfeit("9", BUYER, 13, BOND)])
    bill = compute_bill(facts, TARIFFS)
    assert bill.reconciles, bill.differences
    rows = {r["household"]: r for r in bill.rows()}
    assert (rows[DROPPER]["forfeited_commitments"], rows[DROPPER]["forfeited_bonds_eur"]) == (
        "1",
        "0.250000",
    )
    assert rows[DROPPER]["net_eur"] == "0.250000"  # lost to the treasury: the household pays
    assert (rows[SELLER]["forfeited_commitments"], rows[SELLER]["forfeited_bonds_eur"]) == (
        "0",
        "0.000000",
    )
    assert rows["TOTAL"]["forfeited_commitments"] == "2"
    assert Decimal(rows["TOTAL"]["forfeited_bonds_eur"]) == Decimal("0.5")
    assert list(rows[DROPPER]) == list(COLUMNS)
    assert bill.document()["bond_eur"] == "0.250000"


def test_the_net_counts_the_bond_as_money_the_household_paid() -> None:
    without = {r["household"]: r for r in compute_bill(traded(), TARIFFS).rows()}
    bill = compute_bill(traded(forfeits=[Forfeit("9", BUYER, 13, BOND)]), TARIFFS)
    with_bond = {r["household"]: r for r in bill.rows()}
    assert Decimal(with_bond[BUYER]["net_eur"]) - Decimal(without[BUYER]["net_eur"]) == Decimal(
        "0.25"
    )
    buyer = next(h for h in bill.households if h.household == BUYER)
    assert bill.market_net(buyer) == 120_000 + BOND
    # the households' market nets add up to fees + rounding dust + the bonds the treasury got
    total = sum(bill.market_net(h) for h in bill.households)
    assert total == bill.total().fees + bill.rounding_dust + BOND


def test_a_household_with_only_a_forfeit_has_a_bill() -> None:
    facts = MonthFacts("2026-11", (10, 20), {}, bond_amount=BOND)
    facts.forfeits.append(Forfeit("7", DROPPER, 12, BOND))
    bill = compute_bill(facts, TARIFFS)
    assert [h.household for h in bill.households] == [DROPPER]
    assert bill.households[0].forfeited_bonds == BOND


def test_an_empty_month_names_forfeited_commitments_among_what_it_lacks() -> None:
    lacks = re.escape("no meter readings, orders, redemptions or forfeited commitments in slots")
    with pytest.raises(BillingError, match=lacks):
        compute_bill(MonthFacts("2026-11", (10, 20), {}), TARIFFS)


def test_an_open_markets_bill_has_no_forfeits_and_no_bond() -> None:
    bill = compute_bill(traded(bond_amount=None), TARIFFS)
    assert bill.reconciles
    assert {r["forfeited_commitments"] for r in bill.rows()} == {"0"}
    assert {r["forfeited_bonds_eur"] for r in bill.rows()} == {"0.000000"}
    assert bill.document()["bond_eur"] is None


def test_a_forfeit_that_did_not_pay_the_markets_bond_does_not_reconcile() -> None:
    facts = traded(forfeits=[Forfeit("7", DROPPER, 12, BOND - 1)])
    assert compute_bill(facts, TARIFFS).differences == [
        f"commitment 7: forfeited {BOND - 1} base units, the market's bond is {BOND}"
    ]


def test_a_forfeit_in_an_open_market_does_not_reconcile() -> None:
    facts = traded(bond_amount=None, forfeits=[Forfeit("7", DROPPER, 12, BOND)])
    assert compute_bill(facts, TARIFFS).differences == [
        "bonds: 1 forfeited commitment(s) in an open market"
    ]
