"""Set-and-forget selling in the dApp (issue 16 item 6, issue 20 item 1), in Debian's Chromium,
in German and English at 390 px and 1280 px: a household switches auto-sell on and off for its
gateway's agent key (EnergyToken.setApprovalForAll through the wallet) and sets its standing
orders (signed in with Ethereum; amounts typed in the browser's locale, stored exactly in base
units); a locale-formatted ambiguous number is refused with nothing saved; no console error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Route, expect

from tests.browser.harness import (
    JOURNEYS,
    PageOptions,
    Stack,
    StartStack,
    browser_page,
    connect,
    fits_the_width,
    screenshot,
    sign_in,
    skip_without_chromium,
    wallet_calls,
)

skip_without_chromium()

AGENT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil account 3: the gateway's key

TEXT: dict[str, dict[str, Any]] = {
    "de": {
        "on": "an",
        "off": "aus",
        "switch": f"Automatisch verkaufen über Agent {AGENT}",
        "sell_min": "Überschuss verkaufen zu mindestens (tEUR/kWh)",
        "buy_below": "Kaufen bis zu so viel unter dem Tarif (tEUR/kWh)",
        "save": "Speichern",
        "saved": "Gespeichert.",
        "sell": ("0,125", 125_000),
        "buy": ("0,03", 30_000),
        "ambiguous": "1.234",
        "refused": "ist mehrdeutig",
    },
    "en": {
        "on": "on",
        "off": "off",
        "switch": f"Auto-sell through agent {AGENT}",
        "sell_min": "Sell surplus at no less than (tEUR/kWh)",
        "buy_below": "Buy up to this below the tariff (tEUR/kWh)",
        "save": "Save",
        "saved": "Saved.",
        "sell": ("0.115", 115_000),
        "buy": ("0.02", 20_000),
        "ambiguous": "1,234",
        "refused": "is ambiguous",
    },
}


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> Stack:
    running = start_stack()
    market = running.sandbox.contracts.market
    expiry = running.sandbox.dev.now() + 30 * 86_400
    grant = market.request("authorizeAgent", AGENT, running.units(5), 1_000_000, 100, 0, expiry)
    running.send_from_wallet(grant)
    running.wait_indexed()
    return running


def _approved(stack: Stack) -> bool:
    token = stack.sandbox.contracts.token
    return bool(token.call("isApprovedForAll", stack.account, AGENT))


def _standing(stack: Stack) -> dict[str, Any]:
    url = f"{stack.base_url}/v1/accounts/{stack.account}/standing-orders"
    body: dict[str, Any] = httpx.get(url, timeout=30).json()
    return body


@pytest.mark.parametrize(("lang", "width"), JOURNEYS)
def test_a_household_switches_auto_sell_and_sets_its_standing_orders(
    browser: Browser, stack: Stack, lang: str, width: int
) -> None:
    text = TEXT[lang]
    with browser_page(browser, stack, PageOptions(lang=lang, width=width)) as (page, console):
        connect(page, stack, "/agents/", lang)
        state = page.get_by_test_id(f"auto-sell-state-{AGENT}")
        expect(state).to_have_text(text["off"])
        page.get_by_role("switch", name=text["switch"]).click()
        expect(state).to_have_text(text["on"])
        assert _approved(stack)
        page.get_by_role("switch", name=text["switch"]).click()
        expect(state).to_have_text(text["off"])
        assert not _approved(stack)
        assert wallet_calls(page).count("eth_sendTransaction") == 2

        sign_in(page, lang)
        sell_text, sell_units = text["sell"]
        buy_text, buy_units = text["buy"]
        page.get_by_label(text["sell_min"]).fill(sell_text)
        page.get_by_label(text["buy_below"]).fill(buy_text)
        # what was typed is still there when it is sent (a re-render once wiped it)
        expect(page.get_by_label(text["sell_min"])).to_have_value(sell_text)
        expect(page.get_by_label(text["buy_below"])).to_have_value(buy_text)
        page.get_by_role("button", name=text["save"], exact=True).click()
        expect(page.get_by_test_id("standing-orders-message")).to_contain_text(text["saved"])
        saved = _standing(stack)
        assert (saved["sell_min_price"], saved["buy_below_tariff"]) == (
            str(sell_units),
            str(buy_units),
        )
        assert fits_the_width(page)
        screenshot(page, f"selling-{lang}-{width}")
        assert console.errors == [], console.errors


@pytest.mark.parametrize("lang", ["de", "en"])
def test_an_ambiguous_price_is_refused_and_nothing_is_saved(
    browser: Browser, stack: Stack, lang: str
) -> None:
    text = TEXT[lang]
    with browser_page(browser, stack, PageOptions(lang=lang)) as (page, console):
        connect(page, stack, "/agents/", lang)
        sign_in(page, lang)
        before = _standing(stack)
        page.get_by_label(text["sell_min"]).fill(text["ambiguous"])
        page.get_by_role("button", name=text["save"], exact=True).click()
        expect(page.get_by_test_id("standing-orders-message")).to_contain_text(text["refused"])
        assert _standing(stack) == before
        assert console.errors == [], console.errors


def test_an_answer_arriving_after_the_user_typed_does_not_overwrite_the_fields(
    browser: Browser, stack: Stack
) -> None:
    text = TEXT["en"]
    held: list[Route] = []
    released = False

    def hold_reads(route: Route) -> None:
        if route.request.method == "GET" and not released:
            held.append(route)
        else:
            route.continue_()

    with browser_page(browser, stack, PageOptions(lang="en")) as (page, console):
        # the server's answer (whatever an earlier visit saved) is held back until after typing
        page.route("**/v1/accounts/*/standing-orders", hold_reads)
        connect(page, stack, "/agents/", "en")
        sign_in(page, "en")
        page.get_by_label(text["sell_min"]).fill("0.131")
        page.get_by_label(text["buy_below"]).fill("0.007")
        assert held, "the dApp asked for the standing orders before the user typed"
        released = True
        for route in held:
            route.continue_()
        expect(page.get_by_test_id("standing-orders-now")).to_be_visible()
        expect(page.get_by_label(text["sell_min"])).to_have_value("0.131")
        expect(page.get_by_label(text["buy_below"])).to_have_value("0.007")
        page.get_by_role("button", name=text["save"], exact=True).click()
        expect(page.get_by_test_id("standing-orders-message")).to_contain_text(text["saved"])
        saved = _standing(stack)
        assert (saved["sell_min_price"], saved["buy_below_tariff"]) == ("131000", "7000")
        assert console.errors == [], console.errors
