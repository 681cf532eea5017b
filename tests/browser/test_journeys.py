"""Each user's journey in Debian's Chromium, in German and in English, at 390 px and 1280 px:
a household signs in with Ethereum and reads its bill and its history (explorer links); an
operator signs in with its on-chain roles and pauses, sets the fee, registers and rotates a
meter and exports the bill; no console error anywhere. Then what must be refused: expired and
replayed sign-in messages, a wallet on the wrong chain, a month without data, and a
locale-formatted or ambiguous number in every amount field (one clear sentence, nothing sent).

The module's chain: the browser wallet's account is a household (a meter, a bought and claimed
trade, energy withdrawn and redeemed) and holds every operator role; another slot has an order
past gate closure that nobody cleared (due for clearing).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from eth_utils.crypto import keccak
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import (
    JOURNEYS,
    Console,
    PageOptions,
    Stack,
    StartStack,
    browser_page,
    connect,
    fits_the_width,
    money,
    screenshot,
    sign_in,
    skip_without_chromium,
    wallet_calls,
)

skip_without_chromium()

EXPLORER = "https://explorer.example.org"
TIME_ZONE = "Europe/Berlin"
OTHER_SIGNER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil account 3
NEW_SIGNER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"  # anvil account 4

# What the UI says, per language (the tests read the page as a user does).
TEXT: dict[str, dict[str, Any]] = {
    "de": {
        "sign_in": "Anmelden",
        "signed_in": "Angemeldet",
        "month": "Monat",
        "history": "Verlauf",
        "bill": "Meine Abrechnung",
        "redeemed": "Energie-Token eingelöst",
        "deposit": "Einzahlung in den Tresor",
        "no_data": "Keine Daten für Januar 2001",
        "pause": "Pausieren",
        "unpause": "Fortsetzen",
        "paused": "pausiert",
        "running": "läuft",
        "already_running": "Nichts zu tun: läuft bereits.",
        "fee_bps": "Gebühr (Basispunkte, höchstens 1000)",
        "treasury": "Adresse der Kasse",
        "set_fee": "Gebühr setzen",
        "done": "erledigt.",
        "meter_name": "Zählername oder ID",
        "owner": "Eigentümer",
        "capacity": "Kapazität (W)",
        "signer": "Signierer",
        "register": "Zähler registrieren",
        "taken": "ist bereits registriert",
        "new_signer": "Neue Signierer-Adresse",
        "rotate": "Schlüssel tauschen",
        "download_csv": "CSV herunterladen",
        "reconciles": "Stimmt mit der Chain überein.",
        "expired": "Die Anmeldenachricht war abgelaufen",
        "wrong_chain": "Ihre Wallet ist auf Chain 1; die Anmeldung gilt für Chain 31337.",
        "ambiguous": "ist mehrdeutig",
        "ambiguous_number": "1.234",
        "decimal_half": "0,5",
        "fee_too_high": "fee_bps: 1.001 liegt über der Grenze des Marktes von 1000",
    },
    "en": {
        "sign_in": "Sign in",
        "signed_in": "Signed in",
        "month": "Month",
        "history": "History",
        "bill": "My bill",
        "redeemed": "Energy tokens redeemed",
        "deposit": "Deposit into the vault",
        "no_data": "No data for January 2001",
        "pause": "Pause",
        "unpause": "Unpause",
        "paused": "paused",
        "running": "running",
        "already_running": "Nothing to do: already running.",
        "fee_bps": "Fee (basis points, at most 1000)",
        "treasury": "Treasury address",
        "set_fee": "Set fee",
        "done": "done.",
        "meter_name": "Meter name or id",
        "owner": "Owner",
        "capacity": "Capacity (W)",
        "signer": "Signer",
        "register": "Register meter",
        "taken": "is already registered",
        "new_signer": "New signer address",
        "rotate": "Rotate key",
        "download_csv": "Download CSV",
        "reconciles": "Reconciles with the chain.",
        "expired": "The sign-in message had expired",
        "wrong_chain": "Your wallet is on chain 1; sign-in is for chain 31337.",
        "ambiguous": "is ambiguous",
        "ambiguous_number": "1,234",
        "decimal_half": "0.5",
        "fee_too_high": "fee_bps: 1,001 is above the market's limit of 1000",
    },
}


@dataclass
class Household:
    """What the wallet's household did in the month of ``slot`` (community time zone)."""

    slot: int
    month: str
    bought_wh: int
    paid: int
    savings: int
    redeem_tx: str
    due_slot: int


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> Stack:
    return start_stack(explorer_url=EXPLORER, time_zone=TIME_ZONE)


