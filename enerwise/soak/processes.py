"""The processes a soak owns: its own PostgreSQL, Redis, Mosquitto and anvil, and the
services under test (indexer, API, oracle, agent), each started, killed and restarted by PID.

Nothing here touches the machine's shared services: every server gets a free loopback port
and a data folder under the soak's temporary folder. A :class:`Managed` process that exits on
its own (a service that gave up) is started again by :meth:`Managed.supervise`, as systemd's
``Restart=always`` would, and counted.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chain.local_node import NO_DISK_HISTORY, anvil_binary, free_port, rpc_request
from enerwise.soak.errors import SoakError


def port_open(port: int, timeout: float = 0.2) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout):
        return True
    return False


def wait_until(
    probe: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if probe():
                return
        time.sleep(interval)
    raise SoakError(f"{what} did not come up within {timeout:.0f} s")


@dataclass
class Managed:
    """One child process: its command, log file and readiness probe."""

    name: str
    command: Sequence[str]
    log: Path
    ready: Callable[[], bool] = lambda: True
    env: dict[str, str] | None = None
    user: str | None = None
    """Run as this user (PostgreSQL refuses to run as root)."""
    ready_timeout: float = 60.0
    process: subprocess.Popen[bytes] | None = None
    unplanned_exits: int = 0
    exit_codes: list[int] = field(default_factory=list)

    def start(self, *, wait: bool = True) -> None:
        command = list(self.command)
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(self.env or {})},
                start_new_session=True,
            )
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        wait_until(self.ready, self.ready_timeout, f"{self.name} (log {self.log})")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the process group (runuser's child included) and reap it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)

    def supervise(self) -> bool:
        """Start the process again if it exited on its own; True if it did."""
        if self.process is None or self.process.poll() is None:
            return False
        self.exit_codes.append(int(self.process.returncode))
        self.unplanned_exits += 1
        self.start(wait=False)
        return True


def cli(*args: str) -> list[str]:
    """``enerwise ARGS`` with the running interpreter."""
    return [sys.executable, "-m", "enerwise", *args]


# ---------------------------------------------------------------------------------- servers
def postgres_bin() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` holding ``initdb`` and ``pg_ctl``."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        raise SoakError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
    return Path(found[-1]).parent


@dataclass
class Postgres:
    """A throwaway cluster: ``initdb`` in ``folder``, the server on a free port."""

    folder: Path
    port: int = field(default_factory=free_port)
    user: str | None = None
    managed: Managed | None = None

    def init(self) -> None:
        self.user = "postgres" if os.geteuid() == 0 else None
        data = self.folder / "data"
        data.mkdir(parents=True)
        if self.user is not None:
            # the server's user must pass through the soak's folder (a 0700 temporary one)
            parent = self.folder.parent
            parent.chmod(parent.stat().st_mode | 0o011)
            shutil.chown(self.folder, self.user)
            shutil.chown(data, self.user)
        binary = postgres_bin()
        command = [str(binary / "initdb"), "-D", str(data), "-A", "trust", "-U", "soak"]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, check=False)
        if done.returncode != 0:
            raise SoakError(f"initdb failed: {done.stderr.decode(errors='replace')[-300:]}")
        log = self.folder / "postgres.log"
        log.touch()
        if self.user is not None:
            shutil.chown(log, self.user)
        self.managed = Managed(
            "postgresql",
            [
                str(binary / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.folder),
                "-c",
                "max_connections=60",
            ],
            log,
            ready=lambda: self._accepts(),
            user=self.user,
        )

    def _accepts(self) -> bool:
        import psycopg

        with psycopg.connect(self.url("postgres", driver=False), connect_timeout=1):
            return True

    def url(self, database: str, *, driver: bool = True) -> str:
        scheme = "postgresql+psycopg" if driver else "postgresql"
        return f"{scheme}://soak@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres", driver=False), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def crash(self) -> None:
        """An immediate shutdown (SIGQUIT: no checkpoint, crash recovery at the next start)."""
        assert self.managed is not None
        self.managed.signal(signal.SIGQUIT)


def redis(folder: Path) -> tuple[Managed, int]:
    port = free_port()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SoakError("redis-server is not installed")
    managed = Managed(
        "redis",
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        folder / "redis.log",
        ready=lambda: port_open(port),
    )
    return managed, port


def mosquitto(folder: Path) -> tuple[Managed, int]:
    port = free_port()
    binary = shutil.which("mosquitto")
    if binary is None:
        raise SoakError("mosquitto is not installed")
    conf = folder / "mosquitto.conf"
    # max_queued_messages 0: the default (1000) silently drops QoS 1 messages to a slow client
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
        "persistence false\n"
    )
    managed = Managed(
        "mosquitto",
        [binary, "-c", str(conf)],
        folder / "mosquitto.log",
        ready=lambda: port_open(port),
    )
    return managed, port


def anvil(folder: Path, genesis_timestamp: int) -> tuple[Managed, str]:
    """anvil on a free port keeping its chain in a state file across restarts (``--state``:
    loaded at start, written when it is stopped with SIGTERM)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        anvil_binary(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--silent",
        *NO_DISK_HISTORY,
        "--gas-limit",
        "100000000",
        "--timestamp",
        str(genesis_timestamp),
        "--state",
        str(folder / "anvil-state.json"),
    ]
    managed = Managed(
        "anvil", command, folder / "anvil.log", ready=lambda: bool(rpc_request(url, "eth_chainId"))
    )
    return managed, url


def restart_anvil(managed: Managed, url: str) -> None:
    """Start anvil again from its state file with the chain's own clock.

    A restarted anvil stamps new blocks with the wall clock, not the chain's time (which runs
    ahead or behind it in a soak): it starts with mining off, gets its clock set to the latest
    block's time, and only then mines (transactions sent meanwhile wait in its pool).
    """
    managed.start(wait=True)
    latest = rpc_request(url, "eth_getBlockByNumber", ["latest", False])
    rpc_request(url, "evm_setTime", [int(latest["timestamp"], 16)])
    rpc_request(url, "evm_setAutomine", [True])
