"""Rich consoles of the CLI: results go to stdout, progress and errors to stderr."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """One JSON document on stdout, nothing else (for scripts and hidden checks)."""
    print(json.dumps(data, indent=2, default=str))  # noqa: T201 - the CLI's JSON output
