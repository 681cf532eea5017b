"""Starting the command line loads no chain, data or web library (its start-up stays fast)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: Libraries a command imports when it runs, never ``import enerwise.cli`` itself.
HEAVY = (
    "web3",
    "eth_account",
    "eth_abi",
    "eth_utils",
    "eth_tester",
    "numpy",
    "pandas",
    "torch",
    "py_ecc",
    "pydantic",
    "pydantic_settings",
    "sqlalchemy",
    "fastapi",
    "httpx",
    "requests",
    "yaml",
    "pymodbus",
    "paho",
)

PROBE = "import json, sys; import enerwise.cli; print(json.dumps(sorted(sys.modules)))"


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}
    assert sorted(loaded & set(HEAVY)) == []
