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


MISTAKE_PROBE = (
    "import json, sys\n"
    "from enerwise.cli import main\n"
    "sys.argv = ['enerwise', 'agent', 'eval', '--days', '0']\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "print(json.dumps([code, sorted(sys.modules)]))\n"
)


def test_a_mistake_in_agent_eval_is_answered_before_torch_loads() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", MISTAKE_PROBE], capture_output=True, text=True, env=env, check=True
    )
    code, modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert code == 1
    assert "torch" not in {name.split(".")[0] for name in modules}
