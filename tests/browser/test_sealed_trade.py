"""Trading in a sealed market in the dApp (issue 15 item 3), in Debian's Chromium, in German and
English at 390 px and 1280 px: a household commits an order (the salt is in the browser's
journal before the wallet is asked to send; the commitment and commit id are those of
``energychain.commitments``; the backup file is the Python journal's export), the clock moves
past gate closure, one click reveals it and the order is in the book. A commitment never
revealed is warned about before its reveal window closes and reclaimed after it: its bond goes
to the treasury. A bad order (zero quantity, a price above the grid) sends nothing and writes
nothing. No console error anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from energychain.commitment_journal import CommitmentJournal
from energychain.commitments import Collateral, SealedOrder, commit_id
from energychain.deploy import MarketSettings
from energychain.sealed_market import SealedMarket
from tests.browser.harness import (
    JOURNEYS,
    PageOptions,
    Stack,
    StartStack,
    browser_page,
    connect,
    fits_the_width,
    money,
    screenshot,
    skip_without_chromium,
    wallet_calls,
)

skip_without_chromium()

REVEAL_SECONDS = 900
BOND = 100_000  # 0.10 tEUR
WARNING_SECONDS = 300  # the dApp's REVEAL_WARNING_SECONDS
JOURNAL_KEY = "enerwise-sealed-journal"
TICK, PRICE = 200, {"de": "0,104", "en": "0.104"}  # 0.08 + 200 * 0.00012 tEUR/kWh

# Records the browser's journal each time the page asks the wallet to send a transaction (the
# test wallet forwards eth_sendTransaction to anvil with fetch).
JOURNAL_AT_SEND = """(() => {
  const original = window.fetch;
  window.__journalAtSend = [];
  window.fetch = function (input, init) {
    if (init && typeof init.body === "string" && init.body.includes('"eth_sendTransaction"')) {
      window.__journalAtSend.push(window.localStorage.getItem("JOURNAL_KEY"));
    }
    return original.apply(this, arguments);
  };
})();""".replace("JOURNAL_KEY", JOURNAL_KEY)

TEXT: dict[str, dict[str, Any]] = {
    "de": {
        "market": "Markt",
        "trade": "Handeln",
        "commit": "Kaufauftrag versiegeln",
        "committed_done": "Versiegelter Kaufauftrag: erledigt.",
        "hide": "Meine Menge verbergen (freiwillig)",
        "lock_money": "Geld binden (tEUR)",
        "reveal": "Slot {slot} aufdecken (1)",
        "revealed_done": "aufdecken: erledigt.",
        "states": {"committed": "versiegelt", "revealed": "aufgedeckt", "forfeited": "verfallen"},
        "count": "Bisher 1 versiegelter Auftrag.",
        "warning": "Jetzt aufdecken: Das Aufdeckfenster von Slot {slot} schließt",
        "reclaim": "Eine Versiegelung von Slot {slot} zurückholen",
        "download": "Meine Geheimnisse herunterladen",
        "zero": "Menge (Wh): Mindestens 10 Wh: Ein kleinerer Auftrag könnte nie aufgedeckt werden.",
        "too_high": "Dieser Preis liegt über dem Höchstpreis des Marktes, 0,32 tEUR.",
        "top_plus": "0,33",
    },
    "en": {
        "market": "Market",
        "trade": "Trade",
        "commit": "Commit buy order",
        "committed_done": "Sealed buy order: done.",
        "hide": "Hide my size (optional)",
        "lock_money": "Lock money (tEUR)",
        "reveal": "Reveal slot {slot} (1)",
        "revealed_done": ": done.",
        "states": {"committed": "committed", "revealed": "revealed", "forfeited": "forfeited"},
        "count": "1 commitment so far.",
        "warning": "Reveal now: the reveal window of slot {slot} closes",
        "reclaim": "Reclaim a commitment of slot {slot}",
        "download": "Download my secrets",
        "zero": "Quantity (Wh): At least 10 Wh: a smaller order could never be revealed.",
        "too_high": "That price is above the market's highest price, 0.32 tEUR.",
        "top_plus": "0.33",
    },
}


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> Stack:
    sealed = MarketSettings(mode="sealed", reveal_seconds=REVEAL_SECONDS, bond_amount=BOND)
    running = start_stack(market=sealed)
    assert isinstance(running.sandbox.contracts.market, SealedMarket)
    running.deposit(100)
    running.wait_indexed()
    return running


def sealed_market(stack: Stack) -> SealedMarket:
    market = stack.sandbox.contracts.market
    assert isinstance(market, SealedMarket)
    return market


def journal(page: Page) -> list[dict[str, Any]]:
    """The entries of the browser's journal of sealed orders."""
    text = page.evaluate(f"window.localStorage.getItem('{JOURNAL_KEY}')")
    return [] if text is None else list(json.loads(text)["commitments"])


