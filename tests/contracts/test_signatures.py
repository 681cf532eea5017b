"""EIP-712 signed readings: domain, digest, replay (seq, chain, registry), malleability, signer,
rotation."""

import brownie
import pytest
from brownie import MeterRegistry, chain
from conftest import (
    MAX_SKEW,
    SLOT_SECONDS,
    TOKEN_URI,
    b32,
    sign_reading,
    to_high_s,
    typed_reading,
)
from eth_account import Account
from eth_utils import keccak


def invalid(meter):
    return f"ReadingSignatureInvalid: {b32(meter.meter_id)}"


# ---- domain and digest ----------------------------------------------------------------------


def test_domainSeparator_isEip712DomainOfChainAndRegistry(registry):
    message = typed_reading((b"\x00" * 32, 1, 0, 0, 0, 0, 0), chain.id, registry.address)
    assert registry.domainSeparator() == "0x" + message.header.hex()


def test_eip712Domain_reportsNameVersionChainAndRegistry(registry):
    fields, name, version, chain_id, verifying_contract, _salt, _extensions = (
        registry.eip712Domain()
    )
    assert (str(fields), name, version, chain_id, verifying_contract) == (
        "0x0f",
        "EnergyChain",
        "1",
        chain.id,
        registry.address,
    )


def test_domainSeparator_followsChainIdAfterFork(
    env, slot, registry, meter, relayer, web3, chain_id_changes
):
    """After a chain split the domain is rebuilt with the new chain id (OpenZeppelin EIP712):
    readings signed for the old chain id are refused there, and the other way round. Only calls
    are made while the chain id differs (brownie signs transactions for the id it cached)."""
    old_id = web3.eth.chain_id
    new_id = old_id + 1_000
    reading = meter.reading(env.slot_start(slot))
    signed_old = meter.sign(reading, chain_id=old_id)
    signed_new = meter.sign(reading, chain_id=new_id)
    web3.provider.make_request("anvil_setChainId", [new_id])
    try:
        assert web3.eth.chain_id == new_id
        expected = typed_reading((b"\x00" * 32, 1, 0, 0, 0, 0, 0), new_id, registry.address).header
        assert registry.domainSeparator() == "0x" + expected.hex()
        with brownie.reverts(invalid(meter)):
            registry.submitReading.call(reading, signed_old, {"from": relayer})
        registry.submitReading.call(reading, signed_new, {"from": relayer})
    finally:
        web3.provider.make_request("anvil_setChainId", [old_id])
    assert web3.eth.chain_id == old_id
    with brownie.reverts(invalid(meter)):
        registry.submitReading.call(reading, signed_new, {"from": relayer})
    registry.submitReading(reading, signed_old, {"from": relayer})


def test_readingDigest_matchesOffchainTypedDataHash(registry):
    reading = (keccak(text="m"), 7, 1_700_000_100, 12_345, 67_890, 6, 1_700_000_000)
    message = typed_reading(reading, chain.id, registry.address)
    digest = keccak(b"\x19\x01" + message.header + message.body)
    assert registry.readingDigest(reading) == "0x" + digest.hex()


def test_readingDigest_coversEveryField(registry):
    base = (keccak(text="m"), 7, 1_700_000_100, 12_345, 67_890, 6, 1_700_000_000)
    digests = {str(registry.readingDigest(base))}
    changes = (keccak(text="n"), 8, 1_700_001_000, 12_346, 67_891, 5, 1_699_999_900)
    for i, changed in enumerate(changes):
        reading = list(base)
        reading[i] = changed
        digests.add(str(registry.readingDigest(tuple(reading))))
    assert len(digests) == 8


# ---- valid signatures -----------------------------------------------------------------------


def test_submitReading_acceptsSignatureOfCurrentSigner(env, slot, registry, meter):
    meter.submit(meter.reading(env.slot_start(slot)))
    assert registry.meter(meter.meter_id)[4] == 1


