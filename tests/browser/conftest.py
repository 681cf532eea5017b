"""Fixtures of the browser tests: one Playwright and one Debian Chromium per module.

Not per session: Playwright's sync API keeps an event loop running in the main thread while it
is started, and every later test that calls ``asyncio.run`` (oracles, devices, the indexer) would
fail with "cannot be called from a running event loop".

Without /usr/bin/chromium the browser modules skip themselves loudly (see each module's top).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.harness import CHROMIUM, DAPP_OUT, SCREENSHOTS

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Playwright, sync_playwright

    @pytest.fixture(scope="module")
    def playwright() -> Iterator[Playwright]:
        with sync_playwright() as p:
            yield p

    @pytest.fixture(scope="module")
    def browser(playwright: Playwright) -> Iterator[Browser]:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture(scope="session", autouse=True)
def screenshots() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def dapp_build() -> None:
    if not (DAPP_OUT / "index.html").is_file():
        pytest.fail(f"no dApp build at {DAPP_OUT}: run `make dapp`")
