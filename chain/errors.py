"""Exceptions of the chain layer.

Every error raised on purpose by ``chain`` derives from :class:`ChainError`; the ones a caller
may also want to catch by their built-in kind inherit from it too (web3.py does the same)::

    ChainError
    ├── CompileError                 the compiler rejected the sources (file:line: message)
    ├── ToolchainMissingError        node / solc-js / anvil are not installed (run `make setup`)
    ├── RpcError (ConnectionError)   a JSON-RPC call failed: no answer, or an error answer
    │   ├── RpcUnreachableError      a JSON-RPC endpoint did not answer (names the URL)
    │   └── RangeTooLargeError       the node refused an eth_getLogs range (read fewer blocks)
    ├── LocalChainError              starting, finding or stopping the local anvil failed
    ├── DeploymentError              a deployment file is missing, stale or does not match code
    ├── ContractRevertError          a call or transaction reverted (decoded custom error)
    ├── AbiMismatchError (ValueError) the ABI lacks a function, event or field asked for, or an
    │                                answer does not fit it
    └── EnergyChainError             the protocol client's own (``energychain.errors``)
"""

from __future__ import annotations

from typing import Any


class ChainError(Exception):
    """Root of every error the chain layer raises on purpose."""


class CompileError(ChainError):
    """The Solidity compiler reported errors; ``messages`` are ``file:line: message`` lines."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("\n".join(messages))


class ToolchainMissingError(ChainError, FileNotFoundError):
    """A tool installed by ``make setup`` (node, solc-js, anvil) cannot be found."""


class RpcError(ChainError, ConnectionError):
    """A JSON-RPC call failed: the node is unreachable or answered with an error."""


class RangeTooLargeError(RpcError):
    """The node refused an ``eth_getLogs`` range (too many results, too long, timed out)."""


class RpcUnreachableError(RpcError):
    """No JSON-RPC node answered at ``url``."""

    def __init__(self, url: str, reason: str = "") -> None:
        self.url = url
        detail = f": {reason}" if reason else ""
        super().__init__(f"cannot reach the JSON-RPC node at {url}{detail}")


class LocalChainError(ChainError):
    """The local anvil node could not be started, found or stopped."""


class DeploymentError(ChainError):
    """A deployment record is missing or does not match the chain."""


class AbiMismatchError(ChainError, ValueError):
    """The ABI has no such function, event or field, or an answer does not fit it."""


class ContractRevertError(ChainError):
    """A contract call reverted. ``name`` is the custom error (or ``Error``/``Panic``).

    ``args`` holds the decoded error arguments in declaration order; ``data`` the raw revert
    bytes, kept so that an unknown selector still says what came back.
    """

    def __init__(self, name: str, args: tuple[Any, ...] = (), data: bytes = b"") -> None:
        self.name = name
        self.args_decoded = args
        self.data = data
        rendered = ", ".join(_render(a) for a in args)
        super().__init__(f"{name}({rendered})")


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