def test_submitReading_signatureBindsDataNotSender(env, slot, registry, meter, stranger, bob):
    """The same signed reading is valid whoever relays it (the first relay wins, the second is a
    replay)."""
    reading = meter.reading(env.slot_start(slot))
    signature = meter.sign(reading)
    registry.submitReading(reading, signature, {"from": stranger})
    with brownie.reverts(f"ReadingSeqNotIncreasing: {b32(meter.meter_id)}, 1, 1"):
        registry.submitReading(reading, signature, {"from": bob})


# ---- replay -----------------------------------------------------------------------------------


def test_submitReading_rejectsSignatureReusedWithAnotherSeq(env, slot, registry, meter, relayer):
    first = meter.reading(env.slot_start(slot))
    signature = meter.sign(first)
    registry.submitReading(first, signature, {"from": relayer})
    replay = meter.after(first, env.slot_start(slot + 1))
    with brownie.reverts(invalid(meter)):
        registry.submitReading(replay, signature, {"from": relayer})


def test_submitReading_rejectsSignatureForAnotherChainId(env, slot, registry, meter, relayer):
    reading = meter.reading(env.slot_start(slot))
    with brownie.reverts(invalid(meter)):
        registry.submitReading(
            reading, meter.sign(reading, chain_id=chain.id + 1), {"from": relayer}
        )


def test_submitReading_rejectsSignatureForAnotherRegistry(
    env, slot, registry, admin, alice, meter, relayer
):
    """The same meter id and key registered in two registries: a reading signed for one fails at the
    other."""
    other = MeterRegistry.deploy(
        admin, env.epoch, SLOT_SECONDS, MAX_SKEW, TOKEN_URI, {"from": admin}
    )
    other.registerMeter(meter.meter_id, alice, meter.key.address, meter.capacity, {"from": admin})
    reading = meter.reading(env.slot_start(slot))
    for_other = meter.sign(reading, verifying_contract=other.address)
    with brownie.reverts(invalid(meter)):
        registry.submitReading(reading, for_other, {"from": relayer})
    other.submitReading(reading, for_other, {"from": relayer})
    assert other.meter(meter.meter_id)[4] == 1
    assert registry.meter(meter.meter_id)[4] == 0


def test_submitReading_rejectsSignatureOfAnotherMeterId(env, slot, registry, alice, relayer):
    """Two meters sharing a key: a reading signed for one meter id is not valid for the other."""
    key = Account.create()
    m1 = env.new_meter(alice, key=key)
    m2 = env.new_meter(alice, key=key)
    r1 = m1.reading(env.slot_start(slot))
    r2 = (m2.meter_id, *r1[1:])
    with brownie.reverts(invalid(m2)):
        registry.submitReading(r2, m1.sign(r1), {"from": relayer})


# ---- malleability and malformed signatures -------------------------------------------------


def test_submitReading_rejectsHighSTwin(env, slot, registry, meter, relayer):
    reading = meter.reading(env.slot_start(slot))
    signature = meter.sign(reading)
    high = to_high_s(signature)
    # The twin is a valid secp256k1 signature of the same digest (plain ecrecover would accept it).
    assert (
        Account._recover_hash(
            keccak(
                b"\x19\x01"
                + typed_reading(reading, chain.id, registry.address).header
                + typed_reading(reading, chain.id, registry.address).body
            ),
            signature=high,
        )
        == meter.key.address
    )
    with brownie.reverts(invalid(meter)):
        registry.submitReading(reading, high, {"from": relayer})
    registry.submitReading(reading, signature, {"from": relayer})


@pytest.mark.parametrize("length", [0, 64, 66])
def test_submitReading_rejectsSignatureOfWrongLength(env, slot, registry, meter, relayer, length):
    reading = meter.reading(env.slot_start(slot))
    signature = (meter.sign(reading) + b"\x00")[:length]
    with brownie.reverts(invalid(meter)):
        registry.submitReading(reading, signature, {"from": relayer})


@pytest.mark.parametrize("v", [0, 1, 29])
def test_submitReading_rejectsInvalidRecoveryId(env, slot, registry, meter, relayer, v):
    reading = meter.reading(env.slot_start(slot))
    signature = meter.sign(reading)[:64] + bytes([v])
    with brownie.reverts(invalid(meter)):
        registry.submitReading(reading, signature, {"from": relayer})


