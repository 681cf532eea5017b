"""EnergyToken: ERC-1155 slot tokens minted only by the registry, burned against import."""

import brownie
import pytest
from brownie import ReentrantERC1155Receiver, RejectingERC1155Receiver
from conftest import TOKEN_URI, ZERO_ADDRESS, addr

ERC165_ID = "0x01ffc9a7"
ERC1155_ID = "0xd9b67a26"
ERC1155_METADATA_URI_ID = "0x0e89341c"


def transfer_single(tx):
    """(operator, from, to, id, value) of the transaction's ERC-1155 ``TransferSingle`` event."""
    ev = tx.events["TransferSingle"]
    return (ev["operator"], ev["from"], ev["to"], ev["id"], ev["value"])


# ---- deployment and views -------------------------------------------------------------------


def test_registry_isTheDeployingRegistry(token, registry):
    assert token.registry() == registry


def test_uri_isTheConstructorUri(token):
    assert token.uri(7) == TOKEN_URI


@pytest.mark.parametrize("interface_id", [ERC165_ID, ERC1155_ID, ERC1155_METADATA_URI_ID])
def test_supportsInterface_erc165_erc1155_metadata(token, interface_id):
    assert token.supportsInterface(interface_id)


def test_supportsInterface_falseForUnknownId(token):
    assert not token.supportsInterface("0xffffffff")


def test_views_zeroForUnknownSlotAndHolder(token, stranger):
    assert token.balanceOf(stranger, 123) == 0
    assert token.totalSupply(123) == 0
    assert token.importedWh(stranger, 123) == 0
    assert token.redeemedWh(stranger, 123) == 0


# ---- minting --------------------------------------------------------------------------------


def test_mintFromReading_revertsWhenCallerNotRegistry(token, stranger):
    with brownie.reverts(f"EnergyTokenUnauthorized: {addr(stranger)}"):
        token.mintFromReading(stranger, 1, 100, 0, {"from": stranger})


def test_mintFromReading_revertsEvenForRegistryAdmin(token, admin):
    with brownie.reverts(f"EnergyTokenUnauthorized: {addr(admin)}"):
        token.mintFromReading(admin, 1, 100, 0, {"from": admin})


def test_mintFromReading_mintsExportToOwnerAndRecordsImport(env, slot, alice, token, registry):
    meter = env.new_meter(alice)
    meter.submit_at(env.slot_start(slot))
    tx = meter.submit_at(env.slot_start(slot + 1), add_import=300, add_export=1_250)
    assert token.balanceOf(alice, slot) == 1_250
    assert token.totalSupply(slot) == 1_250
    assert token.importedWh(alice, slot) == 300
    assert transfer_single(tx) == (registry, ZERO_ADDRESS, alice, slot, 1_250)


def test_mintFromReading_importOnlyMintsNothing(env, slot, alice, token):
    env.mint_energy(alice, slot, export_wh=0, import_wh=400)
    assert token.balanceOf(alice, slot) == 0
    assert token.totalSupply(slot) == 0
    assert token.importedWh(alice, slot) == 400


def test_mintFromReading_sumsImportOverAllMetersOfOwner(env, slot, alice, token):
    env.mint_energy(alice, slot, export_wh=10, import_wh=400)
    env.mint_energy(alice, slot, export_wh=20, import_wh=250)
    assert token.importedWh(alice, slot) == 650
    assert token.balanceOf(alice, slot) == 30
    assert token.totalSupply(slot) == 30


def test_mintFromReading_skipsReceiverHookOfContractOwner(env, slot, admin, token):
    """WARNING of the contract: minting never calls onERC1155Received, so a rejecting owner cannot
    block readings."""
    rejecting = RejectingERC1155Receiver.deploy({"from": admin})
    env.mint_energy(rejecting, slot, export_wh=77)
    assert token.balanceOf(rejecting, slot) == 77


def test_mintFromReading_doesNotReenterThroughReceiverHook(env, slot, admin, token, market):
    reentrant = ReentrantERC1155Receiver.deploy({"from": admin})
    reentrant.arm(market, market.withdraw.encode_input(1), {"from": admin})
    env.mint_energy(reentrant, slot, export_wh=5)
    assert token.balanceOf(reentrant, slot) == 5
    assert not reentrant.reentryAttempted()


# ---- three slots per storage word and the cap per holder and slot --------------------------

