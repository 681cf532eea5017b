"""The local anvil node: start on a free loopback port, find it again, stop exactly it.

Two ways to run one:
- :func:`start_anvil` returns an :class:`AnvilProcess` owned by the caller (tests, the demo,
  the chain engine of ``enerwise auction clear``); use it as a context manager.
- :class:`LocalChain` manages the long-lived node behind ``enerwise chain up/down/status``; it
  records the process in ``<run dir>/chain/anvil.json`` and only ever stops the process that the
  record names *and* that still looks like that anvil (PID reuse is checked against the
  command line), so ``down`` never kills a stranger.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chain.errors import LocalChainError, RpcError, ToolchainMissingError
from chain.paths import ANVIL_BIN, ANVIL_PLATFORM_BINS, run_dir
from chain.retry import Backoff

LOCAL_CHAIN_ID = 31337
#: anvil's default mnemonic "test test ... junk", account 0: a well-known key, local chains only.
ANVIL_DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
)


def anvil_binary() -> str:
    """Path to anvil: the npm one installed by ``make setup``, else one on PATH.

    Of npm's, the platform package's binary, not the ``.bin/anvil`` wrapper: that is a node
    process started before, and kept beside, every anvil (a tenth of a CPU-second and ~40 MB
    each; the test suites start hundreds of nodes)."""
    platform_bins = sorted(ANVIL_PLATFORM_BINS.glob("anvil-*/bin/anvil"))
    if platform_bins:
        return str(platform_bins[0])
    if ANVIL_BIN.exists():
        return str(ANVIL_BIN)
    found = shutil.which("anvil")
    if found is None:
        raise ToolchainMissingError("anvil is not installed: run `make setup` (npm ci)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc_request(url: str, method: str, params: list[Any] | None = None, timeout: float = 2) -> Any:
    """One JSON-RPC call, tried once (a probe: no web3 needed); :class:`RpcError` if it fails."""
    from chain.rpc import JsonRpcClient  # httpx: only when a node is probed

    client = JsonRpcClient(url, timeout=timeout, backoff=Backoff(attempts=1))
    try:
        return client.request(method, params or [])
    finally:
        client.close()


@dataclass(frozen=True)
class NodeInfo:
    """A running anvil as recorded in the run directory."""

    pid: int
    port: int
    rpc_url: str
    chain_id: int
    log_path: str
    started_at: float


class AnvilProcess:
    """An anvil child process; :meth:`stop` ends it and waits."""

    def __init__(self, process: subprocess.Popen[bytes], info: NodeInfo) -> None:
        self.process = process
        self.info = info

    @property
    def rpc_url(self) -> str:
        return self.info.rpc_url

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def __enter__(self) -> AnvilProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: anvil keeps the states of its latest blocks in memory and writes every older one to
#: ``~/.foundry/anvil/tmp`` (about 170 kB a block, even an empty one), a folder it never removes,
#: not even on SIGTERM: a test suite that starts hundreds of nodes filled this machine's disk
#: (66 GB). Older states are dropped instead; state queries reach back about 500 blocks, while
#: blocks, receipts and logs stay whole.
NO_DISK_HISTORY = ("--max-persisted-states", "0")


def bounded_history(states: int) -> tuple[str, str]:
    """anvil's options to keep only the latest ``states`` states, in memory, none on disk.

    Without it anvil holds about 500 past states in memory, each a copy of the whole state: a
    city of 1,000 households (``enerwise city``) grew anvil to 9.2 GB in 36 slots and would not
    fit a day in this machine's 23 GB. State queries then reach back ``states`` blocks; blocks,
    receipts and logs stay whole. (anvil refuses ``--prune-history`` beside
    ``--max-persisted-states``, and pruning writes nothing to disk either.)
    """
    if states < 1:
        raise ValueError(f"at least one state must be kept, got {states}")
    return ("--prune-history", str(states))


def start_anvil(
    *,
    port: int | None = None,
    chain_id: int = LOCAL_CHAIN_ID,
    log_path: Path | None = None,
    extra_args: list[str] | None = None,
    detach: bool = False,
    ready_timeout: float = 15.0,
    history_states: int | None = None,
) -> AnvilProcess:
    """Start anvil on 127.0.0.1 and wait until it answers ``eth_chainId``.

    ``detach`` puts it in its own session so it outlives the caller (``enerwise chain up``).
    ``history_states`` keeps only that many past states (:func:`bounded_history`); by default
    anvil keeps its usual in-memory history and writes none to disk (:data:`NO_DISK_HISTORY`).
    """
    history = NO_DISK_HISTORY if history_states is None else bounded_history(history_states)
    binary = anvil_binary()
    for _ in range(3):  # a free port can be taken between probing and binding: retry
        chosen = port or free_port()
        cmd = [
            binary,
            "--host",
            "127.0.0.1",
            "--port",
            str(chosen),
            "--chain-id",
            str(chain_id),
            "--silent",
            *history,
            *(extra_args or []),
        ]
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log if log_path else subprocess.PIPE,
                start_new_session=detach,
            )
        finally:
            if log_path:
                log.close()  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{chosen}"
        info = NodeInfo(
            pid=process.pid,
            port=chosen,
            rpc_url=url,
            chain_id=chain_id,
            log_path=str(log_path or ""),
            started_at=time.time(),
        )
        node = AnvilProcess(process, info)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                rpc_request(url, "eth_chainId", timeout=0.5)
                return node
            except (RpcError, OSError):
                time.sleep(0.05)
        node.stop()
        if port is not None:
            break
    raise LocalChainError(f"anvil did not start on 127.0.0.1 (see {log_path or 'stderr'})")


def _pid_cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None  # a zombie: exited, not yet reaped
    return raw.replace(b"\0", b" ").decode(errors="replace")


class LocalChain:
    """The long-lived local node of ``enerwise chain up|down|status``."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = (directory or run_dir()) / "chain"
        self.state_file = self.directory / "anvil.json"

    def status(self) -> NodeInfo | None:
        """The recorded node if it still runs (and is the anvil we started), else ``None``."""
        if not self.state_file.is_file():
            return None
        try:
            info = NodeInfo(**json.loads(self.state_file.read_text()))
        except (ValueError, TypeError):
            return None
        cmdline = _pid_cmdline(info.pid)
        if cmdline is None or "anvil" not in cmdline or f"--port {info.port}" not in cmdline:
            return None
        return info

    def up(self, *, port: int | None = None, chain_id: int = LOCAL_CHAIN_ID) -> NodeInfo:
        """Start the node, or raise :class:`LocalChainError` naming the one already running."""
        running = self.status()
        if running is not None:
            raise LocalChainError(
                f"a local chain already runs at {running.rpc_url} (pid {running.pid}); "
                "use it, or stop it with `enerwise chain down`"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        node = start_anvil(
            port=port,
            chain_id=chain_id,
            log_path=self.directory / "anvil.log",
            detach=True,
        )
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(node.info), indent=2) + "\n")
        tmp.replace(self.state_file)
        return node.info

    def down(self, timeout: float = 5.0) -> NodeInfo | None:
        """Stop the recorded node; returns what was stopped (``None`` if nothing ran)."""
        info = self.status()
        if info is None:
            with contextlib.suppress(FileNotFoundError):
                self.state_file.unlink()
            return None
        os.kill(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_cmdline(info.pid) is not None and time.monotonic() < deadline:
            _reap(info.pid)
            time.sleep(0.05)
        if _pid_cmdline(info.pid) is not None:
            os.kill(info.pid, signal.SIGKILL)
            _reap(info.pid)
        self.state_file.unlink(missing_ok=True)
        return info


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child (a zombie still has /proc/<pid>)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
