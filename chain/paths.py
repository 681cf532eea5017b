"""Where the chain layer finds its tools and writes its files.

The repository root is the folder above this package (an editable install keeps it there).
``ENERWISE_HOME`` moves the state of runs (.run/, deployments/) elsewhere; compiled artifacts
depend only on the sources, so they stay in the repository's build/ (``ENERWISE_BUILD_DIR``
moves them).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLC_SCRIPT = REPO_ROOT / "chain" / "solc.js"
ANVIL_BIN = REPO_ROOT / "node_modules" / ".bin" / "anvil"
#: npm's ``anvil`` is a node script that starts the binary of the platform's optional package
#: (``@foundry-rs/anvil-linux-amd64`` and so on) and stays beside it: the binary itself is found
#: in that package's ``bin/``.
ANVIL_PLATFORM_BINS = REPO_ROOT / "node_modules" / "@foundry-rs"


def home() -> Path:
    """The folder that holds .run/ and deployments/ (the repo root by default)."""
    return Path(os.environ.get("ENERWISE_HOME", REPO_ROOT))


def build_dir() -> Path:
    return Path(os.environ.get("ENERWISE_BUILD_DIR", REPO_ROOT / "build"))


def run_dir() -> Path:
    return home() / ".run"


def deployments_dir() -> Path:
    return home() / "deployments"