MAX_AMOUNT = 2**42 - 1
METER_CAP = 2**40  # the registry's MAX_CAPACITY_WH_PER_SLOT


def test_MAX_AMOUNT_WH_is42Bits(token, registry):
    assert token.MAX_AMOUNT_WH() == MAX_AMOUNT
    # Three readings of meters at the registry's cap always fit one holder's slot.
    assert 3 * registry.MAX_CAPACITY_WH_PER_SLOT() <= MAX_AMOUNT


def test_neighbouringSlots_keepTheirOwnBalanceImportAndRedemption(env, slot, alice, bob, token):
    """Four consecutive slots span two storage words whatever the slot's lane: every slot's
    amounts are its own through mints, a transfer and a redemption."""
    slots = [slot - 3, slot - 2, slot - 1, slot]
    for k, s in enumerate(slots):
        env.mint_energy(alice, s, export_wh=1_000 * (k + 1), import_wh=10 * (k + 1))
    token.safeTransferFrom(alice, bob, slots[1], 2_000, b"", {"from": alice})
    token.redeem(slots[2], 30, {"from": alice})
    assert [token.balanceOf(alice, s) for s in slots] == [1_000, 0, 2_970, 4_000]
    assert [token.balanceOf(bob, s) for s in slots] == [0, 2_000, 0, 0]
    assert [token.importedWh(alice, s) for s in slots] == [10, 20, 30, 40]
    assert [token.redeemedWh(alice, s) for s in slots] == [0, 0, 30, 0]
    assert [token.totalSupply(s) for s in slots] == [1_000, 2_000, 2_970, 4_000]
    assert [token.balanceOf(alice, s) for s in (slot - 4, slot + 1)] == [0, 0]


def _mint_at_cap(env, owner, slot, times, export_wh=METER_CAP, import_wh=0):
    for _ in range(times):
        env.mint_energy(
            owner, slot, export_wh, import_wh, meter=env.new_meter(owner, capacity=METER_CAP)
        )


def test_mintFromReading_fillsTheBalanceToTheCapWithoutTouchingTheImport(env, slot, alice, token):
    _mint_at_cap(env, alice, slot, 3)
    _mint_at_cap(env, alice, slot, 1, export_wh=MAX_AMOUNT - 3 * METER_CAP)
    assert token.balanceOf(alice, slot) == MAX_AMOUNT
    assert token.importedWh(alice, slot) == 0
    assert token.balanceOf(alice, slot + 1) == 0
    assert token.balanceOf(alice, slot - 1) == 0
    assert token.totalSupply(slot) == MAX_AMOUNT


def test_mintFromReading_revertsAboveTheBalanceCap(env, slot, alice, token):
    """A reading whose mint would carry the owner's balance of the slot past 42 bits reverts
    (with the batch it came in) and changes nothing."""
    _mint_at_cap(env, alice, slot, 3)
    meter = env.new_meter(alice, capacity=METER_CAP)
    with brownie.reverts(f"EnergyTokenBalanceOverflow: {addr(alice)}, {slot}, {4 * METER_CAP}"):
        env.mint_energy(alice, slot, METER_CAP, meter=meter)
    assert token.balanceOf(alice, slot) == 3 * METER_CAP
    assert token.totalSupply(slot) == 3 * METER_CAP


def test_mintFromReading_revertsAboveTheImportCap(env, slot, alice, token):
    _mint_at_cap(env, alice, slot, 3, export_wh=0, import_wh=METER_CAP)
    assert token.importedWh(alice, slot) == 3 * METER_CAP
    assert token.balanceOf(alice, slot) == 0
    meter = env.new_meter(alice, capacity=METER_CAP)
    with brownie.reverts(f"EnergyTokenImportOverflow: {addr(alice)}, {slot}, {4 * METER_CAP}"):
        env.mint_energy(alice, slot, 0, METER_CAP, meter=meter)
    assert token.importedWh(alice, slot) == 3 * METER_CAP


def test_safeTransferFrom_revertsAboveTheBalanceCap(env, slot, alice, bob, token):
    _mint_at_cap(env, alice, slot, 3)
    _mint_at_cap(env, bob, slot, 1)
    with brownie.reverts(f"EnergyTokenBalanceOverflow: {addr(alice)}, {slot}, {4 * METER_CAP}"):
        token.safeTransferFrom(bob, alice, slot, METER_CAP, b"", {"from": bob})
    token.safeTransferFrom(bob, alice, slot, METER_CAP - 1, b"", {"from": bob})
    assert token.balanceOf(alice, slot) == MAX_AMOUNT
    assert token.balanceOf(bob, slot) == 1
    assert token.importedWh(alice, slot) == 0


