"""Encrypted keys on disk: Web3 Secret Storage v3 files (scrypt) in one keystore folder.

The folder is ``~/.enerwise/keystore`` unless an argument or ``ENERWISE_KEYSTORE_DIR`` names
another one; it is created with mode 0700 and every file in it is written atomically (a
temporary file in the same folder, fsync, rename) with mode 0600, so a crash or a failed
password change never leaves a half-written or missing keystore behind.

File names follow geth (``UTC--<created>--<address>``), so geth, clef, Foundry's ``cast`` and
ethers read the folder as it is. Each file we write also carries public bookkeeping in an
``x-enerwise`` field (created, origin, derivation path), like ethers' ``x-ethers``; other tools
ignore it, and a file without it (written by another tool) works too.

Encryption and decryption are eth-account's (``Account.encrypt(..., kdf="scrypt")`` /
``Account.decrypt``). Real keystores use the standard scrypt work factor n = 262144
(:data:`DEFAULT_SCRYPT_N`, about 0.8 s per unlock); a lower ``scrypt_n`` exists for tests.

Secrets (passwords, private keys, mnemonics) never reach a message, a log record or a
``repr``; an error raised while one is in scope is raised outside the ``except`` block, so the
library exception (which may quote the input) is not even kept as ``__context__``. A key is
held in memory only while a :class:`KeystoreSigner` is unlocked; Python cannot wipe memory,
so :meth:`KeystoreSigner.lock` drops the reference and leaves the rest to the collector.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NoReturn

from eth_account import Account
from eth_account.hdaccount.deterministic import HDPath
from eth_account.hdaccount.mnemonic import Mnemonic
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from eth_typing import ChecksumAddress
from eth_utils.address import is_hex_address, to_checksum_address
from eth_utils.exceptions import ValidationError

from wallet.defaults import DEFAULT_DERIVATION_PATH, KEYSTORE_DIR_ENV
from wallet.errors import (
    KeystoreCorruptError,
    KeystoreError,
    KeystoreExistsError,
    KeystoreNotFoundError,
    MnemonicError,
    SignerError,
    WrongPasswordError,
    unreadable,
)
from wallet.signer import LocalKeySigner

logger = logging.getLogger(__name__)

#: Standard scrypt work factor of Web3 Secret Storage (geth's "standard", eth-account's default).
DEFAULT_SCRYPT_N = 262144
#: Name of our public bookkeeping field inside a keystore file.
METADATA_FIELD = "x-enerwise"

#: Refuse KDF parameters that would take more than ~1 GiB or minutes to unlock: a planted file
#: must not be able to exhaust the machine.
_MAX_SCRYPT_MEMORY = 1 << 30
_MAX_PBKDF2_ROUNDS = 10_000_000
_GETH_NAME = re.compile(
    r"^UTC--(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})(?:\.(\d+))?Z--([0-9a-fA-F]{40})(?:\.json)?$"
)
_HEX = re.compile(r"^(0x)?[0-9a-fA-F]*$")

Origin = Literal["new", "private-key", "mnemonic"]


def default_keystore_dir() -> Path:
    """``$ENERWISE_KEYSTORE_DIR`` if set, else ``~/.enerwise/keystore``."""
    configured = os.environ.get(KEYSTORE_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".enerwise" / "keystore"


@dataclass(frozen=True)
class KeyInfo:
    """Public facts about one keystore file (reading them needs no password)."""

    address: ChecksumAddress
    path: Path
    created: datetime
    origin: str | None = None
    """``new``, ``private-key`` or ``mnemonic``; ``None`` for a file another tool wrote."""
    derivation_path: str | None = None
    """The BIP-32 path, for keys imported from a mnemonic."""

    def as_dict(self) -> dict[str, str | None]:
        return {
            "address": self.address,
            "path": str(self.path),
            "created": self.created.isoformat(),
            "origin": self.origin,
            "derivation_path": self.derivation_path,
        }


@dataclass(frozen=True)
class PublicKeyInfo:
    """What may be shared: the address and the uncompressed secp256k1 public key."""

    address: ChecksumAddress
    public_key: bytes
    """65 bytes, ``0x04 || X || Y`` (SEC 1 uncompressed)."""
    path: Path

    def as_dict(self) -> dict[str, str]:
        return {"address": self.address, "public_key": "0x" + self.public_key.hex()}


# --------------------------------------------------------------------------- reading files
def read_keystore(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load and check one keystore file; the JSON document with its keys as written.

    Raises :class:`KeystoreNotFoundError`, :class:`KeystoreCorruptError` (truncated, not JSON,
    not version 3, bad or missing fields, unreasonable KDF parameters) or
    :class:`KeystoreError` (not readable), each naming the file.
    """
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as exc:
        error = KeystoreNotFoundError if isinstance(exc, FileNotFoundError) else KeystoreError
        raise error(f"keystore file {file} {unreadable(exc)}", str(file)) from None
    document: Any = None
    parsed = False
    try:
        document = json.loads(text)
        parsed = True
    except ValueError:  # (UnicodeDecodeError is one) the parser's error quotes the file: drop it
        parsed = False
    if not parsed:
        _corrupt(file, "it is empty" if not text.strip() else "it is not valid JSON (truncated?)")
    if not isinstance(document, dict):
        _corrupt(file, "it is not a JSON object")
    _check_v3(file, _lower_keys(document))
    return document