@pytest.fixture(scope="module")
def household(stack: Stack) -> Household:
    s, me = stack.sandbox, stack.account
    market, registry, token = s.contracts.market, s.contracts.registry, s.contracts.token
    for handle, role in (
        (registry, registry.call("METER_ADMIN_ROLE")),
        (market, market.call("PAUSER_ROLE")),
        (registry, registry.call("PAUSER_ROLE")),
    ):
        s.admin.transact(handle.request("grantRole", role, me))
    # the admin role of registry and market is handed over in two steps, a day apart
    s.admin.transact(registry.begin_admin_transfer(me))
    s.advance_to(int(registry.admin_handover().accept_from or 0))
    stack.send_from_wallet(registry.accept_admin_transfer())  # the wallet's account accepts
    seller = s.new_participant()
    meter_s, meter_me = s.register_meters([seller.address, me], 10_000)
    slot = s.current_slot() + 1
    start, end = s.slot_start(slot), s.slot_start(slot + 1)
    s.advance_to(start)
    s.submit_readings(
        [s.signed_reading(meter_s, start, 0, 0), s.signed_reading(meter_me, start, 0, 0)]
    )
    s.advance_to(end)
    s.submit_readings(
        [s.signed_reading(meter_s, end, 20, 1_000), s.signed_reading(meter_me, end, 800, 300)]
    )
    s.deposit_energy(seller, slot, 700)
    s.place_orders(seller, [(slot, False, 10, 700)])
    stack.deposit(1)
    buy_tx = stack.send_from_wallet(s.order_request(me, slot, True, 500, 600))
    receipt = s.w3.eth.wait_for_transaction_receipt(buy_tx)
    (buy_id,) = s.placed_order_ids([receipt])
    due_slot = slot + 2  # an order that nobody clears: due once its gate closes
    s.fund_payment(seller, stack.units(1))
    s.place_orders(seller, [(due_slot, True, 10, 100)])
    s.advance_to(s.gate_closure(slot))
    s.clear(slot)
    (claimed,) = s.claim([buy_id])
    stack.send_from_wallet(market.request("withdrawEnergy", slot, 600))
    redeem_tx = stack.send_from_wallet(token.request("redeem", slot, 500))
    s.advance_to(s.gate_closure(due_slot) + 1)
    stack.wait_indexed()
    retail = s.params.price_floor + s.params.max_tick * s.params.tick_size
    month = datetime.fromtimestamp(start, ZoneInfo(TIME_ZONE)).strftime("%Y-%m")
    return Household(
        slot=slot,
        month=month,
        bought_wh=claimed.filled_wh,
        paid=claimed.amount,
        savings=claimed.filled_wh * retail // 1_000 - claimed.amount,
        redeem_tx=redeem_tx,
        due_slot=due_slot,
    )


def sent(page: Page) -> int:
    """Transactions the page asked the wallet to send."""
    return wallet_calls(page).count("eth_sendTransaction")


