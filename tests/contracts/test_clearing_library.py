"""Clearing and TickBitmap libraries through ClearingHarness: rounding direction, fills, bitmap
walks."""

import brownie
import pytest
from brownie.test import given
from conftest import ceil_div, reference_fill
from hypothesis import settings
from hypothesis import strategies as st

NONE = 1 << 16
U64 = 2**64 - 1
U96 = 2**96 - 1
U128 = 2**128 - 1


# The fuzz tests are marked `no_call_coverage`: under --coverage brownie would turn every call into
# a traced transaction; the unit tests above them already cover each line.

# ---- cost / proceeds / fee ------------------------------------------------------------------


def test_cost_roundsUp(harness):
    assert harness.cost(333, 20_412) == 6_798  # 6,797.196
    assert harness.cost(1, 1) == 1  # 0.001 -> 1
    assert harness.cost(1_000, 20_001) == 20_001  # exact


def test_cost_zero(harness):
    assert harness.cost(0, 20_001) == 0
    assert harness.cost(500, 0) == 0


def test_proceeds_roundsDown(harness):
    assert harness.proceeds(333, 20_412) == 6_797
    assert harness.proceeds(1, 999) == 0
    assert harness.proceeds(1_000, 20_001) == 20_001


def test_fee_roundsUp(harness):
    assert harness.fee(22_741, 50) == 114  # 113.705
    assert harness.fee(1, 1) == 1  # 0.0001 -> 1
    assert harness.fee(20_000, 50) == 100  # exact
    assert harness.fee(0, 1_000) == 0
    assert harness.fee(12_345, 0) == 0


def test_fee_neverAboveGrossUpToFullBps(harness):
    assert harness.fee(7, 10_000) == 7
    assert harness.fee(1, 1_000) == 1


def test_cost_atDocumentedBounds(harness):
    """qty < 2^64 and price < 2^128: the product fits, no overflow."""
    assert harness.cost(U64, U128) == ceil_div(U64 * U128, 1_000)
    assert harness.proceeds(U64, U128) == U64 * U128 // 1_000


def test_cost_overflowBeyondBoundsPanics(harness):
    with brownie.reverts():
        harness.cost(2**255, 2)


@pytest.mark.no_call_coverage
@given(qty=st.integers(0, U64), price=st.integers(0, U128))
@settings(max_examples=40)
def test_fuzz_costAndProceeds_bracketExactValue(harness, qty, price):
    exact_times_1000 = qty * price
    c, p = harness.cost(qty, price), harness.proceeds(qty, price)
    assert p * 1_000 <= exact_times_1000 <= c * 1_000
    assert c - p in (0, 1)
    assert (c == p) == (exact_times_1000 % 1_000 == 0)


@pytest.mark.no_call_coverage
@given(gross=st.integers(0, 2**200), bps=st.integers(0, 10_000))
@settings(max_examples=40)
def test_fuzz_fee_isCeilAndAtMostGross(harness, gross, bps):
    fee = harness.fee(gross, bps)
    assert fee == ceil_div(gross * bps, 10_000)
    assert fee <= gross


# ---- fill / share ---------------------------------------------------------------------------


def test_fill_noClearingFillsNothing(harness):
    assert harness.fill(True, 100, 50, 0, 0) == 0
    assert harness.fill(False, 100, 5, 0, 0) == 0


def test_fill_buyBelowMarginFillsNothing(harness):
    assert harness.fill(True, 100, 9, 10, 50) == 0


def test_fill_buyAtOrAboveMarginFillsAll(harness):
    assert harness.fill(True, 100, 11, 10, 50) == 100
    assert harness.fill(True, 100, 10, 10, 300) == 100


def test_fill_sellAboveMarginFillsNothing(harness):
    assert harness.fill(False, 100, 11, 10, 50) == 0


def test_fill_sellAtOrBelowMarginFillsAll(harness):
    assert harness.fill(False, 100, 9, 10, 50) == 100
    assert harness.fill(False, 100, 10, 10, 300) == 100


def test_share_isTheCumulativeFloorDifference(harness):
    # R/Q = 0.6: 333 -> floor(199.8) = 199; then 500 -> floor(499.8) - 199 = 300; 167 -> 101
    assert harness.share(333, 0, 600, 1_000) == 199
    assert harness.share(500, 333, 600, 1_000) == 300
    assert harness.share(167, 833, 600, 1_000) == 101