def _corrupt(file: Path, reason: str) -> NoReturn:
    raise KeystoreCorruptError(
        f"keystore file {file} is not a valid Web3 Secret Storage v3 keystore: {reason}",
        str(file),
    )


def _lower_keys(value: Any) -> Any:
    """Keys lower-cased as eth-keyfile reads them (old geth files spell ``Crypto``)."""
    if isinstance(value, dict):
        return {(k.lower() if isinstance(k, str) else k): _lower_keys(v) for k, v in value.items()}
    return value


def _check_v3(file: Path, doc: dict[str, Any]) -> None:
    if doc.get("version") != 3:
        _corrupt(file, f"version is {doc.get('version')!r}, expected 3")
    crypto = doc.get("crypto")
    if not isinstance(crypto, dict):
        _corrupt(file, "the 'crypto' section is missing")
    if crypto.get("cipher") != "aes-128-ctr":
        _corrupt(file, f"unsupported cipher {crypto.get('cipher')!r}")
    _check_hex(file, crypto.get("ciphertext"), "crypto.ciphertext", 32)
    _check_hex(file, crypto.get("mac"), "crypto.mac", 32)
    params = crypto.get("cipherparams")
    _check_hex(file, params.get("iv") if isinstance(params, dict) else None, "iv", 16)
    kdf = crypto.get("kdf")
    kdfparams = crypto.get("kdfparams")
    if not isinstance(kdfparams, dict):
        _corrupt(file, "the 'crypto.kdfparams' section is missing")
    if kdf == "scrypt":
        n, r, p = (kdfparams.get(k) for k in ("n", "r", "p"))
        if not all(isinstance(v, int) and v > 0 for v in (n, r, p)):
            _corrupt(file, "scrypt parameters n, r, p must be positive integers")
        assert isinstance(n, int) and isinstance(r, int) and isinstance(p, int)
        if n < 2 or n & (n - 1):
            _corrupt(file, f"scrypt n = {n} is not a power of two")
        if 128 * r * n > _MAX_SCRYPT_MEMORY or p > 16:
            _corrupt(file, f"scrypt parameters n={n} r={r} p={p} are unreasonably large")
    elif kdf == "pbkdf2":
        rounds = kdfparams.get("c")
        if not isinstance(rounds, int) or not 0 < rounds <= _MAX_PBKDF2_ROUNDS:
            _corrupt(file, "pbkdf2 round count 'c' is missing or unreasonable")
        if kdfparams.get("prf") != "hmac-sha256":
            _corrupt(file, f"unsupported pbkdf2 prf {kdfparams.get('prf')!r}")
    else:
        _corrupt(file, f"unsupported kdf {kdf!r}")
    if kdfparams.get("dklen") != 32:
        _corrupt(file, "kdfparams.dklen must be 32")
    salt = kdfparams.get("salt")
    if not isinstance(salt, str) or not _HEX.match(salt):
        _corrupt(file, "kdfparams.salt must be hex")
    address = doc.get("address")
    if address is not None and not (isinstance(address, str) and is_hex_address(address)):
        _corrupt(file, "the 'address' field is not an address")


