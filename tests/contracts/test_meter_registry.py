"""MeterRegistry: meters, roles, pause, reading validation and attribution, batches.

Signature-specific cases (replay across chains and registries, malleability, rotation) live in
test_signatures.py."""

import brownie
import pytest
from brownie import MeterRegistry
from conftest import (
    DEFAULT_ADMIN_ROLE,
    MAX_SKEW,
    METER_ADMIN_ROLE,
    NO_SLOT,
    PAUSER_ROLE,
    SLOT_SECONDS,
    TOKEN_URI,
    ZERO_ADDRESS,
    access_error,
    aligned_epoch,
    b32,
    selector,
    struct_fields,
)
from eth_account import Account
from eth_utils import keccak

MAX_CAPACITY = 2**40


def meter_state(registry, meter_id):
    return struct_fields(
        registry.meter(meter_id), "owner signer capacity active seq timestamp import export"
    )


def totals(registry):
    return struct_fields(
        registry.energyTotals(),
        "attributed_export attributed_import unattributed_export unattributed_import",
    )


# ---- constructor and constants --------------------------------------------------------------


def test_constructor_grantsEveryRoleToAdmin(registry, admin):
    for role_id in (DEFAULT_ADMIN_ROLE, METER_ADMIN_ROLE, PAUSER_ROLE):
        assert registry.hasRole(role_id, admin)


def test_constructor_setsClock(registry):
    assert registry.slotSeconds() == SLOT_SECONDS
    assert registry.maxClockSkewSeconds() == MAX_SKEW
    assert registry.epoch() % SLOT_SECONDS == 0


def test_constants(registry):
    assert registry.MAX_CAPACITY_WH_PER_SLOT() == MAX_CAPACITY
    assert registry.METER_ADMIN_ROLE() == METER_ADMIN_ROLE
    assert registry.PAUSER_ROLE() == PAUSER_ROLE


def test_constructor_revertsOnZeroAdmin(admin):
    with brownie.reverts("RegistryZeroAddress: "):
        MeterRegistry.deploy(
            ZERO_ADDRESS, aligned_epoch(), SLOT_SECONDS, MAX_SKEW, TOKEN_URI, {"from": admin}
        )


def test_constructor_acceptsTheLargestClockSkew(admin):
    registry = MeterRegistry.deploy(
        admin, aligned_epoch(), SLOT_SECONDS, 3_600, TOKEN_URI, {"from": admin}
    )
    assert registry.maxClockSkewSeconds() == registry.MAX_CLOCK_SKEW_SECONDS() == 3_600


def test_constructor_revertsOnClockSkewAboveOneHour(admin):
    """Item 7 of the audit: the skew bounds how far ahead a (stolen) key can hold a meter's last
    timestamp, which a rotation keeps."""
    with brownie.reverts("RegistryClockSkewTooLarge: 3601, 3600"):
        MeterRegistry.deploy(
            admin, aligned_epoch(), SLOT_SECONDS, 3_601, TOKEN_URI, {"from": admin}
        )


def test_constructor_revertsOnZeroSlotSeconds(admin):
    with brownie.reverts("RegistryInvalidConfig: "):
        MeterRegistry.deploy(admin, aligned_epoch(), 0, MAX_SKEW, TOKEN_URI, {"from": admin})


# ---- slotOf ---------------------------------------------------------------------------------


def test_slotOf_countsSlotsFromEpoch(registry):
    epoch = registry.epoch()
    assert registry.slotOf(epoch) == 0
    assert registry.slotOf(epoch + SLOT_SECONDS - 1) == 0
    assert registry.slotOf(epoch + SLOT_SECONDS) == 1
    assert registry.slotOf(epoch + 96 * SLOT_SECONDS + 1) == 96


def test_slotOf_revertsBeforeEpoch(registry):
    epoch = registry.epoch()
    with brownie.reverts(f"RegistryTimestampBeforeEpoch: {epoch - 1}, {epoch}"):
        registry.slotOf(epoch - 1)


# ---- registerMeter --------------------------------------------------------------------------


def test_registerMeter_storesMeterAndEmits(registry, admin, alice):
    signer = Account.create().address
    meter_id = keccak(text="m-1")
    tx = registry.registerMeter(meter_id, alice, signer, 5_000, {"from": admin})
    assert tx.events["MeterRegistered"] == {
        "meterId": "0x" + meter_id.hex(),
        "owner": alice,
        "signer": signer,
        "capacityWhPerSlot": 5_000,
    }
    assert meter_state(registry, meter_id) == {
        "owner": alice,
        "signer": signer,
        "capacity": 5_000,
        "active": True,
        "seq": 0,
        "timestamp": 0,
        "import": 0,
        "export": 0,
    }


def test_meter_isZeroForUnknownId(registry):
    assert meter_state(registry, keccak(text="nobody"))["owner"] == ZERO_ADDRESS