@pytest.mark.parametrize(("lang", "width"), JOURNEYS)
def test_a_household_signs_in_and_reads_its_bill_and_history(
    browser: Browser, stack: Stack, household: Household, lang: str, width: int
) -> None:
    text = TEXT[lang]
    with browser_page(browser, stack, PageOptions(lang=lang, width=width)) as (page, console):
        connect(page, stack, "/bill/", lang)
        expect(page.get_by_role("heading", level=1)).to_have_text(text["bill"])
        expect(page.get_by_test_id("sign-in-prompt")).to_be_visible()
        sign_in(page, lang)
        page.get_by_label(text["month"]).fill(household.month)
        expect(page.get_by_test_id("bill-bought")).to_have_text(f"{household.bought_wh} Wh")
        expect(page.get_by_test_id("bill-paid")).to_have_text(money(household.paid, lang=lang))
        savings = money(household.savings, lang=lang)
        expect(page.get_by_test_id("bill-savings")).to_have_text(savings)
        expect(page.get_by_test_id("bill-chart")).to_be_visible()
        expect(page.get_by_test_id("bill-day")).to_have_count(1)
        assert fits_the_width(page)
        screenshot(page, f"bill-{lang}-{width}")

        page.get_by_label(text["month"]).fill("2001-01")
        expect(page.get_by_test_id("bill-empty")).to_contain_text(text["no_data"])

        page.get_by_role("link", name=text["history"], exact=True).click()
        rows = page.get_by_test_id("history-row")
        expect(rows.filter(has_text=text["redeemed"])).to_have_count(1)
        expect(rows.filter(has_text=text["deposit"]).first).to_be_visible()
        link = page.locator(f'a[href="{EXPLORER}/tx/{household.redeem_tx}"]')
        expect(link).to_have_count(1)
        assert fits_the_width(page)
        screenshot(page, f"history-{lang}-{width}")
        assert sent(page) == 0
        assert console.errors == [], console.errors


@pytest.mark.parametrize(("lang", "width"), JOURNEYS)
def test_an_operator_signs_in_and_runs_the_market(
    browser: Browser, stack: Stack, household: Household, lang: str, width: int
) -> None:
    text = TEXT[lang]
    s = stack.sandbox
    market, registry = s.contracts.market, s.contracts.registry
    with browser_page(browser, stack, PageOptions(lang=lang, width=width)) as (page, console):
        connect(page, stack, "/operator/", lang)
        sign_in(page, lang)

        page.get_by_role("button", name=text["pause"], exact=True).click()
        expect(page.get_by_test_id("market-paused")).to_have_text(text["paused"])
        expect(page.get_by_test_id("registry-paused")).to_have_text(text["paused"])
        assert market.call("paused") and registry.call("paused")
        page.get_by_role("button", name=text["unpause"], exact=True).click()
        expect(page.get_by_test_id("market-paused")).to_have_text(text["running"])
        assert not market.call("paused") and not registry.call("paused")
        before = sent(page)
        page.get_by_role("button", name=text["unpause"], exact=True).click()
        expect(page.get_by_test_id("tx-error").first).to_have_text(text["already_running"])
        assert sent(page) == before  # the CLI's rule: already in that state, nothing sent

        fee = 20 + JOURNEYS.index((lang, width))
        page.get_by_label(text["fee_bps"]).fill(str(fee))
        page.get_by_label(text["treasury"]).fill(OTHER_SIGNER)
        page.get_by_role("button", name=text["set_fee"]).click()
        expect(page.get_by_test_id("tx-status").filter(has_text=text["done"]).first).to_be_visible()
        assert market.call("params")[6] == fee
        before = sent(page)
        page.get_by_label(text["fee_bps"]).fill("1001")
        page.get_by_role("button", name=text["set_fee"]).click()
        expect(page.get_by_text(text["fee_too_high"])).to_be_visible()
        assert sent(page) == before

        name = f"browser-{lang}-{width}"
        meter_id = "0x" + keccak(text=name).hex()
        page.get_by_label(text["meter_name"]).fill(name)
        page.get_by_label(text["owner"], exact=True).fill(stack.account)
        page.get_by_label(text["capacity"]).fill("4000")
        page.get_by_label(text["signer"], exact=True).fill(OTHER_SIGNER)
        page.get_by_role("button", name=text["register"]).click()
        row = page.locator(f'[data-testid="operator-meter"][data-meter="{meter_id}"]')
        expect(row).to_have_attribute("data-health", "silent")  # no reading yet
        on_chain = registry.call("meter", bytes.fromhex(meter_id[2:]))
        assert (on_chain[0], on_chain[1], on_chain[2]) == (stack.account, OTHER_SIGNER, 1_000)
        # the form empties once the registration's receipt is in, which may come after the row
        # (read from the chain): filling it earlier would lose the name to that reset
        expect(page.get_by_label(text["meter_name"])).to_have_value("")
        before = sent(page)
        page.get_by_label(text["meter_name"]).fill(name)  # the same id again
        page.get_by_label(text["capacity"]).fill("4000")
        page.get_by_role("button", name=text["register"]).click()
        expect(page.get_by_text(re.compile(re.escape(text["taken"])))).to_be_visible()
        assert sent(page) == before

        page.locator("#rotate-meter").select_option(meter_id)
        page.get_by_label(text["new_signer"]).fill(NEW_SIGNER)
        page.get_by_role("button", name=text["rotate"]).click()
        expect(row).to_contain_text(NEW_SIGNER[-4:])
        assert registry.call("meter", bytes.fromhex(meter_id[2:]))[1] == NEW_SIGNER

        page.locator("#billing-month").fill(household.month)
        with page.expect_download() as download:
            page.get_by_role("button", name=text["download_csv"]).click()
        assert download.value.suggested_filename == f"billing-{household.month}.csv"
        header = download.value.path().read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith("household,meters,import_wh,export_wh")
        expect(page.get_by_test_id("billing-result")).to_contain_text(text["reconciles"])
        assert fits_the_width(page)
        screenshot(page, f"operator-{lang}-{width}")
        assert console.errors == [], console.errors


