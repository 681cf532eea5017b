"""The operator page's grid limits panel in Chromium, against a stack whose market is community
0 of a city pool of two (``running_stack(communities=2)``): the pool, its communities and the
limits the grid operator published for the next slots, a revision marked as such."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import (
    CHROMIUM,
    SCREENSHOTS,
    Console,
    PageOptions,
    Stack,
    open_page,
    running_stack,
)

if not CHROMIUM.exists():
    message = (
        f"\n{'!' * 78}\n!! BROWSER TESTS SKIPPED: {CHROMIUM} is missing. "
        "Install it: apt-get install -y chromium\n"
        f"{'!' * 78}"
    )
    print(message)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, compiled: None, dapp_build: None
) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("grid"), communities=2) as running:
        yield running


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[tuple[Page, Console]]:
    context, page, console = open_page(browser, stack, PageOptions())
    yield page, console
    context.close()


def test_the_operator_page_shows_the_pool_and_the_next_slots_limits(
    page: tuple[Page, Console], stack: Stack
) -> None:
    p, console = page
    city = stack.city
    assert city is not None
    slot = stack.sandbox.current_slot() + 1
    for limits in ([(4_000, 2_500), (1_000, 0)], [(3_500, 2_000), (1_200, 700)]):
        city.operator.transact(city.pool.publish_limits(slot, limits, communities=2))
    stack.wait_indexed()
    p.goto(stack.base_url + "/operator/")
    panel = p.get_by_test_id("grid-limits")
    expect(panel).to_be_visible()
    expect(p.get_by_test_id("pool-communities")).to_have_text("2")
    expect(p.get_by_test_id("pool-community-table").locator("tbody tr")).to_have_count(2)
    published = p.locator(f'[data-testid="pool-limit"][data-slot="{slot}"]')
    expect(published).to_have_count(2)
    expect(published.first).to_contain_text("3.5 kWh")
    expect(published.first).to_contain_text("revision 2")
    expect(published.nth(1)).to_contain_text("700 Wh")
    # the slot now running has no limits: zero, and said so
    running = p.locator(f'[data-testid="pool-limit"][data-slot="{slot - 1}"]')
    expect(running.first).to_have_attribute("data-published", "false")
    expect(running.first).to_contain_text("no (zero limits)")
    panel.screenshot(path=str(SCREENSHOTS / "operator-grid-limits.png"))
    assert console.errors == [], console.errors
