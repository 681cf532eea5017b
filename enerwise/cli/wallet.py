"""``enerwise wallet``: encrypted keystores (create, import, list, re-encrypt, delete) and
EIP-712 signing with them.

Passwords come from ``--password-file FILE`` (first line), ``--password-env VAR``, or a hidden
prompt; never from the command line itself, so they cannot show in ``ps`` or shell history.
Private keys and mnemonics are read from files for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from enerwise.cli.console import confirm, console, err_console
from enerwise.cli.options import (
    JsonFlag,
    KeystoreDir,
    PasswordEnv,
    PasswordFile,
    SigningKey,
    YesFlag,
    option_groups,
)
from enerwise.cli.output import print_json
from enerwise.cli.wallet_agent import app as agent_app
from wallet.defaults import DEFAULT_DERIVATION_PATH
from wallet.errors import KeystoreError

if TYPE_CHECKING:
    from wallet.keystore import KeyInfo, Keystore
    from wallet.passwords import PasswordSource

app = typer.Typer(
    help="Encrypted keystores and signing with them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals hold passwords and keys
)

app.add_typer(agent_app, name="agent")

KeyRef = Annotated[str, typer.Argument(metavar="ADDRESS", help="Address or keystore file path.")]


def _keystore(directory: Path | None) -> Keystore:
    from wallet.keystore import Keystore

    return Keystore(directory)


@dataclass(frozen=True)
class UnlockedKeystore:
    """The keystore folder and where the password that unlocks (or encrypts) a key comes from:
    ``--keystore-dir``, ``--password-file`` / ``--password-env``, else a prompt (an option
    group of :func:`enerwise.cli.options.option_groups`)."""

    keystore_dir: KeystoreDir = None
    password_file: PasswordFile = None
    password_env: PasswordEnv = None

    def keystore(self) -> Keystore:
        return _keystore(self.keystore_dir)

    def password(self, prompt: str = "Password: ") -> PasswordSource:
        from wallet.passwords import PasswordSource

        return PasswordSource(self.password_file, self.password_env, prompt)


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def _print_key(done: str, info: KeyInfo, json_out: bool, **extra: object) -> None:
    """What a command ``done`` to one key: its address and file (with ``extra``) as JSON, else
    ``{done} ADDRESS`` and the file on the next line."""
    if json_out:
        print_json({"address": info.address, "path": str(info.path), **extra})
        return
    _say(f"{done} {info.address}\n  {info.path}")


@app.command("new")
@option_groups
def new(keys: UnlockedKeystore, json_out: JsonFlag = False) -> None:
    """Create a new random key, encrypted with a password (asked twice at the prompt)."""
    password = keys.password("New password: ").read(confirm=True)
    info = keys.keystore().create(password)
    _print_key("created", info, json_out)


@app.command("import")
@option_groups
def import_key(
    keys: UnlockedKeystore,
    private_key_file: Annotated[
        Path | None,
        typer.Option("--private-key-file", metavar="FILE", help="FILE holds a hex private key."),
    ] = None,
    mnemonic_file: Annotated[
        Path | None,
        typer.Option("--mnemonic-file", metavar="FILE", help="FILE holds BIP-39 words."),
    ] = None,
    derivation_path: Annotated[
        str | None,
        typer.Option(
            "--path",
            help=f"Derivation path for --mnemonic-file [default: {DEFAULT_DERIVATION_PATH}]",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing keystore for the same address.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Import a private key or a mnemonic-derived key into an encrypted keystore."""
    from wallet.keystore import mnemonic_from_file, private_key_from_file

    if (private_key_file is None) == (mnemonic_file is None):
        raise KeystoreError("give exactly one of --private-key-file FILE or --mnemonic-file FILE")
    if derivation_path is not None and mnemonic_file is None:
        raise KeystoreError("--path only applies to --mnemonic-file")
    keystore = keys.keystore()
    source = keys.password("New password: ")
    if private_key_file is not None:
        key = private_key_from_file(private_key_file)
        info = keystore.import_private_key(key, source.read(confirm=True), force=force)
    else:
        assert mnemonic_file is not None
        words = mnemonic_from_file(mnemonic_file)
        info = keystore.import_mnemonic(
            words,
            source.read(confirm=True),
            path=derivation_path or DEFAULT_DERIVATION_PATH,
            force=force,
        )
    _print_key("imported", info, json_out)