def test_the_operator_clears_the_due_slot(
    browser: Browser, stack: Stack, household: Household
) -> None:
    with browser_page(browser, stack, PageOptions()) as (page, console):
        connect(page, stack, "/operator/")
        sign_in(page, "en")
        expect(page.get_by_test_id("due-slots")).to_have_text(str(household.due_slot))
        page.get_by_role("button", name="Clear due slots (1)").click()
        expect(page.get_by_text("Clear due slots (1): done.")).to_be_visible()
        assert stack.sandbox.contracts.market.call("clearing", household.due_slot)[0] is True
        expect(page.get_by_test_id("due-slots")).to_have_text("\u2013")  # none
        assert console.errors == [], console.errors


def test_the_operator_sees_a_pending_admin_handover(
    browser: Browser, stack: Stack, household: Household
) -> None:
    """Audit item 7: a handover the admin key began (perhaps a stolen one) is visible for the
    day before it can be accepted."""
    registry = stack.sandbox.contracts.registry

    @contextlib.contextmanager
    def operator_page() -> Iterator[tuple[Page, Console]]:
        with browser_page(browser, stack) as (page, console):
            connect(page, stack, "/operator/")
            sign_in(page, "en")
            yield page, console

    with operator_page() as (page, console):
        expect(page.get_by_test_id("admin-handover")).to_have_text("no handover pending")
        assert console.errors == [], console.errors
    stack.send_from_wallet(registry.begin_admin_transfer(OTHER_SIGNER))
    try:
        with operator_page() as (page, console):
            handover = page.get_by_test_id("admin-handover")
            expect(handover).to_contain_text("handover to")
            expect(handover).to_contain_text(OTHER_SIGNER[-4:])
            assert console.errors == [], console.errors
    finally:  # the stack stays the wallet's for the other tests
        stack.send_from_wallet(registry.cancel_admin_transfer())


