"""Options and helpers shared by the ``enerwise operator`` command groups."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from operations.errors import (
    CommunityConfigError,
    OperatorError,
)

if TYPE_CHECKING:
    from operations.context import Community
    from operations.health import IndexSource
    from wallet.transactions import TransactionSender

#: Default community config (``--config``), overridable by this environment variable.
CONFIG_ENV = "ENERWISE_COMMUNITY"

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ConfigArg = Annotated[Path, typer.Argument(metavar="CONFIG", help="The community config (YAML).")]
ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config", "-c", envvar=CONFIG_ENV, help="The community config (YAML).", show_default=True
    ),
]
KeystoreOption = Annotated[
    Path,
    typer.Option("--keystore", metavar="FILE", help="Keystore file of the signing account."),
]
PasswordFile = Annotated[
    Path | None,
    typer.Option("--password-file", metavar="FILE", help="Keystore password: first line of FILE."),
]
PasswordEnv = Annotated[
    str | None,
    typer.Option("--password-env", metavar="VAR", help="Keystore password: environment variable."),
]
RpcOption = Annotated[
    str | None, typer.Option("--rpc-url", help="Override chain.rpc_url of the config.")
]
IndexerUrl = Annotated[
    str | None,
    typer.Option(
        "--indexer-url",
        envvar="ENERWISE_INDEXER_URL",
        help="Indexer API (e.g. http://127.0.0.1:8000) for last readings; default: the chain.",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="ENERWISE_DATABASE_URL",
        help="Indexer database for last readings (when no --indexer-url); default: the chain.",
    ),
]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before spending gas.")]


def keystore_sender(
    community: Community, keystore: Path, password_file: Path | None, password_env: str | None
) -> TransactionSender:
    from wallet.keystore import KeystoreSigner
    from wallet.passwords import PasswordSource

    password = PasswordSource(password_file, password_env, f"Password for {keystore}: ").read()
    return community.sender(KeystoreSigner.unlocked(keystore, password))


def decimal_option(text: str | None, field: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise CommunityConfigError(f"{field}: {text!r} is not a number") from None


# ---------------------------------------------------------------------------------- init


def index_database(url: str | None) -> IndexSource | None:
    """The indexer's database as a source of last readings for the operator tooling (which
    never imports the indexer); its refusals become :class:`OperatorError` lines."""
    from operations.health import LastReading

    if not url:
        return None

    def read(registry: str) -> list[LastReading]:
        from indexer.activity import meter_activity
        from indexer.errors import IndexerError

        try:
            found, _ = meter_activity(url, registry)
        except IndexerError as exc:
            raise OperatorError(str(exc)) from None
        return [LastReading(a.meter_id, a.last_reading_time, a.reading_count) for a in found]

    return read


def age_text(last: int | None, age: int | None) -> str:
    if last is None or age is None:
        return "never"
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(last, UTC).strftime("%Y-%m-%d %H:%M")
    return f"{when} ({age // 60} min ago)" if age >= 0 else when


def health_markup(health: str) -> str:
    colour = {"ok": "green", "late": "yellow", "silent": "red"}.get(health)
    return f"[{colour}]{health}[/]" if colour else health
