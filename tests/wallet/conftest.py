"""Fixtures of the key-management tests: a fast keystore, known secrets, the CLI as a user runs it.

Keystores written through the API here use scrypt n = 2**10 (milliseconds instead of ~0.8 s);
unlocking reads n from the file, so the CLI is fast on them too. Keystores the CLI itself
creates use the real n = 262144, unless a test asks for ``fast_keystores`` (tests/conftest.py).

``run_cli`` runs the command in a subprocess (the entry point, a piped stdin, what a stray
warning or traceback would print); ``cli`` runs it in this process through the same entry point
(``main``) with the same environment rules, and saves the ~0.6 CPU-s of a Python start and the
CLI's imports per call.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.in_process import CliResult, run_command
from tests.wallet.known_secrets import FAST_SCRYPT_N, OTHER_PASSWORD, PASSWORD
from wallet.keystore import Keystore

CliRun = Callable[..., subprocess.CompletedProcess[str]]


InProcessRun = Callable[..., CliResult]


@pytest.fixture
def keystore_dir(tmp_path: Path) -> Path:
    return tmp_path / "keystore"


@pytest.fixture
def keystore(keystore_dir: Path) -> Keystore:
    return Keystore(keystore_dir, scrypt_n=FAST_SCRYPT_N)


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n")
    return path


@pytest.fixture
def other_password_file(tmp_path: Path) -> Path:
    path = tmp_path / "other-password.txt"
    path.write_text(OTHER_PASSWORD + "\n")
    return path


@pytest.fixture
def run_cli(tmp_path: Path) -> CliRun:
    """``enerwise ARGS`` in a subprocess with a private HOME; returns the completed process."""

    def run(
        *args: str | os.PathLike[str], env: dict[str, str] | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        inherited = {k: v for k, v in os.environ.items() if k != "ENERWISE_KEYSTORE_DIR"}
        full_env = {
            **inherited,
            "HOME": str(tmp_path / "home"),
            "ENERWISE_HOME": str(tmp_path / "home" / ".enerwise"),
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "enerwise", *map(str, args)],
            capture_output=True,
            text=True,
            env=full_env,
            input=stdin,
            timeout=120,
        )

    return run


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> InProcessRun:
    """``enerwise ARGS`` in this process, as ``run_cli`` runs it: a private HOME, no inherited
    ENERWISE_KEYSTORE_DIR, ``env`` and ``stdin`` (a pipe: no terminal) for this call only."""

    def run(
        *args: str | os.PathLike[str], env: dict[str, str] | None = None, stdin: str = ""
    ) -> CliResult:
        with monkeypatch.context() as call:
            call.delenv("ENERWISE_KEYSTORE_DIR", raising=False)
            call.setenv("HOME", str(tmp_path / "home"))
            call.setenv("ENERWISE_HOME", str(tmp_path / "home" / ".enerwise"))
            for name, value in (env or {}).items():
                call.setenv(name, value)
            call.setattr(sys, "stdin", io.StringIO(stdin))
            return run_command(call, capsys, *args)

    return run
