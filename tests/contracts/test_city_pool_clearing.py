"""CityPool.clear: the pool's clearing of a slot across communities (issue 17, docs/pool.md).

A city of three real community markets on one registry: after each market cleared a slot, anyone
clears the pool with every community's residual sides. The pool checks them against the markets'
commitments, takes the grid fee (levels x fee per level) and the published limits, and records
what ``PoolClearing`` finds; the tests compare it with the Python reference ``market.pool``
(pure Python, imported from the repository root). One behaviour per test.

Books of the slot (fee 5 ticks per level):

* A (community 0, 1 level): buys 500 Wh at 600 and 300 at 590, sells 200 at 700 (no local trade);
* B (community 1, 2 levels): sells 400 at 500 and 300 at 520, buys 100 at 400 (no local trade);
* C (community 2, 1 level): buys 250 at 560, sells 100 at 540: 100 Wh trade locally, 150 Wh of
  the buy are its residual.
"""

import brownie
import pytest
from brownie import EnergyMarket
from conftest import (
    BOOKS,
    DEFAULT_ADMIN_ROLE,
    FEE_PER_LEVEL,
    LEVELS,
    OPEN,
    RULE,
    Env,
    access_error,
    addr,
    deploy_pool,
    found_city,
    market_params,
    residual,
    residual_sides,
    struct_fields,
)
from eth_abi import encode as abi_encode
from eth_utils import keccak

from energychain.pool import PoolFill, paired_levels
from market.pool import PoolCommunity, clear_pool

FILLS_TYPE = "(uint64,uint64,uint16,uint64,uint96,uint16,uint64,uint96)[]"


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def envs(pool, registry, token, market, euro, admin, relayer, treasury, operator):
    """The three communities' environments (``env.market`` is each one's market), added to the
    pool in order with LEVELS; the grid operator's key sets the fee."""
    markets = [market] + [
        EnergyMarket.deploy(admin, euro, registry, market_params(treasury), {"from": admin})
        for _ in range(2)
    ]
    found_city(pool, markets, LEVELS, admin, operator, operator)
    return [Env(registry, token, m, euro, admin, relayer, treasury) for m in markets]


def place_books(envs, slot, trader, books=BOOKS):
    for e, book in zip(envs, books, strict=True):
        for is_buy, tick, qty in book:
            if is_buy:
                e.funded_buy(trader, slot, tick, qty)
            else:
                e.funded_sell(trader, slot, tick, qty)


def publish(pool, slot, operator, limits):
    pool.publishLimits(slot, [i for i, _ in limits], [x for _, x in limits], {"from": operator})


def close_and_clear_markets(envs, slot, which=(0, 1, 2)):
    envs[0].close_gate(slot)
    for i in which:
        envs[i].clear(slot)


@pytest.fixture
def cleared_slot(envs, pool, alice, operator):
    """A slot whose books are placed, limits published (OPEN for everyone) and every market
    cleared; the pool has not cleared it."""
    slot = envs[0].trading_slot()
    place_books(envs, slot, alice)
    publish(pool, slot, operator, [(OPEN, OPEN)] * 3)
    close_and_clear_markets(envs, slot)
    return slot


# ---- the reference ----------------------------------------------------------------------------


def reference(limits, books=BOOKS, levels=LEVELS, fee=FEE_PER_LEVEL):
    communities = [
        PoolCommunity(f"c{i}", n, imp, exp, residual(book))
        for i, (book, n, (imp, exp)) in enumerate(zip(books, levels, limits, strict=True))
    ]
    return clear_pool(communities, RULE, fee)


def fills_of(result):
    """The reference's fills as the contract's ``Fill`` structs (the tuple the package's PoolFill
    sends to ``verifyFills``), in community order."""
    return [
        PoolFill(i, f.import_wh, f.export_wh, f.buy_marginal, f.sell_marginal).as_tuple()
        for i, f in enumerate(result.communities)
    ]


def clear(pool, slot, entries, sender):
    """``clear`` with each entry's sides (one level a word, as committed) sent two levels a word."""
    return pool.clear(slot, [paired(e) for e in entries], {"from": sender})


