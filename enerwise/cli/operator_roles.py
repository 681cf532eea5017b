"""``enerwise operator role``: grant, revoke and list the contracts' roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import typer

from enerwise.cli.console import confirm, console
from enerwise.cli.operator_options import CommunityChange, which_contracts
from enerwise.cli.options import (
    DEFAULT_COMMUNITY,
    CommunityConfig,
    JsonFlag,
    option_groups,
)
from enerwise.cli.output import print_json

role_app = typer.Typer(
    help="Grant, revoke and list the contracts' roles (admin, meter-admin, pauser).",
    no_args_is_help=True,
)


RoleArg = Annotated[
    str, typer.Argument(metavar="ROLE", help="admin, meter-admin or pauser (or FOO_ROLE).")
]
AddressArg = Annotated[str, typer.Argument(metavar="ADDRESS", help="The account.")]
OnOption = Annotated[
    str, typer.Option("--on", help="both (every contract defining the role), registry, market.")
]


def _role_change(
    action: Literal["grant", "revoke"],
    role: str,
    address: str,
    on: str,
    change: CommunityChange,
    json_out: bool,
) -> None:
    from operations.roles import apply_change, plan_change

    target = which_contracts(on, "--on")
    community, sender = change.open()
    planned = plan_change(community, sender, action, role, address, on=target)
    count = len(planned.contracts)
    asked = f"Send {count} transaction(s) from {sender.address}?"
    confirm(asked, yes=change.yes, plan=planned.describe())
    hashes = apply_change(community, sender, planned)
    if json_out:
        print_json(
            {
                "action": action,
                "role": planned.role,
                "account": planned.account,
                "contracts": list(planned.contracts),
                "skipped": list(planned.skipped),
                "transactions": hashes,
            }
        )
        return
    verb = "granted" if action == "grant" else "revoked"
    console.print(
        f"{verb} {planned.role} on the {' and the '.join(planned.contracts)}: {planned.account}",
        highlight=False,
    )


def _role_command(action: Literal["grant", "revoke"], doc: str) -> Callable[..., None]:
    """``operator role grant`` or ``revoke``: the same arguments, one verb."""

    def command(
        role: RoleArg,
        address: AddressArg,
        change: CommunityChange,
        on: OnOption = "both",
        json_out: JsonFlag = False,
    ) -> None:
        _role_change(action, role, address, on, change, json_out)

    command.__name__ = f"role_{action}"
    command.__doc__ = doc
    return role_app.command(action)(option_groups(command))


role_grant = _role_command(
    "grant",
    """Grant ROLE to ADDRESS (checked first: your key administers the role, ADDRESS lacks it;
    not admin: that one is handed over, `operator admin`).""",
)
role_revoke = _role_command(
    "revoke", """Revoke ROLE from ADDRESS (not admin: that one is handed over, `operator admin`)."""
)


@role_app.command("list")
def role_list(
    role: Annotated[
        str | None, typer.Argument(metavar="[ROLE]", help="Only this role (default: all).")
    ] = None,
    config: CommunityConfig = DEFAULT_COMMUNITY,
    json_out: JsonFlag = False,
) -> None:
    """Holders of every role per contract, from RoleGranted/RoleRevoked events (no key needed)."""
    from rich.table import Table

    from operations.context import Community
    from operations.roles import cli_name, list_roles

    found = list_roles(Community.open(config), role)
    if json_out:
        print_json(
            [
                {
                    "contract": r.contract,
                    "role": r.role,
                    "name": cli_name(r.role),
                    "members": r.members,
                }
                for r in found
            ]
        )
        return
    table = Table("contract", "role", "holders")
    for r in found:
        table.add_row(r.contract, f"{cli_name(r.role)} ({r.role})",
                      "\n".join(r.members) or "[red]nobody[/]")  # fmt: skip
    console.print(table)
