"""EIP-4361 messages: parsing (the EIP's own examples), building, verifying."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from indexer.errors import SiweFormatError, SiweVerificationError
from indexer.siwe import SiweMessage, generate_nonce, parse_message, verify_message

# The example messages of EIP-4361 ("Examples"): implicit scheme, explicit port, explicit scheme.
EIP_EXAMPLE = """example.com wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ExampleOrg Terms of Service: https://example.com/tos

URI: https://example.com/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json"""
EIP_EXAMPLE_PORT = EIP_EXAMPLE.replace("example.com wants", "example.com:3388 wants", 1)
EIP_EXAMPLE_SCHEME = EIP_EXAMPLE.replace("example.com wants", "https://example.com wants", 1)

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ACCOUNT = Account.from_key(KEY)
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def message(**changes: object) -> SiweMessage:
    fields: dict[str, object] = {
        "domain": "localhost:8000",
        "address": ACCOUNT.address,
        "uri": "http://localhost:8000",
        "version": "1",
        "chain_id": 31337,
        "nonce": "abcdefgh1234",
        "issued_at": "2026-01-01T11:59:00Z",
        "statement": "Sign in to EnergyChain.",
    }
    fields.update(changes)
    return SiweMessage(**fields)  # type: ignore[arg-type]


def sign(text: str, key: str = KEY) -> str:
    return "0x" + bytes(Account.sign_message(encode_defunct(text=text), key).signature).hex()


def test_the_eip_example_parses_into_its_fields() -> None:
    parsed = parse_message(EIP_EXAMPLE)
    assert parsed.domain == "example.com" and parsed.scheme is None
    assert parsed.address == "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
    assert parsed.statement == "I accept the ExampleOrg Terms of Service: https://example.com/tos"
    assert (parsed.uri, parsed.version, parsed.chain_id, parsed.nonce) == (
        "https://example.com/login",
        "1",
        1,
        "32891756",
    )
    assert parsed.issued_at == "2021-09-30T16:25:24Z"
    assert len(parsed.resources) == 2


def test_the_eip_example_with_a_port_keeps_it_in_the_domain() -> None:
    assert parse_message(EIP_EXAMPLE_PORT).domain == "example.com:3388"


def test_the_eip_example_with_a_scheme_separates_it() -> None:
    parsed = parse_message(EIP_EXAMPLE_SCHEME)
    assert (parsed.scheme, parsed.domain) == ("https", "example.com")


@pytest.mark.parametrize("text", [EIP_EXAMPLE, EIP_EXAMPLE_PORT, EIP_EXAMPLE_SCHEME])
def test_building_a_parsed_message_gives_the_same_text(text: str) -> None:
    assert parse_message(text).to_text() == text


def test_a_message_without_statement_has_two_empty_lines() -> None:
    text = message(statement=None).to_text()
    assert "\n\n\nURI: " in text
    assert parse_message(text).statement is None


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda t: t.replace("Version: 1", "Version: 2"), "version"),
        (lambda t: t.replace("Nonce: 32891756", "Nonce: 1234"), "short nonce"),
        (
            lambda t: t.replace(
                "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
                "0xC02AAA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
            ),
            "bad checksum",
        ),
        (lambda t: t.replace("Chain ID: 1\n", ""), "missing chain id"),
        (lambda t: t.replace("Issued At: 2021-09-30T16:25:24Z", "Issued At: yesterday"), "time"),
        (lambda t: t.replace("\n", "\r\n"), "CRLF"),
        (lambda t: t + "\nextra", "trailing text"),
        (lambda t: t.replace(" wants you to sign in", " would like you to sign in"), "header"),
    ],
)
def test_a_malformed_message_is_refused(change: object, why: str) -> None:
    with pytest.raises(SiweFormatError):
        parse_message(change(EIP_EXAMPLE))  # type: ignore[operator]


def test_a_generated_nonce_is_long_and_alphanumeric() -> None:
    nonce = generate_nonce()
    assert len(nonce) >= 8 and nonce.isalnum()


def test_a_signed_message_for_this_server_verifies() -> None:
    text = message().to_text()
    verified = verify_message(text, sign(text), domain="localhost:8000", chain_id=31337, now=NOW)
    assert verified.address == ACCOUNT.address


def test_a_message_for_another_domain_is_refused() -> None:
    text = message(domain="evil.example").to_text()
    with pytest.raises(SiweVerificationError) as info:
        verify_message(text, sign(text), domain="localhost:8000", chain_id=31337, now=NOW)
    assert info.value.code == "siwe_wrong_domain"


def test_an_expired_message_is_refused() -> None:
    text = message(expiration_time="2026-01-01T11:59:30Z").to_text()
    with pytest.raises(SiweVerificationError) as info:
        verify_message(text, sign(text), domain="localhost:8000", chain_id=31337, now=NOW)
    assert info.value.code == "siwe_expired"


def test_a_message_before_its_not_before_time_is_refused() -> None:
    later = (NOW + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    text = message(not_before=later).to_text()
    with pytest.raises(SiweVerificationError) as info:
        verify_message(text, sign(text), domain="localhost:8000", chain_id=31337, now=NOW)
    assert info.value.code == "siwe_not_yet_valid"


def test_a_message_for_another_chain_is_refused() -> None:
    text = message(chain_id=1).to_text()
    with pytest.raises(SiweVerificationError) as info:
        verify_message(text, sign(text), domain="localhost:8000", chain_id=31337, now=NOW)
    assert info.value.code == "siwe_wrong_chain"


def test_a_signature_by_another_key_is_refused() -> None:
    text = message().to_text()
    other = Account.create().key.hex()
    with pytest.raises(SiweVerificationError) as info:
        verify_message(text, sign(text, other), domain="localhost:8000", chain_id=31337, now=NOW)
    assert info.value.code == "siwe_bad_signature"


def test_a_garbled_signature_is_refused() -> None:
    text = message().to_text()
    with pytest.raises(SiweVerificationError):
        verify_message(text, "0x1234", domain="localhost:8000", chain_id=31337, now=NOW)
