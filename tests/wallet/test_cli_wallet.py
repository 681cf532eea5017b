"""`enerwise wallet ...` as a user runs it: JSON outputs, exit codes (0 ok, 1 user error),
one-line errors without tracebacks, and no secret anywhere in the output or the logs.

Most commands run in process through the console entry point (``cli``); ``new`` and ``delete``
without a terminal run as a subprocess (``run_cli``), for what only a real process shows: the
entry point, a piped stdin, nothing but the one line on stderr."""

from __future__ import annotations

import getpass
import io
import json
import logging
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

import enerwise.cli.console as console
from energychain.meter_reading import meter_reading_typed_data
from tests.in_process import run_main
from tests.wallet.known_secrets import (
    ANVIL_ADDRESS_0,
    ANVIL_ADDRESS_1,
    ANVIL_KEY_0,
    OTHER_PASSWORD,
    PASSWORD,
    TEST_MNEMONIC,
)
from wallet.keystore import Keystore
from wallet.typed_data import recover_typed_data_signer

BAD_CHECKSUM_MNEMONIC = "test test test test test test test test test test test test"
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def one_line_error(result: Any) -> str:
    """The single stderr line of a failed command (exit 1, no traceback)."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return str(lines[0])


@pytest.fixture
def typed_data_file(tmp_path: Path) -> Path:
    path = tmp_path / "reading.json"
    document = meter_reading_typed_data(
        31337, REGISTRY, b"\x42" * 32, 3, 1_700_000_000, 10, 0, 2, 1_699_999_100
    )
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def anvil_keystore(keystore: Keystore) -> Path:
    """A (fast) keystore of anvil's account 0, encrypted with PASSWORD."""
    return keystore.import_private_key(ANVIL_KEY_0, PASSWORD).path


# --------------------------------------------------------------------------- hidden-check interface
def test_new_prints_address_and_path_of_a_keystore_that_decrypts(
    run_cli: Any, keystore_dir: Path, password_file: Path
) -> None:
    result = run_cli(
        "wallet", "new", "--keystore-dir", keystore_dir, "--password-file", password_file, "--json"
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"address", "path"}
    assert Web3.is_checksum_address(out["address"])
    path = Path(out["path"])
    assert path.parent == keystore_dir
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keystore_dir.stat().st_mode) == 0o700
    document = json.loads(path.read_text())
    assert document["crypto"]["kdfparams"]["n"] == 262144
    assert Account.from_key(Account.decrypt(document, PASSWORD)).address == out["address"]


def test_sign_typed_data_prints_a_signature_that_recovers_to_the_keystore_address(
    cli: Any, anvil_keystore: Path, password_file: Path, typed_data_file: Path
) -> None:
    result = cli(
        "wallet",
        "sign-typed-data",
        "--keystore",
        anvil_keystore,
        "--password-file",
        password_file,
        "--data",
        typed_data_file,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"signature", "signer"}
    assert out["signer"] == ANVIL_ADDRESS_0
    document = json.loads(typed_data_file.read_text())
    assert recover_typed_data_signer(document, out["signature"]) == ANVIL_ADDRESS_0