# ---- redemption -----------------------------------------------------------------------------


def test_redeem_burnsAgainstImportAndBooksIt(env, slot, alice, token):
    env.mint_energy(alice, slot, export_wh=1_000, import_wh=300)
    tx = token.redeem(slot, 200, {"from": alice})
    assert token.balanceOf(alice, slot) == 800
    assert token.totalSupply(slot) == 800
    assert token.redeemedWh(alice, slot) == 200
    assert tx.events["Redeemed"] == {"holder": alice, "slot": slot, "amountWh": 200}
    assert transfer_single(tx) == (alice, alice, ZERO_ADDRESS, slot, 200)


def test_redeem_revertsOnZeroAmount(env, slot, alice, token):
    env.mint_energy(alice, slot, export_wh=1_000, import_wh=300)
    with brownie.reverts("EnergyTokenZeroAmount: "):
        token.redeem(slot, 0, {"from": alice})


def test_redeem_revertsWhenAmountExceedsImport(env, slot, alice, token):
    env.mint_energy(alice, slot, export_wh=1_000, import_wh=300)
    with brownie.reverts(f"EnergyTokenRedeemExceedsImport: {addr(alice)}, {slot}, 301, 300"):
        token.redeem(slot, 301, {"from": alice})


def test_redeem_revertsOnceImportIsUsedUp(env, slot, alice, token):
    env.mint_energy(alice, slot, export_wh=1_000, import_wh=300)
    token.redeem(slot, 250, {"from": alice})
    token.redeem(slot, 50, {"from": alice})
    with brownie.reverts(f"EnergyTokenRedeemExceedsImport: {addr(alice)}, {slot}, 1, 0"):
        token.redeem(slot, 1, {"from": alice})
    assert token.redeemedWh(alice, slot) == 300
    assert token.balanceOf(alice, slot) == 700


def test_redeem_revertsWithoutImportInThatSlot(env, slot, alice, token):
    env.mint_energy(alice, slot, export_wh=1_000, import_wh=300)
    with brownie.reverts(f"EnergyTokenRedeemExceedsImport: {addr(alice)}, {slot + 1}, 1, 0"):
        token.redeem(slot + 1, 1, {"from": alice})


def test_redeem_revertsWhenHolderHasTooFewTokens(env, slot, alice, bob, token):
    """Import alone is not enough: the tokens must be held (ERC1155InsufficientBalance), and nothing
    is
    booked."""
    env.mint_energy(alice, slot, export_wh=100, import_wh=300)
    token.safeTransferFrom(alice, bob, slot, 60, b"", {"from": alice})
    with brownie.reverts(f"ERC1155InsufficientBalance: {addr(alice)}, 40, 41, {slot}"):
        token.redeem(slot, 41, {"from": alice})
    assert token.redeemedWh(alice, slot) == 0


def test_redeem_tokensBoughtFromAnotherHolder(env, slot, alice, bob, token):
    env.mint_energy(alice, slot, export_wh=500)
    env.mint_energy(bob, slot, export_wh=0, import_wh=400)
    token.safeTransferFrom(alice, bob, slot, 450, b"", {"from": alice})
    token.redeem(slot, 400, {"from": bob})
    assert token.balanceOf(bob, slot) == 50
    assert token.totalSupply(slot) == 100
    assert token.redeemedWh(bob, slot) == 400


# ---- transfers (OpenZeppelin behaviour on the packed balances) -----------------------------


def test_safeTransferFrom_movesBalanceAndKeepsSupply(env, slot, alice, bob, token):
    env.mint_energy(alice, slot, export_wh=500, import_wh=7)
    tx = token.safeTransferFrom(alice, bob, slot, 123, b"", {"from": alice})
    assert token.balanceOf(alice, slot) == 377
    assert token.balanceOf(bob, slot) == 123
    assert token.totalSupply(slot) == 500
    # The import recorded in the same storage word is untouched by the transfer.
    assert token.importedWh(alice, slot) == 7
    assert tx.events["TransferSingle"]["value"] == 123


