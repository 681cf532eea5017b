"""The command groups of ``enerwise``, each imported only when it is invoked.

``enerwise --help`` lists every group from :data:`GROUPS` without importing one; ``enerwise
operator ...`` imports ``enerwise.cli.operator`` and turns only its Typer app into Click
commands (Typer builds a validator per parameter: doing that for every command of every group
was most of the start-up time). A new group is one :class:`Group` line here; its module holds a
Typer app named ``app`` (one command, like ``demo``, becomes that command itself).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

import typer
import typer.core
from typer import _click as click


@dataclass(frozen=True)
class Group:
    """One top-level command: its name, the module holding its Typer ``app``, its help line;
    ``single``: the app's one command is the command itself (``enerwise demo``), otherwise
    the app is a group even with one sub-command (``enerwise auction clear``)."""

    name: str
    module: str
    help: str
    single: bool = False


GROUPS: tuple[Group, ...] = (
    Group(
        "demo",
        "enerwise.cli.demo",
        "A community market day on a local chain (make demo).",
        single=True,
    ),
    Group("chain", "enerwise.cli.chain", "Compile the contracts, run a local chain, deploy."),
    Group("auction", "enerwise.cli.auction", "Clear a slot's order book (Python rule or chain)."),
    Group("wallet", "enerwise.cli.wallet", "Encrypted keystores, signing, agent keys."),
    Group("market", "enerwise.cli.market", "Sealed market: commit, reveal, reclaim orders."),
    Group("operator", "enerwise.cli.operator", "Run a community market: config, deploy, meters."),
    Group("oracle", "enerwise.cli.oracle", "Meter oracles: read, sign, submit, audit readings."),
    Group("indexer", "enerwise.cli.indexer", "Chain events into a database; the HTTP API."),
    Group("agent", "enerwise.cli.agent", "Trading agents: train, evaluate, export, run."),
    Group("forecast", "enerwise.cli.forecast", "Forecast load, PV and prices; refit the shipped."),
    Group("devices", "enerwise.cli.devices", "Household battery, EV charger and heat pump."),
    Group("grid", "enerwise.cli.grid", "Power flows: transfer limits per community and slot."),
    Group(
        "city",
        "enerwise.cli.city",
        "A city's community markets and pool for a day, on one local chain.",
        single=True,
    ),
    Group("bench", "enerwise.cli.bench", "Benchmarks: measured figures (gas, tx/s, ...)."),
    Group(
        "soak",
        "enerwise.cli.soak",
        "Chaos soak: the day with faults injected, then proof nothing was lost.",
        single=True,
    ),
)


_ROOT_ONLY = frozenset({"install_completion", "show_completion"})
"""Options Typer adds to every app it converts; shell completion belongs to ``enerwise``."""


class LazyGroup(typer.core.TyperGroup):
    """A Typer group whose sub-commands are the :data:`GROUPS`, loaded on first use.

    While help is being formatted (the command list), a group is a stand-in carrying its help
    line; resolving a name to run it, or asking for its own help, loads the real one.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False
        for group in GROUPS:
            self.commands.setdefault(group.name, _stand_in(group))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = self.commands.get(cmd_name)
        if self._listing or not isinstance(found, _StandIn):
            return found
        loaded = load(found.group)
        self.commands[cmd_name] = loaded
        return loaded

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


class _StandIn(typer.core.TyperCommand):
    group: Group


def _stand_in(group: Group) -> _StandIn:
    command = _StandIn(name=group.name, help=group.help, short_help=group.help)
    command.group = group
    return command


def load(group: Group) -> click.Command:
    """The Click command of ``group`` (its module imported, its Typer app converted)."""
    sub_app = importlib.import_module(group.module).app
    command = typer.main.get_command(sub_app) if group.single else typer.main.get_group(sub_app)
    command.params = [p for p in command.params if p.name not in _ROOT_ONLY]
    command.name = group.name
    if not command.help:
        command.help = group.help
    command.short_help = group.help
    _reflow(command)
    return command


def _reflow(command: click.Command) -> None:
    """Join the lines of each help paragraph of ``command`` and its sub-commands (Rich help
    keeps the line breaks of a docstring's later paragraphs; a list item stays a line)."""
    if command.help:
        paragraphs = inspect.cleandoc(command.help).split("\n\n")
        command.help = "\n\n".join(_join_lines(p) for p in paragraphs)
    for sub in getattr(command, "commands", {}).values():
        _reflow(sub)


def _join_lines(paragraph: str) -> str:
    lines = paragraph.splitlines()
    if any(line.lstrip().startswith(("- ", "* ", "\b")) for line in lines):
        return paragraph
    return " ".join(line.strip() for line in lines)
