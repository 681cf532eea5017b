"""``enerwise chain``: compile, start/stop the local node, deploy, status."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from chain.errors import ChainError, DeploymentError
from enerwise.cli.console import confirm, console, err_console
from enerwise.cli.options import (
    JsonFlag,
    RpcUrl,
    SettingsConfig,
    SigningKey,
    YesFlag,
    option_groups,
)
from enerwise.cli.output import print_json

if TYPE_CHECKING:
    from chain.reverts import RevertDecoder

app = typer.Typer(help="Compile the contracts, run a local chain, deploy.", no_args_is_help=True)


def _compile(force: bool = False) -> RevertDecoder:
    from chain.compiler import compile_contracts
    from chain.reverts import RevertDecoder

    result = compile_contracts(force=force)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    return RevertDecoder(a.abi for a in result.artifacts.values())


@app.command("compile")
def compile_command(
    force: Annotated[bool, typer.Option(help="Recompile even if nothing changed.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Compile contracts/ into build/contracts (skipped when nothing changed)."""
    from chain.compiler import compile_contracts

    started = time.perf_counter()
    result = compile_contracts(force=force)
    seconds = time.perf_counter() - started
    if json_out:
        print_json(
            {
                "contracts": sorted(result.artifacts),
                "cached": result.cached,
                "input_hash": result.input_hash,
                "seconds": round(seconds, 3),
                "warnings": result.warnings,
            }
        )
        return
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    state = "up to date" if result.cached else "compiled"
    console.print(
        f"{len(result.artifacts)} contracts {state} in {seconds:.2f} s -> build/contracts"
    )


@app.command("up")
def up(
    port: Annotated[int | None, typer.Option(help="Port (default: a free one).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Start a local anvil chain, deploy EnergyChain, print the RPC URL.

    A second `up` reuses the running chain (and its deployment) instead of starting another.
    """
    from chain.connection import connect
    from chain.local_node import ANVIL_DEV_KEYS, LocalChain
    from energychain.deploy import Deployment, MarketSettings, deploy_energychain, deployment_path
    from wallet.signer import LocalKeySigner
    from wallet.transactions import TransactionSender

    local = LocalChain()
    info = local.status()
    reused = info is not None
    if info is None:
        decoder = _compile()
        info = local.up(port=port)
        try:
            w3 = connect(info.rpc_url)
            sender = TransactionSender(w3, LocalKeySigner(ANVIL_DEV_KEYS[0]), decode_revert=decoder)
            deployment = deploy_energychain(sender, MarketSettings())
            deployment.save()
        except BaseException:
            local.down()  # never leave a half-set-up chain behind
            raise
    else:
        deployment = Deployment.load(deployment_path(info.chain_id))
    if json_out:
        print_json(
            {
                "rpc_url": info.rpc_url,
                "chain_id": info.chain_id,
                "pid": info.pid,
                "reused": reused,
                "addresses": deployment.addresses,
            }
        )
        return
    if reused:
        err_console.print(f"a local chain already runs (pid {info.pid}); reusing it")
    for name, address in deployment.addresses.items():
        err_console.print(f"  {name:<14} {address}")
    console.print(info.rpc_url)


@app.command("down")
def down(json_out: JsonFlag = False) -> None:
    """Stop the local chain started by `enerwise chain up` (and only that process)."""
    from chain.local_node import LocalChain

    info = LocalChain().down()
    if json_out:
        stopped = {"rpc_url": info.rpc_url, "pid": info.pid} if info else {}
        print_json({"stopped": info is not None, **stopped})
    elif info is None:
        console.print("no local chain was running")
    else:
        console.print(f"stopped the local chain at {info.rpc_url} (pid {info.pid})")


@app.command("status")
def status(json_out: JsonFlag = False) -> None:
    """Say what runs: the local node, its deployment, the head block."""
    from chain.connection import connect
    from chain.local_node import LocalChain
    from energychain.deploy import Deployment, deployment_path

    info = LocalChain().status()
    if info is None:
        if json_out:
            print_json({"running": False})
        else:
            console.print("no local chain is running (start one with `enerwise chain up`)")
        return
    w3 = connect(info.rpc_url)
    block = int(w3.eth.block_number)
    try:
        addresses = Deployment.load(deployment_path(info.chain_id)).addresses
    except DeploymentError:
        addresses = {}
    if json_out:
        print_json(
            {
                "running": True,
                "rpc_url": info.rpc_url,
                "chain_id": info.chain_id,
                "pid": info.pid,
                "block": block,
                "addresses": addresses,
            }
        )
        return
    console.print(
        f"local chain {info.rpc_url} (pid {info.pid}, chain {info.chain_id}) at block {block}"
    )
    for name, address in addresses.items():
        console.print(f"  {name:<14} {address}")


@app.command("deploy")
@option_groups
def deploy(
    key: SigningKey,
    rpc_url: RpcUrl = None,
    payment_token: Annotated[
        str | None, typer.Option(help="Payment ERC-20 (default: deploy a TestEuro).")
    ] = None,
    yes: YesFlag = False,
    config: SettingsConfig = None,
    json_out: JsonFlag = False,
) -> None:
    """Deploy EnergyChain to any JSON-RPC chain (testnet, L2, production node).

    The deployer's key comes from an encrypted keystore (`enerwise wallet new|import`); the
    command shows chain, account, balance and fees, and asks before it spends anything. For a
    community with its own config, roles and price grid use `enerwise operator deploy`.
    """
    from chain.connection import connect
    from energychain.deploy import MarketSettings, deploy_energychain
    from enerwise.settings import load_settings
    from wallet.transactions import TransactionSender

    settings = load_settings(config, rpc_url=rpc_url)
    if settings.rpc_url is None:
        raise ChainError(
            "no --rpc-url given (or ENERWISE_RPC_URL); for a local chain use `chain up`"
        )
    signer = key.signer()  # a bad file: before all
    w3 = connect(settings.rpc_url)
    key.unlock(signer, "Deployer's password: ")
    decoder = _compile()
    sender = TransactionSender(w3, signer, decode_revert=decoder)
    balance = int(w3.eth.get_balance(sender.address))
    fees = sender.fees()
    plan = (
        f"deploy to chain {sender.chain_id} at {settings.rpc_url} from {sender.address} "
        f"(balance {balance / 1e18:.6f} ETH, max fee {fees.max_fee_per_gas / 1e9:.3f} gwei)"
    )
    confirm("Spend gas on this deployment?", yes=yes, plan=[plan])
    deployment = deploy_energychain(sender, MarketSettings(payment_token=payment_token))
    path = deployment.save()
    if json_out:
        print_json(
            {
                "chain_id": deployment.chain_id,
                "block_number": deployment.block_number,
                "addresses": deployment.addresses,
                "record": str(path),
            }
        )
        return
    console.print(f"deployed; record written to {path}")
