"""Options and helpers shared by the ``enerwise operator`` command groups."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from enerwise.cli.console import confirm, err_console
from enerwise.cli.options import DEFAULT_COMMUNITY, CommunityConfig, SigningKey, YesFlag
from operations.errors import (
    CommunityConfigError,
    OperatorError,
)

if TYPE_CHECKING:
    from operations.context import Approve, Community
    from operations.health import IndexSource
    from wallet.transactions import TransactionSender

RpcOverride = Annotated[
    str | None,
    typer.Option("--rpc-url", metavar="URL", help="Override chain.rpc_url of the config."),
]
IndexerUrl = Annotated[
    str | None,
    typer.Option(
        "--indexer-url",
        envvar="ENERWISE_INDEXER_URL",
        metavar="URL",
        help="Indexer API (e.g. http://127.0.0.1:8000) for last readings; default: the chain.",
    ),
]
IndexDatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="ENERWISE_DATABASE_URL",
        metavar="URL",
        help="Indexer database for last readings (when no --indexer-url); default: the chain.",
    ),
]


def community_and_sender(
    config: Path, key: SigningKey, rpc_url: str | None = None
) -> tuple[Community, TransactionSender]:
    """The community of ``config`` (its chain checked; on ``rpc_url`` if given) and its sender
    for ``key`` (a keystore file or an address in the folder), unlocked."""
    from operations.context import Community

    community = Community.open(config, rpc_url)
    return community, community.sender(key.unlock(key.signer()))


@dataclass(frozen=True)
class CommunityChange:
    """What a command that changes the community's contracts takes: the key that signs, the
    community config, and ``--yes`` (an option group of
    :func:`enerwise.cli.options.option_groups`)."""

    key: SigningKey
    config: CommunityConfig = DEFAULT_COMMUNITY
    yes: YesFlag = False

    def open(self, rpc_url: str | None = None) -> tuple[Community, TransactionSender]:
        """The community and its sender for the key (see :func:`community_and_sender`)."""
        return community_and_sender(self.config, self.key, rpc_url)

    @property
    def approve(self) -> Approve:
        """Shows the plan and asks on a terminal (see :func:`asker`)."""
        return asker(self.yes)


def which_contracts(text: str, option: str) -> Literal["market", "registry", "both"]:
    """The contracts an option such as ``--only`` or ``--on`` names: market, registry or both."""
    if text == "market":
        return "market"
    if text == "registry":
        return "registry"
    if text == "both":
        return "both"
    raise OperatorError(f"{option}: {text!r}: use both, market or registry")


def asker(yes: bool) -> Approve:
    """An :data:`operations.context.Approve` that shows the plan on stderr and asks on a
    terminal (``--yes``: shows it and goes on)."""

    def approve(plan: list[str]) -> None:
        confirm(f"Send {len(plan)} change(s)?", yes=yes, plan=plan)

    return approve


ConfigPositional = Annotated[Path | None, typer.Argument(hidden=True, show_default=False)]
"""The old positional CONFIG of ``init``, ``check`` and ``deploy`` (deprecated: use -c)."""


def config_path(option: Path, positional: Path | None) -> Path:
    """The community config of ``-c`` (or of the old positional spelling, with a warning)."""
    if positional is None:
        return option
    err_console.print(
        "[yellow]warning:[/] a positional CONFIG is deprecated: use -c/--config FILE",
        highlight=False,
    )
    return positional


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


@dataclass(frozen=True)
class LastReadings:
    """Where the meters' last readings are read: the indexer's API (``--indexer-url``) or its
    database (``--database-url``), else the chain (an option group of
    :func:`enerwise.cli.options.option_groups`)."""

    indexer_url: IndexerUrl = None
    database_url: IndexDatabaseUrl = None

    def database(self) -> IndexSource | None:
        """The indexer's database as a source (see :func:`index_database`)."""
        return index_database(self.database_url)


def age_text(last: int | None, age: int | None) -> str:
    if last is None or age is None:
        return "never"
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(last, UTC).strftime("%Y-%m-%d %H:%M")
    return f"{when} ({age // 60} min ago)" if age >= 0 else when


def health_markup(health: str) -> str:
    colour = {"ok": "green", "late": "yellow", "silent": "red"}.get(health)
    return f"[{colour}]{health}[/]" if colour else health
