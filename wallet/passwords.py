"""Where keystore passwords come from: a hidden prompt, an environment variable, a file.

A password is never taken from the command line itself (it would show in ``ps``, in shell
history and in the process title); the command line only names the variable or the file.
Errors name the source (the variable, the file), never the password.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wallet.errors import PasswordError, unreadable

#: Reads one line without echo; ``getpass.getpass`` by default, replaceable in tests.
HiddenInput = Callable[[str], str]


def password_from_file(path: str | os.PathLike[str]) -> str:
    """The first line of ``path``, its trailing newline (``\\n`` or ``\\r\\n``) stripped.

    Other whitespace is kept: it may be part of the password. An empty first line is refused.
    """
    file = Path(path)
    try:
        with file.open("rb") as handle:
            raw = handle.readline()
    except OSError as exc:
        raise PasswordError(f"password file {file} {unreadable(exc)}", str(file)) from None
    line: str | None = None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:  # it holds the bytes: raise ours outside this block
        line = None
    if line is None:
        raise PasswordError(f"password file {file} is not UTF-8 text", str(file))
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise PasswordError(f"password file {file} has an empty first line", str(file))
    return password


def password_from_env(name: str) -> str:
    """The value of the environment variable ``name`` (which must be set and not empty)."""
    value = os.environ.get(name)
    if value is None:
        raise PasswordError(f"environment variable {name} is not set")
    if not value:
        raise PasswordError(f"environment variable {name} is empty")
    return value


def prompt_password(
    prompt: str = "Password: ",
    *,
    confirm: bool = False,
    hidden_input: HiddenInput | None = None,
) -> str:
    """Ask for a password without echo; with ``confirm``, ask twice and require a match."""
    read = hidden_input or getpass.getpass
    try:
        password = read(prompt)
        if not password:
            raise PasswordError("empty password")
        if confirm and read("Repeat password: ") != password:
            raise PasswordError("the passwords do not match")
    except EOFError:
        raise PasswordError("no password given (end of input)") from None
    return password


@dataclass(frozen=True)
class PasswordSource:
    """One of: a password file, an environment variable, else an interactive prompt.

    ``repr`` shows where the password comes from, never the password.
    """

    file: Path | None = None
    env: str | None = None
    prompt: str = "Password: "

    def __post_init__(self) -> None:
        if self.file is not None and self.env is not None:
            raise PasswordError("give either a password file or a password variable, not both")

    @property
    def interactive(self) -> bool:
        return self.file is None and self.env is None

    def read(self, *, confirm: bool = False, hidden_input: HiddenInput | None = None) -> str:
        """The password; ``confirm`` only matters for the prompt (ask twice)."""
        if self.file is not None:
            return password_from_file(self.file)
        if self.env is not None:
            return password_from_env(self.env)
        return prompt_password(self.prompt, confirm=confirm, hidden_input=hidden_input)