def paired(entry):
    return tuple(paired_levels(side) for side in entry)


def record(pool, slot):
    return struct_fields(
        pool.poolClearing(slot), "cleared fee clearing_tick buy_tick sell_tick volume fills_hash"
    )


# ---- the result -----------------------------------------------------------------------------


def test_pool_result_equals_the_python_reference(pool, cleared_slot, stranger):
    tx = clear(pool, cleared_slot, [residual_sides(b) for b in BOOKS], stranger)
    want = reference([(OPEN, OPEN)] * 3)
    got = record(pool, cleared_slot)
    assert want.cleared and got["cleared"]
    assert (got["volume"], got["clearing_tick"], got["buy_tick"], got["sell_tick"]) == (
        want.volume_wh,
        want.clearing_tick,
        want.buy_marginal_tick,
        want.sell_marginal_tick,
    )
    event = tx.events["PoolCleared"]
    assert [tuple(f) for f in event["fills"]] == fills_of(want)
    assert (event["slot"], event["volumeWh"], event["feeTicksPerLevel"]) == (
        cleared_slot,
        want.volume_wh,
        FEE_PER_LEVEL,
    )


def test_imports_equal_exports_equal_the_volume(pool, cleared_slot, stranger):
    tx = clear(pool, cleared_slot, [residual_sides(b) for b in BOOKS], stranger)
    fills = tx.events["PoolCleared"]["fills"]
    volume = record(pool, cleared_slot)["volume"]
    assert volume > 0
    assert sum(f[0] for f in fills) == volume
    assert sum(f[1] for f in fills) == volume


def test_each_community_stays_within_its_limits(envs, pool, alice, operator, stranger):
    slot = envs[0].trading_slot()
    place_books(envs, slot, alice)
    limits = [(400, 0), (OPEN, OPEN), (100, OPEN)]
    publish(pool, slot, operator, limits)
    close_and_clear_markets(envs, slot)
    tx = clear(pool, slot, [residual_sides(b) for b in BOOKS], stranger)
    fills = tx.events["PoolCleared"]["fills"]
    # A bids 800 Wh and C 150 Wh above B's asks (700 Wh): their import limits bind.
    assert (fills[0][0], fills[2][0], fills[1][1]) == (400, 100, 500)
    for f, (imp, exp) in zip(fills, limits, strict=True):
        assert f[0] <= imp and f[1] <= exp
    assert [tuple(f) for f in fills] == fills_of(reference(limits))


def test_unpublished_limits_let_nothing_cross_for_that_community(
    envs, pool, alice, operator, stranger
):
    slot = envs[0].trading_slot()
    place_books(envs, slot, alice)
    # No publication for the slot at all: every community's limits read as zero.
    close_and_clear_markets(envs, slot)
    tx = clear(pool, slot, [residual_sides(b) for b in BOOKS], stranger)
    assert record(pool, slot)["volume"] == 0
    assert all(tuple(f) == (0,) * 8 for f in tx.events["PoolCleared"]["fills"])


def test_fee_of_each_level_crossed_is_counted_once(pool, cleared_slot, stranger):
    clear(pool, cleared_slot, [residual_sides(b) for b in BOOKS], stranger)
    got = record(pool, cleared_slot)
    want = reference([(OPEN, OPEN)] * 3)
    # A (1 level) imports and B (2 levels) exports: A's buyers pay p* + 5, B's sellers get p* - 10.
    buy_tick_a = got["clearing_tick"] + LEVELS[0] * got["fee"]
    sell_tick_b = got["clearing_tick"] - LEVELS[1] * got["fee"]
    assert (buy_tick_a, sell_tick_b) == (
        want.communities[0].buy_tick,
        want.communities[1].sell_tick,
    )
    assert buy_tick_a - sell_tick_b == (LEVELS[0] + LEVELS[1]) * FEE_PER_LEVEL


