"""The grid agent on chain (a real anvil): the operator's limits published to a CityPool of three
community markets, read back equal; a diverged slot publishes the kept limits; a closed gate,
a key without the role and a community the pool does not know are one-line errors with nothing
sent; a crash on either side of the send neither loses nor doubles a publication.

The registry's epoch lies 100 slots in the past, so low slot numbers are long past their gate
closure and ``current + 2`` is open; no test moves the chain's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from web3.types import TxReceipt

from chain.errors import ContractRevertError
from chain.local_node import ANVIL_DEV_KEYS, start_anvil
from devchain.city import City, deploy_city
from devchain.sandbox import Sandbox
from energychain.deploy import MarketSettings, current_epoch
from grid.errors import (
    CommunityMappingError,
    GateClosedError,
    JournalError,
    PublicationRevertedError,
)
from grid.layout import HouseholdMap
from grid.limits import LimitsKept, PowerFlowDiverged, SlotLimits
from grid.operator import GridOperator
from grid.publisher import (
    JournalEntry,
    LimitsPublisher,
    PoolCommunities,
    PublicationJournal,
)
from tests.grid.conftest import pv_noon
from wallet.transactions import TxRequest

SLOT_SECONDS = 900
GRID_IDS = ("c01", "c02", "c03")


@pytest.fixture(scope="module")
def city(compiled: None) -> Iterator[City]:
    with start_anvil() as node:
        from chain.connection import connect

        w3 = connect(node.rpc_url)
        epoch = current_epoch(w3, SLOT_SECONDS) - 100 * SLOT_SECONDS
        sandbox = Sandbox.deploy(w3, ANVIL_DEV_KEYS[0], MarketSettings(epoch=epoch))
        yield deploy_city(sandbox, len(GRID_IDS))


@pytest.fixture
def operator(placed: Callable[[str, int, int], HouseholdMap]) -> GridOperator:
    return GridOperator(placed("cigre-mv-kerber-small", 3, 6))


@pytest.fixture
def journal(city: City, tmp_path: Path) -> PublicationJournal:
    return PublicationJournal(
        tmp_path / "journal.json", LimitsPublisher.identity(city.pool, city.operator)
    )


def publisher(city: City, journal: PublicationJournal, **kwargs: object) -> LimitsPublisher:
    return LimitsPublisher(
        city.pool,
        city.operator,
        PoolCommunities.in_order(GRID_IDS),
        journal=journal,
        **kwargs,  # type: ignore[arg-type]
    )


def open_slot(city: City, ahead: int) -> int:
    """A slot ``ahead`` slots after the chain's current one (open: gate closure is later)."""
    calendar = city.pool.calendar()
    return calendar.slot_of(city.sandbox.dev.now()) + ahead


def on_chain(city: City, slot: int) -> list[tuple[bool, int, int]]:
    return [(x.published, x.import_wh, x.export_wh) for x in city.pool.slot_limits(slot)]


def noon_limits(operator: GridOperator, slot: int, export_wh: float) -> SlotLimits:
    """The operator's limits of ``slot`` with every household exporting ``export_wh`` at noon."""
    return operator.limits(slot, pv_noon(len(operator.households), export_wh))


def assert_nothing_recorded(city: City, journal: PublicationJournal, slot: int) -> None:
    """Neither the journal nor the pool holds limits of ``slot``."""
    assert journal.get(slot) is None
    assert not any(published for published, _, _ in on_chain(city, slot))


def computed(limits: SlotLimits) -> list[tuple[bool, int, int]]:
    return [(True, x.import_limit_wh, x.export_limit_wh) for x in limits.limits]


def nonce(city: City) -> int:
    return int(city.sandbox.w3.eth.get_transaction_count(city.operator.address))


def test_limits_on_chain_equal_the_operators(
    city: City, operator: GridOperator, journal: PublicationJournal
) -> None:
    slot = open_slot(city, 2)
    limits = noon_limits(operator, slot, 1200.0)
    published = publisher(city, journal).publish(limits)
    assert on_chain(city, slot) == computed(limits)
    assert published.status == "published" and not published.kept
    assert published.gas_used is not None and published.gas_used > 21_000
    entry = journal.get(slot)
    assert entry is not None and entry.status == "published" and entry.tx == published.tx
    # the journal is on disk: a new one reads the same entry
    again = PublicationJournal(journal.path, journal.identity)
    assert again.get(slot) == entry


def test_the_same_limits_are_not_sent_twice(
    city: City, operator: GridOperator, journal: PublicationJournal
) -> None:
    slot = open_slot(city, 3)
    limits = noon_limits(operator, slot, 600.0)
    agent = publisher(city, journal)
    agent.publish(limits)
    before = nonce(city)
    assert agent.publish(limits).status == "unchanged"
    assert nonce(city) == before


def test_a_diverged_slot_publishes_the_kept_limits(
    city: City, operator: GridOperator, journal: PublicationJournal
) -> None:
    slot = open_slot(city, 4)
    n = len(operator.households)
    agent = publisher(city, journal)
    good = operator.limits(slot, pv_noon(n, 800.0))
    agent.publish(good)
    kept = operator.limits(slot + 1, np.full(n, 2_000_000.0))  # 8 MW per household: diverges
    assert PowerFlowDiverged(slot + 1, "forecast") in kept.events
    published = agent.publish(kept)
    assert published.kept and published.status == "published"
    assert LimitsKept(slot + 1, "c01", slot) in published.events
    assert on_chain(city, slot + 1) == computed(good)