def test_share_atDocumentedBounds(harness):
    """q < 2^64 and C + q <= Q < 2^96, R <= Q: (C + q) * R fits."""
    assert harness.share(U64, U96 - U64 - 1, U96 - 1, U96) == reference_fill(
        True, U64, 1, 1, U96 - 1, U96, claimed=U96 - U64 - 1
    )


def floor_div(a: int, b: int) -> int:
    return a // b


@pytest.mark.no_call_coverage
@given(
    shares=st.lists(st.integers(1, U64 // 4), min_size=1, max_size=6),
    fraction=st.fractions(min_value=0, max_value=1, max_denominator=10**6),
    order=st.randoms(use_true_random=False),
)
@settings(max_examples=30)
def test_fuzz_marginalShares_addUpToRInAnyClaimOrder(harness, shares, fraction, order):
    """At a rationed level of Q = sum(q) with R filled: every order's share is the floor or the
    ceil of q*R/Q, and the shares add up to exactly R, whatever the claim order (audit L-1)."""
    total = sum(shares)
    filled = max(1, int(total * fraction))
    order.shuffle(shares)
    claimed = got = 0
    for q in shares:
        x = harness.share(q, claimed, filled, total)
        assert x == (claimed + q) * filled // total - claimed * filled // total
        assert floor_div(q * filled, total) <= x <= ceil_div(q * filled, total) <= q
        claimed, got = claimed + q, got + x
    assert got == filled


# ---- TickBitmap -----------------------------------------------------------------------------


def test_bitmap_setAndIsSet(harness, admin):
    harness.set(5, {"from": admin})
    assert harness.isSet(5)
    assert not harness.isSet(4)
    assert not harness.isSet(6)


def test_bitmap_setTwiceIsNoop(harness, admin):
    harness.set(300, {"from": admin})
    harness.set(300, {"from": admin})
    assert harness.next(0) == 300
    harness.unset(300, {"from": admin})
    assert harness.next(0) == NONE


def test_bitmap_unsetClearTickIsNoop(harness, admin):
    harness.unset(17, {"from": admin})
    assert not harness.isSet(17)
    assert harness.next(0) == NONE


def test_bitmap_unsetKeepsOtherTicksOfWord(harness, admin):
    harness.set(10, {"from": admin})
    harness.set(20, {"from": admin})
    harness.unset(10, {"from": admin})
    assert harness.next(0) == 20


def test_bitmap_nextOnEmptyIsNone(harness):
    assert harness.next(0) == NONE
    assert harness.next(65_535) == NONE


def test_bitmap_nextAtOrAbove(harness, admin):
    for t in (0, 255, 256, 4_095, 65_535):
        harness.set(t, {"from": admin})
    assert harness.next(0) == 0
    assert harness.next(1) == 255
    assert harness.next(255) == 255
    assert harness.next(256) == 256
    assert harness.next(257) == 4_095
    assert harness.next(4_096) == 65_535
    assert harness.next(65_535) == 65_535


def test_bitmap_nextFromOrBeyondNoneIsNone(harness, admin):
    harness.set(65_535, {"from": admin})
    assert harness.next(NONE) == NONE
    assert harness.next(2**200) == NONE


def test_bitmap_nextSkipsEmptiedWords(harness, admin):
    harness.set(600, {"from": admin})
    harness.set(5_000, {"from": admin})
    harness.unset(600, {"from": admin})
    assert harness.next(0) == 5_000


def test_bitmap_lastWordSummaryShift(harness, admin):
    """From the last word (wordPos 255) the summary shift is by 256 bits, which must yield 0."""
    harness.set(1, {"from": admin})
    assert harness.next(65_280) == NONE


@pytest.mark.parametrize("bit", [0, 1, 7, 128, 255])
def test_lowestBit_ofPowerOfTwo(harness, bit):
    assert harness.lowestBit(1 << bit) == bit


def test_lowestBit_ignoresHigherBits(harness):
    assert harness.lowestBit((1 << 255) | (1 << 9) | (1 << 3)) == 3
    assert harness.lowestBit(2**256 - 1) == 0


@pytest.mark.no_call_coverage
@given(ticks=st.sets(st.integers(0, 65_535), min_size=1, max_size=6), start=st.integers(0, 65_535))
@settings(max_examples=12)
def test_fuzz_bitmap_nextMatchesSortedSet(harness, admin, ticks, start):
    for t in ticks:
        harness.set(t, {"from": admin})
    above = [t for t in sorted(ticks) if t >= start]
    assert harness.next(start) == (above[0] if above else NONE)
    walked, t = [], 0
    while (t := harness.next(t)) != NONE:
        walked.append(t)
        t += 1
    assert walked == sorted(ticks)
