"""Connect to a JSON-RPC node, or to the in-process chain (eth-tester + py-evm)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from web3 import Web3
from web3.exceptions import ProviderConnectionError, Web3RPCError
from web3.types import RPCEndpoint

from chain.errors import ChainError, RpcUnreachableError

IN_PROCESS = "in-process"


def connect(rpc_url: str, *, timeout: float = 10.0) -> Web3:
    """A ``Web3`` for ``rpc_url`` that has answered ``eth_chainId``.

    ``rpc_url == "in-process"`` gives a fresh in-process chain (no node or anvil needed).
    Raises :class:`RpcUnreachableError` (one line, naming the URL) when nothing answers.
    """
    if rpc_url == IN_PROCESS:
        return in_process_chain()
    if not rpc_url.startswith(("http://", "https://")):
        raise RpcUnreachableError(rpc_url, "only http(s):// JSON-RPC URLs are supported")
    w3 = Web3(
        Web3.HTTPProvider(
            rpc_url,
            request_kwargs={"timeout": timeout},
            session=_session(rpc_url),
            # web3's validation middleware asks the node for its chain id twice for every
            # eth_call and transaction: two of every three requests a contract read made. A
            # node's chain id does not change, so that one answer is kept (per thread, by web3).
            cache_allowed_requests=True,
            cacheable_requests={RPCEndpoint("eth_chainId")},
        )
    )
    try:
        w3.eth.chain_id  # noqa: B018 - the probe
    except (requests.RequestException, ProviderConnectionError, OSError) as exc:
        raise RpcUnreachableError(rpc_url, _reason(exc)) from None
    except Web3RPCError as exc:
        raise RpcUnreachableError(rpc_url, f"eth_chainId failed: {exc.message}") from None
    return w3


def _session(rpc_url: str) -> requests.Session:
    """An HTTP session for ``rpc_url``; for a loopback node, one that ignores the environment.

    With ``trust_env`` requests looks up proxies, ``~/.netrc`` and CA-bundle variables on every
    request: half the time of a JSON-RPC call to a local anvil (3.1 -> 1.5 ms per call measured
    on this machine). None of them applies to loopback; remote URLs keep them (proxies matter).
    """
    session = requests.Session()
    host = urlsplit(rpc_url).hostname or ""
    if host in {"127.0.0.1", "localhost", "::1"}:
        session.trust_env = False
    return session


def in_process_chain() -> Web3:
    """A fresh in-process EVM chain (eth-tester on py-evm) with funded test accounts."""
    from web3.providers.eth_tester import EthereumTesterProvider  # py-evm: ~1 s to import

    return Web3(EthereumTesterProvider())


def in_process_keys(w3: Web3) -> list[str]:
    """Private keys of the funded accounts of an in-process chain."""
    provider: Any = w3.provider
    backend = provider.ethereum_tester.backend
    return [key.to_hex() for key in backend.account_keys]


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "Connection refused" in text or "Failed to establish" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    return type(exc).__name__


def resolve_rpc_url(rpc_url: str | None) -> str:
    """``rpc_url`` if given, else the local chain of ``enerwise chain up``.

    Raises :class:`ChainError` saying how to get a chain when there is neither.
    """
    if rpc_url:
        return rpc_url
    from chain.local_node import LocalChain  # the process manager: only when needed

    info = LocalChain().status()
    if info is None:
        raise ChainError(
            "no chain: pass --rpc-url (or set ENERWISE_RPC_URL), or start one with "
            "`enerwise chain up`"
        )
    return info.rpc_url