def test_registerMeter_revertsForAccountWithoutMeterAdminRole(registry, stranger, alice):
    with brownie.reverts(access_error(stranger, METER_ADMIN_ROLE)):
        registry.registerMeter(keccak(text="m"), alice, alice, 1, {"from": stranger})


def test_registerMeter_byGrantedMeterAdmin(registry, admin, operator, alice):
    registry.grantRole(METER_ADMIN_ROLE, operator, {"from": admin})
    registry.registerMeter(keccak(text="m"), alice, alice, 1, {"from": operator})
    assert meter_state(registry, keccak(text="m"))["active"]


def test_registerMeter_revertsAfterMeterAdminRevoked(registry, admin, operator, alice):
    registry.grantRole(METER_ADMIN_ROLE, operator, {"from": admin})
    registry.revokeRole(METER_ADMIN_ROLE, operator, {"from": admin})
    with brownie.reverts(access_error(operator, METER_ADMIN_ROLE)):
        registry.registerMeter(keccak(text="m"), alice, alice, 1, {"from": operator})


def test_getRoleAdmin_isDefaultAdminForEveryRole(registry):
    for role_id in (DEFAULT_ADMIN_ROLE, METER_ADMIN_ROLE, PAUSER_ROLE):
        assert registry.getRoleAdmin(role_id) == DEFAULT_ADMIN_ROLE


def test_renounceRole_dropsOwnRole(registry, admin):
    tx = registry.renounceRole(PAUSER_ROLE, admin, {"from": admin})
    assert tx.events["RoleRevoked"]["account"] == admin
    with brownie.reverts(access_error(admin, PAUSER_ROLE)):
        registry.pause({"from": admin})


def test_renounceRole_revertsForAnotherAccount(registry, admin, operator):
    with brownie.reverts("AccessControlBadConfirmation: "):
        registry.renounceRole(METER_ADMIN_ROLE, operator, {"from": admin})


def test_revokeRole_ofAbsentRoleEmitsNothing(registry, admin, operator):
    tx = registry.revokeRole(METER_ADMIN_ROLE, operator, {"from": admin})
    assert "RoleRevoked" not in tx.events


@pytest.mark.parametrize("interface_id", ["0x7965db0b", "0x01ffc9a7"])
def test_supportsInterface_accessControlAndErc165(registry, interface_id):
    assert registry.supportsInterface(interface_id)
    assert not registry.supportsInterface("0xffffffff")


def test_grantRole_revertsForNonAdmin(registry, operator, stranger):
    with brownie.reverts(access_error(stranger, DEFAULT_ADMIN_ROLE)):
        registry.grantRole(METER_ADMIN_ROLE, operator, {"from": stranger})


def test_registerMeter_revertsWhenAlreadyRegistered(env, registry, admin, alice, meter):
    with brownie.reverts(f"MeterAlreadyRegistered: {b32(meter.meter_id)}"):
        registry.registerMeter(meter.meter_id, alice, alice, 1, {"from": admin})


def test_registerMeter_neverReusesDeactivatedId(env, registry, admin, alice, meter):
    registry.deactivateMeter(meter.meter_id, {"from": admin})
    with brownie.reverts(f"MeterAlreadyRegistered: {b32(meter.meter_id)}"):
        registry.registerMeter(meter.meter_id, alice, alice, 1, {"from": admin})


def test_registerMeter_revertsOnZeroOwner(registry, admin, alice):
    with brownie.reverts("RegistryZeroAddress: "):
        registry.registerMeter(keccak(text="m"), ZERO_ADDRESS, alice, 1, {"from": admin})


def test_registerMeter_revertsOnZeroSigner(registry, admin, alice):
    with brownie.reverts("RegistryZeroAddress: "):
        registry.registerMeter(keccak(text="m"), alice, ZERO_ADDRESS, 1, {"from": admin})


def test_registerMeter_revertsOnZeroCapacity(registry, admin, alice):
    meter_id = keccak(text="m")
    with brownie.reverts(f"MeterInvalidCapacity: {b32(meter_id)}, 0"):
        registry.registerMeter(meter_id, alice, alice, 0, {"from": admin})


def test_registerMeter_revertsAboveMaxCapacity(registry, admin, alice):
    meter_id = keccak(text="m")
    with brownie.reverts(f"MeterInvalidCapacity: {b32(meter_id)}, {MAX_CAPACITY + 1}"):
        registry.registerMeter(meter_id, alice, alice, MAX_CAPACITY + 1, {"from": admin})


def test_registerMeter_acceptsMaxCapacity(registry, admin, alice):
    registry.registerMeter(keccak(text="m"), alice, alice, MAX_CAPACITY, {"from": admin})
    assert meter_state(registry, keccak(text="m"))["capacity"] == MAX_CAPACITY


def test_registerMeter_worksWhilePaused(registry, admin, alice):
    registry.pause({"from": admin})
    registry.registerMeter(keccak(text="m"), alice, alice, 1, {"from": admin})
    assert meter_state(registry, keccak(text="m"))["active"]


