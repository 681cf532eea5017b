"""EIP-1559 fees from ``eth_feeHistory``, held under the user's caps."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Any

from wallet.errors import FeeCapExceededError


@dataclass(frozen=True)
class FeePolicy:
    """How to price a transaction.

    ``max_fee_cap`` / ``priority_fee_cap`` (wei per gas) are hard limits: a transaction is never
    signed above them, and when the base fee alone exceeds the cap, sending fails with
    :class:`FeeCapExceededError` rather than waiting in the mempool forever.
    """

    blocks: int = 5
    reward_percentile: float = 50.0
    base_fee_multiplier: int = 2
    min_priority_fee: int = 1
    max_fee_cap: int | None = None
    priority_fee_cap: int | None = None


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


def fees_from_history(history: dict[str, Any], policy: FeePolicy) -> Fees:
    """Pure part of :func:`suggest_fees`: turn an ``eth_feeHistory`` answer into fees."""
    next_base_fee = int(history["baseFeePerGas"][-1])
    rewards = [int(r[0]) for r in history.get("reward") or [] if r]
    tip = max(int(median(rewards)) if rewards else 0, policy.min_priority_fee)
    if policy.priority_fee_cap is not None:
        tip = min(tip, policy.priority_fee_cap)
    max_fee = next_base_fee * policy.base_fee_multiplier + tip
    if policy.max_fee_cap is not None:
        if next_base_fee + tip > policy.max_fee_cap:
            raise FeeCapExceededError(
                f"base fee {next_base_fee} + tip {tip} wei/gas exceeds the cap "
                f"{policy.max_fee_cap} wei/gas"
            )
        max_fee = min(max_fee, policy.max_fee_cap)
    return Fees(max_fee_per_gas=max_fee, max_priority_fee_per_gas=tip)
