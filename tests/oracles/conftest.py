"""Fixtures of the oracle tests: a throwaway Mosquitto, anvil with a bare MeterRegistry, a fake
Kubo RPC server, an in-memory registry, and keys."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from chain.connection import connect
from chain.local_node import ANVIL_DEV_KEYS, AnvilProcess, free_port, start_anvil
from devchain.meter_registry import MeterRegistration, deploy_registry, register_meters
from energychain.calendar import SlotCalendar
from energychain.contracts import revert_decoder
from energychain.meter_reading import Domain
from oracles.archive import compute_cid
from oracles.config import dev_key
from oracles.errors import SubmissionError
from oracles.readings import SignedReading, meter_id_from_name, recover_reading_signer
from oracles.registry import BatchOutcome, ChainMeter
from oracles.validation import LastReading
from wallet.signer import LocalKeySigner
from wallet.transactions import TransactionSender

SLOT = 60


# ---------------------------------------------------------------------------------- Mosquitto
@dataclass
class Broker:
    """A Mosquitto the test owns (never the system one): stop/start it by PID."""

    port: int
    conf: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        import socket

        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)
        self.process = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if shutil.which("mosquitto") is None:
        pytest.skip("mosquitto is not installed")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "max_queued_messages 0\n"
        "persistence false\n"
    )
    b = Broker(port, conf)
    b.start()
    yield b
    b.stop()


# ---------------------------------------------------------------------------------- anvil
@dataclass
class RegistryChain:
    node: AnvilProcess
    admin: TransactionSender
    registry: str
    epoch: int
    domain: Domain

    def register(self, names: list[str], capacity: int = 50_000) -> dict[str, LocalKeySigner]:
        signers = {n: LocalKeySigner(dev_key(n)) for n in names}
        register_meters(
            self.admin,
            self.registry,
            [
                MeterRegistration(meter_id_from_name(n), self.admin.address, s.address, capacity)
                for n, s in signers.items()
            ],
        )
        return signers


def _registry_chain(node: AnvilProcess) -> RegistryChain:
    w3 = connect(node.rpc_url)
    admin = TransactionSender(w3, LocalKeySigner(ANVIL_DEV_KEYS[0]), decode_revert=revert_decoder())
    registry, epoch = deploy_registry(admin, slot_seconds=SLOT, max_clock_skew_seconds=3_600)
    return RegistryChain(node, admin, registry, epoch, Domain(int(w3.eth.chain_id), registry))


@pytest.fixture
def registry_chain(compiled: None) -> Iterator[RegistryChain]:
    """anvil with a MeterRegistry: 60 s slots, the largest clock skew the registry allows (1 h:
    virtual time may run ahead of the chain by that much)."""
    with start_anvil() as node:
        yield _registry_chain(node)


@pytest.fixture
def relayer() -> LocalKeySigner:
    return LocalKeySigner(ANVIL_DEV_KEYS[1])


# ---------------------------------------------------------------------------------- Kubo
@dataclass
class FakeKubo:
    """A tiny Kubo RPC API: /api/v0/add stores (raw-leaves CIDv1), /api/v0/cat returns."""

    url: str
    blocks: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    lie: bool = False


@pytest.fixture
def fake_kubo() -> Iterator[FakeKubo]:
    state = FakeKubo(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            state.requests.append((url.path, query))
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if url.path == "/api/v0/add":
                header = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
                message = BytesParser(policy=HTTP).parsebytes(header + body)
                data = next(part.get_payload(decode=True) for part in message.iter_parts())
                cid = compute_cid(data + (b"x" if state.lie else b""))
                state.blocks[cid] = data
                answer = json.dumps({"Name": "batch.json", "Hash": cid, "Size": str(len(data))})
                self._reply(200, (answer + "\n").encode())
            elif url.path == "/api/v0/cat":
                cid = query["arg"][0]
                if cid in state.blocks:
                    self._reply(200, state.blocks[cid])
                else:
                    self._reply(500, b'{"Message":"block was not found locally","Code":0}')
            else:
                self._reply(404, b"not found")

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


# ------------------------------------------------------------------------ in-memory registry
class MemoryRegistry:
    """A RegistryGateway in memory with the registry's seq/predecessor/time/signature rules
    (a reading must name the meter's last accepted seq and timestamp as its predecessor).

    ``down = True`` makes every call fail like an unreachable node; ``submissions`` counts
    the calls that reached it. Each submission is a block of its own (``txs`` maps its
    transaction to it); :meth:`rewind` drops the latest blocks as a node restarted from an
    older state would, and :meth:`mine` adds empty ones.
    """

    def __init__(self, domain: Domain, schedule: SlotCalendar) -> None:
        self._domain = domain
        self._schedule = schedule
        self.signers: dict[bytes, str] = {}
        self.state: dict[bytes, LastReading] = {}
        self.accepted: list[tuple[bytes, int]] = []
        self.archived: list[bytes] = []
        self.down = False
        self.submissions = 0
        self.now = schedule.epoch
        self.blocks = 0
        self.max_skew: int | None = None  # set: refuse readings after now + max_skew
        self.txs: dict[str, int] = {}
        self.tx_accepted: dict[str, int] = {}  # readings each transaction accepts now
        self._history: list[tuple[dict[bytes, LastReading], list[tuple[bytes, int]]]] = []

    def _check(self) -> None:
        if self.down:
            raise SubmissionError("chain http://memory: node unreachable")

    def domain(self) -> Domain:
        return self._domain

    def schedule(self) -> SlotCalendar:
        return self._schedule

    def chain_time(self) -> int:
        self._check()
        return self.now

    def meter(self, meter_id: bytes) -> ChainMeter:
        self._check()
        signer = self.signers.get(meter_id, "0x" + "00" * 20)
        state = self.state.get(meter_id)
        last = state if state is not None and state.seq > 0 else None
        timestamp = state.timestamp if state is not None else 0
        return ChainMeter("0x" + "11" * 20, signer, 50_000, True, last, timestamp)

    def rotate(self, meter_id: bytes, signer: str) -> None:
        """``rotateSigner``: a new key; the sequence and baseline restart, the last timestamp
        stays."""
        self.signers[meter_id] = signer
        state = self.state.get(meter_id)
        if state is not None:
            self.state[meter_id] = LastReading(0, state.timestamp, 0, 0)

    def submit(self, readings: list[SignedReading], archive_cid: bytes) -> BatchOutcome:
        self._check()
        self.submissions += 1
        results: dict[tuple[bytes, int], str | None] = {}
        for signed in readings:
            r = signed.reading
            last = self.state.get(r.meter_id)
            key = (r.meter_id, r.seq)
            if last is not None and r.seq <= last.seq:
                results[key] = None if key in self.accepted else "ReadingSeqNotIncreasing"
            elif (r.prev_seq, r.prev_timestamp) != ((last.seq, last.timestamp) if last else (0, 0)):
                results[key] = "ReadingPredecessorMismatch"
            elif self.max_skew is not None and r.timestamp > self.now + self.max_skew:
                results[key] = "ReadingInFuture"
            elif recover_reading_signer(signed, self._domain) != self.signers.get(r.meter_id):
                results[key] = "ReadingSignatureInvalid"
            else:
                self.state[r.meter_id] = LastReading(r.seq, r.timestamp, r.import_wh, r.export_wh)
                self.accepted.append(key)
                results[key] = None
        self.archived.append(archive_cid)
        self.mine()
        tx_hash = f"0x{self.submissions:064x}"
        self.txs[tx_hash] = self.blocks
        self.tx_accepted[tx_hash] = sum(reason is None for reason in results.values())
        return BatchOutcome(tx_hash, self.blocks, results)

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self._history.append((dict(self.state), list(self.accepted)))
            self.blocks += 1

    def rewind(self, blocks: int) -> None:
        """Forget the latest ``blocks`` blocks: their transactions and what they accepted."""
        state, accepted = self._history[self.blocks - blocks]
        del self._history[self.blocks - blocks :]
        self.state, self.accepted = dict(state), list(accepted)
        self.blocks -= blocks
        self.txs = {tx: b for tx, b in self.txs.items() if b <= self.blocks}

    def include_again(self, tx_hash: str, accepted: int) -> None:
        """A rewound transaction mined again (a reorganisation), now accepting ``accepted``
        readings (the new block's time refused the others)."""
        self.mine()
        self.txs[tx_hash] = self.blocks
        self.tx_accepted[tx_hash] = accepted

    def head(self) -> int:
        self._check()
        return self.blocks

    def landed_block(self, tx_hash: str, accepted: int) -> int | None:
        self._check()
        block = self.txs.get(tx_hash)
        return None if block is None or self.tx_accepted[tx_hash] < accepted else block


@pytest.fixture
def memory_registry() -> MemoryRegistry:
    return MemoryRegistry(Domain(31337, "0x" + "22" * 20), SlotCalendar(1_800_000_000, SLOT))


@pytest.fixture
def deploy_registry_on(compiled: None) -> Any:
    """Deploy the test registry on a node you started yourself: ``deploy_registry_on(node)``."""
    return _registry_chain
