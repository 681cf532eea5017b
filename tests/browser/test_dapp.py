"""The web dApp in Debian's Chromium, driven by Playwright, against a real stack.

The module's fixture starts anvil with EnergyChain deployed, the indexer ingesting into a SQLite
file and the API serving ``dapp/out`` on a free port; the page gets an injected test wallet
(``wallet.js``: EIP-1193 + EIP-6963, transactions signed by anvil's unlocked dev account).

Chromium comes from Debian (``apt-get install chromium``; ``.ci/run`` installs it when missing),
never from ``playwright install``. Screenshots land in ``reports/browser/``.
"""

from __future__ import annotations

import warnings

import httpx
import pytest
from playwright.sync_api import Page, expect

from indexer.api import ApiConfig, create_app
from tests.browser.harness import (
    DAPP_OUT,
    SCREENSHOTS,
    Console,
    Stack,
    StartStack,
    connect,
    screenshot,
    skip_without_chromium,
)
from tests.browser.harness import money as money_in

with warnings.catch_warnings():  # starlette deprecates its httpx-based TestClient; still fine
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

skip_without_chromium(loudly=True)

TOKEN = 10**6  # TestEuro has 6 decimals


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> Stack:
    return start_stack()


def money(amount: int) -> str:
    """The dApp's money format of the 6-decimal test euro, in English."""
    return money_in(amount)