@app.command("list")
def list_keys(keystore_dir: KeystoreDir = None, json_out: JsonFlag = False) -> None:
    """List the keystores in the folder (no password needed)."""
    keystore = _keystore(keystore_dir)
    keys, problems = keystore.scan()
    for problem in problems:
        err_console.print(
            f"[yellow]warning:[/] skipped: {problem}", highlight=False, soft_wrap=True
        )
    if json_out:
        print_json(
            [
                {"address": k.address, "path": str(k.path), "created": k.created.isoformat()}
                for k in keys
            ]
        )
        return
    if not keys:
        _say(f"no keystores in {keystore.directory}")
        return
    for key in keys:  # plain lines: a table would cut addresses on a narrow terminal
        _say(f"{key.address}  {key.created:%Y-%m-%d %H:%M:%S}Z  {key.path}")
    _say(f"{len(keys)} keys in {keystore.directory}")


@app.command("show")
def show(ref: KeyRef, keystore_dir: KeystoreDir = None, json_out: JsonFlag = False) -> None:
    """Show one keystore's public facts: address, file, creation time, origin."""
    info = _keystore(keystore_dir).find(ref)
    if json_out:
        print_json(info.as_dict())
        return
    for key, value in info.as_dict().items():
        if value is not None:
            _say(f"{key:<16} {value}")


@app.command("passwd")
@option_groups
def passwd(
    ref: KeyRef,
    keys: UnlockedKeystore,
    new_password_file: Annotated[
        Path | None,
        typer.Option(
            "--new-password-file", metavar="FILE", help="Read the new password from FILE."
        ),
    ] = None,
    new_password_env: Annotated[
        str | None,
        typer.Option("--new-password-env", metavar="VAR", help="Read the new password from VAR."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Re-encrypt a keystore under a new password (the file is replaced atomically)."""
    from wallet.passwords import PasswordSource

    keystore = keys.keystore()
    info = keystore.find(ref)  # fail on a wrong address before asking anything
    old = keys.password("Current password: ").read()
    new_source = PasswordSource(new_password_file, new_password_env, "New password: ")
    info = keystore.change_password(info.path, old, new_source.read(confirm=True))
    _print_key("changed the password of", info, json_out)


@app.command("export-public")
@option_groups
def export_public(ref: KeyRef, keys: UnlockedKeystore, json_out: JsonFlag = False) -> None:
    """Print the address and the uncompressed public key (unlocks the key to compute it)."""
    keystore = keys.keystore()
    info = keystore.find(ref)
    password = keys.password().read()
    public = keystore.public_info(info.path, password)
    if json_out:
        print_json(public.as_dict())
        return
    for key, value in public.as_dict().items():
        _say(f"{key:<11} {value}")


@app.command("delete")
@option_groups
def delete(
    ref: KeyRef, keys: UnlockedKeystore, yes: YesFlag = False, json_out: JsonFlag = False
) -> None:
    """Delete a keystore file (asks on a terminal unless --yes; a password option, when given,
    must unlock it first)."""
    keystore = keys.keystore()
    info = keystore.find(ref)
    password = None
    if keys.password_file is not None or keys.password_env is not None:
        password = keys.password().read()
    confirm(
        f"Delete the keystore of {info.address} ({info.path})? The key is lost unless it is "
        "backed up elsewhere",
        yes=yes,
    )
    _print_key("deleted", keystore.delete(info.path, password), json_out, deleted=True)


@app.command("sign-typed-data")
@option_groups
def sign_typed_data(
    key: SigningKey,
    data: Annotated[
        Path,
        typer.Option("--data", metavar="FILE", help="EIP-712 document (eth_signTypedData_v4)."),
    ],
    json_out: JsonFlag = False,
) -> None:
    """Sign an EIP-712 document with a keystore; prints the 65-byte signature and the signer."""
    from wallet.typed_data import load_typed_data, recover_typed_data_signer

    signer = key.signer()  # checks the file
    document = load_typed_data(data)
    key.unlock(signer, "Password: ")
    try:
        address = signer.address  # from the key: the file's address field is optional
        signature = signer.sign_typed_data(document)
    finally:
        signer.lock()
    recovered = recover_typed_data_signer(document, signature)  # also checks low-s
    if recovered != address:  # pragma: no cover - would be a bug in eth-account
        raise KeystoreError(f"signature recovers to {recovered}, not to {address}")
    if json_out:
        print_json({"signature": "0x" + signature.hex(), "signer": address})
        return
    _say(f"signature  0x{signature.hex()}\nsigner     {address}")
