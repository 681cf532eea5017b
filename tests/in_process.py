"""The ``enerwise`` console entry point run inside the test process."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from enerwise.cli import main


def forget_log_handlers() -> logging.Logger:
    """Remove the root logger's handlers (a command run before may have configured logging) and
    return the root logger."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    return root


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``enerwise ARGS`` through :func:`enerwise.cli.main`, the
    console-script entry point (an exit without a number counts as 1)."""
    monkeypatch.setattr(sys, "argv", ["enerwise", *map(str, args)])
    code: object = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return int(code) if isinstance(code, int) else 1, out, err


@dataclass(frozen=True)
class CliResult:
    """An in-process run's exit code and output, named as ``subprocess.CompletedProcess``
    names them (a test reads either the same way)."""

    returncode: int
    stdout: str
    stderr: str


def run_command(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: object,
    cwd: Path | None = None,
) -> CliResult:
    """:func:`run_main` as a :class:`CliResult`, from ``cwd`` if given (as a subprocess started
    there; the test's own directory is back afterwards)."""
    with monkeypatch.context() as call:
        if cwd is not None:
            call.chdir(cwd)
        return CliResult(*run_main(call, capsys, *args))
