"""``enerwise operator admin``: the two-step handover of the admin role (registry and market).

``operator deploy`` begins the handover from the deployer to the config's ``roles.admin``; that
key accepts it once the contracts' delay (one day) has passed, with ``admin accept``. Later
handovers are begun with ``admin transfer ADDRESS`` by the admin and can be cancelled until
accepted (``admin cancel``). ``admin status`` shows the admin and any pending handover.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from enerwise.cli.console import console
from enerwise.cli.operator_options import CommunityChange
from enerwise.cli.options import (
    DEFAULT_COMMUNITY,
    CommunityConfig,
    JsonFlag,
    option_groups,
)
from enerwise.cli.output import print_json

if TYPE_CHECKING:
    from energychain.records import AdminHandover

admin_app = typer.Typer(
    help="Hand the admin role of the registry and the market over in two steps "
    "(transfer, then accept by the new admin after one day).",
    no_args_is_help=True,
)


def _state_json(state: AdminHandover) -> dict[str, object]:
    return {
        "admin": state.admin,
        "pending_admin": state.pending,
        "accept_from": state.accept_from,
        "delay_seconds": state.delay_seconds,
    }


def _describe(state: AdminHandover) -> str:
    from operations.handover import when

    if state.pending is None or state.accept_from is None:
        return f"admin {state.admin}; no handover pending"
    return (
        f"admin {state.admin}; handover pending to {state.pending}, "
        f"to accept from {when(state.accept_from)} on"
    )


def _show(state: AdminHandover, json_out: bool) -> None:
    if json_out:
        print_json(_state_json(state))
    else:
        console.print(_describe(state), highlight=False)


def _send_with_key(change: CommunityChange, action: Callable[..., AdminHandover]) -> AdminHandover:
    """Run one handover ``action(community, sender, approve=...)`` signed with the key."""
    community, sender = change.open()
    return action(community, sender, approve=change.approve)


@admin_app.command("status")
def admin_status(config: CommunityConfig = DEFAULT_COMMUNITY, json_out: JsonFlag = False) -> None:
    """The admin of the registry and the market, and a pending handover (no key needed)."""
    from operations.context import Community
    from operations.handover import handover_status

    state = handover_status(Community.open(config))
    _show(state, json_out)


@admin_app.command("transfer")
@option_groups
def admin_transfer(
    address: Annotated[str, typer.Argument(metavar="ADDRESS", help="The new admin.")],
    change: CommunityChange,
    json_out: JsonFlag = False,
) -> None:
    """Begin handing the admin role over to ADDRESS (admin key); it accepts after the delay."""
    from operations.handover import begin_handover

    state = _send_with_key(change, partial(begin_handover, new_admin=address))
    _show(state, json_out)


@admin_app.command("accept")
@option_groups
def admin_accept(change: CommunityChange, json_out: JsonFlag = False) -> None:
    """Take over the admin role with the pending admin's key, once the delay has passed."""
    from operations.handover import accept_handover

    state = _send_with_key(change, accept_handover)
    if json_out:
        print_json(_state_json(state))
        return
    console.print(f"{state.admin} is now the admin of the registry and the market")


@admin_app.command("cancel")
@option_groups
def admin_cancel(change: CommunityChange, json_out: JsonFlag = False) -> None:
    """Cancel the pending handover (admin key)."""
    from operations.handover import cancel_handover

    state = _send_with_key(change, cancel_handover)
    _show(state, json_out)
