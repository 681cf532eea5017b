"""The ``enerwise`` command line: one Typer sub-app per command group.

Errors a user can cause (bad input, unreachable node, a revert) end in one red line on stderr
and exit code 1, never a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

import typer

from agents.errors import AgentError
from billing.errors import BillingError
from chain.errors import ChainError
from devices.errors import DeviceError
from enerwise.cli.agent import app as agent_app
from enerwise.cli.auction import app as auction_app
from enerwise.cli.bench import app as bench_app
from enerwise.cli.chain import app as chain_app
from enerwise.cli.console import err_console
from enerwise.cli.demo import demo
from enerwise.cli.devices import app as devices_app
from enerwise.cli.forecast import app as forecast_app
from enerwise.cli.grid import app as grid_app
from enerwise.cli.indexer import app as indexer_app
from enerwise.cli.operator import app as operator_app
from enerwise.cli.oracle import app as oracle_app
from enerwise.cli.wallet import app as wallet_app
from enerwise.errors import SettingsError
from grid.errors import GridError
from indexer.errors import IndexerError
from market.errors import MarketError
from operations.errors import OperatorError
from oracles.errors import OracleError
from wallet.errors import WalletError

app = typer.Typer(
    name="enerwise",
    help="EnergyChain: a peer-to-peer energy market on an EVM chain.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold keys and passwords
    add_completion=False,
)
app.add_typer(chain_app, name="chain")
app.add_typer(auction_app, name="auction")
app.add_typer(bench_app, name="bench")
app.command("demo")(demo)
app.add_typer(agent_app, name="agent")
app.add_typer(forecast_app, name="forecast")
app.add_typer(wallet_app, name="wallet")
app.add_typer(oracle_app, name="oracle")
app.add_typer(indexer_app, name="indexer")
app.add_typer(operator_app, name="operator")
app.add_typer(devices_app, name="devices")
app.add_typer(grid_app, name="grid")

USER_ERRORS = (
    ChainError,
    WalletError,
    MarketError,
    SettingsError,
    OracleError,
    IndexerError,
    AgentError,
    OperatorError,
    DeviceError,
    BillingError,
    GridError,
)


def main() -> None:
    """Console-script entry point.

    Typer handles usage errors, ``Exit`` and Ctrl-C (exit 130); the package errors a user can
    cause reach this frame and become one line on stderr.
    """
    try:
        app()
    except USER_ERRORS as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