def test_verify_fills_accepts_the_emitted_fills_and_refuses_others(pool, cleared_slot, stranger):
    assert not pool.verifyFills(cleared_slot, [(0,) * 8] * 3)  # nothing before the clearing
    tx = clear(pool, cleared_slot, [residual_sides(b) for b in BOOKS], stranger)
    fills = [tuple(f) for f in tx.events["PoolCleared"]["fills"]]
    assert pool.verifyFills(cleared_slot, fills)
    forged = [(fills[0][0] + 1, *fills[0][1:]), *fills[1:]]
    assert not pool.verifyFills(cleared_slot, forged)


def test_record_keeps_the_first_128_bits_of_the_hash_of_the_emitted_fills(
    pool, cleared_slot, stranger
):
    tx = clear(pool, cleared_slot, [residual_sides(b) for b in BOOKS], stranger)
    fills = [tuple(f) for f in tx.events["PoolCleared"]["fills"]]
    full = keccak(abi_encode([FILLS_TYPE], [fills]))
    assert bytes(record(pool, cleared_slot)["fills_hash"]) == full[:16] + bytes(16)


# ---- refusals ---------------------------------------------------------------------------------


def test_residual_that_is_not_the_committed_one_reverts_naming_the_community(
    envs, pool, cleared_slot, stranger
):
    entries = [residual_sides(b) for b in BOOKS]
    buys, sells = entries[1]
    entries[1] = ([*buys], [sells[0] + 1, *sells[1:]])  # one Wh more at B's first ask
    with brownie.reverts(f"ResidualMismatch: 1, {addr(envs[1].market)}, {cleared_slot}"):
        clear(pool, cleared_slot, entries, stranger)


def test_residual_one_level_a_word_reverts_as_not_the_committed_one(
    envs, pool, cleared_slot, stranger
):
    entries = [paired(residual_sides(b)) for b in BOOKS]
    entries[0] = residual_sides(BOOKS[0])  # A's two bids and its ask unpaired
    with brownie.reverts(f"ResidualMismatch: 0, {addr(envs[0].market)}, {cleared_slot}"):
        pool.clear(cleared_slot, entries, {"from": stranger})


def test_residual_with_an_empty_half_before_its_last_word_reverts(
    envs, pool, cleared_slot, stranger
):
    entries = [paired(residual_sides(b)) for b in BOOKS]
    buys, sells = residual_sides(BOOKS[0])
    # A's first bid alone in a word, its second in the next: the levels read are bid, 0, bid.
    entries[0] = ([buys[0] << 128, buys[1] << 128], paired_levels(sells))
    with brownie.reverts(f"ResidualMismatch: 0, {addr(envs[0].market)}, {cleared_slot}"):
        pool.clear(cleared_slot, entries, {"from": stranger})


def test_community_whose_market_has_not_cleared_reverts_naming_it(
    envs, pool, alice, operator, stranger
):
    slot = envs[0].trading_slot()
    place_books(envs, slot, alice)
    publish(pool, slot, operator, [(OPEN, OPEN)] * 3)
    close_and_clear_markets(envs, slot, which=(0, 1))
    with brownie.reverts(f"CommunityNotCleared: 2, {addr(envs[2].market)}, {slot}"):
        clear(pool, slot, [residual_sides(b) for b in BOOKS], stranger)


def test_second_clear_of_a_slot_reverts(pool, cleared_slot, stranger):
    entries = [residual_sides(b) for b in BOOKS]
    clear(pool, cleared_slot, entries, stranger)
    with brownie.reverts(f"PoolAlreadyCleared: {cleared_slot}"):
        clear(pool, cleared_slot, entries, stranger)


def test_clear_before_gate_closure_reverts(envs, pool, stranger):
    slot = envs[0].trading_slot()
    closes = pool.gateClosure(slot)
    with brownie.reverts(f"PoolGateNotClosed: {slot}, {closes}"):
        clear(pool, slot, [([], [])] * 3, stranger)


def test_wrong_number_of_entries_reverts(pool, cleared_slot, stranger):
    with brownie.reverts("ResidualsLengthMismatch: 3, 2"):
        clear(pool, cleared_slot, [residual_sides(b) for b in BOOKS[:2]], stranger)