# ---- rotateSigner / deactivateMeter ---------------------------------------------------------


def test_rotateSigner_replacesKeyAndEmits(registry, admin, meter):
    new = Account.create().address
    tx = registry.rotateSigner(meter.meter_id, new, {"from": admin})
    assert tx.events["MeterSignerRotated"] == {
        "meterId": "0x" + meter.meter_id.hex(),
        "oldSigner": meter.key.address,
        "newSigner": new,
    }
    assert meter_state(registry, meter.meter_id)["signer"] == new


def test_rotateSigner_restartsSequenceAndBaselineAndKeepsLastTimestamp(env, slot, registry, meter):
    meter.submit(meter.reading(env.slot_start(slot - 1), 70, 90, seq=5))
    meter.rotate(Account.create())
    state = meter_state(registry, meter.meter_id)
    assert (state["seq"], state["import"], state["export"]) == (0, 0, 0)
    assert state["timestamp"] == env.slot_start(slot - 1)


def test_rotateSigner_recoversAMeterWhoseStolenKeySignedTheLastSeq(
    env, slot, registry, token, meter, alice, relayer
):
    """Item 7 of the audit: a stolen key signs seq 2^64-1; before, every later reading was refused
    for good (ReadingSeqNotIncreasing). The meter admin's rotation restarts the sequence: the new
    key's first reading (bound to seq 0 and the kept timestamp) sets a new baseline and the next
    one mints."""
    meter.submit_at(env.slot_start(slot - 2))
    stolen = meter.reading(env.slot_start(slot - 1), seq=2**64 - 1)
    meter.submit(stolen)
    meter.rotate(Account.create())
    baseline = meter.reading(env.slot_start(slot), 5, 5)
    assert baseline[1] == 1 and baseline[5:] == (0, env.slot_start(slot - 1))
    tx = meter.submit(baseline)
    assert tx.events["ReadingAccepted"]["slot"] == 2**256 - 1  # a baseline attributes nothing
    meter.submit_at(env.slot_start(slot + 1), add_export=40)
    assert token.balanceOf(alice, slot) == 40


def test_rotateSigner_firstReadingAfterItAcceptsRegistersBelowTheOldBaseline(
    env, slot, registry, meter
):
    """A replaced meter device (or registers inflated by a stolen key) does not block the meter:
    the first reading after the rotation is a new baseline."""
    meter.submit(meter.reading(env.slot_start(slot - 1), 10_000, 10_000))
    meter.rotate(Account.create())
    meter.submit(meter.reading(env.slot_start(slot), 0, 0))
    assert meter_state(registry, meter.meter_id)["seq"] == 1


def test_rotateSigner_firstReadingAfterItMustNameSeqZeroAndTheKeptTimestamp(
    env, slot, registry, meter, relayer
):
    before = meter.reading(env.slot_start(slot - 1))
    meter.submit(before)
    meter.rotate(Account.create())
    for prev in ((1, before[2]), (0, 0)):
        reading = meter.reading(env.slot_start(slot), seq=2, prev=prev)
        mismatch = f"{b32(meter.meter_id)}, {prev[0]}, {prev[1]}, 0, {before[2]}"
        with brownie.reverts(f"ReadingPredecessorMismatch: {mismatch}"):
            registry.submitReading(reading, meter.sign(reading), {"from": relayer})


def test_rotateSigner_revertsForUnknownMeter(registry, admin, alice):
    meter_id = keccak(text="nobody")
    with brownie.reverts(f"MeterUnknown: {b32(meter_id)}"):
        registry.rotateSigner(meter_id, alice, {"from": admin})


def test_rotateSigner_revertsForDeactivatedMeter(registry, admin, alice, meter):
    registry.deactivateMeter(meter.meter_id, {"from": admin})
    with brownie.reverts(f"MeterInactive: {b32(meter.meter_id)}"):
        registry.rotateSigner(meter.meter_id, alice, {"from": admin})


def test_rotateSigner_revertsOnZeroSigner(registry, admin, meter):
    with brownie.reverts("RegistryZeroAddress: "):
        registry.rotateSigner(meter.meter_id, ZERO_ADDRESS, {"from": admin})


def test_rotateSigner_revertsForAccountWithoutMeterAdminRole(registry, stranger, meter):
    with brownie.reverts(access_error(stranger, METER_ADMIN_ROLE)):
        registry.rotateSigner(meter.meter_id, stranger, {"from": stranger})


def test_deactivateMeter_marksInactiveAndEmits(registry, admin, meter):
    tx = registry.deactivateMeter(meter.meter_id, {"from": admin})
    assert tx.events["MeterDeactivated"]["meterId"] == "0x" + meter.meter_id.hex()
    assert not meter_state(registry, meter.meter_id)["active"]


