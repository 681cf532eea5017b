"""``enerwise wallet agent``: grant, revoke and list agent keys on the market contract."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from enerwise.cli.console import console, print_json

if TYPE_CHECKING:
    from energychain.market import Market
    from wallet.transactions import TransactionSender

app = typer.Typer(help="Delegate bounded trading to agent keys.", no_args_is_help=True)

OwnerRef = Annotated[
    str,
    typer.Option("--keystore", metavar="PATH|ADDRESS", help="The owner's keystore or address."),
]
KeystoreDir = Annotated[Path | None, typer.Option("--keystore-dir", metavar="DIR")]
PasswordFile = Annotated[Path | None, typer.Option("--password-file", metavar="FILE")]
PasswordEnv = Annotated[str | None, typer.Option("--password-env", metavar="VAR")]
RpcUrl = Annotated[
    str | None, typer.Option("--rpc-url", envvar="ENERWISE_RPC_URL", help="JSON-RPC endpoint.")
]
DeploymentFile = Annotated[
    Path | None, typer.Option("--deployment", help="Deployment record (default: by chain id).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _owner_sender(
    rpc_url: str | None,
    keystore: str,
    keystore_dir: Path | None,
    password_file: Path | None,
    password_env: str | None,
    deployment_file: Path | None,
) -> tuple[TransactionSender, Market]:
    from chain.connection import connect, resolve_rpc_url
    from energychain.contracts import revert_decoder
    from energychain.deploy import load_deployment
    from wallet.keystore import Keystore
    from wallet.passwords import PasswordSource
    from wallet.transactions import TransactionSender

    w3 = connect(resolve_rpc_url(rpc_url))
    deployment = load_deployment(w3, deployment_file)
    password = PasswordSource(password_file, password_env, "Owner's password: ").read()
    signer = Keystore(keystore_dir).signer(keystore, password)
    sender = TransactionSender(w3, signer, decode_revert=revert_decoder())
    return sender, deployment.contracts(w3).market


@app.command("grant")
def grant(
    agent: Annotated[str, typer.Option("--agent", help="The agent's address.")],
    budget_per_day: Annotated[
        int, typer.Option("--budget-per-day", min=0, help="Payment base units per UTC day.")
    ],
    max_buy_tick: Annotated[int, typer.Option("--max-buy-tick", help="Highest buy tick.")],
    min_sell_tick: Annotated[int, typer.Option("--min-sell-tick", help="Lowest sell tick.")],
    expiry: Annotated[str, typer.Option("--expiry", help="ISO 8601 time (UTC if no zone).")],
    keystore: OwnerRef,
    keystore_dir: KeystoreDir = None,
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    json_out: JsonFlag = False,
) -> None:
    """Authorize an agent key to trade for the owner within a daily budget and price bounds."""
    from energychain.delegation import AgentGrant, grant_agent, parse_address, parse_expiry

    request = AgentGrant(
        agent=parse_address(agent, "agent"),
        budget_per_day=budget_per_day,
        max_buy_tick=max_buy_tick,
        min_sell_tick=min_sell_tick,
        expiry=parse_expiry(expiry),
    )
    sender, market = _owner_sender(
        rpc_url, keystore, keystore_dir, password_file, password_env, deployment
    )
    receipt = grant_agent(sender, market, request)
    if json_out:
        print_json({"agent": request.agent, "tx": receipt["transactionHash"].to_0x_hex()})
    else:
        console.print(f"agent {request.agent} authorized for {sender.address}")


@app.command("revoke")
def revoke(
    agent: Annotated[str, typer.Argument(metavar="ADDR", help="The agent's address.")],
    keystore: OwnerRef,
    keystore_dir: KeystoreDir = None,
    password_file: PasswordFile = None,
    password_env: PasswordEnv = None,
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
) -> None:
    """Revoke an agent key at once."""
    from energychain.delegation import parse_address, revoke_agent

    address = parse_address(agent, "agent")
    sender, market = _owner_sender(
        rpc_url, keystore, keystore_dir, password_file, password_env, deployment
    )
    revoke_agent(sender, market, address)
    console.print(f"agent {address} revoked")


@app.command("list")
def list_command(
    owner: Annotated[str, typer.Option("--owner", help="The owner's address.")],
    rpc_url: RpcUrl = None,
    deployment_file: DeploymentFile = None,
    json_out: JsonFlag = False,
) -> None:
    """The owner's agent keys with their bounds and today's spending."""
    from chain.connection import connect, resolve_rpc_url
    from energychain.delegation import list_delegations, parse_address
    from energychain.deploy import load_deployment

    owner_address = parse_address(owner, "owner")
    w3 = connect(resolve_rpc_url(rpc_url))
    deployment = load_deployment(w3, deployment_file)
    market = deployment.contracts(w3).market
    now = int(w3.eth.get_block("latest")["timestamp"])
    rows = [
        d.as_dict(now) for d in list_delegations(market, owner_address, deployment.block_number)
    ]
    if json_out:
        print_json({"owner": owner_address, "agents": rows})
        return
    if not rows:
        console.print("no agent keys")
    for row in rows:
        state = "active" if row["active"] else "expired"
        console.print(
            f"{row['agent']}  budget {row['budget_per_day']}/day (spent {row['spent_today']})  "
            f"buy <= {row['max_buy_tick']}  sell >= {row['min_sell_tick']}  "
            f"until {row['expiry']}  {state}"
        )
