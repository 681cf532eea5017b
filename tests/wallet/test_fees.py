"""EIP-1559 fees from eth_feeHistory stay under the user's caps."""

from __future__ import annotations

import pytest

from wallet.errors import FeeCapExceededError
from wallet.fees import FeePolicy, fees_from_history

HISTORY = {"baseFeePerGas": [90, 95, 100], "reward": [[2], [4], [6]]}


def test_max_fee_is_twice_the_next_base_fee_plus_the_median_tip() -> None:
    fees = fees_from_history(HISTORY, FeePolicy())
    assert fees.max_priority_fee_per_gas == 4
    assert fees.max_fee_per_gas == 2 * 100 + 4


def test_max_fee_cap_lowers_the_fee_when_the_base_fee_still_fits() -> None:
    fees = fees_from_history(HISTORY, FeePolicy(max_fee_cap=150))
    assert fees.max_fee_per_gas == 150


def test_max_fee_cap_below_the_base_fee_refuses_to_send() -> None:
    with pytest.raises(FeeCapExceededError, match="cap 50"):
        fees_from_history(HISTORY, FeePolicy(max_fee_cap=50))


def test_priority_fee_cap_limits_the_tip() -> None:
    fees = fees_from_history(HISTORY, FeePolicy(priority_fee_cap=3))
    assert fees.max_priority_fee_per_gas == 3


def test_empty_rewards_fall_back_to_the_minimum_tip() -> None:
    fees = fees_from_history({"baseFeePerGas": [0, 0]}, FeePolicy(min_priority_fee=1))
    assert fees.max_priority_fee_per_gas == 1
    assert fees.max_fee_per_gas == 1