def test_deactivateMeter_revertsForUnknownMeter(registry, admin):
    meter_id = keccak(text="nobody")
    with brownie.reverts(f"MeterUnknown: {b32(meter_id)}"):
        registry.deactivateMeter(meter_id, {"from": admin})


def test_deactivateMeter_revertsWhenAlreadyInactive(registry, admin, meter):
    registry.deactivateMeter(meter.meter_id, {"from": admin})
    with brownie.reverts(f"MeterInactive: {b32(meter.meter_id)}"):
        registry.deactivateMeter(meter.meter_id, {"from": admin})


def test_deactivateMeter_revertsForAccountWithoutMeterAdminRole(registry, stranger, meter):
    with brownie.reverts(access_error(stranger, METER_ADMIN_ROLE)):
        registry.deactivateMeter(meter.meter_id, {"from": stranger})


# ---- pause ----------------------------------------------------------------------------------
# (The reverts of pausing twice and of a non-pauser, the same on the market: test_pausable.py.)


def test_pause_blocksSubmitReading(env, slot, registry, admin, meter):
    tx = registry.pause({"from": admin})
    assert tx.events["Paused"]["account"] == admin
    reading = meter.reading(env.slot_start(slot))
    with brownie.reverts("EnforcedPause: "):
        registry.submitReading(reading, meter.sign(reading), {"from": admin})


def test_pause_blocksSubmitReadings(env, slot, registry, admin, meter):
    registry.pause({"from": admin})
    reading = meter.reading(env.slot_start(slot))
    with brownie.reverts("EnforcedPause: "):
        registry.submitReadings([reading], [meter.sign(reading)], b"", {"from": admin})


def test_unpause_resumesReadings(env, slot, registry, admin, meter):
    registry.pause({"from": admin})
    tx = registry.unpause({"from": admin})
    assert tx.events["Unpaused"]["account"] == admin
    meter.submit_at(env.slot_start(slot))
    assert meter_state(registry, meter.meter_id)["seq"] == 1


def test_pause_byGrantedPauser(registry, admin, operator):
    registry.grantRole(PAUSER_ROLE, operator, {"from": admin})
    registry.pause({"from": operator})
    assert registry.paused()
    registry.unpause({"from": operator})
    assert not registry.paused()


# ---- submitReading: acceptance and attribution ----------------------------------------------


def test_submitReading_firstReadingSetsBaselineOnly(env, slot, registry, token, meter, alice):
    ts = env.slot_start(slot)
    tx = meter.submit(meter.reading(ts, 1_000_000, 2_000_000))
    assert tx.events["ReadingAccepted"] == {
        "meterId": "0x" + meter.meter_id.hex(),
        "seq": 1,
        "timestamp": ts,
        "slot": NO_SLOT,
        "importDeltaWh": 0,
        "exportDeltaWh": 0,
    }
    state = meter_state(registry, meter.meter_id)
    assert (state["seq"], state["timestamp"], state["import"], state["export"]) == (
        1,
        ts,
        1_000_000,
        2_000_000,
    )
    assert "TransferSingle" not in tx.events
    assert totals(registry) == {k: 0 for k in totals(registry)}


def test_submitReading_nextSlotMintsExportForTheSlotThatEnded(
    env, slot, registry, token, meter, alice
):
    meter.submit_at(env.slot_start(slot))
    tx = meter.submit_at(env.slot_start(slot + 1), add_import=40, add_export=700)
    ev = tx.events["ReadingAccepted"]
    assert (ev["seq"], ev["slot"], ev["importDeltaWh"], ev["exportDeltaWh"]) == (2, slot, 40, 700)
    assert token.balanceOf(alice, slot) == 700
    assert token.importedWh(alice, slot) == 40
    assert totals(registry) == {
        "attributed_export": 700,
        "attributed_import": 40,
        "unattributed_export": 0,
        "unattributed_import": 0,
    }


def test_submitReading_zeroDeltasMintNothing(env, slot, registry, token, meter, alice):
    meter.submit_at(env.slot_start(slot))
    tx = meter.submit_at(env.slot_start(slot + 1))
    assert tx.events["ReadingAccepted"]["slot"] == slot
    assert "TransferSingle" not in tx.events
    assert token.totalSupply(slot) == 0


def test_submitReading_anyoneMayRelay(env, slot, registry, stranger, meter):
    meter.submit(meter.reading(env.slot_start(slot)), sender=stranger)
    assert meter_state(registry, meter.meter_id)["seq"] == 1


def test_submitReading_acceptsSeqGaps(env, slot, registry, meter):
    meter.submit(meter.reading(env.slot_start(slot), seq=3))
    meter.submit(meter.reading(env.slot_start(slot + 1), seq=10))
    assert meter_state(registry, meter.meter_id)["seq"] == 10


def test_submitReading_baselineMayCarryAnyRegisterValue(env, slot, registry, admin, alice):
    """The baseline sets the registers of an installed meter; only later deltas are bounded by
    capacity."""
    meter = env.new_meter(alice, capacity=10)
    meter.submit(meter.reading(env.slot_start(slot), 2**63, 2**63))
    meter.submit_at(env.slot_start(slot + 1), add_export=10)
    assert meter_state(registry, meter.meter_id)["export"] == 2**63 + 10


