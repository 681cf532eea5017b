"""Shared fixtures: compiled artifacts, anvil nodes, in-process chains, funded signers."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator

import pytest
from web3 import Web3

from chain.compiler import compile_contracts
from chain.connection import connect, in_process_chain, in_process_keys
from chain.local_node import ANVIL_DEV_KEYS, AnvilProcess, start_anvil
from energychain.contracts import revert_decoder
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender


@pytest.fixture(scope="session", autouse=True)
def _heap_frozen_after_collection() -> None:
    """What is alive when the first test starts (the libraries, the collected test modules) stays
    alive all session: frozen (gc.freeze), the collector's full passes skip it. Reference
    counting still frees it as ever; only cycles among these objects would wait. 8 to 22 %
    less CPU a file (tests/indexer/test_api.py 6.1 -> 4.7 CPU-s)."""
    gc.freeze()


# The files that take longest (seconds of wall time in a clean-clone CI), run first: otherwise
# the soak (117 s, paced by the wall clock) and the journeys (143 s) can start late and run on
# alone at the end while the other workers have finished. Only the order of files changes; a
# file's tests keep theirs. `--dist loadfile` hands files out in this order only with
# `--no-loadscope-reorder` (Makefile): by default pytest-xdist sorts files by their number of
# tests, and the soak's four tests went last.
LONGEST_FILES_FIRST = (
    "tests/soak/test_soak.py",
    "tests/browser/test_journeys.py",
    "tests/agents/test_rl.py",
    "tests/chain/test_gas_snapshot.py",
    "tests/indexer/test_sealed.py",
    "tests/enerwise/test_city.py",
    "tests/indexer/test_household_api.py",
    "tests/indexer/test_resilience.py",
    "tests/grid/test_catalogue.py",
    "tests/agents/test_cli.py",
    "tests/indexer/test_auth.py",
    "tests/browser/test_sealed_trade.py",
    "tests/indexer/test_pool.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FILES_FIRST)}
    root = config.rootpath

    def file_rank(item: pytest.Item) -> int:
        return rank.get(item.path.relative_to(root).as_posix(), len(rank))

    items.sort(key=file_rank)  # stable: the rest keeps pytest's order


# pytest-xdist's workers start with COLUMNS=80 (the controller's width). The CLI's consoles read
# COLUMNS when they are made, at import, and are LOG_WIDTH wide without it (as in a log, which is
# how the serial suite runs them): a worker then wraps tables the serial suite does not.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A command run in-process sets up the root logger as its own process would, once (its
    level, the handler of ``output.log_to_stderr``): the next test starts from the set-up before,
    so no INFO record of a library reaches another command's captured output."""
    from enerwise.cli import output  # not at import: its consoles read COLUMNS (above)

    root = logging.getLogger()
    level = root.level
    yield
    for handler in output.installed_handlers():
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def compiled() -> None:
    """The repository's contracts compiled into build/ (cached between runs)."""
    compile_contracts()


@pytest.fixture
def fast_keystores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every keystore written during the test (by the wallet CLI, by the operator's generated
    meter keys) uses scrypt n = FAST_SCRYPT_N, for tests about what a command does rather than
    the KDF's cost: a real one (n = 262144) takes ~0.8 CPU-s to write and again to unlock.
    Unlocking reads n from the file. The tests of the real n do not ask for this."""
    from tests.wallet.known_secrets import FAST_SCRYPT_N
    from wallet.keystore import Keystore

    init = Keystore.__init__

    def fast_init(
        self: Keystore, directory: str | os.PathLike[str] | None = None, *, scrypt_n: int = 0
    ) -> None:
        init(self, directory, scrypt_n=FAST_SCRYPT_N)

    monkeypatch.setattr(Keystore, "__init__", fast_init)


@pytest.fixture
def anvil() -> Iterator[AnvilProcess]:
    """A fresh anvil on a free loopback port, stopped after the test."""
    with start_anvil() as node:
        yield node


@pytest.fixture(params=["anvil", "eth-tester"])
def chain_sender(request: pytest.FixtureRequest, compiled: None) -> Iterator[TransactionSender]:
    """A funded sender on anvil and on the in-process chain: core paths run on both."""
    if request.param == "anvil":
        with start_anvil() as node:
            w3 = connect(node.rpc_url)
            yield TransactionSender(
                w3, LocalKeySigner(ANVIL_DEV_KEYS[0]), decode_revert=revert_decoder()
            )
    else:
        w3: Web3 = in_process_chain()
        key = in_process_keys(w3)[0]
        yield TransactionSender(w3, LocalKeySigner(key), decode_revert=revert_decoder())