def test_a_closed_gate_is_one_line_and_nothing_is_sent(
    city: City, operator: GridOperator, journal: PublicationJournal
) -> None:
    slot = open_slot(city, -3)
    limits = noon_limits(operator, slot, 500.0)
    before = nonce(city)
    with pytest.raises(GateClosedError, match=f"slot {slot}: its gate closed at") as excinfo:
        publisher(city, journal).publish(limits)
    assert "\n" not in str(excinfo.value)
    assert nonce(city) == before
    assert_nothing_recorded(city, journal, slot)


def test_a_key_without_the_role_is_a_typed_one_line_error(
    city: City, operator: GridOperator, journal: PublicationJournal
) -> None:
    slot = open_slot(city, 11)
    limits = noon_limits(operator, slot, 500.0)
    stranger = LimitsPublisher(
        city.pool, city.sandbox.admin, PoolCommunities.in_order(GRID_IDS), journal=journal
    )
    with pytest.raises(PublicationRevertedError, match="does not hold GRID_OPERATOR_ROLE") as exc:
        stranger.publish(limits)
    assert "\n" not in str(exc.value)
    assert isinstance(exc.value.reason, ContractRevertError)
    assert exc.value.reason.name == "AccessControlUnauthorizedAccount"
    assert_nothing_recorded(city, journal, slot)


def test_communities_the_pool_does_not_know_are_refused(
    city: City, operator: GridOperator, journal: PublicationJournal
) -> None:
    slot = open_slot(city, 6)
    limits = noon_limits(operator, slot, 500.0)
    wrong = LimitsPublisher(
        city.pool, city.operator, PoolCommunities.in_order(("c01", "c02", "c99")), journal=journal
    )
    with pytest.raises(CommunityMappingError, match="grid community 'c03' is not a community"):
        wrong.publish(limits)
    with pytest.raises(CommunityMappingError, match="the pool has 3 communities, the mapping 2"):
        LimitsPublisher(city.pool, city.operator, PoolCommunities.in_order(("c01", "c02")))
    with pytest.raises(CommunityMappingError, match="2 has no grid community"):
        PoolCommunities.of({"c01": 0, "c02": 1, "c03": 3})
    with pytest.raises(CommunityMappingError, match="'c02' is mapped twice"):
        PoolCommunities.in_order(("c01", "c02", "c02"))
    assert PoolCommunities.of({"c03": 0, "c01": 1, "c02": 2}).grid_ids == ("c03", "c01", "c02")
    assert journal.get(slot) is None


def test_an_explicit_mapping_reorders_the_limits(
    city: City, operator: GridOperator, journal: PublicationJournal
) -> None:
    slot = open_slot(city, 7)
    limits = noon_limits(operator, slot, 900.0)
    mapping = PoolCommunities.of({"c03": 0, "c01": 1, "c02": 2})
    LimitsPublisher(city.pool, city.operator, mapping, journal=journal).publish(limits)
    expected = [limits.of(g) for g in mapping.grid_ids]
    assert on_chain(city, slot) == [(True, x.import_limit_wh, x.export_limit_wh) for x in expected]


class Crash(Exception):
    """The process dies here."""


def test_a_crash_before_the_send_is_sent_once_on_recovery(
    city: City, operator: GridOperator, journal: PublicationJournal
) -> None:
    slot = open_slot(city, 8)
    limits = noon_limits(operator, slot, 700.0)

    def crash(_: TxRequest) -> TxReceipt:
        raise Crash

    before = nonce(city)
    with pytest.raises(Crash):
        publisher(city, journal, send=crash).publish(limits)
    assert nonce(city) == before
    restarted = PublicationJournal(journal.path, journal.identity)
    assert restarted.get(slot) is not None and restarted.get(slot).status == "intent"  # type: ignore[union-attr]
    (recovered,) = publisher(city, restarted).recover()
    assert recovered.status == "published" and recovered.slot == slot
    assert nonce(city) == before + 1
    assert on_chain(city, slot) == computed(limits)
    assert publisher(city, restarted).recover() == []


def test_a_crash_after_the_send_is_found_not_sent_again(
    city: City, operator: GridOperator, journal: PublicationJournal
) -> None:
    slot = open_slot(city, 9)
    limits = noon_limits(operator, slot, 650.0)

    def sent_then_crash(request: TxRequest) -> TxReceipt:
        city.operator.transact(request)
        raise Crash

    before = nonce(city)
    with pytest.raises(Crash):
        publisher(city, journal, send=sent_then_crash).publish(limits)
    restarted = PublicationJournal(journal.path, journal.identity)
    agent = publisher(city, restarted)
    (recovered,) = agent.recover()
    assert recovered.status == "found"
    assert agent.publish(limits).status == "unchanged"
    assert nonce(city) == before + 1
    assert restarted.get(slot).status == "published"  # type: ignore[union-attr]


def test_an_intent_whose_gate_closed_is_marked_missed(
    city: City, journal: PublicationJournal
) -> None:
    slot = open_slot(city, -4)
    journal.put(JournalEntry(slot, [1, 2, 3], [4, 5, 6], "intent"))
    before = nonce(city)
    (missed,) = publisher(city, journal).recover()
    assert missed.status == "missed"
    assert journal.get(slot).status == "missed"  # type: ignore[union-attr]
    assert nonce(city) == before


def test_a_journal_of_another_pool_or_chain_is_refused(
    city: City, journal: PublicationJournal
) -> None:
    journal.save()
    with pytest.raises(JournalError, match="belongs to pool"):
        PublicationJournal(journal.path, {**journal.identity, "pool": "0x" + "11" * 20})
    with pytest.raises(JournalError, match="belongs to genesis"):  # a fresh dev chain
        PublicationJournal(journal.path, {**journal.identity, "genesis": "00" * 32})