def test_submitReading_deltaEqualToCapacityIsAccepted(env, slot, token, alice):
    meter = env.new_meter(alice, capacity=1_000)
    meter.submit_at(env.slot_start(slot))
    meter.submit_at(env.slot_start(slot + 1), add_import=1_000, add_export=1_000)
    assert token.balanceOf(alice, slot) == 1_000


def test_submitReading_gapLogsEnergyUnattributedAndMintsNothing(
    env, slot, registry, token, meter, alice
):
    meter.submit_at(env.slot_start(slot - 2))
    tx = meter.submit_at(env.slot_start(slot + 1), add_import=30, add_export=900)
    assert tx.events["ReadingAccepted"]["slot"] == NO_SLOT
    assert tx.events["EnergyUnattributed"] == {
        "meterId": "0x" + meter.meter_id.hex(),
        "fromTimestamp": env.slot_start(slot - 2),
        "toTimestamp": env.slot_start(slot + 1),
        "importWh": 30,
        "exportWh": 900,
    }
    assert "TransferSingle" not in tx.events
    for s in (slot - 2, slot - 1, slot):
        assert token.totalSupply(s) == 0
        assert token.importedWh(alice, s) == 0
    assert totals(registry) == {
        "attributed_export": 0,
        "attributed_import": 0,
        "unattributed_export": 900,
        "unattributed_import": 30,
    }


def test_submitReading_gapAllowsCapacityTimesSlotsCovered(env, slot, registry, alice):
    meter = env.new_meter(alice, capacity=100)
    meter.submit_at(env.slot_start(slot - 2))
    meter.submit_at(env.slot_start(slot + 1), add_export=300)
    assert totals(registry)["unattributed_export"] == 300


def test_submitReading_revertsOnImplausibleDeltaAcrossGap(env, slot, alice):
    meter = env.new_meter(alice, capacity=100)
    meter.submit_at(env.slot_start(slot - 2))
    reading = meter.reading(env.slot_start(slot + 1), export_wh=301)
    with brownie.reverts(f"ReadingImplausible: {b32(meter.meter_id)}, 301, 300"):
        meter.submit(reading)


def test_submitReading_attributesAgainAfterGap(env, slot, token, meter, alice):
    meter.submit_at(env.slot_start(slot - 3))
    meter.submit_at(env.slot_start(slot), add_export=100)
    meter.submit_at(env.slot_start(slot + 1), add_export=55)
    assert token.balanceOf(alice, slot) == 55
    assert token.totalSupply(slot - 1) == 0


# ---- submitReading: every rejection ---------------------------------------------------------


def test_submitReading_revertsForUnknownMeter(env, slot, registry, relayer):
    meter_id = keccak(text="nobody")
    reading = (meter_id, 1, env.slot_start(slot), 0, 0, 0, 0)
    with brownie.reverts(f"MeterUnknown: {b32(meter_id)}"):
        registry.submitReading(reading, b"\x00" * 65, {"from": relayer})


def test_submitReading_revertsForDeactivatedMeter(env, slot, registry, admin, meter):
    registry.deactivateMeter(meter.meter_id, {"from": admin})
    with brownie.reverts(f"MeterInactive: {b32(meter.meter_id)}"):
        meter.submit(meter.reading(env.slot_start(slot)))


def test_submitReading_revertsOnSeqZero(env, slot, meter):
    with brownie.reverts(f"ReadingSeqNotIncreasing: {b32(meter.meter_id)}, 0, 0"):
        meter.submit(meter.reading(env.slot_start(slot), seq=0))


def test_submitReading_revertsOnReplayedReading(env, slot, registry, meter, relayer):
    reading = meter.reading(env.slot_start(slot))
    signature = meter.sign(reading)
    registry.submitReading(reading, signature, {"from": relayer})
    with brownie.reverts(f"ReadingSeqNotIncreasing: {b32(meter.meter_id)}, 1, 1"):
        registry.submitReading(reading, signature, {"from": relayer})


def test_submitReading_revertsOnLowerSeqWithLaterTimestamp(env, slot, meter):
    meter.submit(meter.reading(env.slot_start(slot - 1), seq=5))
    with brownie.reverts(f"ReadingSeqNotIncreasing: {b32(meter.meter_id)}, 4, 5"):
        meter.submit(meter.reading(env.slot_start(slot), seq=4))


def test_submitReading_revertsOffSlotBoundary(env, slot, meter):
    ts = env.slot_start(slot) + 1
    with brownie.reverts(f"ReadingNotOnSlotBoundary: {b32(meter.meter_id)}, {ts}"):
        meter.submit(meter.reading(ts))


