"""CityPool: communities on one price grid and calendar, the grid fee, and the transfer limits the
grid operator publishes per slot and community before gate closure (issue 17, item 2).

One behaviour per test; the names are the specification. Fixtures that change the pool's state
(communities, roles) are function-scoped: brownie keeps what a module fixture did for the rest of
the module. Markets that a real deployment cannot
produce (a market of the pool's registry on another epoch) and the 64 communities of a full pool
are ``MarketLookalike`` contracts: copies of a real market's answers with one field changed.
"""

import brownie
import pytest
from brownie import CityPool, EnergyMarket, MarketLookalike, MeterRegistry, TestEuro
from conftest import (
    DEFAULT_ADMIN_ROLE,
    GRID_OPERATOR_ROLE,
    MAX_SKEW,
    MAX_TICK,
    PRICE_FLOOR,
    SETTLEMENT_SECONDS,
    SLOT_SECONDS,
    TICK_SIZE,
    TOKEN_URI,
    ZERO_ADDRESS,
    access_error,
    addr,
    deploy_pool,
    market_params,
    pool_params,
)

MAX_PRICE = 2**128 - 1
MAX_UINT64 = 2**64 - 1
MAX_COMMUNITIES = 64
MAX_LEVELS = 7
MAX_FEE_TICKS_PER_LEVEL = 128


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def market_b(admin, euro, registry, treasury):
    """A second community market on the same registry, price grid and calendar."""
    return EnergyMarket.deploy(admin, euro, registry, market_params(treasury), {"from": admin})


@pytest.fixture(scope="module")
def lookalike(admin, market):
    """A market stand-in answering what ``market`` answers (a test changes one field)."""
    return MarketLookalike.deploy(market, {"from": admin})


@pytest.fixture
def grid_operator(pool, admin, operator):
    """The grid operator's key: GRID_OPERATOR_ROLE only."""
    pool.grantRole(GRID_OPERATOR_ROLE, operator, {"from": admin})
    return operator


@pytest.fixture
def two_communities(pool, market, market_b, admin):
    """``market`` is community 0 (1 level below the pool), ``market_b`` community 1 (2 levels)."""
    pool.addCommunity(market, 1, {"from": admin})
    pool.addCommunity(market_b, 2, {"from": admin})
    return market, market_b


@pytest.fixture
def open_slot(env):
    """A slot two ahead of the chain: its gate closure is about three slots away."""
    return env.current_slot() + 2


def add_lookalikes(pool, market, admin, count):
    for _ in range(count):
        pool.addCommunity(MarketLookalike.deploy(market, {"from": admin}), 1, {"from": admin})


# ---- constructor ----------------------------------------------------------------------------


def test_constructor_stores_registry_calendar_and_price_grid(pool, registry, token, euro):
    assert pool.registry() == registry
    assert pool.energyToken() == token
    assert pool.paymentToken() == euro
    assert pool.epoch() == registry.epoch()
    assert pool.slotSeconds() == SLOT_SECONDS
    assert tuple(pool.params()) == (PRICE_FLOOR, TICK_SIZE, MAX_TICK, SETTLEMENT_SECONDS)


def test_constants(pool):
    assert pool.GRID_OPERATOR_ROLE() == GRID_OPERATOR_ROLE
    assert pool.MAX_COMMUNITIES() == MAX_COMMUNITIES
    assert pool.MAX_LEVELS() == MAX_LEVELS
    assert pool.MAX_FEE_TICKS_PER_LEVEL() == MAX_FEE_TICKS_PER_LEVEL
    assert pool.MAX_TICK_LIMIT() == 2_047


def test_constructor_makes_admin_the_one_admin_and_a_grid_operator(pool, admin, stranger):
    assert pool.defaultAdmin() == admin
    assert pool.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert pool.hasRole(GRID_OPERATOR_ROLE, admin)
    assert not pool.hasRole(GRID_OPERATOR_ROLE, stranger)


def test_constructor_starts_without_communities_fee_or_limits(pool, open_slot):
    assert pool.communityCount() == 0
    assert tuple(pool.gridFee()) == (0, ZERO_ADDRESS)


