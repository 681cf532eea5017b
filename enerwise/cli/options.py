"""The options every command group shares: one name, one meaning, one help text each.

The grammar (docs/cli.md):

- ``--json`` prints the result as JSON on stdout (a stream: one object per line); every
  command that reports something has it.
- ``-c/--config FILE`` is always an option (never positional) naming the YAML/TOML file that
  configures what the group acts on, with an environment variable for its default: the
  community (``operator``), the oracle (``oracle``), the household (``devices``), the
  application settings (``indexer``, ``chain deploy``); :func:`config_option` spells it.
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

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from enerwise.cli.console import err_console
from enerwise.errors import OptionError
from wallet.defaults import KEYSTORE_DIR_ENV

if TYPE_CHECKING:
    from wallet.keystore import KeystoreSigner

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


def config_option(envvar: str, what: str) -> Any:
    """``-c/--config FILE`` (help text ``what``), its default from ``envvar``: the one spelling
    of every group's config file."""
    return typer.Option("--config", "-c", envvar=envvar, metavar="FILE", help=what)


CommunityConfig = Annotated[
    Path, config_option(COMMUNITY_ENV, "The community config (community.yaml).")
]
OracleConfig = Annotated[Path | None, config_option(ORACLE_ENV, "The oracle config (YAML/TOML).")]
HouseholdConfig = Annotated[
    Path, config_option(HOUSEHOLD_ENV, "The household file (household.yaml).")
]
SettingsConfig = Annotated[
    Path | None,
    config_option(
        SETTINGS_ENV, "Application settings (YAML/TOML; ENERWISE_* variables and flags win)."
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


@dataclass(frozen=True)
class SigningKey:
    """The key a command signs with: ``--keystore PATH|ADDRESS`` (with ``--keystore-dir``) and
    where its password comes from (``--password-file`` / ``--password-env``, else a prompt).

    An option group: a command takes it as one parameter under :func:`option_groups`.
    """

    keystore: KeystoreRef
    keystore_dir: KeystoreDir = None
    password_file: PasswordFile = None
    password_env: PasswordEnv = None

    def signer(self) -> KeystoreSigner:
        """The key's signer, still locked (a wrong path or address fails here, first)."""
        from wallet.keystore import Keystore, KeystoreSigner

        return KeystoreSigner(Keystore(self.keystore_dir).locate(self.keystore))

    def unlock(self, signer: KeystoreSigner, prompt: str | None = None) -> KeystoreSigner:
        """``signer`` unlocked with the password (``prompt`` asks for it on a terminal)."""
        from wallet.passwords import PasswordSource

        asked = prompt or f"Password for {signer.path}: "
        signer.unlock(PasswordSource(self.password_file, self.password_env, asked).read())
        return signer


_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def _is_group(annotation: object) -> bool:
    """An option group: a dataclass whose fields are options (:class:`SigningKey`)."""
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def _group_parameters(group: type) -> list[inspect.Parameter]:
    """The options of ``group``'s fields (those of a nested group in its place), in order."""
    hints = typing.get_type_hints(group, include_extras=True)
    parameters: list[inspect.Parameter] = []
    for f in dataclasses.fields(group):
        if _is_group(hints[f.name]):
            parameters += _group_parameters(hints[f.name])
            continue
        default = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        parameters.append(
            inspect.Parameter(f.name, _KEYWORD, default=default, annotation=hints[f.name])
        )
    return parameters


def _group_value(group: type[_T], options: dict[str, Any]) -> _T:
    """``group`` made of (and taken out of) the option values ``options``."""
    hints = typing.get_type_hints(group, include_extras=True)
    values = {
        f.name: _group_value(hints[f.name], options)
        if _is_group(hints[f.name])
        else options.pop(f.name)
        for f in dataclasses.fields(group)  # type: ignore[arg-type]
    }
    return group(**values)


def option_groups(command: Callable[..., _T]) -> Callable[..., _T]:
    """``command`` with each parameter typed as an option group (a dataclass such as
    :class:`SigningKey`) replaced by the group's options.

    A group's options are declared once, on its fields, and reach the command as one value
    (Typer reads the rewritten signature).
    """
    signature = inspect.signature(command, eval_str=True)
    groups: dict[str, type] = {}
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if _is_group(parameter.annotation):
            groups[parameter.name] = parameter.annotation
            parameters += _group_parameters(parameter.annotation)
        else:
            parameters.append(parameter.replace(kind=_KEYWORD))

    @functools.wraps(command)
    def with_groups(**options: Any) -> _T:
        values: dict[str, object] = {
            name: _group_value(group, options) for name, group in groups.items()
        }
        return command(**values, **options)

    rewritten = signature.replace(parameters=parameters)
    with_groups.__signature__ = rewritten  # type: ignore[attr-defined]
    with_groups.__annotations__ = {p.name: p.annotation for p in parameters}
    with_groups.__annotations__["return"] = signature.return_annotation
    return with_groups


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