def test_submitReading_revertsBeforeEpoch(env, meter):
    ts = env.epoch - SLOT_SECONDS
    with brownie.reverts(f"ReadingNotOnSlotBoundary: {b32(meter.meter_id)}, {ts}"):
        meter.submit(meter.reading(ts))


def test_submitReading_acceptsTimestampExactlyMaxSkewAhead(env, slot, registry, meter):
    ts = env.slot_start(slot + 3)
    env.next_block_at(ts - MAX_SKEW)
    meter.submit(meter.reading(ts))
    assert meter_state(registry, meter.meter_id)["timestamp"] == ts


def test_submitReading_revertsBeyondMaxSkew(env, slot, meter):
    ts = env.slot_start(slot + 3)
    block_time = ts - MAX_SKEW - 1
    env.next_block_at(block_time)
    with brownie.reverts(f"ReadingInFuture: {b32(meter.meter_id)}, {ts}, {block_time + MAX_SKEW}"):
        meter.submit(meter.reading(ts))


def test_submitReading_revertsOnSameTimestampAsPrevious(env, slot, meter):
    ts = env.slot_start(slot)
    meter.submit(meter.reading(ts))
    with brownie.reverts(f"ReadingNotAfterPrevious: {b32(meter.meter_id)}, {ts}, {ts}"):
        meter.submit(meter.reading(ts))


def test_submitReading_revertsOnEarlierTimestampThanPrevious(env, slot, meter):
    ts = env.slot_start(slot)
    meter.submit(meter.reading(ts))
    earlier = env.slot_start(slot - 1)
    with brownie.reverts(f"ReadingNotAfterPrevious: {b32(meter.meter_id)}, {earlier}, {ts}"):
        meter.submit(meter.reading(earlier))


@pytest.mark.parametrize("register", ["import", "export"])
def test_submitReading_revertsWhenRegisterDecreases(env, slot, meter, register):
    meter.submit(meter.reading(env.slot_start(slot), 500, 500))
    lower = {"import_wh": 499} if register == "import" else {"export_wh": 499}
    with brownie.reverts(f"ReadingRegisterDecreased: {b32(meter.meter_id)}"):
        meter.submit(meter.reading(env.slot_start(slot + 1), **lower))


@pytest.mark.parametrize("register", ["import", "export"])
def test_submitReading_revertsOnImplausibleDelta(env, slot, alice, register):
    meter = env.new_meter(alice, capacity=1_000)
    meter.submit(meter.reading(env.slot_start(slot), 5, 5))
    higher = {"import_wh": 1_006} if register == "import" else {"export_wh": 1_006}
    with brownie.reverts(f"ReadingImplausible: {b32(meter.meter_id)}, 1001, 1000"):
        meter.submit(meter.reading(env.slot_start(slot + 1), **higher))


def test_submitReading_rejectionLeavesStateUntouched(env, slot, registry, token, alice):
    meter = env.new_meter(alice, capacity=1_000)
    meter.submit_at(env.slot_start(slot))
    before = meter_state(registry, meter.meter_id)
    with brownie.reverts():
        meter.submit(meter.reading(env.slot_start(slot + 1), export_wh=5_000))
    assert meter_state(registry, meter.meter_id) == before
    assert token.totalSupply(slot) == 0


def _with_high_bit(calldata: str, word: int) -> str:
    """``calldata`` (hex) with bit 64 set in its ``word``-th 32-byte argument word."""
    raw = bytearray(bytes.fromhex(calldata[2:]))
    raw[4 + 32 * word + 23] |= 1
    return "0x" + raw.hex()


UINT64_FIELDS = ["seq", "timestamp", "importWh", "exportWh", "prevSeq", "prevTimestamp"]


@pytest.mark.parametrize("field", UINT64_FIELDS)
def test_submitReading_revertsWithoutDataOnAUint64WordAbove64Bits(
    env, slot, registry, meter, field
):
    """Malformed ABI: a uint64 field whose word has bits above 64. The reading is copied and checked
    in one step (issue 19); the call reverts with no data, as Solidity's own calldata check does,
    and the same reading well encoded is accepted."""
    meter.submit_at(env.slot_start(slot))
    reading = meter.reading(env.slot_start(slot + 1), export_wh=10)
    signature = meter.sign(reading)
    word = 1 + UINT64_FIELDS.index(field)
    calldata = registry.submitReading.encode_input(reading, signature)
    before = meter_state(registry, meter.meter_id)
    with pytest.raises(ValueError) as excinfo:
        brownie.web3.eth.call({"to": registry.address, "data": _with_high_bit(calldata, word)})
    assert "execution reverted" in str(excinfo.value)
    assert brownie.web3.eth.call({"to": registry.address, "data": calldata}) == b""
    batch = registry.submitReadings.encode_input([reading], [signature], b"")
    # submitReadings(MeterReading[],bytes[],bytes): three head words, then the array's length.
    with pytest.raises(ValueError):
        brownie.web3.eth.call({"to": registry.address, "data": _with_high_bit(batch, 4 + word)})
    digest = registry.readingDigest.encode_input(reading)
    with pytest.raises(ValueError):
        brownie.web3.eth.call({"to": registry.address, "data": _with_high_bit(digest, word)})
    assert meter_state(registry, meter.meter_id) == before