def test_submitReading_rejectsZeroSignature(env, slot, registry, meter, relayer):
    reading = meter.reading(env.slot_start(slot))
    with brownie.reverts(invalid(meter)):
        registry.submitReading(reading, b"\x00" * 64 + b"\x1b", {"from": relayer})


# ---- wrong signer, tampering, rotation, deactivation ----------------------------------------


def test_submitReading_rejectsWrongSigner(env, slot, registry, meter, relayer):
    reading = meter.reading(env.slot_start(slot))
    with brownie.reverts(invalid(meter)):
        registry.submitReading(
            reading, meter.sign(reading, key=Account.create()), {"from": relayer}
        )


def test_submitReading_rejectsTamperedExport(env, slot, registry, meter, relayer):
    meter.submit_at(env.slot_start(slot))
    honest = meter.reading(env.slot_start(slot + 1), export_wh=100)
    tampered = meter.reading(env.slot_start(slot + 1), export_wh=10_000)
    with brownie.reverts(invalid(meter)):
        registry.submitReading(tampered, meter.sign(honest), {"from": relayer})


def test_rotateSigner_oldKeyRefusedNewKeyAccepted(env, slot, registry, admin, meter, relayer):
    meter.submit_at(env.slot_start(slot - 1))
    old_key = meter.key
    meter.rotate(Account.create())
    reading = meter.reading(env.slot_start(slot), export_wh=50)  # bound to (0, last timestamp)
    with brownie.reverts(invalid(meter)):
        registry.submitReading(reading, meter.sign(reading, key=old_key), {"from": relayer})
    meter.submit(reading)
    meter.submit_at(env.slot_start(slot + 1), add_export=30)
    assert env.token.balanceOf(meter.owner, slot) == 30


def test_rotateSigner_keepsLastTimestampSoOldReadingsCannotReplay(
    env, slot, registry, admin, meter, relayer
):
    """Rotating back to the same key restarts the sequence, yet the readings that key signed
    before stay refused: they name other predecessors, and none is after the kept timestamp."""
    first = meter.reading(env.slot_start(slot))
    meter.submit(first)
    meter.rotate(meter.key)
    with brownie.reverts(f"ReadingPredecessorMismatch: {b32(meter.meter_id)}, 0, 0, 0, {first[2]}"):
        registry.submitReading(first, meter.sign(first), {"from": relayer})
    same_time = meter.reading(first[2], seq=1)
    with brownie.reverts(f"ReadingNotAfterPrevious: {b32(meter.meter_id)}, {first[2]}, {first[2]}"):
        registry.submitReading(same_time, meter.sign(same_time), {"from": relayer})


def test_deactivatedMeter_refusedEvenWithValidSignature(env, slot, registry, admin, meter, relayer):
    reading = meter.reading(env.slot_start(slot))
    signature = meter.sign(reading)
    registry.deactivateMeter(meter.meter_id, {"from": admin})
    with brownie.reverts(f"MeterInactive: {b32(meter.meter_id)}"):
        registry.submitReading(reading, signature, {"from": relayer})


def test_submitReading_checksSequenceBeforeSignature(env, slot, registry, meter, relayer):
    """Validation is cheapest first: a resent reading fails on its seq before any ecrecover."""
    reading = meter.reading(env.slot_start(slot))
    meter.submit(reading)
    with brownie.reverts(f"ReadingSeqNotIncreasing: {b32(meter.meter_id)}, 1, 1"):
        registry.submitReading(reading, b"", {"from": relayer})


def test_sign_reading_helperAgreesWithContract(env, registry, meter):
    """Guards the suite's own signing helper against the contract's digest."""
    reading = (meter.meter_id, 3, env.slot_start(5), 1, 2, 2, env.slot_start(4))
    signature = sign_reading(meter.key, reading, chain.id, registry.address)
    digest = bytes(registry.readingDigest(reading))
    assert Account._recover_hash(digest, signature=signature) == meter.key.address
