"""What the browser tests share: a real stack (anvil with EnergyChain, the indexer ingesting into
SQLite, the API serving ``dapp/out`` on a free port with Sign-In with Ethereum and on-chain
roles), a page with the injected test wallet (``wallet.js``) in a chosen language, width, chain
and clock, and the dApp's money format.

Chromium comes from Debian (``apt-get install chromium``), never from ``playwright install``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from hexbytes import HexBytes
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy import Engine
from web3 import Web3

from chain.artifacts import load_artifact
from chain.local_node import AnvilProcess, free_port, start_anvil
from chain.paths import REPO_ROOT
from chain.rpc import JsonRpcClient, tls_context
from devchain.city import City, deploy_city
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from indexer.api import ApiConfig, create_app
from indexer.api.sessions import ChainRoles
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from indexer.ingest import IngestConfig, Ingester, wait_for
from indexer.live import LocalHub
from wallet.transactions import TxRequest

CHROMIUM = Path("/usr/bin/chromium")
#: Every journey runs in both languages at a phone's and at a desktop's width (CSS pixels).
JOURNEYS = [("de", 390), ("de", 1280), ("en", 390), ("en", 1280)]
DAPP_OUT = REPO_ROOT / "dapp" / "out"
SCREENSHOTS = REPO_ROOT / "reports" / "browser"
WALLET_JS = Path(__file__).with_name("wallet.js")
UI_TIMEOUT_MS = 20_000
#: The browser wallet's account: anvil's tenth dev account (unlocked in anvil).
WALLET_ACCOUNT_INDEX = 9
LOCALES = {"en": "en-US", "de": "de-DE"}
expect.set_options(timeout=UI_TIMEOUT_MS)  # the dApp polls the chain and the index every ~5 s


class ServerThread:
    """uvicorn on a loopback port, in a daemon thread."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        assert wait_for(lambda: self.server.started, timeout=15), "the API did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Stack:
    node: AnvilProcess
    sandbox: Sandbox
    base_url: str
    account: str
    engine: Engine
    decimals: int
    symbol: str
    explorer_url: str | None = None
    city: City | None = None
    """The city pool and its communities (``running_stack(communities=N)``), else None."""

    @property
    def mode(self) -> str:
        """The market's mode: ``open`` or ``sealed``."""
        return self.sandbox.deployment.mode

    def wait_indexed(self, timeout: float = 15) -> None:
        """Until the ingester reached the chain's head."""
        head = int(self.sandbox.w3.eth.block_number)

        def caught_up() -> bool:
            body = httpx.get(f"{self.base_url}/health", timeout=5, verify=tls_context()).json()
            return (body.get("checkpoint_block") or -1) >= head

        assert wait_for(caught_up, timeout=timeout, interval=0.1), "the indexer fell behind"

    def send_from_wallet(self, request: TxRequest) -> str:
        """A transaction from the browser wallet's (unlocked) account, outside the browser."""
        w3 = self.sandbox.w3
        tx_hash = w3.eth.send_transaction(
            {"from": self.account, "to": request.to, "data": HexBytes(request.data)}
        )
        assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1
        return "0x" + bytes(tx_hash).hex()

    def vault_balance(self) -> int:
        return int(self.sandbox.contracts.market.call("balanceOf", self.account))

    def units(self, whole: int) -> int:
        return whole * 10**self.decimals

    def deposit(self, whole: int) -> None:
        """``whole`` euros from the browser wallet into the market's vault, outside the browser:
        it approves the market, then deposits."""
        market, payment = self.sandbox.contracts.market, self.sandbox.contracts.payment
        self.send_from_wallet(payment.request("approve", market.address, self.units(whole)))
        self.send_from_wallet(market.request("deposit", self.units(whole)))


StartStack = Callable[..., Stack]
"""The ``start_stack`` fixture (tests/browser/conftest.py): ``running_stack``'s keywords, the
module's stack (stopped after the module)."""


def deploy_test_euro_18(w3: Web3, deployer: str) -> str:
    """A ``TestEuro18`` (18 decimals, anyone mints) deployed from ``deployer`` (unlocked)."""
    artifact = load_artifact("TestEuro18")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx_hash = factory.constructor().transact({"from": deployer})
    address = w3.eth.wait_for_transaction_receipt(tx_hash)["contractAddress"]
    assert address is not None
    return str(address)


