"""``Market.levels`` on a real anvil: the book's non-empty levels read through the deployless
``BookLens`` (one ``eth_call`` per page) equal a walk of the market's own views
(``nextActiveTick`` and ``level``, two calls per level), whatever the page size."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.artifacts import load_artifact
from chain.errors import ContractRevertError
from devchain.city import BookLevel, City, deploy_city
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings
from energychain.market import Market

MAX_TICK = 40
SETTINGS = MarketSettings(max_tick=MAX_TICK, min_order_wh=1, settlement_seconds=3_600)


@pytest.fixture(scope="module")
def city(compiled: None) -> Iterator[City]:
    with Sandbox.on_anvil(SETTINGS) as sandbox:
        yield deploy_city(sandbox, 1, levels=(1,))


def placed(city: City, book: Sequence[BookLevel]) -> tuple[Market, int]:
    """``book`` placed in a fresh slot of the city's one market: (the market, the slot)."""
    slot = city.sandbox.current_slot() + 1
    city.place_books(slot, [book])
    return city.market(0), slot


def walked(market: Market, slot: int) -> dict[int, tuple[int, int]]:
    """The levels as the market's views give them one by one (what the lens replaces)."""
    out: dict[int, tuple[int, int]] = {}
    found, tick = market.call("nextActiveTick", slot, 0)
    while found:
        buy_wh, sell_wh = market.call("level", slot, tick)
        out[int(tick)] = (int(buy_wh), int(sell_wh))
        found, tick = market.call("nextActiveTick", slot, tick + 1)
    return out


BOOK: list[BookLevel] = [
    (True, 30, 700),
    (True, 30, 300),
    (True, 12, 500),
    (False, 12, 200),
    (False, 1, 900),
    (False, MAX_TICK, 50),
]


def test_levels_sum_each_ticks_orders_per_side(city: City) -> None:
    market, slot = placed(city, BOOK)
    assert market.levels(slot) == {1: (0, 900), 12: (500, 200), 30: (1_000, 0), MAX_TICK: (0, 50)}


@pytest.mark.parametrize("page_levels", [1, 2, 3])
def test_levels_read_in_pages_equal_one_page(city: City, page_levels: int) -> None:
    market, slot = placed(city, BOOK)
    assert market.levels(slot, page_levels=page_levels) == market.levels(slot)


def test_a_slot_without_orders_has_no_levels(city: City) -> None:
    assert city.market(0).levels(city.sandbox.current_slot() + 5) == {}


def test_a_page_of_no_levels_is_refused_before_calling(city: City) -> None:
    with pytest.raises(ValueError, match="page_levels must be at least 1"):
        city.market(0).levels(0, page_levels=0)


def test_the_lens_itself_refuses_a_page_of_no_levels(city: City) -> None:
    market = city.market(0)
    code = bytes.fromhex(load_artifact("BookLens").bytecode.removeprefix("0x"))
    args = market.w3.codec.encode(
        ("address", "uint64", "uint16", "uint256"), [market.address, 0, 0, 0]
    )
    with pytest.raises(ContractRevertError) as excinfo:
        market.guard("BookLens", lambda: market.w3.eth.call({"data": code + args}))
    assert excinfo.value.name == "EmptyPage"


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    book=st.lists(
        st.tuples(st.booleans(), st.integers(1, MAX_TICK), st.integers(1, 5_000)),
        min_size=1,
        max_size=12,
    ),
    page_levels=st.integers(1, 6),
)
def test_levels_equal_the_walk_of_the_market_views(
    city: City, book: list[BookLevel], page_levels: int
) -> None:
    market, slot = placed(city, book)
    assert market.levels(slot, page_levels=page_levels) == walked(market, slot)
