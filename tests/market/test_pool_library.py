"""The contracts' PoolClearing library equals the Python reference (market/pool.py) to the unit.

Random cities of residual books go through both: `PoolClearingHarness` on the in-process chain,
and `clear_pool`. Every figure the pool stores must agree: V*, the clearing and marginal ticks,
and per community its import, export and both marginal levels.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.contract import Contract

from chain.artifacts import load_artifact
from chain.connection import in_process_chain, in_process_keys
from energychain.contracts import revert_decoder
from energychain.deploy import deploy_contract
from energychain.pool import residual_side
from market.clearing import MarketParams
from market.pool import PoolClearing, PoolCommunity, Residual, clear_pool
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender

U64 = 2**64 - 1


@pytest.fixture(scope="module")
def harness(compiled: None) -> Iterator[Contract]:
    w3: Web3 = in_process_chain()
    sender = TransactionSender(
        w3, LocalKeySigner(in_process_keys(w3)[0]), decode_revert=revert_decoder()
    )
    address = deploy_contract(sender, "PoolClearingHarness", {})
    yield w3.eth.contract(address=address, abi=load_artifact("PoolClearingHarness").abi)


@st.composite
def pool_inputs(draw: st.DrawFn) -> tuple[MarketParams, int, list[PoolCommunity]]:
    max_tick = draw(st.integers(0, 40))
    params = MarketParams(price_floor=0, tick_size=1, max_tick=max_tick, fee_bps=0)
    level = st.dictionaries(
        st.integers(0, max_tick), st.one_of(st.integers(1, 30), st.integers(1, 10**12)), max_size=8
    )
    limit = st.one_of(st.just(0), st.integers(1, 60), st.integers(0, U64))
    communities = [
        PoolCommunity(
            community_id=f"c{k}",
            levels=draw(st.integers(1, 3)),
            import_limit_wh=draw(limit),
            export_limit_wh=draw(limit),
            residual=Residual(buys=draw(level), sells=draw(level)),
        )
        for k in range(draw(st.integers(0, 5)))
    ]
    return params, draw(st.integers(0, 5)), communities


def on_chain(
    harness: Contract, params: MarketParams, fee: int, communities: list[PoolCommunity]
) -> tuple:  # type: ignore[type-arg]
    args = [
        (
            c.levels * fee,
            c.import_limit_wh,
            c.export_limit_wh,
            residual_side(c.residual.buys, highest_first=True),
            residual_side(c.residual.sells, highest_first=False),
        )
        for c in communities
    ]
    return tuple(harness.functions.clear(args, params.max_tick).call())


def expected(reference: PoolClearing) -> tuple:  # type: ignore[type-arg]
    fills = [
        (
            f.import_wh,
            f.export_wh,
            f.buy_marginal.tick,
            f.buy_marginal.allocated_wh,
            f.buy_marginal.level_wh,
            f.sell_marginal.tick,
            f.sell_marginal.allocated_wh,
            f.sell_marginal.level_wh,
        )
        for f in reference.communities
    ]
    return (
        reference.volume_wh,
        reference.clearing_tick,
        reference.buy_marginal_tick,
        reference.sell_marginal_tick,
        fills,
    )


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pool_inputs())
def test_pool_library_equals_the_python_reference(
    harness: Contract, inputs: tuple[MarketParams, int, list[PoolCommunity]]
) -> None:
    params, fee, communities = inputs
    result = on_chain(harness, params, fee, communities)
    want = expected(clear_pool(communities, params, fee))
    assert result[:4] == want[:4]
    assert [tuple(f) for f in result[4]] == want[4]


def test_pool_library_trades_across_two_communities(harness: Contract) -> None:
    params = MarketParams(price_floor=0, tick_size=10, max_tick=20, fee_bps=0)
    a = PoolCommunity("A", 1, 10_000, 10_000, Residual(buys={15: 500}))
    b = PoolCommunity("B", 1, 10_000, 10_000, Residual(sells={5: 400}))
    volume, p_star, m_b, m_s, fills = on_chain(harness, params, 1, [a, b])
    assert (volume, p_star, m_b, m_s) == (400, 10, 14, 6)
    assert tuple(fills[0]) == (400, 0, 15, 400, 500, 0, 0, 0)
    assert tuple(fills[1]) == (0, 400, 0, 0, 0, 5, 400, 400)
