"""The operator page's grid limits panel in Chromium, against a stack whose market is community
0 of a city pool of two (``running_stack(communities=2)``): the pool, its communities and the
limits the grid operator published for the next slots, a revision marked as such; pausing and
resuming a community from the page with the pool's admin role, refused without it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from devchain.city import City
from tests.browser.harness import (
    SCREENSHOTS,
    Console,
    Stack,
    StartStack,
    connect,
    skip_without_chromium,
)

skip_without_chromium(loudly=True)


@pytest.fixture(scope="module")
def stack(start_stack: StartStack) -> Stack:
    return start_stack(communities=2)


@pytest.fixture(scope="module")
def city(stack: Stack) -> City:
    """The stack's city pool of two communities (its market is community 0)."""
    assert stack.city is not None
    return stack.city


def test_the_operator_page_shows_the_pool_and_the_next_slots_limits(
    page: tuple[Page, Console], stack: Stack, city: City
) -> None:
    p, console = page
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


def test_a_pool_clearing_stands_beside_the_communitys_and_a_paused_community_is_shown(
    page: tuple[Page, Console], stack: Stack, city: City
) -> None:
    """Community 1's 700 Wh asked at tick 900 meet the 400 Wh community 0 left bid at 1,100
    (its 600 Wh crossed at home), capped at 300 Wh by its import limit; then the city admin
    pauses community 1."""
    from tests.indexer.test_pool_clearings import clear_through_pool, place_books

    p, console = page
    city.operator.transact(city.pool.set_grid_fee(5, city.operator.address))
    slot = stack.sandbox.current_slot() + 1
    books = [[(True, 1_100, 1_000), (False, 1_000, 600)], [(False, 900, 700)]]
    place_books(city, slot, books, [(300, 0), (0, 1_000)])
    clear_through_pool(city, slot)
    stack.sandbox.admin.transact(city.pool.pause_community(1))
    stack.wait_indexed()
    p.goto(stack.base_url + "/")
    pair = p.get_by_test_id("pool-clearing")
    expect(pair).to_have_attribute("data-slot", str(slot))
    expect(p.get_by_test_id("pool-local-volume")).to_have_text("600 Wh")
    expect(p.get_by_test_id("pool-import")).to_have_text("300 Wh")
    expect(p.get_by_test_id("pool-export")).to_have_text("0 Wh")
    expect(p.get_by_test_id("pool-price")).not_to_have_text("no trade")
    expect(p.get_by_test_id("pool-buy-price")).not_to_have_text("\u2013")  # the "none" dash
    # the browser's city has plain markets: the pool cannot settle with them
    expect(p.get_by_test_id("pool-settlement")).to_have_text("not settled yet")
    expect(p.get_by_test_id("pool-paid")).to_have_count(0)
    pair.screenshot(path=str(SCREENSHOTS / "market-pool-clearing.png"))
    p.goto(stack.base_url + "/operator/")
    rows = p.get_by_test_id("pool-community")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-paused", "false")
    expect(rows.nth(1)).to_have_attribute("data-paused", "true")
    expect(rows.nth(1)).to_contain_text("paused (since block")
    assert console.errors == [], console.errors


def test_a_wallet_without_the_pools_admin_role_gets_no_pause_button(
    page: tuple[Page, Console], stack: Stack, city: City
) -> None:
    p, console = page
    assert not city.pool.has_role("DEFAULT_ADMIN_ROLE", stack.account)
    connect(p, stack, "/operator/")
    toggles = p.get_by_test_id("pool-pause-toggle")
    expect(toggles).to_have_count(2)
    for i in range(2):
        expect(toggles.nth(i)).to_be_disabled()
    reason = "does not hold the city pool's admin role (DEFAULT_ADMIN_ROLE)"
    expect(p.get_by_test_id("pool-admin-note")).to_contain_text(reason)
    expect(toggles.first).to_have_attribute(
        "title", re.compile(f"^{stack.account} {re.escape(reason)}")
    )
    assert console.errors == [], console.errors


def _hand_over_the_pool(stack: Stack, to_wallet: bool) -> None:
    """The pool's one admin handed over in its two steps, a day apart (``AdminHandover``): from
    the sandbox's admin to the browser wallet's account, or back."""
    city = stack.city
    assert city is not None
    admin = stack.sandbox.admin
    new = stack.account if to_wallet else admin.address
    begin = city.pool.request("beginDefaultAdminTransfer", new)
    if to_wallet:
        admin.transact(begin)
    else:
        stack.send_from_wallet(begin)
    stack.sandbox.advance_to(stack.sandbox.dev.now() + 86_401)
    accept = city.pool.request("acceptDefaultAdminTransfer")
    if to_wallet:
        stack.send_from_wallet(accept)
    else:
        admin.transact(accept)
    assert city.pool.has_role("DEFAULT_ADMIN_ROLE", new)


def test_the_city_admin_pauses_and_resumes_a_community_from_the_page(
    page: tuple[Page, Console], stack: Stack, city: City
) -> None:
    """The pool's admin role handed to the wallet: it pauses community 0 from the page (paused
    on chain, then in the column from the index), and resumes it."""
    p, console = page
    _hand_over_the_pool(stack, to_wallet=True)
    try:
        connect(p, stack, "/operator/")
        rows = p.get_by_test_id("pool-community")
        first = rows.nth(0)
        expect(first).to_have_attribute("data-paused", "false")
        toggle = first.get_by_test_id("pool-pause-toggle")
        expect(toggle).to_have_text("Pause")
        expect(toggle).to_be_enabled()
        expect(p.get_by_test_id("pool-admin-note")).to_contain_text("A paused community")
        toggle.click()
        admin = p.get_by_test_id("pool-admin")
        expect(admin.get_by_test_id("tx-status")).to_have_text("Pause community 0: done.")
        assert city.pool.is_paused(0)
        expect(first).to_have_attribute("data-paused", "true")
        expect(first).to_contain_text("paused (since block")
        expect(toggle).to_have_text("Resume")
        p.get_by_test_id("grid-limits").screenshot(
            path=str(SCREENSHOTS / "operator-pool-pause.png")
        )
        toggle.click()
        expect(admin.get_by_test_id("tx-status")).to_have_text("Resume community 0: done.")
        assert not city.pool.is_paused(0)
        expect(first).to_have_attribute("data-paused", "false")
        expect(admin.get_by_test_id("tx-error")).to_have_count(0)
    finally:
        _hand_over_the_pool(stack, to_wallet=False)
    assert console.errors == [], console.errors
