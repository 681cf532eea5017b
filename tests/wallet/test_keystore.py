"""Keystore: Web3 Secret Storage v3 files that eth-account reads, written safely, read strictly."""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from tests.wallet.known_secrets import (
    ANVIL_ADDRESS_0,
    ANVIL_ADDRESS_1,
    ANVIL_KEY_0,
    FAST_SCRYPT_N,
    OTHER_PASSWORD,
    PASSWORD,
    TEST_MNEMONIC,
)
from wallet.errors import (
    KeystoreCorruptError,
    KeystoreError,
    KeystoreExistsError,
    KeystoreNotFoundError,
    MnemonicError,
    SignerError,
    WalletError,
    WrongPasswordError,
)
from wallet.keystore import (
    DEFAULT_SCRYPT_N,
    KEYSTORE_DIR_ENV,
    Keystore,
    KeystoreSigner,
    default_keystore_dir,
    mnemonic_from_file,
    private_key_from_file,
)
from wallet.signer import LocalKeySigner, Signer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def rewrite(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


# --------------------------------------------------------------------------- format
def test_imported_key_decrypts_with_eth_account_to_the_same_key(keystore: Keystore) -> None:
    info = keystore.import_private_key(ANVIL_KEY_0, PASSWORD)
    document = json.loads(info.path.read_text())
    assert Account.decrypt(document, PASSWORD).hex() == ANVIL_KEY_0.removeprefix("0x")
    assert info.address == ANVIL_ADDRESS_0


def test_new_key_decrypts_with_eth_account_to_its_address(keystore: Keystore) -> None:
    info = keystore.create(PASSWORD)
    key = Account.decrypt(info.path.read_text(), PASSWORD)
    assert Account.from_key(key).address == info.address


def test_file_is_web3_secret_storage_v3_with_scrypt(keystore: Keystore) -> None:
    info = keystore.create(PASSWORD)
    document = json.loads(info.path.read_text())
    assert document["version"] == 3
    assert document["crypto"]["kdf"] == "scrypt"
    assert document["crypto"]["cipher"] == "aes-128-ctr"
    assert document["address"].lower() == info.address[2:].lower()
    assert info.path.name.startswith("UTC--")
    assert info.path.name.endswith(info.address[2:].lower())


def test_real_keystores_use_the_standard_scrypt_work_factor(tmp_path: Path) -> None:
    assert DEFAULT_SCRYPT_N == 262144
    assert Keystore(tmp_path).scrypt_n == DEFAULT_SCRYPT_N
    info = Keystore(tmp_path).import_private_key(ANVIL_KEY_0, PASSWORD)
    assert json.loads(info.path.read_text())["crypto"]["kdfparams"]["n"] == 262144


def test_keystore_written_by_another_tool_is_read(keystore: Keystore, keystore_dir: Path) -> None:
    """Old geth spelling ``Crypto``, pbkdf2, no x-enerwise field, a geth file name."""
    document = Account.encrypt(ANVIL_KEY_0, PASSWORD, kdf="pbkdf2", iterations=1000)
    document["Crypto"] = document.pop("crypto")
    keystore_dir.mkdir()
    name = "UTC--2024-03-01T10-20-30.123456789Z--" + ANVIL_ADDRESS_0[2:].lower()
    (keystore_dir / name).write_text(json.dumps(document))
    info = keystore.find(ANVIL_ADDRESS_0)
    assert info.created.isoformat() == "2024-03-01T10:20:30.123456+00:00"
    assert info.origin is None
    assert keystore.signer(ANVIL_ADDRESS_0, PASSWORD).address == ANVIL_ADDRESS_0


# --------------------------------------------------------------------------- file safety
def test_files_are_0600_and_created_folders_0700(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        keystore = Keystore(tmp_path / "a" / "b" / "keystore", scrypt_n=FAST_SCRYPT_N)
        info = keystore.create(PASSWORD)
    finally:
        os.umask(old_umask)
    assert mode(info.path) == 0o600
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "keystore"):
        assert mode(folder) == 0o700


def test_password_change_keeps_mode_0600(keystore: Keystore) -> None:
    info = keystore.create(PASSWORD)
    keystore.change_password(info.address, PASSWORD, OTHER_PASSWORD)
    assert mode(info.path) == 0o600


def test_no_temporary_file_is_left_behind(keystore: Keystore, keystore_dir: Path) -> None:
    info = keystore.create(PASSWORD)
    keystore.change_password(info.address, PASSWORD, OTHER_PASSWORD)
    with pytest.raises(WrongPasswordError):
        keystore.change_password(info.address, PASSWORD, OTHER_PASSWORD)
    assert os.listdir(keystore_dir) == [info.path.name]


def test_failed_write_leaves_the_old_file_and_no_temporary(
    keystore: Keystore, keystore_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = keystore.create(PASSWORD)
    before = info.path.read_bytes()

    def disk_full(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(KeystoreError, match="No space left"):
        keystore.change_password(info.address, PASSWORD, OTHER_PASSWORD)
    assert info.path.read_bytes() == before
    assert os.listdir(keystore_dir) == [info.path.name]


# --------------------------------------------------------------------------- passwords
def test_wrong_password_is_a_clear_error_naming_the_file(keystore: Keystore) -> None:
    info = keystore.create(PASSWORD)
    with pytest.raises(WrongPasswordError, match="wrong password") as caught:
        keystore.signer(info.address, OTHER_PASSWORD)
    assert str(info.path) in str(caught.value)
    assert OTHER_PASSWORD not in str(caught.value)
    assert caught.value.__context__ is None


def test_wrong_password_leaves_the_file_byte_identical(keystore: Keystore) -> None:
    info = keystore.create(PASSWORD)
    before = info.path.read_bytes()
    with pytest.raises(WrongPasswordError):
        keystore.signer(info.address, OTHER_PASSWORD)
    with pytest.raises(WrongPasswordError):
        keystore.change_password(info.address, OTHER_PASSWORD, "whatever-new")
    with pytest.raises(WrongPasswordError):
        keystore.delete(info.address, OTHER_PASSWORD)
    assert info.path.read_bytes() == before


def test_password_change_keeps_the_address_and_the_old_password_stops_working(
    keystore: Keystore,
) -> None:
    info = keystore.import_mnemonic(TEST_MNEMONIC, PASSWORD)
    changed = keystore.change_password(info.address, PASSWORD, OTHER_PASSWORD)
    assert changed.address == info.address == ANVIL_ADDRESS_0
    assert changed.path == info.path
    assert changed.derivation_path == "m/44'/60'/0'/0/0"  # metadata survives
    with pytest.raises(WrongPasswordError):
        keystore.signer(info.address, PASSWORD)
    assert keystore.signer(info.address, OTHER_PASSWORD).address == ANVIL_ADDRESS_0


def test_empty_password_is_refused_for_new_keystores(keystore: Keystore) -> None:
    with pytest.raises(KeystoreError, match="empty password"):
        keystore.create("")


# --------------------------------------------------------------------------- corrupt files
def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _set_crypto(key: str, value: Any) -> Any:
    return lambda path: rewrite(path, lambda d: d["crypto"].__setitem__(key, value))


CORRUPTIONS: dict[str, Any] = {
    "truncated": _truncate,
    "empty": lambda path: path.write_bytes(b""),
    "not an object": lambda path: path.write_text("[1, 2]"),
    "binary garbage": lambda path: path.write_bytes(b"\xff\xfe\x00garbage"),
    "version 2": lambda path: rewrite(path, lambda d: d.__setitem__("version", 2)),
    "no crypto": lambda path: rewrite(path, lambda d: d.pop("crypto")),
    "short mac": _set_crypto("mac", "abcd"),
    "ciphertext not hex": _set_crypto("ciphertext", "zz" * 32),
    "unknown cipher": _set_crypto("cipher", "aes-256-gcm"),
    "unknown kdf": _set_crypto("kdf", "argon2"),
    "huge scrypt n": lambda path: rewrite(
        path, lambda d: d["crypto"]["kdfparams"].__setitem__("n", 2**30)
    ),
    "address not an address": lambda path: rewrite(path, lambda d: d.__setitem__("address", "x")),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupt_keystore_is_a_clear_error_naming_the_file(
    keystore: Keystore, corruption: Any
) -> None:
    info = keystore.create(PASSWORD)
    corruption(info.path)
    with pytest.raises(KeystoreCorruptError, match="not a valid Web3 Secret Storage") as caught:
        KeystoreSigner.unlocked(info.path, PASSWORD)
    assert str(info.path) in str(caught.value)
    assert caught.value.path == str(info.path)
    assert caught.value.__context__ is None


def test_keystore_whose_address_field_lies_is_corrupt(keystore: Keystore) -> None:
    info = keystore.create(PASSWORD)
    rewrite(info.path, lambda d: d.__setitem__("address", ANVIL_ADDRESS_1[2:]))
    with pytest.raises(KeystoreCorruptError, match="does not match the key inside"):
        KeystoreSigner.unlocked(info.path, PASSWORD)


def test_corrupt_files_are_skipped_by_list_and_reported_by_scan(
    keystore: Keystore, keystore_dir: Path
) -> None:
    good = keystore.create(PASSWORD)
    (keystore_dir / "broken").write_text('{"version": 3, "cry')
    keys, problems = keystore.scan()
    assert [k.address for k in keys] == [good.address]
    assert len(problems) == 1
    assert str(keystore_dir / "broken") in str(problems[0])
    assert keystore.list_keys() == keys


def test_unreadable_keystore_folder_is_a_clear_error(
    keystore: Keystore, keystore_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystore_dir.mkdir()

    def denied(_: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "scandir", denied)  # root ignores chmod 000, so simulate it
    with pytest.raises(KeystoreError, match="not readable") as caught:
        keystore.list_keys()
    assert str(keystore_dir) in str(caught.value)


def test_keystore_folder_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    keystore = Keystore(tmp_path / "file", scrypt_n=FAST_SCRYPT_N)
    with pytest.raises(KeystoreError, match="is not a folder"):
        keystore.list_keys()
    with pytest.raises(KeystoreError, match="not a folder"):
        keystore.create(PASSWORD)


def test_missing_keystore_folder_lists_no_keys(tmp_path: Path) -> None:
    assert Keystore(tmp_path / "nothing-here").list_keys() == []


# --------------------------------------------------------------------------- imports
def test_import_refuses_an_existing_address(keystore: Keystore) -> None:
    first = keystore.import_private_key(ANVIL_KEY_0, PASSWORD)
    before = first.path.read_bytes()
    with pytest.raises(KeystoreExistsError, match="exists already") as caught:
        keystore.import_mnemonic(TEST_MNEMONIC, OTHER_PASSWORD)  # same key, other route
    assert str(first.path) in str(caught.value)
    assert first.path.read_bytes() == before


def test_import_with_force_replaces_the_existing_keystore(
    keystore: Keystore, keystore_dir: Path
) -> None:
    first = keystore.import_private_key(ANVIL_KEY_0, PASSWORD)
    second = keystore.import_private_key(ANVIL_KEY_0, OTHER_PASSWORD, force=True)
    assert os.listdir(keystore_dir) == [second.path.name]
    assert not first.path.exists() or first.path == second.path
    assert keystore.signer(ANVIL_ADDRESS_0, OTHER_PASSWORD).address == ANVIL_ADDRESS_0


def test_invalid_private_key_is_refused_without_quoting_it(keystore: Keystore) -> None:
    too_big = "0x" + "ff" * 32  # above the curve order
    with pytest.raises(KeystoreError, match="invalid private key") as caught:
        keystore.import_private_key(too_big, PASSWORD)
    assert "ff" * 8 not in str(caught.value)
    assert caught.value.__context__ is None


def test_mnemonic_default_path_gives_the_known_address(keystore: Keystore) -> None:
    info = keystore.import_mnemonic(TEST_MNEMONIC, PASSWORD)
    assert info.address == ANVIL_ADDRESS_0
    assert info.derivation_path == "m/44'/60'/0'/0/0"
    assert info.origin == "mnemonic"
    assert TEST_MNEMONIC not in info.path.read_text()  # only the derived key is stored


def test_mnemonic_with_another_path_gives_that_account(keystore: Keystore) -> None:
    info = keystore.import_mnemonic(TEST_MNEMONIC, PASSWORD, path="m/44'/60'/0'/0/1")
    assert info.address == ANVIL_ADDRESS_1


def test_mnemonic_with_a_bad_checksum_is_refused(keystore: Keystore, keystore_dir: Path) -> None:
    bad = "test test test test test test test test test test test test"  # valid words only
    with pytest.raises(MnemonicError, match="checksum") as caught:
        keystore.import_mnemonic(bad, PASSWORD)
    assert "test test" not in str(caught.value)
    assert not keystore_dir.exists()


def test_mnemonic_with_unknown_words_is_refused_without_quoting_them(keystore: Keystore) -> None:
    words = "test test test test test test test test test test test zzsecretword"
    with pytest.raises(MnemonicError) as caught:
        keystore.import_mnemonic(words, PASSWORD)
    assert "zzsecretword" not in str(caught.value)
    assert caught.value.__context__ is None


def test_mnemonic_with_a_wrong_word_count_is_refused(keystore: Keystore) -> None:
    with pytest.raises(MnemonicError, match="12, 15, 18, 21 or 24 words"):
        keystore.import_mnemonic("test test test junk", PASSWORD)


def test_invalid_derivation_path_is_refused(keystore: Keystore) -> None:
    with pytest.raises(MnemonicError, match="invalid derivation path"):
        keystore.import_mnemonic(TEST_MNEMONIC, PASSWORD, path="44'/60'/0'/0/0")


# --------------------------------------------------------------------------- finding and listing
def test_list_gives_address_path_and_created_oldest_first(keystore: Keystore) -> None:
    first = keystore.create(PASSWORD)
    second = keystore.import_private_key(ANVIL_KEY_0, PASSWORD)
    listed = keystore.list_keys()
    assert [(k.address, k.path) for k in listed] == [
        (first.address, first.path),
        (second.address, second.path),
    ]
    assert listed[0].created <= listed[1].created
    assert listed[0].created.tzinfo is not None


def test_find_by_address_path_or_file_name(keystore: Keystore) -> None:
    info = keystore.import_private_key(ANVIL_KEY_0, PASSWORD)
    assert keystore.find(ANVIL_ADDRESS_0.lower()).path == info.path
    assert keystore.find(str(info.path)).address == ANVIL_ADDRESS_0
    assert keystore.find(info.path.name).address == ANVIL_ADDRESS_0


def test_find_of_an_unknown_address_or_path_raises_not_found(keystore: Keystore) -> None:
    keystore.create(PASSWORD)
    with pytest.raises(KeystoreNotFoundError, match="no keystore for"):
        keystore.find(ANVIL_ADDRESS_1)
    with pytest.raises(KeystoreNotFoundError, match="does not exist"):
        keystore.find("/nonexistent/keyfile")


def test_default_folder_comes_from_the_environment_or_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEYSTORE_DIR_ENV, str(tmp_path / "from-env"))
    assert default_keystore_dir() == tmp_path / "from-env"
    assert Keystore().directory == tmp_path / "from-env"
    monkeypatch.delenv(KEYSTORE_DIR_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_keystore_dir() == tmp_path / ".enerwise" / "keystore"


# --------------------------------------------------------------------------- export, delete
def test_public_info_gives_the_uncompressed_key_of_the_address(keystore: Keystore) -> None:
    keystore.import_private_key(ANVIL_KEY_0, PASSWORD)
    public = keystore.public_info(ANVIL_ADDRESS_0, PASSWORD)
    assert len(public.public_key) == 65 and public.public_key[0] == 4
    assert "0x" + keccak(public.public_key[1:])[-20:].hex() == ANVIL_ADDRESS_0.lower()
    assert set(public.as_dict()) == {"address", "public_key"}


def test_delete_removes_the_file(keystore: Keystore) -> None:
    info = keystore.create(PASSWORD)
    deleted = keystore.delete(info.address, PASSWORD)
    assert deleted.path == info.path
    assert not info.path.exists()
    assert keystore.list_keys() == []


# --------------------------------------------------------------------------- the signer
def test_keystore_signer_is_a_signer_that_signs_like_the_raw_key(keystore: Keystore) -> None:
    keystore.import_private_key(ANVIL_KEY_0, PASSWORD)
    signer = keystore.signer(ANVIL_ADDRESS_0, PASSWORD)
    tx = {
        "chainId": 31337,
        "nonce": 0,
        "gas": 21000,
        "maxFeePerGas": 10**9,
        "maxPriorityFeePerGas": 1,
        "to": ANVIL_ADDRESS_1,
        "value": 1,
        "type": 2,
    }
    assert isinstance(signer, Signer)
    assert signer.sign_transaction(tx) == LocalKeySigner(ANVIL_KEY_0).sign_transaction(tx)
    assert Account.recover_transaction(signer.sign_transaction(tx)) == ANVIL_ADDRESS_0


def test_locked_signer_knows_its_address_but_refuses_to_sign(keystore: Keystore) -> None:
    info = keystore.create(PASSWORD)
    signer = KeystoreSigner(info.path)
    assert signer.locked and signer.address == info.address
    with pytest.raises(SignerError, match="locked"):
        signer.sign_typed_data({})
    signer.unlock(PASSWORD)
    signer.lock()
    with pytest.raises(SignerError, match="locked"):
        signer.sign_transaction({})


def test_signer_never_shows_the_key_and_cannot_be_pickled(keystore: Keystore) -> None:
    keystore.import_private_key(ANVIL_KEY_0, PASSWORD)
    signer = keystore.signer(ANVIL_ADDRESS_0, PASSWORD)
    key_hex = ANVIL_KEY_0.removeprefix("0x")
    for text in (repr(signer), str(signer), f"{signer}", repr(keystore)):
        assert key_hex not in text.lower()
        assert PASSWORD not in text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(signer)


def test_every_keystore_error_is_a_wallet_error() -> None:
    for error in (KeystoreCorruptError, WrongPasswordError, KeystoreExistsError, MnemonicError):
        assert issubclass(error, KeystoreError)
        assert issubclass(error, WalletError)


# --------------------------------------------------------------------------- secret files
def test_private_key_file_accepts_hex_with_or_without_0x_and_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "key"
    for text in (ANVIL_KEY_0 + "\n", "  " + ANVIL_KEY_0[2:] + "\r\n"):
        path.write_text(text)
        assert private_key_from_file(path) == ANVIL_KEY_0


def test_bad_private_key_file_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(ANVIL_KEY_0[:-1])
    with pytest.raises(KeystoreError, match="does not hold one 32-byte hex private key") as caught:
        private_key_from_file(path)
    assert ANVIL_KEY_0[2:20] not in str(caught.value)
    path.write_bytes(b"\xff" + ANVIL_KEY_0.encode())
    with pytest.raises(KeystoreError, match="cannot be read as text") as caught:
        private_key_from_file(path)
    assert caught.value.__context__ is None
    with pytest.raises(KeystoreError, match="does not exist"):
        private_key_from_file(tmp_path / "missing")


def test_mnemonic_file_collapses_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "words"
    path.write_text("  " + TEST_MNEMONIC.replace(" ", "\n", 3) + "\n\n")
    assert mnemonic_from_file(path) == TEST_MNEMONIC
    path.write_text("\n")
    with pytest.raises(MnemonicError, match="empty"):
        mnemonic_from_file(path)


def test_file_without_the_optional_address_unlocks_by_path(keystore: Keystore) -> None:
    info = keystore.import_private_key(ANVIL_KEY_0, PASSWORD)
    rewrite(info.path, lambda d: d.pop("address"))
    signer = keystore.signer(info.path, PASSWORD)
    assert signer.address == ANVIL_ADDRESS_0
    signer.lock()
    with pytest.raises(SignerError, match="records no address"):
        _ = signer.address
    with pytest.raises(KeystoreNotFoundError, match="1 files there are not usable"):
        keystore.find(ANVIL_ADDRESS_0)  # found by address only when the file says it
