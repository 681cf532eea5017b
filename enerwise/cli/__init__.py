"""The ``enerwise`` command line: one Typer sub-app per command group, imported when invoked.

Errors a user can cause (bad input, unreachable node, a revert) end in one red line on stderr
and exit code 1, never a traceback (:mod:`enerwise.cli.user_errors`); anything else is a bug
and keeps its traceback. The grammar every group shares is in :mod:`enerwise.cli.options`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer import _click as click

from enerwise.cli.console import err_console
from enerwise.cli.groups import LazyGroup
from enerwise.cli.user_errors import USER_ERRORS, one_line, usage_line

app = typer.Typer(
    name="enerwise",
    cls=LazyGroup,
    help="EnergyChain: a peer-to-peer energy market on an EVM chain.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold keys and passwords
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("enerwise")
        except PackageNotFoundError:  # pragma: no cover - run from a bare checkout
            number = "unknown"
        typer.echo(f"enerwise {number} (Python {sys.version.split()[0]})")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """EnergyChain: a peer-to-peer energy market on an EVM chain.

    Guides: docs/households.md, docs/gateway.md, docs/operator.md, docs/auditors.md;
    the command grammar (--json, -c/--config, --yes, units) in docs/cli.md.
    """


def main() -> None:
    """Console-script entry point: the exit code, and one line on stderr for a mistake.

    A usage error (an unknown option, a value out of range) is one line naming the command's
    ``--help`` (exit 2); the errors a user can cause at run time are one line (exit 1); Ctrl-C
    exits 130. Anything else is a bug and keeps its traceback.
    """
    try:
        result = app(standalone_mode=False, prog_name="enerwise")
    except click.exceptions.NoArgsIsHelpError as exc:
        if exc.format_message().strip():  # Rich help printed itself already
            exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _error(usage_line(exc))
        sys.exit(exc.exit_code)
    except typer.Abort:
        _error("aborted")
        sys.exit(1)
    except USER_ERRORS as exc:
        _error(one_line(exc))
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


def _error(message: str) -> None:
    err_console.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
