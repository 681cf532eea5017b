"""The market's refusals in plain words, for the ``enerwise market`` commands.

A refused transaction comes back as its custom error (``RevealWindowNotOpen(812, 1764961200)``,
:class:`chain.errors.ContractRevertError`); a trader reads what it means and what to do instead
(the dApp's ``reverts`` texts in dapp/src/lib/i18n/en.ts say the same). An error without a text
here keeps its name and arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from enerwise.cli.amounts import money_text


def utc(timestamp: int) -> str:
    """``2026-12-05 18:45:00 UTC``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _eur(units: Any, decimals: int) -> str:
    return f"{money_text(int(units), decimals)} EUR"


_Words = Callable[[tuple[Any, ...], int], str]

_PLAIN: dict[str, _Words] = {
    "SealedMarketNoOpenOrders": lambda a, d: (
        "this market is sealed: orders are committed before gate closure and revealed after it"
    ),
    "MarketInsufficientBalance": lambda a, d: (
        f"your market vault holds {_eur(a[1], d)}, this needs {_eur(a[2], d)}: deposit more first"
    ),
    "MarketInsufficientEnergy": lambda a, d: (
        f"your market vault holds {a[2]} Wh of slot {a[1]}, this needs {a[3]} Wh: "
        "move energy tokens into the vault first"
    ),
    "OrderQtyTooSmall": lambda a, d: f"{a[0]} Wh is below the market's smallest order of {a[1]} Wh",
    "OrderTickOutOfRange": lambda a, d: f"tick {a[0]} is above the market's highest tick {a[1]}",
    "OrderWindowNotOpen": lambda a, d: (
        f"orders for slot {a[0]} are accepted only from {utc(int(a[1]))}"
    ),
    "OrderWindowClosed": lambda a, d: (
        f"the order window of slot {a[0]} closed at {utc(int(a[1]))} (gate closure)"
    ),
    "OrderLevelOverflow": lambda a, d: (
        f"the book of slot {a[0]} holds too much at tick {a[1]}: choose another price"
    ),
    "OrderNotFound": lambda a, d: f"order {hex(int(a[0]))} no longer exists (claimed or cancelled)",
    "SlotVoid": lambda a, d: f"slot {a[0]} was not cleared in time and is void since {utc(a[1])}",
    "NotOwnerOrAgent": lambda a, d: f"{a[0]} is neither {a[1]} nor an agent of it",
    "AgentExpired": lambda a, d: f"the agent's authorization ended at {utc(int(a[1]))}",
    "AgentPriceOutOfBounds": lambda a, d: f"tick {a[0]} is outside the agent's bound {a[1]}",
    "AgentBudgetExceeded": lambda a, d: (
        f"the agent would have {_eur(a[1], d)} in use, above its daily budget of {_eur(a[2], d)}"
    ),
    "EnforcedPause": lambda a, d: "the market is paused by its operator",
    "CommitmentBondNotCovered": lambda a, d: (
        f"a commitment must lock at least the bond of {_eur(a[1], d)}; "
        f"this one locks {_eur(a[0], d)}"
    ),
    "CommitmentLockTooLarge": lambda a, d: f"a commitment can lock at most {_eur(a[1], d)}",
    "CommitmentExists": lambda a, d: (
        "this commitment is on chain already (the same order with the same salt twice)"
    ),
    "CommitmentNotFound": lambda a, d: (
        "the commitment is no longer waiting: revealed or reclaimed already, or never committed"
    ),
    "CommitmentMismatch": lambda a, d: (
        "the order and its salt do not match the commitment (a wrong or altered journal?): "
        "nothing was revealed"
    ),
    "CommitmentMoneyShort": lambda a, d: (
        f"the revealed buy needs {_eur(a[1], d)} of escrow, its commitment locked only "
        f"{_eur(a[2], d)}"
    ),
    "CommitmentEnergyShort": lambda a, d: (
        f"the revealed sell needs {a[1]} Wh, its commitment locked only {a[2]} Wh"
    ),
    "RevealWindowNotOpen": lambda a, d: (
        f"commitments of slot {a[0]} can be revealed only after its gate closure at "
        f"{utc(int(a[1]))}"
    ),
    "RevealWindowClosed": lambda a, d: (
        f"the reveal window of slot {a[0]} ended at {utc(int(a[1]))}: the commitment can only "
        "be reclaimed now, without its bond"
    ),
    "RevealWindowOpen": lambda a, d: (
        f"slot {a[0]} is in its reveal window until {utc(int(a[1]))}: its commitments can be "
        "reclaimed only after that"
    ),
}


def plain_words(exc: BaseException, decimals: int) -> str:
    """What a refused transaction means (``exc``: a ``TransactionRevertedError`` or a
    ``ContractRevertError``); its own message when the error has no text here."""
    from chain.errors import ContractRevertError

    reason = getattr(exc, "reason", None) if not isinstance(exc, ContractRevertError) else exc
    if isinstance(reason, ContractRevertError):
        words = _PLAIN.get(reason.name)
        if words is not None:
            return words(reason.args_decoded, decimals)
        return str(reason)
    return str(exc)
