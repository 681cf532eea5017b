"""Which exceptions are a user's mistake, and the one line the command line prints for each.

A user's mistake (bad input, a missing file, a wrong password, an unreachable node, a database
never migrated, a revert) ends in one red line on stderr and exit code 1, never a traceback;
anything else is a bug and keeps its traceback. Each package raises its own root for what a
user can cause; the operating system's file errors count too (a path the user gave).
"""

from __future__ import annotations

from typer import _click as click

from agents.errors import AgentError
from billing.errors import BillingError
from chain.errors import ChainError
from devices.errors import DeviceError
from enerwise.errors import EnerwiseError
from grid.errors import GridError
from indexer.errors import IndexerError
from market.errors import MarketError
from operations.errors import OperatorError
from oracles.errors import OracleError
from wallet.errors import WalletError

USER_ERRORS: tuple[type[Exception], ...] = (
    EnerwiseError,
    ChainError,
    WalletError,
    MarketError,
    OracleError,
    IndexerError,
    AgentError,
    OperatorError,
    DeviceError,
    BillingError,
    GridError,
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (a file error names the file and the reason)."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror.lower()}"
    message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
    text = message.strip() or type(exc).__name__
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def usage_line(exc: click.ClickException) -> str:
    """A usage error on one line, naming the command's help."""
    text = one_line(exc).removesuffix(".") if exc.format_message() else type(exc).__name__
    ctx = getattr(exc, "ctx", None)
    return f"{text} (see `{ctx.command_path} --help`)" if ctx is not None else text