@contextlib.contextmanager
def running_stack(
    db_dir: Path,
    *,
    decimals: int = 6,
    explorer_url: str | None = None,
    time_zone: str = "UTC",
    market: MarketSettings | None = None,
    communities: int = 0,
) -> Iterator[Stack]:
    """anvil + EnergyChain (a 6- or 18-decimal test euro), the indexer, the API with the dApp.

    The wallet's account gets 1,000 euros of the test token. With 18 decimals the price grid is
    the default one (0.08 to 0.32 EUR/kWh in steps of 0.00012) in 18-decimal base units.
    ``market`` chooses the deployment's settings, e.g. a sealed market
    (``MarketSettings(mode="sealed", reveal_seconds=..., bond_amount=...)``); the default is the
    open market of ``MarketSettings()``. Its money amounts are in 6-decimal units either way.
    With ``communities`` (2 or more) the market is community 0 of a city pool
    (``devchain.city.deploy_city``) that the indexer follows too.
    """
    engine = make_engine(f"sqlite:///{db_dir / 'indexer.sqlite3'}")
    upgrade(engine)
    with start_anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        settings = market or MarketSettings()
        if decimals == 18:
            token = deploy_test_euro_18(w3, w3.eth.accounts[0])
            scale = 10**12  # the settings' money is in 6-decimal units
            settings = dataclasses.replace(
                settings,
                price_floor=settings.price_floor * scale,
                tick_size=settings.tick_size * scale,
                bond_amount=settings.bond_amount * scale,
                payment_token=token,
            )
        sandbox = Sandbox.at(node.rpc_url, settings)
        account = str(list(sandbox.w3.eth.accounts)[WALLET_ACCOUNT_INDEX])
        payment = sandbox.contracts.payment
        sandbox.admin.transact(payment.request("mint", account, 1_000 * 10**decimals))
        hub = LocalHub()
        addresses = dict(sandbox.deployment.addresses)
        city = deploy_city(sandbox, communities) if communities else None
        if city is not None:
            addresses["city_pool"] = city.pool.address
        ingester = Ingester(
            engine,
            JsonRpcClient(node.rpc_url),
            addresses,
            sandbox.deployment.block_number,
            publisher=hub,
            config=IngestConfig(poll_interval=0.1),
        )
        ingester.sync()
        stop = threading.Event()
        runner = threading.Thread(target=ingester.run, args=(stop,), daemon=True)
        runner.start()
        port = free_port()
        config = ApiConfig(
            rate_limit_per_minute=0,
            static_dir=DAPP_OUT,
            rpc_url=node.rpc_url,
            stream_ping_seconds=5,
            siwe_domain=f"127.0.0.1:{port}",
            explorer_url=explorer_url,
            time_zone=time_zone,
        )
        roles = ChainRoles(JsonRpcClient(node.rpc_url), addresses["market"], addresses["registry"])
        symbol = "tEUR18" if decimals == 18 else "tEUR"
        try:
            with ServerThread(create_app(engine, config, hub=hub, roles=roles), port):
                yield Stack(
                    node,
                    sandbox,
                    f"http://127.0.0.1:{port}",
                    account,
                    engine,
                    decimals,
                    symbol,
                    explorer_url,
                    city,
                )
        finally:
            stop.set()
            runner.join(5)
            engine.dispose()


@dataclass
class Console:
    errors: list[str] = field(default_factory=list)


@dataclass
class PageOptions:
    lang: str = "en"
    width: int = 1280
    chain_id: int | None = None
    """The wallet's chain (default: the deployment's)."""
    clock: datetime | None = None
    """The browser's clock (default: the real time)."""
    init_script: str | None = None
    """A script run in every page after the test wallet's (default: none)."""


