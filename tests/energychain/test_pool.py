"""The CityPool façade on a real anvil: two community markets on one registry and a pool, limits
published by the grid operator and read back, and every bad input a clear one-line error.

The registry's epoch lies 100 slots in the past, so low slot numbers are long past their gate
closure and ``current + 2`` is open; no test moves the chain's clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from web3 import Web3

from chain.connection import connect
from chain.errors import ContractRevertError
from chain.local_node import ANVIL_DEV_KEYS, start_anvil
from energychain.contracts import revert_decoder
from energychain.deploy import (
    Deployment,
    MarketSettings,
    current_epoch,
    deploy_city_pool,
    deploy_contract,
    deploy_energychain,
)
from energychain.errors import PoolInputError
from energychain.pool import (
    MAX_COMMUNITIES,
    MAX_FEE_TICKS_PER_LEVEL,
    MAX_LEVELS,
    CityPool,
    Community,
    GridFee,
    PoolParams,
    PublishedLimits,
    paired_levels,
)
from energychain.units import Wh
from grid.limits import TransferLimits
from wallet.errors import TransactionRevertedError
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender

SLOT_SECONDS = 900


@dataclass
class City:
    """Two community markets on one registry, a pool, and the keys acting on them."""

    w3: Web3
    deployment: Deployment
    admin: TransactionSender
    operator: TransactionSender
    stranger: TransactionSender
    market_a: str
    market_b: str
    pool: CityPool
    settings: MarketSettings

    def open_slot(self) -> int:
        """A slot two ahead of the chain: limits for it are accepted."""
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        return self.pool.calendar().slot_of(now) + 2

    def market(self, **overrides: Any) -> str:
        """Another market on the city's registry and payment token (``overrides``: its
        ``MarketParams`` fields)."""
        params = self.settings.market_params(self.admin.address)
        values = {**params.fields(), **overrides}
        return deploy_contract(
            self.admin,
            "EnergyMarket",
            {
                "admin": self.admin.address,
                "payment_token": self.deployment.addresses["payment_token"],
                "registry": self.deployment.addresses["registry"],
                **values,
            },
        )

    def new_pool(self) -> CityPool:
        return deploy_city_pool(
            self.admin,
            registry=self.deployment.addresses["registry"],
            payment_token=self.deployment.addresses["payment_token"],
            params=self.pool.params(),
        )


@pytest.fixture(scope="module")
def city(compiled: None) -> Iterator[City]:
    with start_anvil() as node:
        w3 = connect(node.rpc_url)
        decoder = revert_decoder()
        admin, operator, stranger = (
            TransactionSender(w3, LocalKeySigner(key), decode_revert=decoder)
            for key in ANVIL_DEV_KEYS[:3]
        )
        settings = MarketSettings(epoch=current_epoch(w3, SLOT_SECONDS) - 100 * SLOT_SECONDS)
        deployment = deploy_energychain(admin, settings)
        pool = deploy_city_pool(
            admin,
            registry=deployment.addresses["registry"],
            payment_token=deployment.addresses["payment_token"],
            params=settings.market_params(admin.address),
            grid_operator=operator.address,
        )
        city = City(
            w3=w3,
            deployment=deployment,
            admin=admin,
            operator=operator,
            stranger=stranger,
            market_a=deployment.addresses["market"],
            market_b="",
            pool=pool,
            settings=settings,
        )
        city.market_b = city.market()
        admin.transact(pool.add_community(city.market_a, 1))
        admin.transact(pool.add_community(city.market_b, 2))
        yield city


def _refusal(excinfo: pytest.ExceptionInfo[TransactionRevertedError]) -> ContractRevertError:
    reason = excinfo.value.reason
    assert isinstance(reason, ContractRevertError)
    assert "\n" not in str(excinfo.value)
    return reason


def _one_line(excinfo: pytest.ExceptionInfo[PoolInputError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# ---- deployment and reads -------------------------------------------------------------------


def test_deploy_city_pool_takes_the_markets_grid_and_calendar(city: City) -> None:
    params = city.settings.market_params(city.admin.address)
    assert city.pool.params() == PoolParams.of_market(params)
    calendar = city.pool.calendar()
    assert calendar.epoch == city.deployment.epoch
    assert calendar.slot_seconds == SLOT_SECONDS
    assert city.pool.gate_closure(7) == calendar.gate_closure(7)


def test_deploy_city_pool_hands_the_limits_to_the_grid_operator(city: City) -> None:
    assert city.pool.has_role("DEFAULT_ADMIN_ROLE", city.admin.address)
    assert city.pool.has_role("GRID_OPERATOR_ROLE", city.operator.address)
    assert not city.pool.has_role("GRID_OPERATOR_ROLE", city.admin.address)


def test_bounds_match_the_contract(city: City) -> None:
    assert int(city.pool.call("MAX_COMMUNITIES")) == MAX_COMMUNITIES
    assert int(city.pool.call("MAX_LEVELS")) == MAX_LEVELS
    assert int(city.pool.call("MAX_FEE_TICKS_PER_LEVEL")) == MAX_FEE_TICKS_PER_LEVEL


def test_two_markets_on_one_registry_are_communities_in_order(city: City) -> None:
    assert city.pool.communities() == [
        Community(0, Web3.to_checksum_address(city.market_a), 1),
        Community(1, Web3.to_checksum_address(city.market_b), 2),
    ]
    assert city.pool.community_of(city.market_b) == 1
    assert city.pool.community_of(city.stranger.address) is None


def test_add_community_emits_community_added(city: City) -> None:
    pool = city.new_pool()
    receipt = city.admin.transact(pool.add_community(city.market_b, 3))
    (event,) = pool.events(receipt, "CommunityAdded")
    assert dict(event["args"]) == {"communityId": 0, "market": city.market_b, "levels": 3}


# ---- publishing limits ----------------------------------------------------------------------


def test_publish_transfer_limits_and_read_them_back(city: City) -> None:
    slot = city.open_slot()
    limits = [TransferLimits(slot, "north", 12_000, 3_500), TransferLimits(slot, "south", 0, 900)]
    receipt = city.operator.transact(city.pool.publish_limits(slot, limits))
    assert city.pool.slot_limits(slot) == [
        PublishedLimits(slot, 0, True, Wh(12_000), Wh(3_500)),
        PublishedLimits(slot, 1, True, Wh(0), Wh(900)),
    ]
    (event,) = city.pool.events(receipt, "LimitsPublished")
    assert list(event["args"]["importWh"]) == [12_000, 0]


def test_publish_plain_int_pairs(city: City) -> None:
    slot = city.open_slot() + 1
    city.operator.transact(city.pool.publish_limits(slot, [(1, 2), (3, 4)]))
    assert city.pool.limits(slot, 1) == PublishedLimits(slot, 1, True, Wh(3), Wh(4))


def test_revision_before_gate_closure_replaces_the_limits(city: City) -> None:
    slot = city.open_slot() + 2
    city.operator.transact(city.pool.publish_limits(slot, [(1_000, 1_000), (2_000, 2_000)]))
    city.operator.transact(city.pool.publish_limits(slot, [(500, 0), (2_100, 1_900)]))
    assert [(x.import_wh, x.export_wh) for x in city.pool.slot_limits(slot)] == [
        (500, 0),
        (2_100, 1_900),
    ]


def test_unpublished_slot_reads_as_zero_limits_not_published(city: City) -> None:
    slot = city.open_slot() + 50
    assert city.pool.limits(slot, 0) == PublishedLimits(slot, 0, False, Wh(0), Wh(0))


def test_grid_fee_is_none_until_the_operator_sets_it(city: City) -> None:
    pool = city.new_pool()
    assert pool.grid_fee() == GridFee(0, None)
    city.admin.transact(pool.set_grid_fee(4, city.stranger.address))
    assert pool.grid_fee() == GridFee(4, city.stranger.address)


# ---- bad input: refused by the chain, decoded ------------------------------------------------


def test_publish_after_gate_closure_is_refused_with_the_gate_closure(city: City) -> None:
    with pytest.raises(TransactionRevertedError) as refused:
        city.operator.transact(city.pool.publish_limits(5, [(1, 1), (1, 1)]))
    reason = _refusal(refused)
    assert reason.name == "LimitsAfterGateClosure"
    assert reason.args_decoded == (5, city.pool.gate_closure(5))


@pytest.mark.parametrize("who", ["stranger", "admin"])
def test_publish_by_the_wrong_role_is_refused(city: City, who: str) -> None:
    """The admin renounced GRID_OPERATOR_ROLE at deployment: it is refused like anyone."""
    sender = getattr(city, who)
    with pytest.raises(TransactionRevertedError) as refused:
        sender.transact(city.pool.publish_limits(city.open_slot(), [(1, 1), (1, 1)]))
    reason = _refusal(refused)
    assert reason.name == "AccessControlUnauthorizedAccount"
    assert reason.args_decoded[0] == sender.address.lower()
    assert reason.args_decoded[1] == city.pool.role_id("GRID_OPERATOR_ROLE")


def test_add_community_by_the_grid_operator_is_refused(city: City) -> None:
    with pytest.raises(TransactionRevertedError) as refused:
        city.operator.transact(city.new_pool().add_community(city.market_a, 1))
    assert _refusal(refused).name == "AccessControlUnauthorizedAccount"


def test_market_on_another_price_grid_is_refused_with_its_grid(city: City) -> None:
    other = city.market(tick_size=city.settings.tick_size + 1)
    with pytest.raises(TransactionRevertedError) as refused:
        city.admin.transact(city.pool.add_community(other, 1))
    reason = _refusal(refused)
    assert reason.name == "CommunityPriceGridMismatch"
    assert reason.args_decoded == (
        other.lower(),
        city.settings.price_floor,
        city.settings.tick_size + 1,
        city.settings.max_tick,
    )


def test_market_added_twice_is_refused(city: City) -> None:
    with pytest.raises(TransactionRevertedError) as refused:
        city.admin.transact(city.pool.add_community(city.market_a, 1))
    assert _refusal(refused).name == "CommunityAlreadyAdded"


# ---- bad input: refused before sending -------------------------------------------------------


def test_negative_limit_is_refused_before_sending(city: City) -> None:
    nonce = city.w3.eth.get_transaction_count(city.operator.address)
    with pytest.raises(PoolInputError) as refused:
        city.pool.publish_limits(city.open_slot(), [(100, 0), (-1, 50)])
    assert "community 1: import limit is negative: -1 Wh" in _one_line(refused)
    assert city.w3.eth.get_transaction_count(city.operator.address) == nonce


@pytest.mark.parametrize("value", [2.5, "100", True, None])
def test_limit_that_is_not_a_whole_number_is_refused(city: City, value: object) -> None:
    with pytest.raises(PoolInputError) as refused:
        city.pool.publish_limits(city.open_slot(), [(100, 0), (10, value)])  # type: ignore[list-item]
    assert f"export limit must be a whole number Wh, got {value!r}" in _one_line(refused)


def test_limit_above_uint64_is_refused(city: City) -> None:
    with pytest.raises(PoolInputError) as refused:
        city.pool.publish_limits(city.open_slot(), [(2**64, 0), (0, 0)])
    assert "is above 18446744073709551615 Wh" in _one_line(refused)


@pytest.mark.parametrize("entries", [1, 3])
def test_wrong_number_of_entries_is_refused(city: City, entries: int) -> None:
    with pytest.raises(PoolInputError) as refused:
        city.pool.publish_limits(city.open_slot(), [(1, 1)] * entries)
    assert f"{entries} entries for 2 communities" in _one_line(refused)


def test_limits_record_of_another_slot_is_refused(city: City) -> None:
    slot = city.open_slot()
    limits = [TransferLimits(slot, "north", 1, 1), TransferLimits(slot + 1, "south", 1, 1)]
    with pytest.raises(PoolInputError) as refused:
        city.pool.publish_limits(slot, limits)
    assert f"community 1: the record is for slot {slot + 1}" in _one_line(refused)


def test_publishing_to_a_pool_without_communities_is_refused(city: City) -> None:
    with pytest.raises(PoolInputError) as refused:
        city.new_pool().publish_limits(city.open_slot(), [])
    assert "no community yet" in _one_line(refused)


@pytest.mark.parametrize("levels", [0, MAX_LEVELS + 1])
def test_levels_out_of_range_are_refused_before_sending(city: City, levels: int) -> None:
    with pytest.raises(PoolInputError):
        city.pool.add_community(city.market_a, levels)


def test_grid_fee_above_the_cap_is_refused_before_sending(city: City) -> None:
    with pytest.raises(PoolInputError) as refused:
        city.pool.set_grid_fee(MAX_FEE_TICKS_PER_LEVEL + 1, city.admin.address)
    assert "grid fee is above 128 ticks" in _one_line(refused)


def test_zero_fee_recipient_is_refused_before_sending(city: City) -> None:
    with pytest.raises(PoolInputError):
        city.pool.set_grid_fee(1, "0x" + "00" * 20)


def test_paired_levels_are_two_a_word_the_last_low_half_empty_when_odd() -> None:
    a, b, c = 1_000 << 96 | 5, 1_001 << 96 | 6, 1_002 << 96 | 7
    assert paired_levels([a, b, c]) == [a << 128 | b, c << 128]
    assert paired_levels([a, b]) == [a << 128 | b]
    assert paired_levels([]) == []
