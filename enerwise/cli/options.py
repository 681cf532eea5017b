"""The options every command group shares: one name, one meaning, one help text each.

The grammar (docs/cli.md):

- ``--json`` prints the result as JSON on stdout (a stream: one object per line); every
  command that reports something has it.
- ``-c/--config FILE`` is always an option (never positional) naming the YAML/TOML file that
  configures what the group acts on, with an environment variable for its default: the
  community (``operator``), the oracle (``oracle``), the household (``devices``), the
  application settings (``indexer``, ``chain deploy``).
- ``-y/--yes`` answers the question a state-changing command asks on a terminal; without a
  terminal such a command sends nothing unless ``--yes`` is given.
- ``--keystore PATH|ADDRESS`` (with ``--keystore-dir``), ``--password-file`` /
  ``--password-env``: the signing key, never a secret on the command line.
- ``--rpc-url``, ``--deployment``, ``--database-url``: where the chain, the deployment record
  and the indexer's database are.
- Amounts carry their unit in the option name (``--budget-eur-per-day``,
  ``--max-buy-eur-per-kwh``, ``--capacity-w``); base units only where the name says so
  (``--budget-base-units-per-day``, ``--max-buy-tick``).

An old spelling kept for scripts is a hidden option: :func:`deprecated` warns on stderr and
the value counts as the new option's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

import typer

from enerwise.cli.console import err_console
from enerwise.errors import OptionError
from wallet.defaults import KEYSTORE_DIR_ENV

_T = TypeVar("_T")

# ------------------------------------------------------------------------------- output, asking
JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON (a stream: one object per line).")
]
YesFlag = Annotated[
    bool,
    typer.Option(
        "--yes", "-y", help="Do not ask before sending (required when there is no terminal)."
    ),
]

# ------------------------------------------------------------------------------- config files
COMMUNITY_ENV = "ENERWISE_COMMUNITY"
"""Default community config of the ``operator`` commands."""
ORACLE_ENV = "ENERWISE_ORACLE_CONFIG"
"""Default oracle config of the ``oracle`` commands."""
HOUSEHOLD_ENV = "ENERWISE_HOUSEHOLD"
"""Default household file of the ``devices`` commands."""
SETTINGS_ENV = "ENERWISE_CONFIG"
"""Default application settings file (``indexer``, ``chain deploy``)."""
DEFAULT_COMMUNITY = Path("community.yaml")
"""The community config when neither ``-c`` nor ``ENERWISE_COMMUNITY`` names one."""

CommunityConfig = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        envvar=COMMUNITY_ENV,
        metavar="FILE",
        help="The community config (community.yaml).",
    ),
]
OracleConfig = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar=ORACLE_ENV, metavar="FILE", help="The oracle config (YAML/TOML)."
    ),
]
HouseholdConfig = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        envvar=HOUSEHOLD_ENV,
        metavar="FILE",
        help="The household file (household.yaml).",
    ),
]
SettingsConfig = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar=SETTINGS_ENV,
        metavar="FILE",
        help="Application settings (YAML/TOML; ENERWISE_* variables and flags win).",
    ),
]

# ------------------------------------------------------------------------------- keys
KeystoreRef = Annotated[
    str,
    typer.Option(
        "--keystore", metavar="PATH|ADDRESS", help="The signing key: a keystore file or address."
    ),
]
KeystoreDir = Annotated[
    Path | None,
    typer.Option(
        "--keystore-dir",
        metavar="DIR",
        help=f"Keystore folder for an address (default: ${KEYSTORE_DIR_ENV}, "
        "else ~/.enerwise/keystore).",
        show_default=False,
    ),
]
PasswordFile = Annotated[
    Path | None,
    typer.Option("--password-file", metavar="FILE", help="Keystore password: first line of FILE."),
]
PasswordEnv = Annotated[
    str | None,
    typer.Option("--password-env", metavar="VAR", help="Keystore password: environment variable."),
]

# ------------------------------------------------------------------------------- where things are
RpcUrl = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        envvar="ENERWISE_RPC_URL",
        metavar="URL",
        help="JSON-RPC endpoint (default: the config's, else the local `enerwise chain up`).",
    ),
]
DeploymentFile = Annotated[
    Path | None,
    typer.Option(
        "--deployment",
        metavar="FILE",
        help="Deployment record (default: deployments/<chainId>.json).",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL of the indexer's database (default: SQLite under .run/indexer).",
    ),
]


def deprecated(new_value: _T, old_value: _T | None, old: str, new: str) -> _T:
    """The value of option ``new``, or of its deprecated spelling ``old`` (with a warning).

    Raises:
        OptionError: both spellings were given.
    """
    if old_value is None:
        return new_value
    err_console.print(f"[yellow]warning:[/] {old} is deprecated: use {new}", highlight=False)
    if new_value is not None:
        raise OptionError(f"give {new} only ({old} is its old name)")
    return old_value