def test_keystore_made_by_new_signs_typed_data_for_its_address(
    cli: Any, keystore_dir: Path, password_file: Path, typed_data_file: Path
) -> None:
    created = json.loads(
        cli(
            "wallet", "new", "--keystore-dir", keystore_dir, "--password-file", password_file,
            "--json",
        ).stdout
    )  # fmt: skip
    signed = cli(
        "wallet", "sign-typed-data", "--keystore", created["path"], "--password-file",
        password_file, "--data", typed_data_file, "--json",
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    out = json.loads(signed.stdout)
    document = json.loads(typed_data_file.read_text())
    assert out["signer"] == created["address"]
    assert recover_typed_data_signer(document, out["signature"]) == created["address"]


# --------------------------------------------------------------------------- errors
def test_wrong_password_exits_1_with_one_line_and_leaves_the_file_identical(
    cli: Any, anvil_keystore: Path, other_password_file: Path, typed_data_file: Path
) -> None:
    before = anvil_keystore.read_bytes()
    result = cli(
        "wallet", "sign-typed-data", "--keystore", anvil_keystore, "--password-file",
        other_password_file, "--data", typed_data_file, "--json",
    )  # fmt: skip
    line = one_line_error(result)
    assert "wrong password" in line and str(anvil_keystore) in line
    assert result.stdout == ""
    assert anvil_keystore.read_bytes() == before


def test_corrupt_keystore_exits_1_naming_the_file(
    cli: Any, anvil_keystore: Path, password_file: Path, typed_data_file: Path
) -> None:
    anvil_keystore.write_text(anvil_keystore.read_text()[:100])
    result = cli(
        "wallet", "sign-typed-data", "--keystore", anvil_keystore, "--password-file",
        password_file, "--data", typed_data_file,
    )  # fmt: skip
    line = one_line_error(result)
    assert str(anvil_keystore) in line and "not a valid" in line


def test_unset_password_variable_exits_1_naming_it(
    cli: Any, anvil_keystore: Path, typed_data_file: Path
) -> None:
    result = cli(
        "wallet", "sign-typed-data", "--keystore", anvil_keystore, "--password-env",
        "NO_SUCH_PASSWORD_VAR", "--data", typed_data_file,
    )  # fmt: skip
    assert "NO_SUCH_PASSWORD_VAR is not set" in one_line_error(result)


def test_import_needs_exactly_one_key_source(cli: Any, keystore_dir: Path) -> None:
    result = cli("wallet", "import", "--keystore-dir", keystore_dir)
    assert "exactly one of" in one_line_error(result)


# --------------------------------------------------------------------------- import
@pytest.mark.usefixtures("fast_keystores")
def test_import_refuses_an_existing_keystore_unless_force(
    cli: Any, tmp_path: Path, keystore_dir: Path, password_file: Path
) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text(ANVIL_KEY_0 + "\n")
    args = ["wallet", "import", "--private-key-file", key_file, "--keystore-dir", keystore_dir]
    args += ["--password-file", password_file, "--json"]
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["address"] == ANVIL_ADDRESS_0
    line = one_line_error(cli(*args))
    assert "exists already" in line and json.loads(first.stdout)["path"] in line
    forced = cli(*args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert [p.name for p in keystore_dir.iterdir()] == [
        Path(json.loads(forced.stdout)["path"]).name
    ]


@pytest.mark.usefixtures("fast_keystores")
def test_import_mnemonic_with_path_gives_the_known_account(
    cli: Any, tmp_path: Path, keystore_dir: Path, password_file: Path
) -> None:
    words = tmp_path / "words.txt"
    words.write_text(TEST_MNEMONIC.replace(" junk", "\njunk") + "\n")
    result = cli(
        "wallet", "import", "--mnemonic-file", words, "--path", "m/44'/60'/0'/0/1",
        "--keystore-dir", keystore_dir, "--password-file", password_file, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["address"] == ANVIL_ADDRESS_1


def test_import_mnemonic_with_a_bad_checksum_exits_1_without_the_words(
    cli: Any, tmp_path: Path, keystore_dir: Path, password_file: Path
) -> None:
    words = tmp_path / "words.txt"
    words.write_text(BAD_CHECKSUM_MNEMONIC)
    result = cli(
        "wallet", "import", "--mnemonic-file", words, "--keystore-dir", keystore_dir,
        "--password-file", password_file,
    )  # fmt: skip
    line = one_line_error(result)
    assert "checksum" in line and "test test" not in line
    assert not keystore_dir.exists()


# --------------------------------------------------------------------------- the other commands
def test_list_and_show_give_public_facts_without_a_password(
    cli: Any, anvil_keystore: Path, keystore_dir: Path
) -> None:
    listed = cli("wallet", "list", "--json", env={"ENERWISE_KEYSTORE_DIR": str(keystore_dir)})
    assert listed.returncode == 0, listed.stderr
    assert [(k["address"], k["path"]) for k in json.loads(listed.stdout)] == [
        (ANVIL_ADDRESS_0, str(anvil_keystore))
    ]
    shown = cli("wallet", "show", ANVIL_ADDRESS_0, "--keystore-dir", keystore_dir, "--json")
    assert shown.returncode == 0, shown.stderr
    facts = json.loads(shown.stdout)
    assert facts["path"] == str(anvil_keystore) and facts["origin"] == "private-key"


@pytest.mark.usefixtures("fast_keystores")
def test_passwd_keeps_the_address_and_the_old_password_stops_working(
    cli: Any,
    anvil_keystore: Path,
    keystore_dir: Path,
    password_file: Path,
    other_password_file: Path,
) -> None:
    changed = cli(
        "wallet", "passwd", ANVIL_ADDRESS_0, "--keystore-dir", keystore_dir, "--password-file",
        password_file, "--new-password-file", other_password_file, "--json",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout) == {"address": ANVIL_ADDRESS_0, "path": str(anvil_keystore)}
    export = ["wallet", "export-public", ANVIL_ADDRESS_0, "--keystore-dir", keystore_dir, "--json"]
    assert "wrong password" in one_line_error(cli(*export, "--password-file", password_file))
    with_new = cli(*export, "--password-file", other_password_file)
    assert with_new.returncode == 0, with_new.stderr
    assert json.loads(with_new.stdout)["address"] == ANVIL_ADDRESS_0


def test_export_public_prints_the_uncompressed_public_key(
    cli: Any, anvil_keystore: Path, keystore_dir: Path
) -> None:
    result = cli(
        "wallet", "export-public", ANVIL_ADDRESS_0, "--keystore-dir", keystore_dir,
        "--password-env", "WALLET_PW", "--json", env={"WALLET_PW": PASSWORD},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    public = json.loads(result.stdout)
    assert public["address"] == ANVIL_ADDRESS_0
    key = bytes.fromhex(public["public_key"][2:])
    assert len(key) == 65 and key[0] == 4
    assert Web3.keccak(key[1:])[-20:].hex() == ANVIL_ADDRESS_0[2:].lower()


def test_delete_without_a_terminal_needs_yes_and_keeps_the_file(
    run_cli: Any, anvil_keystore: Path, keystore_dir: Path
) -> None:
    result = run_cli(
        "wallet", "delete", ANVIL_ADDRESS_0, "--keystore-dir", keystore_dir, stdin="y\n"
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: this command asks before it changes anything and there is no terminal to "
        "answer: pass --yes to go ahead"
    ]
    assert anvil_keystore.exists()


def test_delete_asks_on_a_terminal_and_keeps_the_file_when_refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    anvil_keystore: Path,
    keystore_dir: Path,
) -> None:
    monkeypatch.setattr(console, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    code, _, err = run_main(
        monkeypatch, capsys, "wallet", "delete", ANVIL_ADDRESS_0, "--keystore-dir", keystore_dir
    )
    assert code == 1
    assert "Delete the keystore" in err and "nothing sent" in err
    assert anvil_keystore.exists()


def test_delete_with_yes_removes_the_file(
    cli: Any, anvil_keystore: Path, keystore_dir: Path
) -> None:
    result = cli("wallet", "delete", ANVIL_ADDRESS_0, "--keystore-dir", keystore_dir, "--yes")
    assert result.returncode == 0, result.stderr
    assert not anvil_keystore.exists()


# --------------------------------------------------------------------------- no secret leaks


@pytest.mark.usefixtures("fast_keystores")
def test_no_password_key_or_mnemonic_appears_in_output_or_logs(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    keystore_dir: Path,
    password_file: Path,
    other_password_file: Path,
    typed_data_file: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = Account.create().key.hex()  # a fresh key: a leak cannot come from anywhere else
    key_file = tmp_path / "key.txt"
    key_file.write_text("0x" + key + "\n")
    words_file = tmp_path / "words.txt"
    words_file.write_text(" ".join(["abandon"] * 12))  # valid words, bad checksum
    bad_key_file = tmp_path / "bad-key.txt"
    bad_key_file.write_text(key[:-1] + "\n")  # one digit short: refused, must not be echoed
    monkeypatch.setenv("WALLET_PW", PASSWORD)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": PASSWORD)  # the hidden prompt
    ks = ["--keystore-dir", keystore_dir]
    pw = ["--password-file", password_file]

    outputs: list[tuple[int, str, str]] = []

    def run(*args: Any) -> None:
        outputs.append(run_main(monkeypatch, capsys, "wallet", *args))

    run("import", "--private-key-file", key_file, *ks, *pw, "--json")
    address = json.loads(outputs[-1][1])["address"]  # stdout only: stderr may carry warnings
    keystore_path = json.loads(outputs[-1][1])["path"]
    run("import", "--private-key-file", key_file, *ks, *pw)  # exists
    run("import", "--private-key-file", bad_key_file, *ks, *pw)  # invalid key
    run("import", "--mnemonic-file", words_file, *ks, *pw)  # bad mnemonic
    run("new", *ks)  # interactive prompt, asked twice
    run("sign-typed-data", "--keystore", keystore_path, "--password-env", "WALLET_PW",
        "--data", typed_data_file, "--json")  # fmt: skip
    run("sign-typed-data", "--keystore", keystore_path, "--password-file", other_password_file,
        "--data", typed_data_file)  # fmt: skip  # wrong password
    run("export-public", address, *ks, *pw)
    run("passwd", address, *ks, "--password-file", other_password_file,
        "--new-password-file", password_file)  # fmt: skip  # wrong old password
    run("list", *ks)
    Path(keystore_path).write_text(Path(keystore_path).read_text()[:-40])  # corrupt it
    run("sign-typed-data", "--keystore", keystore_path, *pw, "--data", typed_data_file)
    run("show", address, *ks)

    assert [code for code, _, _ in outputs] == [0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1]
    logged = [r.getMessage() for r in caplog.records]
    assert logged, "the keystore logs its operations; the check below must not be vacuous"
    secrets = [PASSWORD, OTHER_PASSWORD, key, key.upper(), key[:-1], "abandon abandon"]
    for text in [out + err for _, out, err in outputs] + logged:
        for secret in secrets:
            assert secret not in text
