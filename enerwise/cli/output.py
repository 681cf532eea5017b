"""What commands print besides their human text: JSON for scripts, progress for people and logs.

- :func:`print_json`: the result of a ``--json`` command, one document on stdout and nothing
  else there; :func:`print_json_line` for commands that stream (one object per line, flushed);
  :func:`print_measured` for a benchmark's figures (JSON, or a line each).
- :func:`progress` and :func:`status`: a long command's progress on stderr. On a terminal a
  Rich bar or spinner; otherwise (a log file, CI, a service) plain lines with the elapsed time,
  at most one per :data:`LOG_EVERY_SECONDS` plus the first and the last, that read well in a
  log and never redraw.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import RenderableType

from enerwise.cli.console import console, err_console

LOG_EVERY_SECONDS = 10.0
"""Least time between two progress lines in a log."""


def print_json(data: Any) -> None:
    """One JSON document on stdout, nothing else (for scripts and hidden checks)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_result(
    result: dict[str, Any], json_out: bool, table: Callable[[dict[str, Any]], RenderableType]
) -> None:
    """``result`` as one JSON document for ``--json``, else as the table ``table`` makes of it."""
    if json_out:
        print_json(result)
    else:
        console.print(table(result))


def print_measured(figures: dict[str, Any], json_out: bool, *, name_width: int = 40) -> None:
    """A benchmark's ``figures``: one JSON document for ``--json``, else a ``name  value`` line
    each (names padded to ``name_width``)."""
    if json_out:
        print_json(figures)
        return
    for name, value in figures.items():
        console.print(f"{name:<{name_width}} {value}")


def print_json_line(data: Any) -> None:
    """One JSON object on one line of stdout, flushed (a stream a script reads as it comes)."""
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def log_line(started: float, message: str) -> None:
    """``[  12.3 s] message`` on stderr, without markup or wrapping: a progress line of a log."""
    elapsed = time.perf_counter() - started
    err_console.out(f"[{elapsed:7.1f} s] {message}", highlight=False)


def _terminal() -> bool:
    return err_console.is_terminal


QUIET_LOGGERS = ("httpx", "httpcore", "pymodbus", "ocpp", "websockets", "web3", "urllib3")
"""Libraries whose INFO records are every request: warnings and up only."""


class _StderrHandler(logging.StreamHandler[TextIO]):
    """A stream handler on whatever ``sys.stderr`` is when a record is written, not the stream
    it was when the handler was made: a command run in-process (a test's ``CliRunner``, which
    swaps ``sys.stderr`` per invocation and closes it after) must not leave later records
    writing to a closed stream."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """``StreamHandler.__init__`` and ``setStream`` assign it: nothing to keep."""


_HANDLERS: list[logging.Handler] = []
"""The handlers :func:`log_to_stderr` installed (a second call adds none)."""


def installed_handlers() -> tuple[logging.Handler, ...]:
    """The handlers :func:`log_to_stderr` installed on the root logger (for a test's clean-up)."""
    return tuple(_HANDLERS)


def log_to_stderr(level: str | int = "INFO") -> None:
    """Send log records to stderr: Rich's handler on a terminal, plain timestamped lines in a
    log (no padding to the console's width, no colours); a second call changes only the level."""
    root = logging.getLogger()
    if not any(h in _HANDLERS for h in root.handlers):
        handler: logging.Handler
        if _terminal():
            from rich.logging import RichHandler

            handler = RichHandler(console=err_console, show_path=False, rich_tracebacks=False)
        else:
            handler = _StderrHandler()
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
            )
        _HANDLERS.append(handler)
        root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


@contextmanager
def progress(description: str, total: int, unit: str = "") -> Iterator[Callable[[int], None]]:
    """Yield ``update(done)`` for a task of ``total`` steps: a bar on a terminal, lines in a log
    (``training ppo: 40,000/400,000 steps (10 %), 1:52 left``)."""
    if _terminal():
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err_console) as bar:
            task = bar.add_task(description, total=total)
            yield lambda done: bar.update(task, completed=done)
        return
    started = time.perf_counter()
    last = [0.0, -1]  # time of the last line (the start line at 0), the count it showed
    suffix = f" {unit}" if unit else ""

    def update(done: int) -> None:
        now = time.perf_counter() - started
        if done == last[1] or (now - last[0] < LOG_EVERY_SECONDS and 0 < done < total):
            return
        last[0], last[1] = now, done
        share = done / total if total else 1.0
        left = f", {_clock(now / share - now)} left" if 0 < share < 1 else ""
        log_line(started, f"{description}: {done:,}/{total:,}{suffix} ({share:.0%}){left}")

    log_line(started, f"{description}: started, {total:,}{suffix}")
    yield update
    log_line(started, f"{description}: done")


@contextmanager
def status(description: str) -> Iterator[Callable[[str], None]]:
    """Yield ``update(message)`` for a task of unknown length: a spinner on a terminal, one
    line per message in a log (the same message twice is written once)."""
    if _terminal():
        with err_console.status(description) as spinner:
            yield lambda message: spinner.update(message)
        return
    started = time.perf_counter()
    last = [""]

    def update(message: str) -> None:
        if message != last[0]:
            last[0] = message
            log_line(started, message)

    update(description)
    yield update
    log_line(started, f"{description}: done")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