@pytest.mark.parametrize("which", ["admin", "payment", "registry"])
def test_constructor_with_zero_address_reverts(admin, euro, registry, which):
    args = {"admin": admin, "payment": euro, "registry": registry}
    args[which] = ZERO_ADDRESS
    with brownie.reverts("PoolZeroAddress: "):
        CityPool.deploy(
            args["admin"], args["payment"], args["registry"], pool_params(), {"from": admin}
        )


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"tickSize": 0}, "PoolTickSizeZero: "),
        ({"maxTick": 2_048}, "PoolMaxTickTooHigh: 2048, 2047"),
        (
            {"priceFloor": MAX_PRICE + 1},
            f"PoolPriceRangeTooHigh: {MAX_PRICE + 1}, {TICK_SIZE}, {MAX_TICK}",
        ),
        (
            {"priceFloor": 1, "maxTick": 1_000, "tickSize": (MAX_PRICE - 1) // 1_000 + 1},
            f"PoolPriceRangeTooHigh: 1, {(MAX_PRICE - 1) // 1_000 + 1}, 1000",
        ),
        ({"settlementSeconds": 0}, "PoolSettlementWindowZero: "),
    ],
)
def test_constructor_with_invalid_price_grid_reverts(admin, euro, registry, overrides, error):
    with brownie.reverts(error):
        deploy_pool(admin, euro, registry, **overrides)


def test_constructor_accepts_the_widest_price_grid(admin, euro, registry):
    p = deploy_pool(
        admin, euro, registry, priceFloor=1, maxTick=2_047, tickSize=(MAX_PRICE - 1) // 2_047
    )
    assert p.params()[2] == 2_047


def test_constructor_accepts_a_single_tick_at_max_price(admin, euro, registry):
    """maxTick 0 skips the range check: the only price is the floor (as in the markets)."""
    p = deploy_pool(admin, euro, registry, priceFloor=MAX_PRICE, maxTick=0, tickSize=2**255)
    assert p.params()[0] == MAX_PRICE


# ---- addCommunity ---------------------------------------------------------------------------


def test_add_community_assigns_ids_in_order_and_emits(pool, market, market_b, admin):
    first = pool.addCommunity(market, 1, {"from": admin})
    second = pool.addCommunity(market_b, 3, {"from": admin})
    assert first.return_value == 0 and second.return_value == 1
    assert first.events["CommunityAdded"] == {"communityId": 0, "market": market, "levels": 1}
    assert second.events["CommunityAdded"] == {"communityId": 1, "market": market_b, "levels": 3}
    assert pool.communityCount() == 2


def test_community_view_returns_market_and_levels(pool, two_communities):
    market, market_b = two_communities
    assert tuple(pool.community(0)) == (market, 1)
    assert tuple(pool.community(1)) == (market_b, 2)


def test_community_view_of_unknown_id_reverts(pool, two_communities):
    with brownie.reverts("CommunityUnknown: 2"):
        pool.community(2)


def test_community_of_finds_a_market_and_not_a_stranger(pool, two_communities, stranger):
    _, market_b = two_communities
    assert tuple(pool.communityOf(market_b)) == (True, 1)
    assert tuple(pool.communityOf(stranger)) == (False, 0)


def test_add_community_by_non_admin_reverts(pool, market, stranger):
    with brownie.reverts(access_error(stranger, DEFAULT_ADMIN_ROLE)):
        pool.addCommunity(market, 1, {"from": stranger})


def test_add_community_by_grid_operator_reverts(pool, market, grid_operator):
    with brownie.reverts(access_error(grid_operator, DEFAULT_ADMIN_ROLE)):
        pool.addCommunity(market, 1, {"from": grid_operator})


def test_add_community_with_zero_address_reverts(pool, admin):
    with brownie.reverts("PoolZeroAddress: "):
        pool.addCommunity(ZERO_ADDRESS, 1, {"from": admin})


def test_add_community_twice_reverts(pool, two_communities, admin):
    _, market_b = two_communities
    with brownie.reverts(f"CommunityAlreadyAdded: {addr(market_b)}, 1"):
        pool.addCommunity(market_b, 1, {"from": admin})


@pytest.mark.parametrize("levels", [0, MAX_LEVELS + 1, 255])
def test_add_community_with_levels_out_of_range_reverts(pool, market, admin, levels):
    with brownie.reverts(f"CommunityLevelsOutOfRange: {levels}, {MAX_LEVELS}"):
        pool.addCommunity(market, levels, {"from": admin})


def test_add_community_with_max_levels_succeeds(pool, market, admin):
    pool.addCommunity(market, MAX_LEVELS, {"from": admin})
    assert pool.community(0)[1] == MAX_LEVELS


