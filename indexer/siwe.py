"""Sign-In with Ethereum (EIP-4361): parse, build and verify messages.

The ``siwe`` package cannot be installed beside web3 8 (it pins eth-account < 0.14), and the
format is small: this module follows the EIP's ABNF line by line. The signature is EIP-191
(``personal_sign``), recovered with eth-account; the address must carry its EIP-55 checksum.

Checks made by :func:`verify_message` (the server's side, EIP-4361 "Verifying a signed
Message"): the text conforms; ``domain`` (and ``scheme`` when present) are the server's;
``chain-id`` is the server's chain; ``issued-at`` is not in the future (a small clock skew
allowed) and the message is not expired (``expiration-time``) nor early (``not-before``); the
signature recovers to ``address``. The nonce is checked by the caller, who must consume it
atomically (it is single-use): see the API's ``/v1/auth/login``.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import is_hex_address, to_checksum_address

from indexer.errors import SiweFormatError, SiweVerificationError

_HEADER = re.compile(
    r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+\-.]*)://)?(?P<domain>[^\s/?#]+)"
    r" wants you to sign in with your Ethereum account:$"
)
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*:[^\s]+$")
_NONCE = re.compile(r"^[A-Za-z0-9]{8,}$")
_STATEMENT = re.compile(r"^[^\n\r]*$")
_CHAIN_ID = re.compile(r"^[0-9]+$")
_TAGS = ("URI", "Version", "Chain ID", "Nonce", "Issued At")
_OPTIONAL_TAGS = ("Expiration Time", "Not Before", "Request ID")


@dataclass(frozen=True)
class SiweMessage:
    """The fields of an EIP-4361 message."""

    domain: str
    address: str
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: str
    scheme: str | None = None
    statement: str | None = None
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)

    def to_text(self) -> str:
        """The message as signed (the exact inverse of :func:`parse_message`)."""
        origin = f"{self.scheme}://{self.domain}" if self.scheme else self.domain
        lines = [f"{origin} wants you to sign in with your Ethereum account:", self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines.append("")
        lines += [
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {self.issued_at}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {self.expiration_time}")
        if self.not_before is not None:
            lines.append(f"Not Before: {self.not_before}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)


def generate_nonce(length: int = 17) -> str:
    """A random alphanumeric nonce (EIP-4361: at least 8 characters)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def parse_time(value: str, name: str) -> datetime:
    """An RFC 3339 date-time with a time zone (``Z`` or an offset)."""
    if "T" not in value and "t" not in value:
        raise SiweFormatError(f"{name} {value!r} is not an RFC 3339 date-time")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise SiweFormatError(f"{name} {value!r} is not an RFC 3339 date-time") from None
    if parsed.tzinfo is None:
        raise SiweFormatError(f"{name} {value!r} has no time zone")
    return parsed


