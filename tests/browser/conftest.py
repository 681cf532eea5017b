"""Fixtures of the browser tests: one Playwright and one Debian Chromium per module.

Not per session: Playwright's sync API keeps an event loop running in the main thread while it
is started, and every later test that calls ``asyncio.run`` (oracles, devices, the indexer) would
fail with "cannot be called from a running event loop".

Without /usr/bin/chromium the browser modules skip themselves loudly (see each module's top).

Each module names its own ``stack`` fixture (module scope) from ``start_stack`` with the
options of ``running_stack`` it needs; ``page`` opens a page of that stack.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.harness import (
    CHROMIUM,
    DAPP_OUT,
    SCREENSHOTS,
    Console,
    Stack,
    StartStack,
    browser_page,
    running_stack,
)

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, Playwright, sync_playwright

    @pytest.fixture(scope="module")
    def playwright() -> Iterator[Playwright]:
        with sync_playwright() as p:
            yield p

    @pytest.fixture(scope="module")
    def browser(playwright: Playwright) -> Iterator[Browser]:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()

    @pytest.fixture
    def page(browser: Browser, stack: Stack) -> Iterator[tuple[Page, Console]]:
        """A page of the module's ``stack`` with the test wallet (English, 1280 px)."""
        with browser_page(browser, stack) as opened:
            yield opened


@pytest.fixture(scope="session", autouse=True)
def screenshots() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def dapp_build() -> None:
    if not (DAPP_OUT / "index.html").is_file():
        pytest.fail(f"no dApp build at {DAPP_OUT}: run `make dapp`")


@pytest.fixture(scope="module")
def start_stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    compiled: None,
    dapp_build: None,
) -> Iterator[StartStack]:
    """Starts the module's stack (``running_stack`` with the given keywords, its database in a
    folder named after the module); stopped after the module."""
    name = request.module.__name__.rpartition(".")[2]
    with contextlib.ExitStack() as running:

        def start(**options: Any) -> Stack:
            return running.enter_context(running_stack(tmp_path_factory.mktemp(name), **options))

        yield start
