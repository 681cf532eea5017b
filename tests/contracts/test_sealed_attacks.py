"""Attacks on the sealed market (docs/contracts.md, the sealed mode's threat model): reveals with a
wrong salt, after the window, twice, for another's commitment; a commitment replayed on another
market or chain; mass commitments never revealed (cost to the griefer against harm); reveal
front-running; the selective reveal (the free option a bond prices)."""

import brownie
from conftest import (
    BOND,
    REVEAL_SECONDS,
    commit_id_of,
    commitment_of,
    cost,
    deploy_sealed,
    new_salt,
    price_of,
)


def test_reveal_withWrongSaltIsRefused(senv, sealed, sslot, alice):
    cid, (_, is_buy, tick, qty, _salt) = senv.commit(alice, sslot, True, 5, 100)
    senv.reveal_opens(sslot)
    with brownie.reverts(f"CommitmentMismatch: {cid}"):
        sealed.revealOrder(cid, is_buy, tick, qty, new_salt(), {"from": alice})


def test_reveal_withOtherContentsIsRefused(senv, sealed, sslot, alice):
    """The owner cannot change side, tick or quantity after seeing the others' reveals."""
    cid, (_, is_buy, tick, qty, salt) = senv.commit(alice, sslot, True, 5, 100, locked_money=10**6)
    senv.reveal_opens(sslot)
    for other in ((not is_buy, tick, qty), (is_buy, tick + 1, qty), (is_buy, tick, qty + 1)):
        with brownie.reverts(f"CommitmentMismatch: {cid}"):
            sealed.revealOrder(cid, *other, salt, {"from": alice})


def test_reveal_afterTheWindowIsRefusedAndOnlyReclaimRemains(senv, sealed, sslot, alice, treasury):
    cid, opening = senv.commit(alice, sslot, True, 5, 100)
    senv.reveal_ends(sslot)
    end = senv.gate_closure(sslot) + REVEAL_SECONDS
    with brownie.reverts(f"RevealWindowClosed: {sslot}, {end}"):
        senv.reveal(opening)
    sealed.reclaimCommitment(cid, {"from": alice})
    assert sealed.balanceOf(treasury) == BOND


def test_reveal_twiceIsRefusedAndBooksOnce(senv, sealed, sslot, alice):
    cid, opening = senv.commit(alice, sslot, True, 5, 100)
    senv.reveal_opens(sslot)
    senv.reveal(opening)
    with brownie.reverts(f"CommitmentNotFound: {cid}"):
        senv.reveal(opening)
    assert sealed.level(sslot, 5)[0] == 100


def test_reveal_ofAnothersCommitmentCannotChangeItsOwner(senv, sealed, sslot, alice, stranger):
    """Anyone may send a reveal, but the hash binds the owner: a stranger who learned the opening
    can only book alice's order for alice; with his own address the hash does not match."""
    cid, (_, is_buy, tick, qty, salt) = senv.commit(alice, sslot, True, 5, 100)
    senv.reveal_opens(sslot)
    # the stranger's own commitment of the same contents hashes to something else
    assert commitment_of(sealed, stranger, sslot, is_buy, tick, qty, salt) != commitment_of(
        sealed, alice, sslot, is_buy, tick, qty, salt
    )
    tx = sealed.revealOrder(cid, is_buy, tick, qty, salt, {"from": stranger})
    assert tx.events["OrderPlaced"]["owner"] == alice
    assert sealed.order(cid)[0] == alice
    assert sealed.balanceOf(stranger) == 0


def test_copiedCommitmentUnderAnotherOwnerNeitherBlocksNorReveals(senv, sealed, sslot, alice, bob):
    """Bob front-runs alice's commit with her commitment under his own name: it lands on another
    id (the id mixes in the owner), alice's commit still goes through, and bob's copy can never be
    revealed (the hash binds alice), so it only costs him his bond."""
    salt = new_salt()
    c = commitment_of(sealed, alice, sslot, True, 5, 100, salt)
    senv.deposit(bob, BOND)
    bob_id = sealed.commitOrder(bob, sslot, c, BOND, 0, {"from": bob}).events["OrderCommitted"][
        "commitId"
    ]
    alice_id, opening = senv.commit(alice, sslot, True, 5, 100, salt=salt)
    assert bob_id != alice_id and alice_id == commit_id_of(alice, sslot, c)
    senv.reveal_opens(sslot)
    with brownie.reverts(f"CommitmentMismatch: {bob_id}"):
        sealed.revealOrder(bob_id, True, 5, 100, salt, {"from": bob})
    senv.reveal(opening)
    senv.reveal_ends(sslot)
    sealed.reclaimCommitment(bob_id, {"from": bob})
    assert sealed.balanceOf(bob) == 0  # the bond went to the treasury