def order_of(entry: dict[str, Any]) -> SealedOrder:
    return SealedOrder(
        int(entry["slot"]),
        entry["owner"],
        entry["side"] == "buy",
        int(entry["tick"]),
        int(entry["qty_wh"]),
        bytes.fromhex(entry["salt"][2:]),
    )


def row(page: Page, entry: dict[str, Any]) -> Any:
    return page.locator(f'[data-testid="commitment-row"][data-commitment="{entry["commitment"]}"]')


def commit_buy(page: Page, lang: str, slot: int, qty_wh: int, lock: str | None = None) -> None:
    """Fills the sealed order form with a buy at tick 200 and commits it."""
    text = TEXT[lang]
    page.locator("#order-slot").select_option(str(slot))
    page.locator("#order-price").fill(PRICE[lang])
    page.locator("#order-qty").fill(str(qty_wh))
    if lock is not None:
        page.get_by_text(text["hide"]).click()
        page.get_by_label(text["lock_money"]).fill(lock)
    page.get_by_role("button", name=text["commit"], exact=True).click()
    expect(page.get_by_test_id("tx-status").filter(has_text=text["committed_done"])).to_be_visible()


def kwh(wh: int, lang: str) -> str:
    """The dApp's energy format from 1 kWh on: kWh with up to three decimals."""
    whole, rest = divmod(wh, 1_000)
    decimals = str(rest).rjust(3, "0").rstrip("0")
    return f"{whole}{',' if lang == 'de' else '.'}{decimals} kWh" if decimals else f"{whole} kWh"


def travel(stack: Stack, timestamp: int) -> None:
    """Mines a block at ``timestamp`` (anvil) and waits until the indexer has it."""
    stack.sandbox.advance_to(timestamp)
    stack.wait_indexed()


def fresh_slot(stack: Stack) -> int:
    """A slot no earlier test committed to: the chain moves to the next slot's start first, so
    each journey counts only its own commitments (one that failed half-way leaves its
    commitments in its own slot, not in the next test's)."""
    s = stack.sandbox
    travel(stack, s.slot_start(s.current_slot() + 1))
    return s.current_slot() + 1