@pytest.mark.parametrize("lang", ["de", "en"])
def test_an_expired_sign_in_message_is_refused(browser: Browser, stack: Stack, lang: str) -> None:
    """The browser's clock is two hours behind: its message expired before it was sent."""
    late = datetime.now(UTC) - timedelta(hours=2)
    with browser_page(browser, stack, PageOptions(lang=lang, clock=late)) as (page, console):
        connect(page, stack, "/bill/", lang)
        page.get_by_role("button", name=TEXT[lang]["sign_in"], exact=True).click()
        expect(page.get_by_test_id("session-error")).to_contain_text(TEXT[lang]["expired"])
        expect(page.get_by_test_id("session")).to_have_count(0)
        expect(page.get_by_test_id("sign-in-prompt")).to_be_visible()
        assert console.errors == [] or all("401" in e for e in console.errors), console.errors


def test_a_replayed_sign_in_message_is_refused(browser: Browser, stack: Stack) -> None:
    with browser_page(browser, stack, PageOptions()) as (page, console):
        connect(page, stack, "/bill/")
        with page.expect_request(re.compile(r"/v1/auth/login$")) as login:
            sign_in(page, "en")
        used = login.value.post_data
        assert used is not None
        # Sent again as it was, to the API: the nonce is spent.
        again = httpx.post(
            f"{stack.base_url}/v1/auth/login",
            content=used,
            headers={"Content-Type": "application/json"},
        )
        assert again.status_code == 401 and again.json()["error"]["code"] == "siwe_nonce_invalid"
        # And through the page: a replay in place of the fresh message gets a clear line.
        page.get_by_role("button", name="Sign out").click()
        page.route(re.compile(r"/v1/auth/login$"), lambda route: route.continue_(post_data=used))
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_test_id("session-error")).to_have_text(
            "This sign-in request was already used or has expired. Sign in again."
        )
        expect(page.get_by_test_id("session")).to_have_count(0)
        assert all("401" in e for e in console.errors), console.errors


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_wallet_on_the_wrong_chain_signs_nothing_and_sends_nothing(
    browser: Browser, stack: Stack, lang: str
) -> None:
    with browser_page(browser, stack, PageOptions(lang=lang, chain_id=1)) as (page, console):
        connect(page, stack, "/trade/", lang)
        expect(page.get_by_role("alert").first).to_contain_text("1")
        page.get_by_role("button", name=TEXT[lang]["sign_in"], exact=True).click()
        expect(page.get_by_test_id("session-error")).to_contain_text(TEXT[lang]["wrong_chain"])
        calls = wallet_calls(page)
        assert "personal_sign" not in calls and "eth_sendTransaction" not in calls
        expect(page.locator("#deposit-amount")).to_have_count(0)  # no amount field to send from
        assert console.errors == [], console.errors