def test_pool_without_communities_reverts(admin, euro, registry, envs, stranger):
    empty = deploy_pool(admin, euro, registry)
    slot = envs[0].current_slot() - 10
    with brownie.reverts("PoolNoCommunities: "):
        clear(empty, slot, [], stranger)


# ---- pausing ----------------------------------------------------------------------------------


def test_paused_community_with_residual_sides_reverts(pool, cleared_slot, admin, stranger):
    pool.pauseCommunity(1, {"from": admin})
    with brownie.reverts("PausedCommunityResidual: 1"):
        clear(pool, cleared_slot, [residual_sides(b) for b in BOOKS], stranger)


def test_paused_community_takes_no_part_and_gets_a_zero_fill(
    envs, pool, alice, operator, admin, stranger
):
    slot = envs[0].trading_slot()
    place_books(envs, slot, alice)
    publish(pool, slot, operator, [(OPEN, OPEN)] * 3)
    close_and_clear_markets(envs, slot, which=(0, 2))  # B's market need not clear: it is paused
    pool.pauseCommunity(1, {"from": admin})
    entries = [residual_sides(BOOKS[0]), ([], []), residual_sides(BOOKS[2])]
    tx = clear(pool, slot, entries, stranger)
    fills = [tuple(f) for f in tx.events["PoolCleared"]["fills"]]
    assert fills[1] == (0,) * 8
    # B left out is B with zero limits in the reference.
    assert fills == fills_of(reference([(OPEN, OPEN), (0, 0), (OPEN, OPEN)]))


def test_pause_applies_to_a_slot_past_gate_closure_the_pool_has_not_cleared(
    pool, cleared_slot, admin, stranger
):
    pool.pauseCommunity(0, {"from": admin})
    entries = [([], []), residual_sides(BOOKS[1]), residual_sides(BOOKS[2])]
    tx = clear(pool, cleared_slot, entries, stranger)
    assert tuple(tx.events["PoolCleared"]["fills"][0]) == (0,) * 8


def test_pause_and_resume_are_recorded_and_announced(pool, envs, admin):
    tx = pool.pauseCommunity(2, {"from": admin})
    assert tx.events["CommunityPaused"]["communityId"] == 2
    assert pool.isPaused(2)
    tx = pool.resumeCommunity(2, {"from": admin})
    assert tx.events["CommunityResumed"]["communityId"] == 2
    assert not pool.isPaused(2)


def test_resumed_community_takes_part_again(pool, cleared_slot, admin, stranger):
    pool.pauseCommunity(1, {"from": admin})
    pool.resumeCommunity(1, {"from": admin})
    tx = clear(pool, cleared_slot, [residual_sides(b) for b in BOOKS], stranger)
    assert [tuple(f) for f in tx.events["PoolCleared"]["fills"]] == fills_of(
        reference([(OPEN, OPEN)] * 3)
    )


def test_pausing_a_paused_community_reverts(pool, envs, admin):
    pool.pauseCommunity(0, {"from": admin})
    with brownie.reverts("CommunityAlreadyPaused: 0"):
        pool.pauseCommunity(0, {"from": admin})


def test_resuming_an_active_community_reverts(pool, envs, admin):
    with brownie.reverts("CommunityNotPaused: 0"):
        pool.resumeCommunity(0, {"from": admin})


def test_pausing_an_unknown_community_reverts(pool, envs, admin):
    with brownie.reverts("CommunityUnknown: 3"):
        pool.pauseCommunity(3, {"from": admin})


@pytest.mark.parametrize("who", ["operator", "stranger"])
def test_pause_by_anyone_but_the_admin_reverts(pool, envs, who, request):
    account = request.getfixturevalue(who)
    with brownie.reverts(access_error(account, DEFAULT_ADMIN_ROLE)):
        pool.pauseCommunity(0, {"from": account})


@pytest.mark.parametrize("who", ["operator", "stranger"])
def test_resume_by_anyone_but_the_admin_reverts(pool, envs, admin, who, request):
    pool.pauseCommunity(0, {"from": admin})
    account = request.getfixturevalue(who)
    with brownie.reverts(access_error(account, DEFAULT_ADMIN_ROLE)):
        pool.resumeCommunity(0, {"from": account})