# ---- submitReadings (batches) ---------------------------------------------------------------


def test_submitReadings_revertsOnLengthMismatch(env, slot, registry, meter, relayer):
    r1 = meter.reading(env.slot_start(slot))
    r2 = meter.reading(env.slot_start(slot + 1), seq=2)
    with brownie.reverts("ReadingBatchLengthMismatch: 2, 1"):
        registry.submitReadings([r1, r2], [meter.sign(r1)], b"", {"from": relayer})


def test_submitReadings_emptyBatchArchivesNothing(registry, relayer):
    tx = registry.submitReadings([], [], b"cid", {"from": relayer})
    assert tx.events["ReadingBatchArchived"] == {
        "archiveCid": "0x" + b"cid".hex(),
        "accepted": 0,
        "rejected": 0,
    }


def test_submitReadings_skipsInvalidWithReasonAndAcceptsRest(
    env, slot, registry, token, alice, relayer
):
    meter = env.new_meter(alice)
    other = env.new_meter(alice)
    unknown_id = keccak(text="nobody")
    base = meter.reading(env.slot_start(slot))
    nxt = meter.after(base, env.slot_start(slot + 1), 0, 600)
    forged = (other.meter_id, 1, env.slot_start(slot), 0, 0, 0, 0)
    unknown = (unknown_id, 1, env.slot_start(slot), 0, 0, 0, 0)
    readings = [base, forged, nxt, base, unknown]
    signatures = [
        meter.sign(base),
        meter.sign(forged),
        meter.sign(nxt),
        meter.sign(base),
        meter.sign(unknown),
    ]
    cid = b"bafkreigh2akiscaildc"
    assert registry.submitReadings.call(readings, signatures, cid, {"from": relayer}) == 2
    tx = registry.submitReadings(readings, signatures, cid, {"from": relayer})

    rejected = [(e["meterId"], e["seq"], str(e["reason"])) for e in tx.events["ReadingRejected"]]
    assert rejected == [
        ("0x" + other.meter_id.hex(), 1, selector("ReadingSignatureInvalid(bytes32)")),
        (
            "0x" + meter.meter_id.hex(),
            1,
            selector("ReadingSeqNotIncreasing(bytes32,uint64,uint64)"),
        ),
        ("0x" + unknown_id.hex(), 1, selector("MeterUnknown(bytes32)")),
    ]
    assert tx.events["ReadingBatchArchived"] == {
        "archiveCid": "0x" + cid.hex(),
        "accepted": 2,
        "rejected": 3,
    }
    assert len(tx.events["ReadingAccepted"]) == 2
    assert token.balanceOf(alice, slot) == 600
    assert meter_state(registry, other.meter_id)["seq"] == 0


def test_submitReadings_reportsEveryRejectionReason(env, slot, registry, admin, alice, relayer):
    """One batch with one reading per failure of {submitReading}: each is logged with its error
    selector."""
    m = {
        name: env.new_meter(alice, capacity=1_000)
        for name in ("seq", "pred", "bound", "future", "prev", "decr", "impl", "sig")
    }
    inactive = env.new_meter(alice)
    registry.deactivateMeter(inactive.meter_id, {"from": admin})
    for name in ("seq", "pred", "prev", "decr", "impl"):
        m[name].submit(m[name].reading(env.slot_start(slot), 10, 10, seq=5))
    s0, s1 = env.slot_start(slot), env.slot_start(slot + 1)
    cases = [
        ((keccak(text="nobody"), 1, s0, 0, 0, 0, 0), None, "MeterUnknown(bytes32)"),
        (inactive.reading(s0), inactive, "MeterInactive(bytes32)"),
        (m["seq"].reading(s1, seq=5), m["seq"], "ReadingSeqNotIncreasing(bytes32,uint64,uint64)"),
        (
            m["pred"].reading(s1, seq=7, prev=(6, s0)),
            m["pred"],
            "ReadingPredecessorMismatch(bytes32,uint64,uint64,uint64,uint64)",
        ),
        (m["bound"].reading(s0 + 1), m["bound"], "ReadingNotOnSlotBoundary(bytes32,uint64)"),
        (
            m["future"].reading(env.slot_start(slot + 5)),
            m["future"],
            "ReadingInFuture(bytes32,uint64,uint256)",
        ),
        (m["prev"].reading(s0, seq=6), m["prev"], "ReadingNotAfterPrevious(bytes32,uint64,uint64)"),
        (m["decr"].reading(s1, 9, 10, seq=6), m["decr"], "ReadingRegisterDecreased(bytes32)"),
        (
            m["impl"].reading(s1, 10, 1_011, seq=6),
            m["impl"],
            "ReadingImplausible(bytes32,uint64,uint256)",
        ),
        (m["sig"].reading(s0), None, "ReadingSignatureInvalid(bytes32)"),
    ]
    readings = [c[0] for c in cases]
    signatures = [c[1].sign(c[0]) if c[1] else b"\x01" * 65 for c in cases]
    tx = registry.submitReadings(readings, signatures, b"", {"from": relayer})
    assert [str(e["reason"]) for e in tx.events["ReadingRejected"]] == [
        selector(c[2]) for c in cases
    ]
    assert tx.events["ReadingBatchArchived"]["accepted"] == 0
    assert tx.events["ReadingBatchArchived"]["rejected"] == len(cases)
    assert "ReadingAccepted" not in tx.events