@pytest.mark.parametrize(("lang", "width"), JOURNEYS)
def test_a_household_commits_then_reveals_with_one_click_and_its_order_joins_the_book(
    browser: Browser, stack: Stack, lang: str, width: int, tmp_path: Path
) -> None:
    text = TEXT[lang]
    s, market = stack.sandbox, sealed_market(stack)
    chain_id = s.deployment.chain_id
    slot = fresh_slot(stack)
    qty = 1_000 + 100 * JOURNEYS.index((lang, width))
    lock = "2" if width == 390 else None  # "hide my size" on the phone, the minimum otherwise
    options = PageOptions(lang=lang, width=width, init_script=JOURNAL_AT_SEND)
    with browser_page(browser, stack, options) as (page, console):
        connect(page, stack, "/trade/", lang)
        vault = stack.vault_balance()
        commit_buy(page, lang, slot, qty, lock)

        # the salt was in the journal before the wallet was asked to send the commitment
        (at_send,) = page.evaluate("window.__journalAtSend")
        (intent,) = json.loads(at_send)["commitments"]
        assert intent["status"] == "intent" and intent["slot"] == slot
        (entry,) = [e for e in journal(page) if e["commitment"] == intent["commitment"]]
        assert entry["status"] == "committed" and entry["salt"] == intent["salt"]
        # the browser's hash and id are those of energychain.commitments and of the contract
        order = order_of(entry)
        assert (order.is_buy, order.tick, order.qty_wh) == (True, TICK, qty)
        assert "0x" + order.commitment(chain_id, market.address).hex() == entry["commitment"]
        assert market.commitment_of(order) == order.commitment(chain_id, market.address)
        fee = int(market.params().fee_bps)
        assert int(entry["commit_id"]) == commit_id(order, chain_id, market.address, fee)
        escrow = s.params.buy_escrow(qty, TICK)
        locked = stack.units(2) if lock else max(BOND, escrow)
        stored = market.commitment(int(entry["commit_id"]))
        assert stored is not None and stored.owner == stack.account
        assert (stored.locked_money, stored.locked_wh) == (locked, 0)
        assert stack.vault_balance() == vault - locked
        expect(row(page, entry)).to_have_attribute("data-status", "committed")
        expect(row(page, entry)).to_contain_text(text["states"]["committed"])

        # the backup file holds what the Python journal's export holds
        with page.expect_download() as download:
            page.get_by_role("button", name=text["download"]).click()
        backup = json.loads(download.value.path().read_text(encoding="utf-8"))
        (saved,) = [e for e in backup["commitments"] if e["commitment"] == entry["commitment"]]
        with CommitmentJournal(tmp_path / "journal.sqlite3") as python_journal:
            python_journal.record_intent(
                chain_id, market.address, order, Collateral(int(saved["locked_money"]), 0)
            )
            python_journal.mark_committed(
                bytes.fromhex(entry["commitment"][2:]), int(entry["commit_id"])
            )
            python_journal.export(tmp_path / "python.json")
        (exported,) = json.loads((tmp_path / "python.json").read_text())["commitments"]
        assert backup["version"] == 1 and saved == exported

        # before gate closure the market page shows a count, not the order
        page.get_by_role("link", name=text["market"], exact=True).click()
        page.locator("#depth-slot").select_option(str(slot))
        expect(page.get_by_test_id("commitment-count")).to_contain_text(text["count"])
        expect(page.get_by_test_id("commitment-count")).to_have_attribute("data-count", "1")

        travel(stack, s.gate_closure(slot) + 1)
        page.get_by_role("link", name=text["trade"], exact=True).click()
        reveal = page.get_by_role("button", name=text["reveal"].format(slot=slot), exact=True)
        expect(reveal).to_be_visible()
        expect(page.get_by_test_id("reveal-warning")).to_have_count(0)  # 15 minutes left
        sends = wallet_calls(page).count("eth_sendTransaction")
        reveal.click()
        expect(
            page.get_by_test_id("tx-status").filter(has_text=text["revealed_done"])
        ).to_be_visible()
        assert wallet_calls(page).count("eth_sendTransaction") == sends + 1  # one click, one tx
        expect(row(page, entry)).to_have_attribute("data-status", "revealed")
        on_chain = market.order(int(entry["commit_id"]))
        assert on_chain is not None and (on_chain.tick, on_chain.qty_wh) == (TICK, qty)
        assert stack.vault_balance() == vault - escrow  # the rest of the collateral came back
        expect(page.get_by_test_id("vault-balance")).to_have_text(money(vault - escrow, lang=lang))
        assert fits_the_width(page)
        screenshot(page, f"sealed-trade-{lang}-{width}")

        # ... and the order is in the slot's book
        page.get_by_role("link", name=text["market"], exact=True).click()
        page.locator("#depth-slot").select_option(str(slot))
        level = page.locator(f'[data-testid="depth-level"][data-tick="{TICK}"]')
        expect(level).to_contain_text(kwh(qty, lang))
        expect(page.get_by_test_id("revealed-count")).to_have_attribute("data-revealed", "1")
        assert fits_the_width(page)
        screenshot(page, f"sealed-market-{lang}-{width}")
        assert console.errors == [], console.errors