def test_add_community_beyond_max_communities_reverts(pool, market, admin):
    add_lookalikes(pool, market, admin, MAX_COMMUNITIES)
    assert pool.communityCount() == MAX_COMMUNITIES
    with brownie.reverts(f"CommunityLimitReached: {MAX_COMMUNITIES}"):
        pool.addCommunity(market, 1, {"from": admin})


def test_add_community_on_other_registry_reverts(pool, admin, euro, treasury):
    other = MeterRegistry.deploy(
        admin, pool.epoch(), SLOT_SECONDS, MAX_SKEW, TOKEN_URI, {"from": admin}
    )
    foreign = EnergyMarket.deploy(admin, euro, other, market_params(treasury), {"from": admin})
    with brownie.reverts(
        f"CommunityRegistryMismatch: {addr(foreign)}, {addr(other)}, {addr(other.token())}"
    ):
        pool.addCommunity(foreign, 1, {"from": admin})


def test_add_community_with_other_energy_token_reverts(pool, lookalike, registry, admin, stranger):
    lookalike.setEnergyToken(stranger, {"from": admin})
    with brownie.reverts(
        f"CommunityRegistryMismatch: {addr(lookalike)}, {addr(registry)}, {addr(stranger)}"
    ):
        pool.addCommunity(lookalike, 1, {"from": admin})


def test_add_community_with_other_payment_token_reverts(pool, registry, admin, treasury):
    dollar = TestEuro.deploy({"from": admin})
    foreign = EnergyMarket.deploy(admin, dollar, registry, market_params(treasury), {"from": admin})
    with brownie.reverts(f"CommunityPaymentTokenMismatch: {addr(foreign)}, {addr(dollar)}"):
        pool.addCommunity(foreign, 1, {"from": admin})


@pytest.mark.parametrize(
    "grid",
    [
        (PRICE_FLOOR + 1, TICK_SIZE, MAX_TICK),
        (PRICE_FLOOR, TICK_SIZE + 1, MAX_TICK),
        (PRICE_FLOOR, TICK_SIZE, MAX_TICK - 1),
    ],
    ids=["priceFloor", "tickSize", "maxTick"],
)
def test_add_community_with_other_price_grid_reverts(pool, registry, euro, admin, treasury, grid):
    floor, tick_size, max_tick = grid
    params = market_params(treasury, priceFloor=floor, tickSize=tick_size, maxTick=max_tick)
    foreign = EnergyMarket.deploy(admin, euro, registry, params, {"from": admin})
    with brownie.reverts(
        f"CommunityPriceGridMismatch: {addr(foreign)}, {floor}, {tick_size}, {max_tick}"
    ):
        pool.addCommunity(foreign, 1, {"from": admin})


def test_add_community_with_other_settlement_window_reverts(pool, registry, euro, admin, treasury):
    params = market_params(treasury, settlementSeconds=SETTLEMENT_SECONDS * 2)
    foreign = EnergyMarket.deploy(admin, euro, registry, params, {"from": admin})
    epoch = pool.epoch()
    with brownie.reverts(
        f"CommunityCalendarMismatch: {addr(foreign)}, {epoch}, {SLOT_SECONDS}, "
        f"{SETTLEMENT_SECONDS * 2}"
    ):
        pool.addCommunity(foreign, 1, {"from": admin})


@pytest.mark.parametrize("which", ["epoch", "slotSeconds"])
def test_add_community_with_other_slot_clock_reverts(pool, lookalike, admin, which):
    """A market reads its epoch and slot length from its registry, so only a market that lies
    about them can differ on its registry's: the pool asks anyway."""
    epoch = pool.epoch() + (SLOT_SECONDS if which == "epoch" else 0)
    slot_seconds = SLOT_SECONDS * (2 if which == "slotSeconds" else 1)
    lookalike.setCalendar(epoch, slot_seconds, SETTLEMENT_SECONDS, {"from": admin})
    with brownie.reverts(
        f"CommunityCalendarMismatch: {addr(lookalike)}, {epoch}, {slot_seconds}, "
        f"{SETTLEMENT_SECONDS}"
    ):
        pool.addCommunity(lookalike, 1, {"from": admin})


def test_add_community_accepts_a_sealed_market(pool, sealed, admin):
    pool.addCommunity(sealed, 2, {"from": admin})
    assert tuple(pool.community(0)) == (sealed, 2)


