"""Password sources: file (first line), environment variable, hidden prompt; errors name the
source and never the password."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wallet.errors import PasswordError
from wallet.passwords import PasswordSource, password_from_env, password_from_file, prompt_password

SECRET = "s3cret with spaces\t"


def answers(*typed: str) -> Callable[[str], str]:
    """A stand-in for getpass that types ``typed`` in order and records the prompts."""
    queue: Iterator[str] = iter(typed)

    def hidden_input(prompt: str) -> str:
        hidden_input.prompts.append(prompt)  # type: ignore[attr-defined]
        return next(queue)

    hidden_input.prompts = []  # type: ignore[attr-defined]
    return hidden_input


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_password_file_gives_the_first_line_without_its_newline(
    tmp_path: Path, ending: str
) -> None:
    path = tmp_path / "pw"
    path.write_bytes((SECRET + ending + "second line\n").encode() if ending else SECRET.encode())
    assert password_from_file(path) == SECRET


def test_missing_password_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(PasswordError, match="does not exist") as caught:
        password_from_file(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(caught.value)


def test_password_file_with_an_empty_first_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("\nsecond\n")
    with pytest.raises(PasswordError, match="empty first line"):
        password_from_file(path)


def test_password_env_gives_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_PW", SECRET)
    assert password_from_env("MY_PW") == SECRET


def test_unset_or_empty_password_env_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MY_PW", raising=False)
    with pytest.raises(PasswordError, match="MY_PW is not set"):
        password_from_env("MY_PW")
    monkeypatch.setenv("MY_PW", "")
    with pytest.raises(PasswordError, match="MY_PW is empty"):
        password_from_env("MY_PW")


def test_prompt_asks_once_to_unlock() -> None:
    typed = answers(SECRET)
    assert prompt_password("Password: ", hidden_input=typed) == SECRET
    assert typed.prompts == ["Password: "]  # type: ignore[attr-defined]


def test_prompt_asks_twice_on_create_and_requires_a_match() -> None:
    assert prompt_password(confirm=True, hidden_input=answers(SECRET, SECRET)) == SECRET
    with pytest.raises(PasswordError, match="do not match") as caught:
        prompt_password(confirm=True, hidden_input=answers(SECRET, SECRET + "x"))
    assert SECRET not in str(caught.value)


def test_prompt_refuses_an_empty_password_and_end_of_input() -> None:
    with pytest.raises(PasswordError, match="empty"):
        prompt_password(hidden_input=answers(""))

    def closed(_: str) -> str:
        raise EOFError

    with pytest.raises(PasswordError, match="end of input"):
        prompt_password(hidden_input=closed)


def test_source_reads_file_then_env_else_prompts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "pw"
    path.write_text("from-file\n")
    monkeypatch.setenv("MY_PW", "from-env")
    assert PasswordSource(file=path).read() == "from-file"
    assert PasswordSource(env="MY_PW").read() == "from-env"
    assert PasswordSource().interactive
    assert PasswordSource().read(hidden_input=answers("typed")) == "typed"


def test_source_refuses_both_a_file_and_a_variable(tmp_path: Path) -> None:
    with pytest.raises(PasswordError, match="not both"):
        PasswordSource(file=tmp_path / "pw", env="MY_PW")