def test_an_unrevealed_commitment_is_warned_about_then_reclaimed_and_its_bond_goes_to_the_treasury(
    browser: Browser, stack: Stack, tmp_path: Path
) -> None:
    """Two commitments; the backup restores them in a fresh browser (a tampered backup is
    refused); Python reveals one with the browser's salt; the other is warned about before its
    window closes, then reclaimed: the bond to the treasury, the rest back to the vault."""
    text = TEXT["en"]
    s, market = stack.sandbox, sealed_market(stack)
    slot = fresh_slot(stack)
    with browser_page(browser, stack, PageOptions()) as (page, console):
        connect(page, stack, "/trade/")
        commit_buy(page, "en", slot, 200)
        commit_buy(page, "en", slot, 300)
        with page.expect_download() as download:
            page.get_by_role("button", name=text["download"]).click()
        backup = download.value.path().read_text(encoding="utf-8")
        assert console.errors == [], console.errors

    # a fresh browser knows nothing of them until the backup is imported
    with browser_page(browser, stack, PageOptions()) as (page, console):
        connect(page, stack, "/trade/")
        tampered = json.loads(backup)
        tampered["commitments"][0]["qty_wh"] += 1
        (tmp_path / "tampered.json").write_text(json.dumps(tampered))
        page.locator("#sealed-import").set_input_files(str(tmp_path / "tampered.json"))
        expect(page.get_by_test_id("backup-message")).to_have_text(
            "The backup cannot be imported (nothing was changed): the commitment of entry 1 does"
            " not match its order and secret."
        )
        assert journal(page) == []
        (tmp_path / "backup.json").write_text(backup)
        page.locator("#sealed-import").set_input_files(str(tmp_path / "backup.json"))
        expect(page.get_by_test_id("backup-message")).to_have_text(
            "Imported 2 commitments (0 known already)."
        )
        entries = {int(e["qty_wh"]): e for e in journal(page) if e["slot"] == slot}
        kept, dropped = entries[200], entries[300]
        expect(row(page, kept)).to_have_attribute("data-status", "committed")
        expect(row(page, dropped)).to_have_attribute("data-status", "committed")

        # Python reveals one with the salt the browser made: the hashes are the same
        travel(stack, s.gate_closure(slot) + 1)
        reveal = market.reveal_orders([(int(kept["commit_id"]), order_of(kept))], gas=600_000)
        s.admin.transact(reveal)
        expect(row(page, kept)).to_have_attribute("data-status", "revealed")
        expect(row(page, kept)).to_contain_text(text["states"]["revealed"])

        ends = s.gate_closure(slot) + REVEAL_SECONDS
        travel(stack, ends - WARNING_SECONDS // 2)
        warning = page.get_by_test_id("reveal-warning")
        expect(warning).to_contain_text(text["warning"].format(slot=slot))
        expect(warning).to_contain_text("forfeits its bond of 0.10 tEUR")

        travel(stack, ends + 1)
        expect(warning).to_have_count(0)
        treasury = s.params.treasury
        bank, vault = market.balance_of(treasury), stack.vault_balance()
        stored = market.commitment(int(dropped["commit_id"]))
        assert stored is not None
        page.get_by_role("button", name=text["reclaim"].format(slot=slot)).click()
        expect(row(page, dropped)).to_have_attribute("data-status", "forfeited")
        expect(row(page, dropped)).to_contain_text(text["states"]["forfeited"])
        assert market.balance_of(treasury) == bank + BOND
        assert stack.vault_balance() == vault + stored.locked_money - BOND
        assert market.commitment(int(dropped["commit_id"])) is None
        statuses = {int(e["qty_wh"]): e["status"] for e in journal(page) if e["slot"] == slot}
        assert statuses == {200: "revealed", 300: "reclaimed"}
        assert console.errors == [], console.errors


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_bad_order_is_refused_in_plain_words_and_nothing_is_sent_or_kept(
    browser: Browser, stack: Stack, lang: str
) -> None:
    """A zero quantity and a price above the grid: a commitment would hide them from the
    contract until the reveal, where they would cost the bond, so the form refuses them."""
    text = TEXT[lang]
    with browser_page(browser, stack, PageOptions(lang=lang)) as (page, console):
        connect(page, stack, "/trade/", lang)
        slot = stack.sandbox.current_slot() + 1
        page.locator("#order-slot").select_option(str(slot))
        page.locator("#order-price").fill(PRICE[lang])
        page.locator("#order-qty").fill("0")
        page.get_by_role("button", name=text["commit"], exact=True).click()
        expect(page.get_by_test_id("tx-error")).to_have_text(text["zero"])
        page.locator("#order-qty").fill("100")
        page.locator("#order-price").fill(text["top_plus"])
        page.get_by_role("button", name=text["commit"], exact=True).click()
        expect(page.get_by_test_id("tx-error")).to_contain_text(text["too_high"])
        assert wallet_calls(page).count("eth_sendTransaction") == 0
        assert journal(page) == []
        assert console.errors == [], console.errors
