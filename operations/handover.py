"""The admin handover: one admin for the registry and the market, handed over in two steps.

The registry holds one ``DEFAULT_ADMIN_ROLE`` holder; the market asks the registry who it is.
The admin begins a handover (:func:`begin_handover`), the new admin accepts it with its own key
once the contracts' delay (``ADMIN_TRANSFER_DELAY_SECONDS``, one day) has passed
(:func:`accept_handover`), and until then the admin may cancel it (:func:`cancel_handover`).
``operator deploy`` begins the handover from the deployer to ``roles.admin``; the operator
accepts it with ``enerwise operator admin accept``. Every function checks first and sends
nothing when a check fails.
"""

from __future__ import annotations

from datetime import UTC, datetime

from web3 import Web3

from energychain.records import AdminHandover
from operations.config import _checksum
from operations.context import Approve, Community, approved
from operations.errors import PreflightError, RoleMissingError
from wallet.transactions import TransactionSender


def handover_status(community: Community) -> AdminHandover:
    """The admin of the community's contracts and the pending handover, if any."""
    return community.contracts().registry.admin_handover()


def when(unix_time: int) -> str:
    """``unix_time`` as ISO 8601 UTC, for messages."""
    return datetime.fromtimestamp(unix_time, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _now(community: Community) -> int:
    return int(community.w3.eth.get_block("latest")["timestamp"])


def _require_admin(state: AdminHandover, sender: TransactionSender, action: str) -> None:
    if state.admin != sender.address:
        raise RoleMissingError(
            f"{sender.address} is not the admin ({state.admin} is) and cannot {action}: use the "
            "admin key; nothing was sent"
        )


def begin_handover(
    community: Community,
    sender: TransactionSender,
    new_admin: str,
    *,
    approve: Approve | None = None,
) -> AdminHandover:
    """Schedule ``new_admin`` to take over; returns the state after. A handover already pending
    to ``new_admin`` is left alone (nothing sent); one to another account is replaced."""
    try:
        account = _checksum(new_admin)
    except ValueError as exc:
        raise PreflightError(f"ADDRESS: {exc}; nothing was sent") from None
    registry = community.contracts().registry
    state = registry.admin_handover()
    _require_admin(state, sender, "hand the admin role over")
    if account == state.admin:
        raise PreflightError(f"{account} already is the admin; nothing was sent")
    if state.pending == account:
        return state
    plan = [
        f"begin the admin handover of the registry and the market ({registry.address}) to "
        f"{account}: it can accept {state.delay_seconds} s after this transaction, with "
        "`enerwise operator admin accept`"
    ]
    if state.pending is not None:
        plan.append(f"this replaces the pending handover to {state.pending}")
    approved(approve, plan)
    sender.transact(registry.begin_admin_transfer(account))
    return registry.admin_handover()


def accept_handover(
    community: Community, sender: TransactionSender, *, approve: Approve | None = None
) -> AdminHandover:
    """Take over the admin role with the pending admin's key, once the delay has passed."""
    registry = community.contracts().registry
    state = registry.admin_handover()
    if state.admin == sender.address and state.pending is None:
        raise PreflightError(f"{sender.address} already is the admin; nothing to accept")
    if state.pending is None or state.accept_from is None:
        raise PreflightError(
            f"no admin handover is pending (the admin is {state.admin}); the admin begins one "
            "with `enerwise operator admin transfer ADDRESS`; nothing was sent"
        )
    if state.pending != sender.address:
        raise RoleMissingError(
            f"the handover is pending to {state.pending}, not to {sender.address}: accept with "
            "that account's key; nothing was sent"
        )
    now = _now(community)
    if not state.acceptable(now):
        raise PreflightError(
            f"the handover can be accepted from {when(state.accept_from)} on "
            f"({state.accept_from - now} s from chain time {when(now)}); nothing was sent"
        )
    approved(
        approve,
        [f"accept the admin role of the registry and the market, taking it from {state.admin}"],
    )
    sender.transact(registry.accept_admin_transfer())
    return registry.admin_handover()


def cancel_handover(
    community: Community, sender: TransactionSender, *, approve: Approve | None = None
) -> AdminHandover:
    """Cancel the pending handover with the admin's key."""
    registry = community.contracts().registry
    state = registry.admin_handover()
    _require_admin(state, sender, "cancel a handover")
    if state.pending is None:
        raise PreflightError("no admin handover is pending; nothing to cancel, nothing was sent")
    approved(approve, [f"cancel the admin handover to {state.pending}"])
    sender.transact(registry.cancel_admin_transfer())
    return registry.admin_handover()


def admin_or_pending(state: AdminHandover, account: str) -> bool:
    """Whether ``account`` is the admin or the admin-to-be of a pending handover."""
    wanted = Web3.to_checksum_address(account)
    return wanted in (state.admin, state.pending)