def test_safeTransferFrom_toSelfKeepsBalance(env, slot, alice, token):
    env.mint_energy(alice, slot, export_wh=500)
    token.safeTransferFrom(alice, alice, slot, 500, b"", {"from": alice})
    assert token.balanceOf(alice, slot) == 500


def test_safeTransferFrom_revertsOnInsufficientBalance(env, slot, alice, bob, token):
    env.mint_energy(alice, slot, export_wh=500)
    with brownie.reverts(f"ERC1155InsufficientBalance: {addr(alice)}, 500, 501, {slot}"):
        token.safeTransferFrom(alice, bob, slot, 501, b"", {"from": alice})


def test_safeTransferFrom_revertsForUnapprovedOperator(env, slot, alice, bob, token):
    env.mint_energy(alice, slot, export_wh=500)
    with brownie.reverts(f"ERC1155MissingApprovalForAll: {addr(bob)}, {addr(alice)}"):
        token.safeTransferFrom(alice, bob, slot, 1, b"", {"from": bob})


def test_safeTransferFrom_byApprovedOperator(env, slot, alice, bob, carol, token):
    env.mint_energy(alice, slot, export_wh=500)
    token.setApprovalForAll(bob, True, {"from": alice})
    token.safeTransferFrom(alice, carol, slot, 200, b"", {"from": bob})
    assert token.balanceOf(carol, slot) == 200


def test_setApprovalForAll_setsAndClears(token, alice, bob):
    tx = token.setApprovalForAll(bob, True, {"from": alice})
    assert tx.events["ApprovalForAll"] == {"account": alice, "operator": bob, "approved": True}
    assert token.isApprovedForAll(alice, bob)
    token.setApprovalForAll(bob, False, {"from": alice})
    assert not token.isApprovedForAll(alice, bob)


def test_setApprovalForAll_revertsForZeroOperator(token, alice):
    with brownie.reverts(f"ERC1155InvalidOperator: {ZERO_ADDRESS}"):
        token.setApprovalForAll(ZERO_ADDRESS, True, {"from": alice})


def test_safeTransferFrom_revertsToRejectingContract(env, slot, alice, admin, token):
    rejecting = RejectingERC1155Receiver.deploy({"from": admin})
    env.mint_energy(alice, slot, export_wh=500)
    with brownie.reverts("RejectingERC1155ReceiverRejected: "):
        token.safeTransferFrom(alice, rejecting, slot, 1, b"", {"from": alice})
    assert token.balanceOf(alice, slot) == 500


def test_safeTransferFrom_revertsToZeroAddress(env, slot, alice, token):
    env.mint_energy(alice, slot, export_wh=500)
    with brownie.reverts(f"ERC1155InvalidReceiver: {ZERO_ADDRESS}"):
        token.safeTransferFrom(alice, ZERO_ADDRESS, slot, 1, b"", {"from": alice})


def test_safeBatchTransferFrom_movesSeveralSlots(env, slot, alice, bob, token):
    env.mint_energy(alice, slot, export_wh=500)
    env.mint_energy(alice, slot - 1, export_wh=300)
    tx = token.safeBatchTransferFrom(alice, bob, [slot, slot - 1], [100, 300], b"", {"from": alice})
    balances = token.balanceOfBatch([alice, alice, bob, bob], [slot, slot - 1, slot, slot - 1])
    assert [int(b) for b in balances] == [400, 0, 100, 300]
    assert [int(i) for i in tx.events["TransferBatch"]["ids"]] == [slot, slot - 1]


def test_safeBatchTransferFrom_revertsToZeroAddress(env, slot, alice, token):
    env.mint_energy(alice, slot, export_wh=500)
    with brownie.reverts(f"ERC1155InvalidReceiver: {ZERO_ADDRESS}"):
        token.safeBatchTransferFrom(alice, ZERO_ADDRESS, [slot], [1], b"", {"from": alice})


def test_safeBatchTransferFrom_revertsOnLengthMismatch(env, slot, alice, bob, token):
    env.mint_energy(alice, slot, export_wh=500)
    with brownie.reverts("ERC1155InvalidArrayLength: 1, 2"):
        token.safeBatchTransferFrom(alice, bob, [slot], [1, 2], b"", {"from": alice})


def test_balanceOfBatch_revertsOnLengthMismatch(token, alice):
    with brownie.reverts("ERC1155InvalidArrayLength: 2, 1"):
        token.balanceOfBatch([alice], [1, 2])
