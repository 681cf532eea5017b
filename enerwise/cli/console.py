"""The terminal: Rich consoles (results on stdout, progress and errors on stderr), whether a
person is there, and the one question state-changing commands ask before they send.

When stdout or stderr is not a terminal (a log file, CI, a service, ssh without a tty) its
console is :data:`LOG_WIDTH` columns wide instead of Rich's 80, so a table in a log is not cut;
``COLUMNS`` still wins.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

import typer
from rich.console import Console

from enerwise.errors import ConfirmationError

LOG_WIDTH = 240
"""Columns of a console that writes to a file or a pipe (no terminal to measure)."""


def _console(stream: TextIO, *, stderr: bool) -> Console:
    width = None if _is_tty(stream) or os.environ.get("COLUMNS") else LOG_WIDTH
    return Console(stderr=stderr, width=width)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


console = _console(sys.stdout, stderr=False)
err_console = _console(sys.stderr, stderr=True)


def stdout_is_terminal() -> bool:
    """Whether a person watches stdout (live views and bars) or a log records it (plain lines)."""
    return _is_tty(sys.stdout)


def stdin_is_terminal() -> bool:
    """Whether a person can answer a question."""
    return _is_tty(sys.stdin)


def confirm(question: str, *, yes: bool, plan: Sequence[str] = ()) -> None:
    """Show ``plan`` on stderr, then go on when ``yes`` (``--yes``) or when the person at the
    terminal agrees.

    Without a terminal nobody can answer, so nothing is sent unless ``--yes`` says so (and the
    refusal is the one line, without the plan); a "no" at the terminal ends the command
    (exit 1) with nothing sent.

    Raises:
        ConfirmationError: stdin is not a terminal and ``yes`` is false.
    """
    if not yes and not stdin_is_terminal():
        raise ConfirmationError(
            "this command asks before it changes anything and there is no terminal to answer: "
            "pass --yes to go ahead"
        )
    for line in plan:
        err_console.print(f"  {line}", highlight=False)
    if yes:
        return
    if not typer.confirm(question, default=False, err=True):
        err_console.print("nothing sent")
        raise typer.Exit(1)