def parse_message(text: str) -> SiweMessage:
    """Parse an EIP-4361 message; :class:`SiweFormatError` says which line is wrong."""
    if "\r" in text:
        raise SiweFormatError("lines must end with LF only")
    lines = text.split("\n")
    if len(lines) < 9:
        raise SiweFormatError("too few lines for an EIP-4361 message")
    header = _HEADER.match(lines[0])
    if header is None:
        raise SiweFormatError(
            "the first line must be '<domain> wants you to sign in with your Ethereum account:'"
        )
    address = lines[1]
    if not _ADDRESS.match(address) or not is_hex_address(address):
        raise SiweFormatError("line 2 must be a 0x-prefixed 20-byte address")
    if to_checksum_address(address) != address:
        raise SiweFormatError("the address must be in its EIP-55 checksum form")
    if lines[2] != "":
        raise SiweFormatError("line 3 must be empty")
    index = 3
    statement: str | None = None
    if lines[index] != "":
        statement = lines[index]
        if statement.startswith("URI: ") or not _STATEMENT.match(statement):
            raise SiweFormatError("the statement must be one line of text")
        index += 1
    if index >= len(lines) or lines[index] != "":
        raise SiweFormatError("an empty line must follow the statement")
    index += 1
    values: dict[str, str] = {}
    for tag in _TAGS:
        if index >= len(lines) or not lines[index].startswith(f"{tag}: "):
            raise SiweFormatError(f"expected '{tag}: ' on line {index + 1}")
        values[tag] = lines[index][len(tag) + 2 :]
        index += 1
    for tag in _OPTIONAL_TAGS:
        if index < len(lines) and lines[index].startswith(f"{tag}: "):
            values[tag] = lines[index][len(tag) + 2 :]
            index += 1
    resources: list[str] = []
    if index < len(lines) and lines[index] == "Resources:":
        index += 1
        while index < len(lines) and lines[index].startswith("- "):
            resource = lines[index][2:]
            if not _URI.match(resource):
                raise SiweFormatError(f"resource {resource!r} is not a URI")
            resources.append(resource)
            index += 1
    if index != len(lines):
        raise SiweFormatError(f"unexpected text on line {index + 1}")
    if not _URI.match(values["URI"]):
        raise SiweFormatError("URI must be an RFC 3986 URI")
    if values["Version"] != "1":
        raise SiweFormatError("Version must be 1")
    if not _CHAIN_ID.match(values["Chain ID"]):
        raise SiweFormatError("Chain ID must be a decimal number")
    if not _NONCE.match(values["Nonce"]):
        raise SiweFormatError("Nonce must be at least 8 letters or digits")
    parse_time(values["Issued At"], "Issued At")
    for tag in ("Expiration Time", "Not Before"):
        if tag in values:
            parse_time(values[tag], tag)
    return SiweMessage(
        scheme=header.group("scheme"),
        domain=header.group("domain"),
        address=address,
        statement=statement,
        uri=values["URI"],
        version=values["Version"],
        chain_id=int(values["Chain ID"]),
        nonce=values["Nonce"],
        issued_at=values["Issued At"],
        expiration_time=values.get("Expiration Time"),
        not_before=values.get("Not Before"),
        request_id=values.get("Request ID"),
        resources=tuple(resources),
    )


def recover_signer(text: str, signature: str | bytes) -> str:
    """The EIP-191 signer of ``text`` (checksummed)."""
    try:
        raw = (
            bytes.fromhex(signature[2:] if signature.startswith("0x") else signature)
            if isinstance(signature, str)
            else signature
        )
        if len(raw) != 65:
            raise ValueError("a signature is 65 bytes")
        return str(Account.recover_message(encode_defunct(text=text), signature=raw))
    except Exception as exc:  # eth-account raises several kinds for a bad signature
        raise SiweVerificationError(
            f"the signature is invalid ({exc})", code="siwe_bad_signature"
        ) from None


def verify_message(
    text: str,
    signature: str | bytes,
    *,
    domain: str,
    chain_id: int,
    now: datetime | None = None,
    allowed_schemes: tuple[str, ...] = ("https", "http"),
    clock_skew_seconds: float = 60.0,
) -> SiweMessage:
    """Parse and check a signed message for this server; returns it (nonce left to the caller)."""
    message = parse_message(text)
    now = now or datetime.now(UTC)
    if message.domain != domain:
        raise SiweVerificationError(
            f"the message is for domain {message.domain!r}, this server is {domain!r}",
            code="siwe_wrong_domain",
        )
    if message.scheme is not None and message.scheme not in allowed_schemes:
        raise SiweVerificationError(
            f"scheme {message.scheme!r} is not allowed", code="siwe_wrong_domain"
        )
    if message.chain_id != chain_id:
        raise SiweVerificationError(
            f"the message is for chain {message.chain_id}, this server serves chain {chain_id}",
            code="siwe_wrong_chain",
        )
    issued = parse_time(message.issued_at, "Issued At")
    if (issued - now).total_seconds() > clock_skew_seconds:
        raise SiweVerificationError(
            "the message was issued in the future", code="siwe_not_yet_valid"
        )
    if message.expiration_time is not None and now >= parse_time(
        message.expiration_time, "Expiration Time"
    ):
        raise SiweVerificationError("the message has expired", code="siwe_expired")
    if message.not_before is not None and now < parse_time(message.not_before, "Not Before"):
        raise SiweVerificationError("the message is not valid yet", code="siwe_not_yet_valid")
    signer = recover_signer(text, signature)
    if signer != message.address:
        raise SiweVerificationError(
            f"the signature is by {signer}, not by {message.address}", code="siwe_bad_signature"
        )
    return message
