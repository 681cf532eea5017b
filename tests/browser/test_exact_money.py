"""An 18-decimal payment token (as EURe) displays and submits exactly in the dApp.

One euro is 10^18 base units, beyond a JavaScript number's 2^53 exact integers: every amount the
dApp shows or sends must be a bigint from end to end (the API carries decimal strings). The
market here settles in ``TestEuro18`` with the default price grid in 18-decimal units.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.harness import (
    PageOptions,
    Stack,
    StartStack,
    browser_page,
    connect,
    money,
    screenshot,
    skip_without_chromium,
)

skip_without_chromium()

EURO = 10**18


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> Stack:
    return start_stack(decimals=18)


def euro18(units: int, lang: str = "en") -> str:
    return money(units, decimals=18, symbol="tEUR18", lang=lang)


def test_the_api_names_the_token_and_carries_amounts_as_strings(stack: Stack) -> None:
    import httpx

    config = httpx.get(f"{stack.base_url}/v1/config", timeout=30).json()
    assert config["payment_token"]["decimals"] == 18
    assert config["market"]["price_floor"] == str(8 * 10**16)  # 0.08 EUR/kWh, exactly


def test_one_euro_and_one_base_unit_deposit_display_and_withdraw_exactly(
    browser: Browser, stack: Stack
) -> None:
    with browser_page(browser, stack, PageOptions(lang="en")) as (page, console):
        connect(page, stack, "/trade/")
        start = stack.vault_balance()
        page.get_by_label("Deposit (tEUR18)").fill("1.000000000000000001")
        page.get_by_role("button", name="Deposit", exact=True).click()
        expect(page.get_by_test_id("tx-status").first).to_have_text("Deposit: done.")
        assert stack.vault_balance() == start + EURO + 1  # one euro and one base unit
        expect(page.get_by_test_id("vault-balance")).to_have_text(euro18(start + EURO + 1))
        screenshot(page, "exact-money-en")

        # German: the same vault, then a withdrawal of the single base unit typed with a comma.
        page.get_by_label("Language").select_option("de")
        expect(page.get_by_test_id("vault-balance")).to_have_text(
            euro18(start + EURO + 1, lang="de")
        )
        page.get_by_label("Auszahlen (tEUR18)").fill("0,000000000000000001")
        page.get_by_role("button", name="Auszahlen", exact=True).click()
        expect(page.get_by_test_id("tx-status").first).to_have_text("Auszahlen: erledigt.")
        assert stack.vault_balance() == start + EURO
        expect(page.get_by_test_id("vault-balance")).to_have_text(euro18(start + EURO, "de"))

        # A 19th decimal is refused, nothing rounded, nothing sent.
        page.get_by_label("Einzahlen (tEUR18)").fill("0,0000000000000000001")
        page.get_by_role("button", name="Einzahlen", exact=True).click()
        expect(page.get_by_test_id("tx-error").first).to_have_text(
            "Einzahlen (tEUR18): Höchstens 18 Nachkommastellen."
        )
        assert stack.vault_balance() == start + EURO
        assert console.errors == [], console.errors


def test_an_order_price_and_its_escrow_are_exact(browser: Browser, stack: Stack) -> None:
    """0.10412 EUR/kWh is tick 201 of the 18-decimal grid; 1 kWh locks exactly 0.10412 EUR."""
    s = stack.sandbox
    with browser_page(browser, stack, PageOptions(lang="de")) as (page, console):
        connect(page, stack, "/trade/", "de")
        if stack.vault_balance() < EURO:
            page.get_by_label("Einzahlen (tEUR18)").fill("1")
            page.get_by_role("button", name="Einzahlen", exact=True).click()
            expect(page.get_by_test_id("tx-status").first).to_have_text("Einzahlen: erledigt.")
        vault = stack.vault_balance()
        slot = s.current_slot() + 1
        page.get_by_label("Lieferslot").select_option(str(slot))
        page.get_by_label("Preisgrenze (tEUR18 pro kWh)").fill("0,10412")
        page.get_by_label("Menge (Wh)").fill("1000")
        escrow = 1_000 * (8 * 10**16 + 201 * 12 * 10**13) // 1_000
        expect(page.get_by_text(f"bindet {euro18(escrow, 'de')}")).to_be_visible()
        expect(page.get_by_text(f"Tick 201 = {euro18(escrow, 'de')}")).to_be_visible()
        page.get_by_role("button", name="Kaufauftrag erteilen").click()
        order = page.get_by_role("region", name="Auftrag erteilen")
        expect(order.get_by_test_id("tx-status")).to_have_text("Kaufauftrag: erledigt.")
        assert stack.vault_balance() == vault - escrow
        placed = s.contracts.market.contract.events.OrderPlaced().get_logs(from_block=0)
        mine = [e for e in placed if e["args"]["owner"] == stack.account]
        assert mine[-1]["args"]["tick"] == 201 and mine[-1]["args"]["qtyWh"] == 1_000
        assert console.errors == [], console.errors
