"""Hypothesis draws of the clearing rule's inputs, shared by the property tests of a
community's rule and of the city pool's: each is called inside a ``@st.composite`` strategy
with its ``draw``."""

from hypothesis import strategies as st

from market.clearing import MarketParams, Order, Side


def draw_params(
    draw: st.DrawFn, *, price_floor_max: int, tick_size_max: int, max_tick_max: int
) -> MarketParams:
    """A price grid (few ticks keep orders sharing a tick, so rationed) and any fee."""
    return MarketParams(
        price_floor=draw(st.integers(0, price_floor_max)),
        tick_size=draw(st.integers(1, tick_size_max)),
        max_tick=draw(st.integers(0, max_tick_max)),
        fee_bps=draw(st.integers(0, 10_000)),
    )


def draw_orders(
    draw: st.DrawFn, params: MarketParams, *, qty_max: int, max_size: int, prefix: str = ""
) -> list[Order]:
    """Up to ``max_size`` orders on ``params``' ticks, ids ``{prefix}o0``, ``{prefix}o1``, ...;
    small quantities (rationing at a shared tick) or any up to ``qty_max``."""
    quantities = st.one_of(st.integers(1, 20), st.integers(1, qty_max))
    drawn = draw(
        st.lists(
            st.tuples(st.sampled_from(Side), st.integers(0, params.max_tick), quantities),
            max_size=max_size,
        )
    )
    return [Order(f"{prefix}o{i}", side, tick, qty) for i, (side, tick, qty) in enumerate(drawn)]