def test_the_server_serves_the_dapp_pages_and_keeps_the_api(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        for path in ("/", "/trade/", "/energy/", "/agents/", "/operator/"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "text/html" in response.headers["content-type"]
        assert client.get("/trade", follow_redirects=True).status_code == 200
        config = client.get("/v1/config").json()
        assert config["chain_id"] == stack.sandbox.deployment.chain_id
        assert config["rpc_url"] == stack.node.rpc_url
        assert config["payment_token"] == {
            "address": stack.sandbox.deployment.addresses["payment_token"],
            "symbol": "tEUR",
            "decimals": 6,
        }
        assert config["market"]["addresses"] == stack.sandbox.deployment.addresses
        assert config["deployment_block"] == stack.sandbox.deployment.block_number
        missing = client.get("/v1/no-such-thing")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert client.get("/no-such-page/").status_code == 404
        assert client.get("/health").json()["database"] is True
        assert "/v1/config" in client.get("/openapi.json").json()["paths"]
    # Without a node the API cannot name the token: the dApp then reads it on chain.
    without_node = create_app(stack.engine, ApiConfig(static_dir=DAPP_OUT))
    with TestClient(without_node) as client:
        config = client.get("/v1/config").json()
        assert config["rpc_url"] is None
        assert config["payment_token"]["decimals"] is None
    # A different RPC URL for browsers than the API's own.
    public = ApiConfig(rpc_url=stack.node.rpc_url, public_rpc_url="https://rpc.example.org/")
    with TestClient(create_app(stack.engine, public)) as client:
        assert client.get("/v1/config").json()["rpc_url"] == "https://rpc.example.org/"
        assert client.get("/").json()["docs"] == "/docs"  # no build configured: the API's root


def test_connect_deposit_order_clear_claim(page: tuple[Page, Console], stack: Stack) -> None:
    p, console = page
    s = stack.sandbox
    slot = s.current_slot()
    connect(p, stack)

    # Deposit 100 tEUR: the wallet approves the market, then deposits.
    before = stack.vault_balance()
    p.get_by_label("Deposit (tEUR)").fill("100")
    p.get_by_role("button", name="Deposit", exact=True).click()
    expect(p.get_by_test_id("tx-status")).to_have_text("Deposit: done.")
    assert stack.vault_balance() == before + 100 * TOKEN
    expect(p.get_by_test_id("vault-balance")).to_have_text(money(before + 100 * TOKEN))

    # A buy order: 2 kWh at 0.104 tEUR/kWh (tick 200 on the default grid: 0.08 + 200 * 0.00012).
    p.get_by_label("Delivery slot").select_option(str(slot))
    p.get_by_label("Limit price (tEUR per kWh)").fill("0.104")
    p.get_by_label("Quantity (Wh)").fill("2000")
    p.get_by_role("button", name="Place buy order").click()
    expect(p.get_by_test_id("tx-status").nth(1)).to_have_text("Buy order: done.")
    escrow = 2_000 * 104_000 // 1_000
    assert stack.vault_balance() == before + 100 * TOKEN - escrow
    screenshot(p, "trade-order-placed")

    # The order shows in the market's depth view (API + live feed).
    p.get_by_role("link", name="Market").click()
    p.get_by_label("Delivery slot").select_option(str(slot))
    level = p.locator('[data-testid="depth-level"][data-tick="200"]')
    expect(level).to_contain_text("2 kWh")
    screenshot(p, "market-depth")

    # A seller with metered energy offers 1 kWh at tick 100; the slot clears after gate closure.
    seller = s.new_participant()
    s.mint_energy([(seller, 1_000)], slot)
    s.deposit_energy(seller, slot, 1_000)
    s.place_orders(seller, [(slot, False, 100, 1_000)])
    record = s.clear(slot)
    assert record.volume_wh == 1_000
    stack.wait_indexed()

    # Claim in the UI: the buyer's vault gets the refund, the energy arrives in the vault.
    p.get_by_role("link", name="Trade").click()
    claim = p.get_by_role("button", name="Claim all (1)")
    expect(claim).to_be_enabled()
    vault_before_claim = stack.vault_balance()
    claim.click()
    expect(p.get_by_text("Claim 1 order: done.")).to_be_visible()
    paid = -(-1_000 * record.price_per_kwh // 1_000)
    assert stack.vault_balance() == vault_before_claim + escrow - paid
    assert int(s.contracts.market.call("energyBalanceOf", stack.account, slot)) == 1_000
    expect(p.get_by_test_id("vault-balance")).to_have_text(money(stack.vault_balance()))
    expect(p.get_by_role("button", name="Claim all (0)")).to_be_disabled()
    screenshot(p, "trade-claimed")

    p.get_by_role("link", name="My energy").click()
    row = p.get_by_test_id("energy-row").filter(has_text="1 kWh")
    expect(row).to_have_count(1)
    screenshot(p, "energy")
    assert console.errors == []


def test_a_contract_revert_is_shown_in_plain_words(
    page: tuple[Page, Console], stack: Stack
) -> None:
    p, console = page
    connect(p, stack)
    vault = stack.vault_balance()
    p.get_by_label("Withdraw (tEUR)").fill("5000")
    p.get_by_role("button", name="Withdraw", exact=True).click()
    error = p.get_by_test_id("tx-error")
    expect(error).to_have_text(
        f"Your market vault holds {money(vault)}, but this needs {money(5_000 * TOKEN)}. "
        "Deposit more first."
    )
    assert stack.vault_balance() == vault  # nothing was sent
    screenshot(p, "trade-revert")
    assert console.errors == []


def test_every_page_loads_without_console_errors(page: tuple[Page, Console], stack: Stack) -> None:
    p, console = page
    for path, heading in (
        ("/", "Market"),
        ("/trade/", "Trade"),
        ("/energy/", "My energy"),
        ("/agents/", "Agents"),
        ("/operator/", "Operator"),
    ):
        p.goto(stack.base_url + path)
        expect(p.get_by_role("heading", level=1)).to_have_text(heading)
        expect(p.get_by_role("status")).to_have_count(0)  # every loading line resolved
    # Keyboard only: Tab reaches the wallet button, Enter connects.
    p.goto(stack.base_url + "/operator/")
    connect_button = p.get_by_role("button", name="Connect Enerwise Test Wallet")
    expect(connect_button).to_be_visible()
    for _ in range(12):
        p.keyboard.press("Tab")
        if connect_button.evaluate("b => b === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the connect button")
    p.keyboard.press("Enter")
    expect(p.get_by_test_id("account")).to_have_attribute("title", stack.account)
    for name, heading in (
        ("Agents", "Agents"),
        ("My energy", "My energy"),
        ("Trade", "Trade"),
        ("Market", "Market"),
        ("Operator", "Operator"),
    ):
        p.get_by_role("link", name=name, exact=True).click()
        expect(p.get_by_role("heading", level=1)).to_have_text(heading)
        expect(p.get_by_role("status")).to_have_count(0)
        p.screenshot(path=str(SCREENSHOTS / f"page-{heading.lower().replace(' ', '-')}.png"))
    expect(p.get_by_test_id("kpi-slots-cleared")).to_be_visible()
    # No city pool in this deployment: the grid limits panel says so and asks nothing.
    expect(p.get_by_text("This indexer follows no city pool.")).to_be_visible()
    # Narrow screens: nothing wider than the viewport.
    p.set_viewport_size({"width": 390, "height": 844})
    for name in ("Market", "Trade", "Agents"):
        p.get_by_role("link", name=name, exact=True).click()
        expect(p.get_by_role("heading", level=1)).to_have_text(name)
        expect(p.get_by_role("status")).to_have_count(0)
        assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    screenshot(p, "mobile-agents")
    assert console.errors == [], console.errors


def test_grant_an_agent_see_what_it_did_and_revoke_it(
    page: tuple[Page, Console], stack: Stack
) -> None:
    p, console = page
    s = stack.sandbox
    market = s.contracts.market
    if stack.vault_balance() < TOKEN:  # the agent's buy is escrowed from the owner's vault
        stack.deposit(1)
    agent = s.new_participant()
    connect(p, stack, "/agents/")
    p.get_by_label("Agent address").fill(agent.address)
    # Ticks 1,000 and 100 of the default grid (0.08 + tick * 0.00012).
    p.get_by_label("Highest buy price (tEUR/kWh)").fill("0.2")
    p.get_by_label("Lowest sell price (tEUR/kWh)").fill("0.092")
    p.get_by_label("Budget per day (tEUR)").fill("0")
    p.get_by_label("Sell limit per day (kWh)").fill("0")
    p.get_by_role("button", name="Grant").click()
    expect(p.get_by_text("Give the agent a budget or a sell limit")).to_be_visible()
    p.get_by_label("Budget per day (tEUR)").fill("1")
    p.get_by_label("Sell limit per day (kWh)").fill("12.5")
    p.get_by_role("button", name="Grant").click()
    expect(p.get_by_text("Authorize agent: done.")).to_be_visible()
    budget, sell_wh, max_buy, min_sell, expiry, _, _, _ = market.call(
        "delegation", stack.account, agent.address
    )
    assert (budget, sell_wh, max_buy, min_sell) == (TOKEN, 12_500, 1_000, 100)
    assert expiry > s.dev.now()
    expect(p.get_by_test_id("agents")).to_contain_text("1.00 tEUR")
    expect(p.get_by_test_id("agents")).to_contain_text("12.5 kWh")

    # The agent buys for the owner; the page names it among what agents did.
    slot = s.current_slot() + 1
    agent.sender.transact(s.order_request(stack.account, slot, True, 200, 1_000))
    stack.wait_indexed()
    done = p.get_by_text(f"placed a buy order of 1 kWh at 0.104 tEUR/kWh for slot {slot}")
    expect(done).to_be_visible()
    screenshot(p, "agents")

    p.get_by_role("button", name=f"Revoke agent {agent.address}").click()
    expect(p.get_by_text("No agent holds a delegation from you.")).to_be_visible()
    assert market.call("delegation", stack.account, agent.address)[4] == 0
    expect(done).to_contain_text("(no longer authorized)")
    assert console.errors == []