def test_commitmentReplayedOnAnotherMarketDoesNotOpen(
    senv, sealed, sslot, admin, euro, registry, treasury, alice
):
    """The same opening, committed on a second sealed market: the hash names the first."""
    other = deploy_sealed(admin, euro, registry, treasury)
    salt = new_salt()
    c = commitment_of(sealed, alice, sslot, True, 5, 100, salt)  # made for `sealed`
    euro.mint(alice, BOND, {"from": alice})
    euro.approve(other, BOND, {"from": alice})
    other.deposit(BOND, {"from": alice})
    cid = other.commitOrder(alice, sslot, c, BOND, 0, {"from": alice}).return_value
    senv.reveal_opens(sslot)
    with brownie.reverts(f"CommitmentMismatch: {cid}"):
        other.revealOrder(cid, True, 5, 100, salt, {"from": alice})


def test_commitmentMadeForAnotherChainDoesNotOpen(senv, sealed, sslot, alice):
    salt = new_salt()
    c = commitment_of(sealed, alice, sslot, True, 5, 100, salt, chain_id=brownie.chain.id + 1)
    senv.deposit(alice, BOND)
    cid = sealed.commitOrder(alice, sslot, c, BOND, 0, {"from": alice}).return_value
    senv.reveal_opens(sslot)
    with brownie.reverts(f"CommitmentMismatch: {cid}"):
        sealed.revealOrder(cid, True, 5, 100, salt, {"from": alice})


def test_massCommitmentsNeverRevealed_costTheGrieferAndHarmNoOne(
    senv, sealed, sslot, alice, bob, carol, treasury
):
    """The same honest book in two slots; in the second Carol adds 50 commitments and reveals
    none. Both slots clear to the same record for the same gas; every one of her commitments
    ends by a reclaim, her bonds with the treasury. Harm: none to clearing (commitments never
    enter the book); cost: 50 bonds and the gas of 50 new storage words."""
    first, second = sslot, sslot + 1
    _, oa = senv.commit(alice, first, True, 8, 500)
    _, ob = senv.commit(bob, first, False, 2, 300)
    senv.warp(senv.slot_start(second + 1) + 30)  # slot `second` ended: its tokens can be minted
    sealed.revealOrders([oa, ob], {"from": senv.relayer})
    _, oa2 = senv.commit(alice, second, True, 8, 500)
    _, ob2 = senv.commit(bob, second, False, 2, 300)
    senv.deposit(carol, 50 * BOND)
    spam = [
        (second, commitment_of(sealed, carol, second, i % 2 == 0, i, 100, new_salt()), BOND, 0)
        for i in range(50)
    ]
    commit = sealed.commitOrders(carol, spam, {"from": carol})
    senv.reveal_ends(first)
    honest_clear = senv.clear(first)
    senv.reveal_opens(second)
    sealed.revealOrders([oa2, ob2], {"from": senv.relayer})
    senv.reveal_ends(second)
    griefed_clear = senv.clear(second)

    assert senv.clearing(second) == senv.clearing(first)
    assert griefed_clear.gas_used == honest_clear.gas_used
    for cid in commit.return_value:
        sealed.reclaimCommitment(cid, {"from": alice})
    assert sealed.balanceOf(treasury) == 50 * BOND
    assert sealed.balanceOf(carol) == 0
    assert commit.gas_used > 50 * 22_100  # one new storage word each, paid by the griefer


def test_frontRunReveal_booksTheSameOrderForTheSameOwner(senv, sealed, sslot, alice, stranger):
    """A watcher copies alice's reveal from the mempool and gets it mined first: the order is
    alice's, exactly as committed; her own reveal then finds nothing to open, and in a batch it
    is skipped instead of reverting the keeper's batch."""
    cid, opening = senv.commit(alice, sslot, True, 5, 100)
    cid2, opening2 = senv.commit(alice, sslot, True, 6, 100)
    senv.reveal_opens(sslot)
    sealed.revealOrder(*opening, {"from": stranger})  # the copy
    assert sealed.order(cid)[0] == alice and sealed.order(cid)[3] == 5
    with brownie.reverts(f"CommitmentNotFound: {cid}"):
        senv.reveal(opening, sender=alice)
    tx = sealed.revealOrders([opening, opening2], {"from": alice})
    assert list(tx.return_value) == [0, cid2]


def test_selectiveReveal_costsTheBondPerDroppedCommitment(senv, sealed, sslot, alice, treasury):
    """A trader commits a buy and a sell and, having seen the others' reveals, reveals only one:
    what no sealed auction can prevent, priced by the bond (docs/contracts.md)."""
    _, ob = senv.commit(alice, sslot, True, 9, 500)
    cs, _ = senv.commit(alice, sslot, False, 1, 500)
    money_in = max(cost(500, price_of(9)), BOND) + BOND
    senv.reveal_opens(sslot)
    senv.reveal(ob)
    senv.reveal_ends(sslot)
    sealed.reclaimCommitment(cs, {"from": alice})
    assert sealed.balanceOf(treasury) == BOND
    # alice's money: the buy's escrow rests in the book, the dropped sell cost its bond
    assert sealed.balanceOf(alice) == money_in - cost(500, price_of(9)) - BOND
    assert sealed.energyBalanceOf(alice, sslot) == 500