def _check_hex(file: Path, value: Any, name: str, size: int) -> None:
    if not isinstance(value, str) or not _HEX.match(value):
        _corrupt(file, f"{name} is missing or not hex")
    digits = value.removeprefix("0x")
    if len(digits) != 2 * size:
        _corrupt(file, f"{name} has {len(digits) // 2} bytes, expected {size}")


def _file_address(document: dict[str, Any]) -> ChecksumAddress | None:
    address = document.get("address")
    return to_checksum_address(address) if isinstance(address, str) else None


def _metadata(document: dict[str, Any]) -> dict[str, Any]:
    meta = document.get(METADATA_FIELD)
    return meta if isinstance(meta, dict) else {}


def _created(file: Path, document: dict[str, Any]) -> datetime:
    stamp = _metadata(document).get("created")
    if isinstance(stamp, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(stamp)
    match = _GETH_NAME.match(file.name)
    if match:
        with contextlib.suppress(ValueError):
            micros = (match.group(2) or "0")[:6].ljust(6, "0")
            return datetime.strptime(f"{match.group(1)}.{micros}", "%Y-%m-%dT%H-%M-%S.%f").replace(
                tzinfo=UTC
            )
    return datetime.fromtimestamp(file.stat().st_mtime, UTC)


def _key_info(file: Path, document: dict[str, Any], address: ChecksumAddress) -> KeyInfo:
    meta = _metadata(document)
    origin = meta.get("origin")
    derivation = meta.get("derivationPath")
    return KeyInfo(
        address=address,
        path=file,
        created=_created(file, document),
        origin=origin if isinstance(origin, str) else None,
        derivation_path=derivation if isinstance(derivation, str) else None,
    )


def _decrypt(file: Path, document: dict[str, Any], password: str) -> LocalAccount:
    """The account inside ``document``; never lets a library exception (or its text) out."""
    account: LocalAccount | None = None
    wrong_password = False
    try:
        account = Account.from_key(Account.decrypt(document, password))
    except ValueError as exc:  # eth-keyfile: "MAC mismatch" is the only password failure
        wrong_password = "MAC mismatch" in str(exc)
    except Exception:  # any other failure means the file is broken; its text stays here
        account = None
    if wrong_password:
        raise WrongPasswordError(f"wrong password for keystore {file}", str(file))
    if account is None:
        _corrupt(file, "it decrypts to no valid key")
    claimed = _file_address(document)
    if claimed is not None and claimed != account.address:
        _corrupt(file, f"its 'address' field {claimed} does not match the key inside")
    return account


# --------------------------------------------------------------------------- signer
class KeystoreSigner:
    """A :class:`~wallet.signer.Signer` backed by one keystore file.

    Created locked; :meth:`unlock` decrypts the key into memory (only there), :meth:`lock`
    forgets it. ``address`` is known while locked when the file records it. ``repr`` and every
    error show the address and the file, never the key or the password; the signer refuses to
    be pickled so the key cannot leave the process that way.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._document = read_keystore(self.path)
        self._file_address = _file_address(self._document)
        self._signer: LocalKeySigner | None = None
        self._public_key: bytes | None = None

    @classmethod
    def unlocked(cls, path: str | os.PathLike[str], password: str) -> KeystoreSigner:
        signer = cls(path)
        signer.unlock(password)
        return signer

    def unlock(self, password: str) -> None:
        """Decrypt the key (:class:`WrongPasswordError` on a wrong password)."""
        account = _decrypt(self.path, self._document, password)
        self._public_key = b"\x04" + PrivateKey(account.key).public_key.to_bytes()
        self._signer = LocalKeySigner(account.key)

    def lock(self) -> None:
        """Forget the decrypted key."""
        self._signer = None

    @property
    def locked(self) -> bool:
        return self._signer is None

    @property
    def address(self) -> ChecksumAddress:
        if self._signer is not None:
            return self._signer.address
        if self._file_address is None:
            raise SignerError(f"keystore {self.path} records no address: unlock it first")
        return self._file_address

    def _unlocked(self) -> LocalKeySigner:
        if self._signer is None:
            raise SignerError(f"keystore signer for {self.path} is locked: unlock it first")
        return self._signer

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        return self._unlocked().sign_transaction(tx)

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        return self._unlocked().sign_typed_data(typed_data)

    def public_key(self) -> bytes:
        """The uncompressed public key, 65 bytes ``0x04 || X || Y`` (needs the unlocked key)."""
        self._unlocked()
        assert self._public_key is not None
        return self._public_key

    def __repr__(self) -> str:
        state = "locked" if self.locked else "unlocked"
        address = self._signer.address if self._signer else self._file_address
        return f"KeystoreSigner({address}, {str(self.path)!r}, {state})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a KeystoreSigner cannot be pickled (it may hold a private key)")


# --------------------------------------------------------------------------- mnemonics
def account_from_mnemonic(
    mnemonic: str, path: str = DEFAULT_DERIVATION_PATH, passphrase: str = ""
) -> LocalAccount:
    """The account at BIP-32 ``path`` of a BIP-39 ``mnemonic`` (checksum checked).

    Raises :class:`MnemonicError` for a bad path, unknown words, a wrong word count or a bad
    checksum; the message never quotes the words.
    """
    path = _check_derivation_path(path)
    words = " ".join(mnemonic.split())
    problem: str | None = None
    try:
        language = Mnemonic.detect_language(words)
        expanded = Mnemonic(language).expand(words)
        count = len(expanded.split(" "))
        if count not in (12, 15, 18, 21, 24):
            problem = f"a BIP-39 mnemonic has 12, 15, 18, 21 or 24 words, not {count}"
        elif not Mnemonic(language).is_mnemonic_valid(expanded):
            problem = "the mnemonic's checksum is wrong (a word is mistyped, missing or swapped)"
    except Exception:  # eth-account quotes the words in its message: keep it here
        problem = "the mnemonic has words that are in no BIP-39 word list (or in several)"
    if problem is not None:
        raise MnemonicError(problem)
    account: LocalAccount | None = None
    try:
        Account.enable_unaudited_hdwallet_features()
        account = Account.from_mnemonic(words, passphrase=passphrase, account_path=path)
    except Exception:
        account = None
    if account is None:
        raise MnemonicError(f"no key could be derived from the mnemonic at {path}")
    return account


def _check_derivation_path(path: str) -> str:
    problem = False
    normalized = path
    try:
        normalized = HDPath(path).encode().replace("H", "'")  # as people write it
    except (ValidationError, ValueError):
        problem = True
    if problem:
        raise MnemonicError(f"invalid derivation path {path!r} (expected e.g. m/44'/60'/0'/0/0)")
    return normalized


def private_key_from_file(path: str | os.PathLike[str]) -> str:
    """A hex private key (``0x`` optional, surrounding whitespace ignored) read from a file."""
    file = Path(path)
    text = _read_secret_text(file, "private key")
    if text is None:
        raise KeystoreError(f"private key file {file} cannot be read as text", str(file))
    key = text.strip()
    digits = key.removeprefix("0x").removeprefix("0X")
    if len(digits) != 64 or not _HEX.match(digits):
        raise KeystoreError(
            f"private key file {file} does not hold one 32-byte hex private key", str(file)
        )
    return "0x" + digits


def mnemonic_from_file(path: str | os.PathLike[str]) -> str:
    """The BIP-39 words in a file, whitespace (newlines included) collapsed to single spaces."""
    file = Path(path)
    text = _read_secret_text(file, "mnemonic")
    if text is None:
        raise MnemonicError(f"mnemonic file {file} cannot be read as text", str(file))
    words = " ".join(text.split())
    if not words:
        raise MnemonicError(f"mnemonic file {file} is empty", str(file))
    return words


def _read_secret_text(file: Path, what: str) -> str | None:
    """The file's UTF-8 text, or ``None``; no exception (which could hold the bytes) escapes."""
    if not file.is_file():
        raise KeystoreError(f"{what} file {file} does not exist", str(file))
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


# --------------------------------------------------------------------------- the folder
class Keystore:
    """The keystore folder: create, import, list, find, re-encrypt, export, delete keys.

    ``ref`` arguments are an address (``0x`` + 40 hex digits) or a file path (absolute,
    relative to the working directory, or a file name inside the folder).
    """

    def __init__(
        self, directory: str | os.PathLike[str] | None = None, *, scrypt_n: int = DEFAULT_SCRYPT_N
    ) -> None:
        if scrypt_n < 2 or scrypt_n & (scrypt_n - 1):
            raise ValueError("scrypt_n must be a power of two")
        self.directory = Path(directory).expanduser() if directory else default_keystore_dir()
        self.scrypt_n = scrypt_n

    def __repr__(self) -> str:
        return f"Keystore({str(self.directory)!r})"

    # ------------------------------------------------------------------ creating keys
    def create(self, password: str) -> KeyInfo:
        """A new random key, encrypted with ``password``."""
        return self._store(Account.create(), password, origin="new", force=False)

    def import_private_key(
        self, private_key: bytes | str, password: str, *, force: bool = False
    ) -> KeyInfo:
        """Encrypt a raw private key (32 bytes or hex); an existing keystore for the same
        address is refused (:class:`KeystoreExistsError`) unless ``force`` replaces it."""
        account: LocalAccount | None = None
        try:
            account = Account.from_key(private_key)
        except Exception:  # messages may describe the key: none leaves here
            account = None
        if account is None:
            raise KeystoreError("invalid private key (expected 32 bytes, below the curve order)")
        return self._store(account, password, origin="private-key", force=force)

    def import_mnemonic(
        self,
        mnemonic: str,
        password: str,
        *,
        path: str = DEFAULT_DERIVATION_PATH,
        passphrase: str = "",
        force: bool = False,
    ) -> KeyInfo:
        """Encrypt the key at ``path`` of a BIP-39 mnemonic (bad checksum refused).

        Only the derived key is stored, not the mnemonic.
        """
        account = account_from_mnemonic(mnemonic, path, passphrase)
        return self._store(
            account,
            password,
            origin="mnemonic",
            force=force,
            derivation_path=_check_derivation_path(path),
        )

    def _store(
        self,
        account: LocalAccount,
        password: str,
        *,
        origin: Origin,
        force: bool,
        derivation_path: str | None = None,
    ) -> KeyInfo:
        if not password:
            raise KeystoreError("refusing to encrypt a key with an empty password")
        existing = [k for k in self.list_keys() if k.address == account.address]
        if existing and not force:
            raise KeystoreExistsError(
                f"a keystore for {account.address} exists already: {existing[0].path} "
                "(use force to replace it)",
                str(existing[0].path),
            )
        created = datetime.now(UTC)
        document = self._encrypt(account, password)
        meta: dict[str, Any] = {"created": created.isoformat(), "origin": origin}
        if derivation_path is not None:
            meta["derivationPath"] = derivation_path
        document[METADATA_FIELD] = meta
        stamp = f"{created:%Y-%m-%dT%H-%M-%S}.{created.microsecond:06d}000Z"
        file = self.directory / f"UTC--{stamp}--{account.address[2:].lower()}"
        self._write(file, document, replace=False)
        for old in existing:  # force: the new file is safely in place before the old goes
            old.path.unlink(missing_ok=True)
            logger.info("replaced keystore %s for %s", old.path, account.address)
        logger.info("stored keystore %s for %s (%s)", file, account.address, origin)
        return _key_info(file, document, account.address)

    def _encrypt(self, account: LocalAccount, password: str) -> dict[str, Any]:
        return Account.encrypt(account.key, password, kdf="scrypt", iterations=self.scrypt_n)

    # ------------------------------------------------------------------ reading the folder
    def scan(self) -> tuple[list[KeyInfo], list[KeystoreError]]:
        """Every keystore in the folder, and an error for each file that is not one.

        A folder that does not exist yet holds no keys; one that cannot be read raises
        :class:`KeystoreError`. Hidden files (our temporary files) are skipped.
        """
        try:
            entries = sorted(os.scandir(self.directory), key=lambda e: e.name)
        except FileNotFoundError:
            return [], []
        except NotADirectoryError:
            raise KeystoreError(
                f"keystore folder {self.directory} is not a folder", str(self.directory)
            ) from None
        except PermissionError:
            raise KeystoreError(
                f"keystore folder {self.directory} is not readable (permission denied)",
                str(self.directory),
            ) from None
        except OSError as exc:
            raise KeystoreError(
                f"keystore folder {self.directory} cannot be read: {exc.strerror}",
                str(self.directory),
            ) from None
        keys: list[KeyInfo] = []
        problems: list[KeystoreError] = []
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            file = Path(entry.path)
            try:
                document = read_keystore(file)
                address = _file_address(document)
                if address is None:
                    _corrupt(file, "it records no address")
                keys.append(_key_info(file, document, address))
            except KeystoreError as exc:
                problems.append(exc)
        keys.sort(key=lambda k: (k.created, k.address))
        return keys, problems

    def list_keys(self) -> list[KeyInfo]:
        """The keys in the folder, oldest first (files that are not keystores are skipped)."""
        return self.scan()[0]

    def find(self, ref: str | os.PathLike[str]) -> KeyInfo:
        """The keystore for an address (in the folder) or at a path."""
        text = os.fspath(ref)
        if is_hex_address(text):
            address = to_checksum_address(text)
            keys, problems = self.scan()
            matches = [k for k in keys if k.address == address]
            if len(matches) > 1:
                files = ", ".join(str(k.path) for k in matches)
                raise KeystoreError(f"several keystores for {address}: {files}; pass the file")
            if not matches:
                hint = (
                    f" ({len(problems)} files there are not usable keystores)" if problems else ""
                )
                raise KeystoreNotFoundError(f"no keystore for {address} in {self.directory}{hint}")
            return matches[0]
        file = self._resolve(text)
        document = read_keystore(file)
        recorded = _file_address(document)
        if recorded is None:
            _corrupt(file, "it records no address")
        return _key_info(file, document, recorded)

    def _resolve(self, text: str) -> Path:
        file = Path(text).expanduser()
        if not file.exists() and not file.is_absolute() and (self.directory / file).exists():
            file = self.directory / file
        return file

    def locate(self, ref: str | os.PathLike[str]) -> Path:
        """The file of an address (searched in the folder) or a path (not read here)."""
        text = os.fspath(ref)
        return self.find(text).path if is_hex_address(text) else self._resolve(text)

    def signer(self, ref: str | os.PathLike[str], password: str) -> KeystoreSigner:
        """An unlocked :class:`KeystoreSigner` for the key (a file given by path may lack the
        optional ``address`` field: the address then comes from the decrypted key)."""
        return KeystoreSigner.unlocked(self.locate(ref), password)

    def public_info(self, ref: str | os.PathLike[str], password: str) -> PublicKeyInfo:
        """Address and uncompressed public key (the file holds only the address, so the key
        is unlocked to compute it)."""
        signer = self.signer(ref, password)
        try:
            return PublicKeyInfo(signer.address, signer.public_key(), signer.path)
        finally:
            signer.lock()

    # ------------------------------------------------------------------ changing the folder
    def change_password(
        self, ref: str | os.PathLike[str], old_password: str, new_password: str
    ) -> KeyInfo:
        """Re-encrypt the key under ``new_password`` in place (same file name, same address).

        The old file is replaced only by a complete new one: a wrong old password or any
        failure before the final rename leaves it byte for byte as it was.
        """
        if not new_password:
            raise KeystoreError("refusing to encrypt a key with an empty password")
        info = self.find(ref)
        document = read_keystore(info.path)
        account = _decrypt(info.path, document, old_password)
        updated = self._encrypt(account, new_password)
        for key, value in document.items():  # keep our metadata and anything else public
            if key.lower() not in {"crypto", "id", "version", "address"}:
                updated[key] = value
        self._write(info.path, updated, replace=True)
        logger.info("changed the password of keystore %s (%s)", info.path, info.address)
        return _key_info(info.path, updated, account.address)

    def delete(self, ref: str | os.PathLike[str], password: str | None = None) -> KeyInfo:
        """Remove the keystore file; with ``password``, only after it unlocks the key."""
        info = self.find(ref)
        if password is not None:
            KeystoreSigner.unlocked(info.path, password).lock()
        try:
            info.path.unlink()
        except OSError as exc:
            raise KeystoreError(
                f"keystore file {info.path} cannot be deleted: {exc.strerror}", str(info.path)
            ) from None
        logger.info("deleted keystore %s (%s)", info.path, info.address)
        return info

    # ------------------------------------------------------------------ files
    def ensure_directory(self) -> Path:
        """Create the folder (and missing parents) with mode 0700; warn if it is more open."""
        missing: list[Path] = []
        current = self.directory
        while not current.exists():
            missing.append(current)
            if current.parent == current:
                break
            current = current.parent
        try:
            for folder in reversed(missing):
                folder.mkdir(mode=0o700)
                folder.chmod(0o700)  # mkdir's mode is filtered by the umask
        except FileExistsError:
            pass  # created concurrently
        except OSError as exc:
            raise KeystoreError(
                f"cannot create keystore folder {self.directory}: {exc.strerror}",
                str(self.directory),
            ) from None
        if not self.directory.is_dir():
            raise KeystoreError(
                f"keystore folder {self.directory} is not a folder", str(self.directory)
            )
        mode = stat.S_IMODE(self.directory.stat().st_mode)
        if mode & 0o077:
            logger.warning(
                "keystore folder %s has mode %o; 0700 is recommended", self.directory, mode
            )
        return self.directory

    def _write(self, file: Path, document: dict[str, Any], *, replace: bool) -> None:
        """Write ``document`` to ``file`` atomically with mode 0600."""
        self.ensure_directory()
        data = (json.dumps(document, indent=2) + "\n").encode()
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=file.parent)
        except OSError as exc:
            raise KeystoreError(
                f"cannot write in keystore folder {file.parent}: {exc.strerror}", str(file)
            ) from None
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if replace:
                os.replace(tmp, file)
            else:
                _rename_no_replace(tmp, file)
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise KeystoreError(
                    f"cannot write keystore file {file}: {exc.strerror}", str(file)
                ) from None
            raise
        _fsync_directory(file.parent)


def _fsync_directory(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _rename_no_replace(tmp: Path, file: Path) -> None:
    """Move ``tmp`` to ``file`` unless ``file`` exists (a hard link is atomic about that)."""
    try:
        os.link(tmp, file)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system: check, then rename
        if file.exists():
            raise FileExistsError(17, "File exists", str(file)) from None
        os.replace(tmp, file)
        return
    tmp.unlink()