def open_page(browser: Browser, stack: Stack, options: PageOptions) -> tuple[Any, Page, Console]:
    """A new browser context with the test wallet: (context, page, console errors)."""
    context = browser.new_context(
        viewport={"width": options.width, "height": 900},
        locale=LOCALES[options.lang],
        timezone_id="Europe/Berlin",
    )
    wallet = {
        "rpcUrl": stack.node.rpc_url,
        "account": stack.account,
        "chainId": hex(options.chain_id or stack.sandbox.deployment.chain_id),
    }
    context.add_init_script(WALLET_JS.read_text().replace("__WALLET__", json.dumps(wallet)))
    if options.init_script is not None:
        context.add_init_script(options.init_script)
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    if options.clock is not None:
        page.clock.set_system_time(options.clock)
    console = Console()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console.errors.append(f"{message.text} @ {message.location.get('url', '')}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))
    return context, page, console


@contextlib.contextmanager
def browser_page(
    browser: Browser, stack: Stack, options: PageOptions | None = None
) -> Iterator[tuple[Page, Console]]:
    """``open_page`` as a ``with`` block: (page, console errors); the context closed after it."""
    context, page, console = open_page(browser, stack, options or PageOptions())
    try:
        yield page, console
    finally:
        context.close()


def connect(page: Page, stack: Stack, path: str = "/trade/", lang: str = "en") -> None:
    page.goto(stack.base_url + path)
    name = "Enerwise Test Wallet verbinden" if lang == "de" else "Connect Enerwise Test Wallet"
    page.get_by_role("button", name=name).click()
    expect(page.get_by_test_id("account")).to_have_attribute("title", stack.account)


#: The session button and what the page says once signed in, per UI language.
SIGN_IN = {"de": ("Anmelden", "Angemeldet"), "en": ("Sign in", "Signed in")}


def sign_in(page: Page, lang: str = "en") -> None:
    """Signs in with Ethereum from the page's button and waits until the session shows."""
    button, signed_in = SIGN_IN[lang]
    page.get_by_role("button", name=button, exact=True).click()
    expect(page.get_by_test_id("session")).to_contain_text(signed_in)


def money(amount: int, decimals: int = 6, symbol: str = "tEUR", lang: str = "en") -> str:
    """The dApp's money format for base units: exact, every significant decimal, at least two;
    grouping and decimal separator of the UI language's locale (en-US or de-DE)."""
    whole, fraction = divmod(abs(amount), 10**decimals)
    digits = str(fraction).rjust(decimals, "0").rstrip("0").ljust(2, "0")
    group, point = (",", ".") if lang == "en" else (".", ",")
    sign = "-" if amount < 0 else ""
    return f"{sign}{whole:,}".replace(",", group) + f"{point}{digits} {symbol}"


def wallet_calls(page: Page) -> list[str]:
    """The JSON-RPC methods the page asked the test wallet for, in order."""
    calls: list[str] = page.evaluate("window.__walletCalls")
    return calls


_OVERFLOWING = """() => {
  const found = [];
  const walk = (root) => {
    for (const child of root.children) {
      const display = child.style.display;
      child.style.display = 'none';
      const fits = document.documentElement.scrollWidth <= window.innerWidth;
      child.style.display = display;
      if (fits) {
        const before = found.length;
        walk(child);
        const text = (child.textContent ?? '').slice(0, 80);
        if (found.length === before) found.push(`${child.tagName}: ${text}`);
      }
    }
  };
  walk(document.body);
  return found;
}"""


def overflowing(page: Page) -> list[str]:
    """The innermost elements without which the page would fit the viewport's width."""
    found: list[str] = page.evaluate(_OVERFLOWING)
    return found


def fits_the_width(page: Page) -> bool:
    """Nothing wider than the viewport (tables scroll inside their own boxes)."""
    fits = bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
    assert fits, overflowing(page)
    return fits


def screenshot(page: Page, name: str) -> None:
    """The whole page, kept as ``reports/browser/<name>.png`` for a reviewer's eyes."""
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def skip_without_chromium(*, loudly: bool = False) -> None:
    """Skips the calling test module (called at its import) when Debian's Chromium is missing;
    ``loudly`` prints a banner with the way to install it (tests/browser/test_dapp.py does)."""
    if CHROMIUM.exists():
        return
    if not loudly:
        pytest.skip(f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing", allow_module_level=True)
    message = (
        f"\n{'!' * 78}\n!! BROWSER TESTS SKIPPED: {CHROMIUM} is missing. "
        "Install it: apt-get install -y chromium\n"
        f"{'!' * 78}"
    )
    print(message)
    pytest.skip(message, allow_module_level=True)