# Every amount field: (page link, field, its submit button, other fields filled validly).
AMOUNT_FIELDS: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
    ("trade", "#deposit-amount", {"de": "Einzahlen", "en": "Deposit"}, {}),
    ("trade", "#withdraw-amount", {"de": "Auszahlen", "en": "Withdraw"}, {}),
    (
        "trade",
        "#order-price",
        {"de": "Kaufauftrag erteilen", "en": "Place buy order"},
        {"#order-qty": "100"},
    ),
    (
        "trade",
        "#order-qty",
        {"de": "Kaufauftrag erteilen", "en": "Place buy order"},
        {"#order-price": "0.1"},
    ),
    ("energy", "input[id^=energy-amount-]", {"de": "Einlösen", "en": "Redeem"}, {}),
    ("agents", "#agent-budget", {"de": "Berechtigen", "en": "Grant"}, {}),
    ("agents", "#agent-sell-limit", {"de": "Berechtigen", "en": "Grant"}, {}),
    ("agents", "#agent-max-buy", {"de": "Berechtigen", "en": "Grant"}, {}),
    ("agents", "#agent-min-sell", {"de": "Berechtigen", "en": "Grant"}, {}),
    ("agents", "#agent-days", {"de": "Berechtigen", "en": "Grant"}, {}),
    (
        "operator",
        "#fee-bps",
        {"de": "Gebühr setzen", "en": "Set fee"},
        {"#fee-treasury": OTHER_SIGNER},
    ),
    (
        "operator",
        "#meter-capacity",
        {"de": "Zähler registrieren", "en": "Register meter"},
        {"#meter-name": "ambiguous", "#meter-owner": OTHER_SIGNER, "#meter-signer": OTHER_SIGNER},
    ),
]
AGENT_DEFAULTS = {
    "#agent-budget": "1",
    "#agent-sell-limit": "5",
    "#agent-max-buy": "0.2",
    "#agent-min-sell": "0.09",
    "#agent-days": "7",
}
NAV = {
    "de": {
        "trade": "Handeln",
        "energy": "Meine Energie",
        "agents": "Agenten",
        "operator": "Betreiber",
    },
    "en": {"trade": "Trade", "energy": "My energy", "agents": "Agents", "operator": "Operator"},
}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_amount_field_refuses_an_ambiguous_number_and_sends_nothing(
    browser: Browser, stack: Stack, household: Household, lang: str
) -> None:
    text = TEXT[lang]
    with browser_page(browser, stack, PageOptions(lang=lang)) as (page, console):
        connect(page, stack, "/operator/", lang)
        sign_in(page, lang)
        before = sent(page)
        for link, field, button, others in AMOUNT_FIELDS:
            page.get_by_role("link", name=NAV[lang][link], exact=True).click()
            if link == "agents":
                page.locator("#agent-address").fill(OTHER_SIGNER)
                for selector, value in AGENT_DEFAULTS.items():
                    page.locator(selector).fill(value)
            for selector, value in others.items():
                page.locator(selector).fill(value)
            page.locator(field).fill(text["ambiguous_number"])
            label = page.locator(field).evaluate("e => e.labels[0].textContent")
            page.get_by_role("button", name=button[lang], exact=True).first.click()
            refusal = page.get_by_role("alert").filter(has_text=f"{label}: ")
            expect(refusal).to_contain_text(f"{text['ambiguous_number']}")
            expect(refusal).to_contain_text(text["ambiguous"])
            assert sent(page) == before, field
        assert console.errors == [], console.errors


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_decimal_in_the_users_locale_is_taken_exactly(
    browser: Browser, stack: Stack, household: Household, lang: str
) -> None:
    """German "0,5" and English "0.5" deposit exactly half a euro; a German "0,104" is tick 200."""
    with browser_page(browser, stack, PageOptions(lang=lang)) as (page, console):
        connect(page, stack, "/trade/", lang)
        vault = stack.vault_balance()
        page.locator("#deposit-amount").fill(TEXT[lang]["decimal_half"])
        page.get_by_role(
            "button", name={"de": "Einzahlen", "en": "Deposit"}[lang], exact=True
        ).click()
        expect(page.get_by_test_id("tx-status").first).to_contain_text(TEXT[lang]["done"])
        assert stack.vault_balance() == vault + stack.units(1) // 2
        expect(page.get_by_test_id("vault-balance")).to_have_text(
            money(vault + stack.units(1) // 2, lang=lang)
        )
        page.locator("#order-price").fill("0,104" if lang == "de" else "0.104")
        tick = {"de": "Tick 200 = 0,104 tEUR", "en": "tick 200 = 0.104 tEUR"}[lang]
        expect(page.get_by_text(tick)).to_be_visible()
        page.locator("#deposit-amount").fill("0,0000001" if lang == "de" else "0.0000001")
        page.get_by_role(
            "button", name={"de": "Einzahlen", "en": "Deposit"}[lang], exact=True
        ).click()
        too_precise = {"de": "Höchstens 6 Nachkommastellen.", "en": "Use at most 6 decimal places."}
        expect(page.get_by_test_id("tx-error").first).to_contain_text(too_precise[lang])
        assert stack.vault_balance() == vault + stack.units(1) // 2  # nothing more sent
        assert console.errors == [], console.errors
