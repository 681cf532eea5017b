"""A :class:`~wallet.signer.Signer` whose key lives behind a JSON-RPC endpoint.

Works with anything that answers ``eth_signTransaction`` and ``eth_signTypedData_v4`` for an
account it holds: clef, a geth/anvil node with unlocked accounts, web3signer's Ethereum
endpoint, an HSM gateway. The key never comes to this process.

Nothing the endpoint returns is trusted blindly: a signed transaction is decoded and must be
from :attr:`RemoteSigner.address` and carry exactly the nonce, gas, fees, value, data,
recipient and chain id that were asked for; a typed-data signature must recover to the address
(and be low-s). A signer that answers anything else raises :class:`SignerError`.

The transport is a callable (``url, body -> answer``) so tests can run the same code without a
network; the default one is ``urllib`` with a timeout. Credentials in the URL
(``https://user:secret@host``) are never shown in messages.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from eth_account import Account
from eth_account._utils.legacy_transactions import Transaction as LegacyTransaction
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_typing import ChecksumAddress
from eth_utils.address import is_hex_address, to_checksum_address
from hexbytes import HexBytes

from wallet.errors import SignerError, TypedDataError
from wallet.typed_data import recover_typed_data_signer, to_json_compatible

#: ``(url, request body) -> parsed JSON answer``; raises OSError (or URLError) when unreachable.
Transport = Callable[[str, dict[str, Any]], Any]

_QUANTITIES = (
    "nonce",
    "gas",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "maxFeePerBlobGas",
    "value",
    "chainId",
    "type",
)
#: Fields compared between the request and the transaction the remote signer returns.
_CHECKED = (
    "nonce",
    "gas",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "value",
    "to",
    "data",
    "chainId",
)


def redact_url(url: str) -> str:
    """``url`` without user name and password (safe to show)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}"))


def urllib_transport(timeout: float = 30.0) -> Transport:
    """The default transport: one HTTP POST per call with the standard library."""

    def post(url: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    return post


def tx_to_rpc(tx: dict[str, Any]) -> dict[str, Any]:
    """A transaction dict (web3.py / eth-account style) as JSON-RPC fields: quantities as
    ``0x`` hex numbers, bytes as ``0x`` hex data, ``data`` sent as both ``input`` and ``data``
    (nodes read one or the other; both carry the same bytes)."""
    rpc: dict[str, Any] = {}
    for key, value in tx.items():
        if key in _QUANTITIES:
            rpc[key] = hex(int(value))
        elif key in ("data", "input"):
            data = HexBytes(value) if value else HexBytes(b"")
            rpc["input"] = rpc["data"] = "0x" + bytes(data).hex()
        elif key in ("to", "from"):
            rpc[key] = to_checksum_address(value) if value else None
        elif key == "accessList":
            rpc[key] = [
                {
                    "address": to_checksum_address(entry["address"]),
                    "storageKeys": ["0x" + bytes(HexBytes(k)).hex() for k in entry["storageKeys"]],
                }
                for entry in value
            ]
        else:
            rpc[key] = to_json_compatible(value)
    return rpc


class RemoteSigner:
    """Signs through ``eth_signTransaction`` / ``eth_signTypedData_v4`` at ``url``."""

    def __init__(
        self,
        url: str,
        address: str,
        *,
        timeout: float = 30.0,
        transport: Transport | None = None,
    ) -> None:
        if not is_hex_address(address):
            raise SignerError(f"remote signer address {address!r} is not an address")
        self.url = url
        self._address = to_checksum_address(address)
        self._transport = transport or urllib_transport(timeout)
        self._ids = itertools.count(1)

    @property
    def address(self) -> ChecksumAddress:
        return self._address

    def __repr__(self) -> str:
        return f"RemoteSigner({self._address}, {redact_url(self.url)!r})"

    # ------------------------------------------------------------------ JSON-RPC
    def _call(self, method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        where = redact_url(self.url)
        try:
            answer = self._transport(self.url, body)
        except urllib.error.HTTPError as exc:
            raise SignerError(f"remote signer at {where}: HTTP {exc.code} for {method}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SignerError(f"remote signer at {where} is unreachable: {reason}") from None
        except ValueError:
            raise SignerError(f"remote signer at {where} answered {method} with no JSON") from None
        if not isinstance(answer, dict):
            raise SignerError(f"remote signer at {where} answered {method} with no JSON object")
        error = answer.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            raise SignerError(f"remote signer at {where} refused {method}: {message}")
        if "result" not in answer:
            raise SignerError(f"remote signer at {where} answered {method} without a result")
        return answer["result"]

    # ------------------------------------------------------------------ Signer
    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        """``eth_signTransaction`` of ``tx`` from :attr:`address`; checked, then the raw bytes."""
        if "from" in tx and to_checksum_address(tx["from"]) != self._address:
            raise SignerError(f"transaction is from {tx['from']}, this signer is {self._address}")
        request = tx_to_rpc({**tx, "from": self._address})
        result = self._call("eth_signTransaction", [request])
        if isinstance(result, dict):  # geth and clef answer {"raw": ..., "tx": ...}
            result = result.get("raw")
        try:
            raw = bytes(HexBytes(result))
        except (TypeError, ValueError):
            raw = b""
        if not raw:
            raise SignerError("remote signer returned no raw transaction")
        self._check_signed(tx, raw)
        return raw

    def _check_signed(self, tx: dict[str, Any], raw: bytes) -> None:
        try:
            sender = Account.recover_transaction(raw)
            signed = _decode_transaction(raw)
        except Exception:
            raise SignerError("remote signer returned an undecodable transaction") from None
        if sender != self._address:
            raise SignerError(f"remote signer signed as {sender}, expected {self._address}")
        for field in _CHECKED:
            if field not in tx or field not in signed:
                continue
            wanted, got = _comparable(field, tx[field]), _comparable(field, signed[field])
            if wanted != got:
                raise SignerError(
                    f"remote signer changed the transaction's {field}: asked {wanted}, got {got}"
                )

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        """``eth_signTypedData_v4`` (address, JSON string); the signature must recover to us."""
        document = json.dumps(to_json_compatible(typed_data))
        result = self._call("eth_signTypedData_v4", [self._address, document])
        try:
            signature = bytes(HexBytes(result))
        except (TypeError, ValueError):
            signature = b""
        if len(signature) != 65:
            raise SignerError("remote signer returned no 65-byte signature")
        try:
            signer = recover_typed_data_signer(typed_data, signature)
        except TypedDataError as exc:
            raise SignerError(f"remote signer returned an unusable signature: {exc}") from None
        if signer != self._address:
            raise SignerError(f"remote signature recovers to {signer}, expected {self._address}")
        return signature


def _decode_transaction(raw: bytes) -> dict[str, Any]:
    if raw[0] <= 0x7F:
        return TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    legacy = LegacyTransaction.from_bytes(raw)
    fields = legacy.as_dict()
    v = int(fields["v"])
    if v >= 35:
        fields["chainId"] = (v - 35) // 2
    return dict(fields)


def _comparable(field: str, value: Any) -> Any:
    if field == "to":
        return to_checksum_address(value) if value else None
    if field == "data":
        return "0x" + bytes(HexBytes(value or b"")).hex()
    return int(value, 16) if isinstance(value, str) else int(value)