def test_add_community_of_an_account_without_code_reverts(pool, stranger, admin):
    """An EOA answers nothing: the view call's empty return does not decode."""
    with brownie.reverts():
        pool.addCommunity(stranger, 1, {"from": admin})


# ---- setGridFee -----------------------------------------------------------------------------


def test_set_grid_fee_stores_and_emits(pool, grid_operator, treasury):
    tx = pool.setGridFee(12, treasury, {"from": grid_operator})
    assert tx.events["GridFeeChanged"] == {"feeTicksPerLevel": 12, "recipient": treasury}
    assert tuple(pool.gridFee()) == (12, treasury)


def test_set_grid_fee_at_max_succeeds(pool, grid_operator, treasury):
    pool.setGridFee(MAX_FEE_TICKS_PER_LEVEL, treasury, {"from": grid_operator})
    assert pool.gridFee()[0] == MAX_FEE_TICKS_PER_LEVEL


def test_set_grid_fee_above_max_reverts(pool, grid_operator, treasury):
    with brownie.reverts(
        f"GridFeeTooHigh: {MAX_FEE_TICKS_PER_LEVEL + 1}, {MAX_FEE_TICKS_PER_LEVEL}"
    ):
        pool.setGridFee(MAX_FEE_TICKS_PER_LEVEL + 1, treasury, {"from": grid_operator})


def test_set_grid_fee_with_zero_recipient_reverts(pool, grid_operator):
    with brownie.reverts("PoolZeroAddress: "):
        pool.setGridFee(1, ZERO_ADDRESS, {"from": grid_operator})


def test_set_grid_fee_by_non_operator_reverts(pool, stranger):
    with brownie.reverts(access_error(stranger, GRID_OPERATOR_ROLE)):
        pool.setGridFee(1, stranger, {"from": stranger})


def test_set_grid_fee_back_to_zero_succeeds(pool, grid_operator, treasury):
    pool.setGridFee(9, treasury, {"from": grid_operator})
    pool.setGridFee(0, treasury, {"from": grid_operator})
    assert tuple(pool.gridFee()) == (0, treasury)


# ---- publishLimits --------------------------------------------------------------------------


def test_publish_stores_limits_per_community(pool, two_communities, grid_operator, open_slot):
    pool.publishLimits(open_slot, [1_000, 0], [250, 7_000], {"from": grid_operator})
    assert tuple(pool.limits(open_slot, 0)) == (True, 1_000, 250)
    assert tuple(pool.limits(open_slot, 1)) == (True, 0, 7_000)


def test_publish_emits_one_event_with_every_community(
    pool, two_communities, grid_operator, open_slot
):
    tx = pool.publishLimits(open_slot, [1_000, 0], [250, 7_000], {"from": grid_operator})
    event = tx.events["LimitsPublished"]
    assert len(tx.events) == 1
    assert event["slot"] == open_slot
    assert list(event["importWh"]) == [1_000, 0]
    assert list(event["exportWh"]) == [250, 7_000]


def test_publish_by_non_operator_reverts(pool, two_communities, stranger, open_slot):
    with brownie.reverts(access_error(stranger, GRID_OPERATOR_ROLE)):
        pool.publishLimits(open_slot, [1, 1], [1, 1], {"from": stranger})


def test_publish_by_admin_without_the_operator_role_reverts(
    pool, two_communities, admin, open_slot
):
    pool.renounceRole(GRID_OPERATOR_ROLE, admin, {"from": admin})
    with brownie.reverts(access_error(admin, GRID_OPERATOR_ROLE)):
        pool.publishLimits(open_slot, [1, 1], [1, 1], {"from": admin})


def test_publish_by_a_revoked_operator_reverts(
    pool, two_communities, grid_operator, admin, open_slot
):
    pool.revokeRole(GRID_OPERATOR_ROLE, grid_operator, {"from": admin})
    with brownie.reverts(access_error(grid_operator, GRID_OPERATOR_ROLE)):
        pool.publishLimits(open_slot, [1, 1], [1, 1], {"from": grid_operator})


def test_publish_after_gate_closure_reverts(pool, two_communities, grid_operator, env, open_slot):
    gate = pool.gateClosure(open_slot)
    env.next_block_at(gate)
    with brownie.reverts(f"LimitsAfterGateClosure: {open_slot}, {gate}"):
        pool.publishLimits(open_slot, [1, 1], [1, 1], {"from": grid_operator})