def test_submitReadings_resendingAcceptedBatchIsHarmless(
    env, slot, registry, token, alice, relayer
):
    meter = env.new_meter(alice)
    r1 = meter.reading(env.slot_start(slot))
    r2 = meter.after(r1, env.slot_start(slot + 1), 0, 400)
    sigs = [meter.sign(r1), meter.sign(r2)]
    registry.submitReadings([r1, r2], sigs, b"", {"from": relayer})
    tx = registry.submitReadings([r1, r2], sigs, b"", {"from": relayer})
    assert tx.events["ReadingBatchArchived"]["accepted"] == 0
    assert tx.events["ReadingBatchArchived"]["rejected"] == 2
    assert token.balanceOf(alice, slot) == 400
    assert totals(registry)["attributed_export"] == 400


def test_submitReading_revertsWhenThePredecessorIsNotTheLastAccepted(env, slot, meter):
    base = meter.reading(env.slot_start(slot - 1))
    meter.submit(base)
    skipped = meter.after(base, env.slot_start(slot), 0, 100)
    successor = meter.after(skipped, env.slot_start(slot + 1), 0, 100)
    with brownie.reverts(
        f"ReadingPredecessorMismatch: {b32(meter.meter_id)}, 2, {skipped[2]}, 1, {base[2]}"
    ):
        meter.submit(successor)


def test_submitReading_revertsWhenTheFirstReadingNamesAPredecessor(env, slot, meter):
    reading = meter.reading(env.slot_start(slot), prev=(1, env.slot_start(slot - 1)))
    with brownie.reverts(
        f"ReadingPredecessorMismatch: {b32(meter.meter_id)}, 1, {env.slot_start(slot - 1)}, 0, 0"
    ):
        meter.submit(reading)


def test_submitReadings_frontRunSuccessorCannotDestroyTheBatchsEnergy(
    env, slot, registry, token, alice, relayer, stranger
):
    """M-2: a relayer's batch [n, n+1] is front-run by n+1 alone. Bound to n, that reading is
    refused, and the batch then mints both slots. (With readings not bound to their predecessor,
    n+1 was accepted as a two-slot gap: nothing minted, and the batch accepted 0, rejected 2.)"""
    meter = env.new_meter(alice)
    base = meter.reading(env.slot_start(slot - 1))
    meter.submit(base)
    n = meter.after(base, env.slot_start(slot), 0, 300)
    n1 = meter.after(n, env.slot_start(slot + 1), 0, 500)
    signatures = [meter.sign(n), meter.sign(n1)]
    front_run = registry.submitReadings([n1], signatures[1:], b"", {"from": stranger})
    assert front_run.events["ReadingBatchArchived"]["accepted"] == 0
    tx = registry.submitReadings([n, n1], signatures, b"", {"from": relayer})
    assert tx.events["ReadingBatchArchived"]["accepted"] == 2
    assert tx.events["ReadingBatchArchived"]["rejected"] == 0
    assert (token.balanceOf(alice, slot - 1), token.balanceOf(alice, slot)) == (300, 500)
    assert totals(registry)["unattributed_export"] == 0


def test_submitReadings_sameMeterSeveralSlotsInOneBatch(env, slot, registry, token, alice, relayer):
    meter = env.new_meter(alice)
    readings = [meter.reading(env.slot_start(slot - 3))]
    for _ in range(4):
        readings.append(meter.after(readings[-1], readings[-1][2] + SLOT_SECONDS, 0, 100))
    registry.submitReadings(readings, [meter.sign(r) for r in readings], b"", {"from": relayer})
    for s in (slot - 3, slot - 2, slot - 1, slot):
        assert token.balanceOf(alice, s) == 100
    assert totals(registry)["attributed_export"] == 400


def test_energyTotals_equalSumOfMintedSupply(env, slot, registry, token, alice, bob):
    env.mint_energy(alice, slot, 1_234, 10)
    env.mint_energy(bob, slot, 766, 20)
    env.mint_energy(bob, slot - 1, 1_000, 0)
    t = totals(registry)
    assert t["attributed_export"] == token.totalSupply(slot) + token.totalSupply(slot - 1) == 3_000
    assert t["attributed_import"] == 30