def test_publish_for_a_past_slot_reverts(pool, two_communities, grid_operator, env):
    past = env.current_slot() - 3
    with brownie.reverts(f"LimitsAfterGateClosure: {past}, {pool.gateClosure(past)}"):
        pool.publishLimits(past, [1, 1], [1, 1], {"from": grid_operator})


def test_publish_one_second_before_gate_closure_succeeds(
    pool, two_communities, grid_operator, env, open_slot
):
    env.next_block_at(pool.gateClosure(open_slot) - 1)
    pool.publishLimits(open_slot, [5, 6], [7, 8], {"from": grid_operator})
    assert tuple(pool.limits(open_slot, 1)) == (True, 6, 8)


def test_publish_in_the_settlement_window_succeeds(
    pool, two_communities, grid_operator, env, open_slot
):
    """The settlement window after the slot ends is still before gate closure."""
    env.next_block_at(env.slot_start(open_slot + 1) + 10)
    pool.publishLimits(open_slot, [5, 6], [7, 8], {"from": grid_operator})
    assert pool.limits(open_slot, 0)[0]


def test_revision_before_gate_closure_replaces_every_limit(
    pool, two_communities, grid_operator, open_slot
):
    pool.publishLimits(open_slot, [1_000, 2_000], [3_000, 4_000], {"from": grid_operator})
    tx = pool.publishLimits(open_slot, [900, 0], [0, 4_100], {"from": grid_operator})
    assert list(tx.events["LimitsPublished"]["importWh"]) == [900, 0]
    assert tuple(pool.limits(open_slot, 0)) == (True, 900, 0)
    assert tuple(pool.limits(open_slot, 1)) == (True, 0, 4_100)


def test_revision_after_gate_closure_reverts_and_keeps_the_limits(
    pool, two_communities, grid_operator, env, open_slot
):
    pool.publishLimits(open_slot, [1_000, 2_000], [3_000, 4_000], {"from": grid_operator})
    env.close_gate(open_slot)
    with brownie.reverts(f"LimitsAfterGateClosure: {open_slot}, {pool.gateClosure(open_slot)}"):
        pool.publishLimits(open_slot, [0, 0], [0, 0], {"from": grid_operator})
    assert tuple(pool.limits(open_slot, 0)) == (True, 1_000, 3_000)


def test_publish_zero_limits_reads_as_published(pool, two_communities, grid_operator, open_slot):
    pool.publishLimits(open_slot, [0, 0], [0, 0], {"from": grid_operator})
    assert tuple(pool.limits(open_slot, 0)) == (True, 0, 0)


def test_publish_largest_limits_round_trip(pool, two_communities, grid_operator, open_slot):
    pool.publishLimits(open_slot, [MAX_UINT64, 1], [1, MAX_UINT64], {"from": grid_operator})
    assert tuple(pool.limits(open_slot, 0)) == (True, MAX_UINT64, 1)
    assert tuple(pool.limits(open_slot, 1)) == (True, 1, MAX_UINT64)


def test_negative_limit_cannot_be_encoded(pool, two_communities, grid_operator, open_slot):
    """uint64 limits: a negative one never reaches the chain (the Python client refuses it with
    its own error before encoding, tests/energychain/test_pool.py)."""
    with pytest.raises(OverflowError):
        pool.publishLimits(open_slot, [-1, 0], [0, 0], {"from": grid_operator})


@pytest.mark.parametrize("lengths", [(1, 2), (2, 1), (3, 3), (0, 0)])
def test_publish_with_wrong_length_reverts(
    pool, two_communities, grid_operator, open_slot, lengths
):
    imports, exports = ([1] * lengths[0], [1] * lengths[1])
    with brownie.reverts(f"LimitsLengthMismatch: 2, {lengths[0]}, {lengths[1]}"):
        pool.publishLimits(open_slot, imports, exports, {"from": grid_operator})


def test_publish_without_communities_reverts(pool, grid_operator, open_slot):
    with brownie.reverts("LimitsNoCommunities: "):
        pool.publishLimits(open_slot, [], [], {"from": grid_operator})


def test_publish_leaves_other_slots_unpublished(pool, two_communities, grid_operator, open_slot):
    pool.publishLimits(open_slot, [1, 2], [3, 4], {"from": grid_operator})
    assert tuple(pool.limits(open_slot + 1, 0)) == (False, 0, 0)
    assert tuple(pool.limits(open_slot - 1, 1)) == (False, 0, 0)


def test_limits_of_an_unpublished_slot_read_as_zero_and_not_published(
    pool, two_communities, open_slot
):
    assert tuple(pool.limits(open_slot, 0)) == (False, 0, 0)


def test_limits_of_an_unknown_community_revert(pool, two_communities, open_slot):
    with brownie.reverts("CommunityUnknown: 2"):
        pool.limits(open_slot, 2)


def test_community_added_after_publication_is_unpublished_for_that_slot(
    pool, two_communities, grid_operator, lookalike, admin, open_slot
):
    pool.publishLimits(open_slot, [1, 2], [3, 4], {"from": grid_operator})
    pool.addCommunity(lookalike, 1, {"from": admin})
    assert tuple(pool.limits(open_slot, 2)) == (False, 0, 0)
    assert tuple(pool.limits(open_slot, 1)) == (True, 2, 4)


def test_revision_after_a_community_joined_needs_its_limits_too(
    pool, two_communities, grid_operator, lookalike, admin, open_slot
):
    pool.publishLimits(open_slot, [1, 2], [3, 4], {"from": grid_operator})
    pool.addCommunity(lookalike, 1, {"from": admin})
    with brownie.reverts("LimitsLengthMismatch: 3, 2, 2"):
        pool.publishLimits(open_slot, [1, 2], [3, 4], {"from": grid_operator})
    pool.publishLimits(open_slot, [1, 2, 5], [3, 4, 6], {"from": grid_operator})
    assert tuple(pool.limits(open_slot, 2)) == (True, 5, 6)


def test_gate_closure_is_the_markets(pool, market, open_slot):
    for slot in (0, 1, open_slot, 2**40):
        assert pool.gateClosure(slot) == market.gateClosure(slot)


def test_gate_closure_of_the_last_slot_does_not_overflow(pool):
    last = 2**64 - 1
    assert pool.gateClosure(last) == pool.epoch() + (last + 1) * SLOT_SECONDS + SETTLEMENT_SECONDS


def test_publish_limits_gas_for_ten_communities(pool, market, admin, grid_operator, open_slot):
    """Recorded in docs/contracts.md section 17: a first publication writes five fresh words (two
    communities a word) and the count published, a revision rewrites them."""
    add_lookalikes(pool, market, admin, 10)
    imports = [1_000 * (i + 1) for i in range(10)]
    exports = [500 * (i + 1) for i in range(10)]
    first = pool.publishLimits(open_slot, imports, exports, {"from": grid_operator})
    revised = pool.publishLimits(open_slot, exports, imports, {"from": grid_operator})
    print(f"publishLimits, 10 communities: first {first.gas_used}, revision {revised.gas_used}")
    assert first.gas_used < 300_000
    assert revised.gas_used < 100_000


# ---- roles ----------------------------------------------------------------------------------


def test_admin_grants_the_grid_operator_role(pool, admin, operator):
    tx = pool.grantRole(GRID_OPERATOR_ROLE, operator, {"from": admin})
    assert "RoleGranted" in tx.events
    assert pool.hasRole(GRID_OPERATOR_ROLE, operator)


def test_grid_operator_cannot_grant_its_role(pool, grid_operator, stranger):
    with brownie.reverts(access_error(grid_operator, DEFAULT_ADMIN_ROLE)):
        pool.grantRole(GRID_OPERATOR_ROLE, stranger, {"from": grid_operator})


def test_default_admin_role_cannot_be_granted_or_renounced(pool, admin, stranger):
    with brownie.reverts("AccessControlEnforcedDefaultAdminRules: "):
        pool.grantRole(DEFAULT_ADMIN_ROLE, stranger, {"from": admin})
    with brownie.reverts("AccessControlEnforcedDefaultAdminRules: "):
        pool.renounceRole(DEFAULT_ADMIN_ROLE, admin, {"from": admin})


def test_admin_hands_the_pool_over_in_two_steps(pool, admin, operator, env):
    """The pool's admin is its own (not the registry's), moved as the registry's is."""
    tx = pool.beginDefaultAdminTransfer(operator, {"from": admin})
    env.next_block_at(tx.events["DefaultAdminTransferScheduled"]["acceptSchedule"])
    pool.acceptDefaultAdminTransfer({"from": operator})
    assert pool.defaultAdmin() == operator
    assert not pool.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert pool.hasRole(GRID_OPERATOR_ROLE, admin)  # other roles stay until revoked
