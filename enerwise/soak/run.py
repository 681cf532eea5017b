"""The soak's driver: set everything up, run the day with faults, prove nothing was lost.

The driver is the world around the system under test: it moves the chain's clock a slot at
a time (faster than real time), publishes the meters, plays the PV households' gateways,
probes the API, and injects the faults (:mod:`enerwise.soak.faults`). The system under test
runs as separate processes, killed and restarted by PID: anvil (``--state``), the soak's own
PostgreSQL, Redis and Mosquitto, ``enerwise indexer run``, ``enerwise indexer serve``,
``enerwise oracle run --clock chain`` and ``enerwise agent run``.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chain.local_node import free_port, rpc_request
from enerwise.soak import checks
from enerwise.soak.community import SLOT_SECONDS, Community, Gateways, MeterBoard
from enerwise.soak.errors import SoakError
from enerwise.soak.faults import Fault, FaultKind, Schedule, summarise
from enerwise.soak.processes import (
    Managed,
    Postgres,
    anvil,
    cli,
    mosquitto,
    port_open,
    redis,
    restart_anvil,
    wait_until,
)

logger = logging.getLogger(__name__)

ALL_KINDS = tuple(FaultKind)
API_GRACE_SECONDS = 2.0
"""After the database is back, the API's pool may hand out one dead connection per worker."""
RECOVERY_TIMEOUT = 180.0


@dataclass(frozen=True)
class SoakConfig:
    hours: float = 2.0
    """Simulated hours of the community day (4 slots each)."""
    seed: int = 0
    faults_per_kind: int = 2
    """The soak goes on past the day until every kind was injected this often."""
    pace_seconds: float = 2.0
    """Real seconds per 15-minute slot."""
    households: int = 4
    keep_dir: Path | None = None
    """Keep the soak's folder (logs, databases, state) here instead of a temporary one."""

    @property
    def slots(self) -> int:
        return max(1, round(self.hours * 4))

    def check(self) -> None:
        if not 0 < self.hours <= 24 * 7:
            raise SoakError(f"--hours must be > 0 and at most a week, got {self.hours}")
        if self.faults_per_kind < 1:
            raise SoakError(f"--faults-per-kind must be >= 1, got {self.faults_per_kind}")
        if self.pace_seconds < 0.5:
            raise SoakError(f"--pace-seconds must be >= 0.5, got {self.pace_seconds}")
        if not 2 <= self.households <= 20:
            raise SoakError(f"--households must be 2..20, got {self.households}")


@dataclass
class Hooks:
    """Callbacks: a note as the soak goes; ``before_checks(sandbox)`` right before the proof
    (tests break an identity there to show the check catches it)."""

    on_note: Callable[[str], None] = lambda _text: None
    before_checks: Callable[[Any], None] | None = None


@dataclass
class Services:
    postgres: Postgres
    redis: Managed
    mosquitto: Managed
    anvil: Managed
    indexer: Managed
    api: Managed
    oracle: Managed
    agent: Managed
    rpc_url: str
    api_url: str
    live_url: str

    def all(self) -> list[Managed]:
        assert self.postgres.managed is not None
        return [
            self.anvil,
            self.postgres.managed,
            self.redis,
            self.mosquitto,
            self.indexer,
            self.api,
            self.oracle,
            self.agent,
        ]


@dataclass
class _State:
    boundary: int = 0
    faults: list[Fault] = field(default_factory=list)
    in_flight: dict[FaultKind, Fault] = field(default_factory=dict)
    due: dict[FaultKind, float] = field(default_factory=dict)
    db_outages: list[tuple[float, float]] = field(default_factory=list)
    blocks_since_anvil_start: int = 0
    boundary_errors: int = 0


# ---------------------------------------------------------------------------------- set-up
def _start_services(folder: Path, t0: int, hooks: Hooks) -> tuple[Services, Any]:
    from chain.compiler import compile_contracts
    from devchain.sandbox import Sandbox
    from energychain.deploy import MarketSettings

    compile_contracts()
    pg = Postgres(folder / "pg")
    pg.init()
    assert pg.managed is not None
    pg.managed.start()
    live_url = pg.create_database("enerwise")
    redis_p, redis_port = redis(folder)
    redis_p.start()
    mqtt_p, mqtt_port = mosquitto(folder)
    mqtt_p.start()
    anvil_p, rpc_url = anvil(folder, t0 - 3_600)
    anvil_p.start()
    # a restart loads the state file: the genesis time applies to the first start only
    i = list(anvil_p.command).index("--timestamp")
    anvil_p.command = [*anvil_p.command[:i], "--no-mining", *anvil_p.command[i + 2 :]]
    hooks.on_note(
        f"own services up: PostgreSQL :{pg.port}, Redis :{redis_port}, "
        f"Mosquitto :{mqtt_port}, anvil {rpc_url}"
    )
    sandbox = Sandbox.at(rpc_url, MarketSettings(epoch=t0 - 3_600))
    return (
        Services(pg, redis_p, mqtt_p, anvil_p, None, None, None, None, rpc_url, "", live_url),  # type: ignore[arg-type]
        (sandbox, mqtt_port, redis_port),
    )


def _service_processes(
    folder: Path, services: Services, community: Community, redis_port: int
) -> None:
    from indexer.db.engine import make_engine
    from indexer.db.migrate import upgrade

    engine = make_engine(services.live_url)
    upgrade(engine)
    engine.dispose()
    files = community.files
    common = ["--database-url", services.live_url, "--redis-url", f"redis://127.0.0.1:{redis_port}"]
    env = {"ENERWISE_RATE_LIMIT_PER_MINUTE": "0", "ENERWISE_RPC_URL": services.rpc_url}
    services.indexer = Managed(
        "indexer",
        cli(
            "indexer",
            "run",
            *common,
            "--rpc-url",
            services.rpc_url,
            "--deployment",
            str(files["deployment"]),
            "--poll-interval",
            "0.2",
        ),
        folder / "indexer.log",
        env=env,
    )
    api_port = free_port()
    services.api_url = f"http://127.0.0.1:{api_port}"
    services.api = Managed(
        "api",
        cli(
            "indexer",
            "serve",
            *common,
            "--deployment",
            str(files["deployment"]),
            "--host",
            "127.0.0.1",
            "--port",
            str(api_port),
        ),
        folder / "api.log",
        env=env,
        ready=lambda: port_open(api_port),
    )
    services.oracle = Managed(
        "oracle",
        cli("oracle", "run", "-c", str(files["oracle"]), "--clock", "chain"),
        folder / "oracle.log",
    )
    files["agent_state"].parent.mkdir(parents=True, exist_ok=True)
    services.agent = Managed(
        "agent",
        cli(
            "agent",
            "run",
            "--keystore",
            str(files["agent_keystore"]),
            "--password-file",
            str(files["agent_password"]),
            "--owner",
            community.agent_owner.account.address,
            "--policy",
            "truthful",
            "--battery-kwh",
            "0",
            "--interval",
            "0.5",
            "--rpc-url",
            services.rpc_url,
            "--deployment",
            str(files["deployment"]),
            "--state",
            str(files["agent_state"]),
        ),
        folder / "agent.log",
    )
    for managed in (services.indexer, services.api, services.oracle, services.agent):
        managed.start(wait=False)
    services.api.wait_ready()


# ---------------------------------------------------------------------------------- probes
def _checkpoint(live_url: str) -> tuple[int, str] | None:
    import psycopg

    url = live_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url, connect_timeout=1) as conn:
        row = conn.execute("SELECT block_number, block_hash FROM indexer_state LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _head(rpc_url: str) -> tuple[int, str]:
    block = rpc_request(rpc_url, "eth_getBlockByNumber", ["latest", False])
    return int(block["number"], 16), str(block["hash"])


def _indexed(services: Services, target: int) -> bool:
    """The indexer's checkpoint is at ``target`` or later, on the node's chain."""
    cp = _checkpoint(services.live_url)
    if cp is None or cp[0] < target:
        return False
    block = rpc_request(services.rpc_url, "eth_getBlockByNumber", [hex(cp[0]), False])
    return block is not None and block["hash"] == cp[1]


def _outbox_pending(path: Path) -> int:
    if not path.is_file():
        return 1
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as c:
        return int(c.execute("SELECT COUNT(*) FROM readings WHERE status='pending'").fetchone()[0])


def _log_lines(path: Path, prefix: str) -> int:
    try:
        return sum(
            1 for line in path.read_text(errors="replace").splitlines() if line.startswith(prefix)
        )
    except OSError:
        return 0


class ApiProber:
    """Asks the API twice a second (two public routes in turn) and records every status."""

    ROUTES = ("/v1/status", "/v1/slots?limit=5")

    def __init__(self, base_url: str, started: float) -> None:
        self.base_url = base_url
        self.started = started
        self.probes: list[checks.Probe] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import httpx

        i = 0
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            while not self._stop.wait(0.5):
                route = self.ROUTES[i % len(self.ROUTES)]
                i += 1
                try:
                    status = client.get(route).status_code
                except httpx.HTTPError:
                    status = 0
                self.probes.append(checks.Probe(time.monotonic() - self.started, status, route))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)


# ---------------------------------------------------------------------------------- faults
class Injector:
    """Injects one fault and tells when it has recovered (see docs/reliability.md)."""

    def __init__(
        self, services: Services, community: Community, state: _State, clock: Callable[[], float]
    ) -> None:
        self.s = services
        self.community = community
        self.state = state
        self.clock = clock
        self._targets: dict[int, Any] = {}

    def can_inject(self, kind: FaultKind) -> bool:
        if kind is FaultKind.REORG:
            return self.s.anvil.running and self.state.blocks_since_anvil_start >= 7
        return True

    def inject(self, fault: Fault) -> None:
        kind, s = fault.kind, self.s
        fault.injected_at = self.clock()
        if kind is FaultKind.ANVIL_RESTART:
            s.anvil.stop()  # SIGTERM: anvil writes its state file
        elif kind is FaultKind.REORG:
            fault.depth = min(fault.depth, self.state.blocks_since_anvil_start - 2)
            target = reorg(s.rpc_url, fault.depth)
            self._targets[id(fault)] = target
        elif kind is FaultKind.POSTGRES_RESTART:
            s.postgres.crash()
        elif kind is FaultKind.REDIS_RESTART:
            s.redis.kill()
        elif kind is FaultKind.MOSQUITTO_RESTART:
            s.mosquitto.kill()
        else:
            process = self._process(kind)
            if kind is FaultKind.AGENT_KILL:
                self._targets[id(fault)] = _log_lines(process.log, "slot ")
            process.kill()

    def _process(self, kind: FaultKind) -> Managed:
        return {
            FaultKind.INDEXER_KILL: self.s.indexer,
            FaultKind.ORACLE_KILL: self.s.oracle,
            FaultKind.AGENT_KILL: self.s.agent,
        }[kind]

    def advance(self, fault: Fault) -> bool:
        """Restart what is down once its downtime passed; True once the fault recovered."""
        kind, s = fault.kind, self.s
        now = self.clock()
        managed = self._managed(kind)
        if managed is not None and managed.process is None:
            if now < fault.injected_at + fault.down_seconds:
                return False
            if kind is FaultKind.ANVIL_RESTART:
                restart_anvil(managed, s.rpc_url)
                self.state.blocks_since_anvil_start = 0
            else:
                managed.start(wait=False)
            if kind in (FaultKind.INDEXER_KILL,):
                with contextlib.suppress(Exception):
                    self._targets[id(fault)] = _head(s.rpc_url)[0]
        try:
            return self._recovered(fault)
        except Exception:
            return False

    def _managed(self, kind: FaultKind) -> Managed | None:
        if kind is FaultKind.REORG:
            return None
        if kind is FaultKind.POSTGRES_RESTART:
            return self.s.postgres.managed
        return {
            FaultKind.ANVIL_RESTART: self.s.anvil,
            FaultKind.REDIS_RESTART: self.s.redis,
            FaultKind.MOSQUITTO_RESTART: self.s.mosquitto,
        }.get(kind) or self._process(kind)

    def _recovered(self, fault: Fault) -> bool:
        kind, s = fault.kind, self.s
        managed = self._managed(kind)
        if managed is not None and (managed.process is None or not managed.ready()):
            return False
        if kind is FaultKind.REORG:
            return _indexed(s, self._targets[id(fault)])
        if kind is FaultKind.INDEXER_KILL:
            target = self._targets.get(id(fault))
            if target is None:  # the node did not answer when the indexer restarted: its head now
                target = self._targets[id(fault)] = _head(s.rpc_url)[0]
            return _indexed(s, target)
        if kind is FaultKind.POSTGRES_RESTART:
            import httpx

            from chain.rpc import tls_context

            # polled ten times a second while the database is back: one TLS context for all
            status = httpx.get(s.api_url + "/v1/status", timeout=2, verify=tls_context())
            return status.status_code == 200
        if kind is FaultKind.ORACLE_KILL:
            return (
                _outbox_pending(self.community.files["oracle"].parent / "oracle" / "outbox.sqlite")
                == 0
            )
        if kind is FaultKind.AGENT_KILL:
            return bool(_log_lines(s.agent.log, "slot ") > self._targets[id(fault)])
        return True


def reorg(rpc_url: str, depth: int) -> int:
    """Replace the last ``depth`` blocks by blocks holding the same transactions (other hashes),
    as a competing fork that won would, with anvil's ``anvil_reorg``. Returns the head
    afterwards.

    Every transaction mined or pooled before the call survives it. One sent *during* the call
    can be dropped by anvil (rarely; so can a real mempool in a reorganisation): the senders
    send it again, as the oracle's outbox and the agents do."""

    def call(method: str, params: list[Any]) -> Any:
        return rpc_request(rpc_url, method, params, timeout=10)

    # Automine off before the head is read: a transaction mined between reading the blocks and
    # the reorganisation would make it start one block higher than the blocks re-sent (their
    # transactions then fail as "nonce too low" and the newest block's are lost: a harsher
    # fault than a reorganisation). Transactions sent meanwhile wait in the pool.
    call("evm_setAutomine", [False])
    try:
        head = int(call("eth_blockNumber", []), 16)
        replay = [
            [call("eth_getRawTransactionByHash", [tx_hash]), offset]
            for offset, number in enumerate(range(head - depth + 1, head + 1))
            for tx_hash in call("eth_getBlockByNumber", [hex(number), False])["transactions"]
        ]
        call("anvil_reorg", [depth, replay])
    finally:
        call("evm_setAutomine", [True])
    # what arrived while automine was off waits in the pool: mine it now, in a block of its own
    if int(call("txpool_status", [])["pending"], 16):
        call("evm_mine", [])
    return int(call("eth_blockNumber", []), 16)


# ---------------------------------------------------------------------------------- the run
@dataclass
class SoakResult:
    report: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.report["ok"])


def run_soak(config: SoakConfig, hooks: Hooks | None = None) -> SoakResult:
    config.check()
    hooks = hooks or Hooks()
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if config.keep_dir is not None:
            folder = config.keep_dir
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="enerwise-soak-")))
        t0 = _day_start()
        services, (sandbox, mqtt_port, redis_port) = _start_services(folder, t0, hooks)
        stack.callback(_stop_all, services)
        from enerwise.soak.community import build_community

        community = build_community(
            sandbox,
            folder,
            seed=config.seed,
            households=config.households,
            mqtt_port=mqtt_port,
            rpc_url=services.rpc_url,
            grant_expiry=t0 + (config.slots + 400) * SLOT_SECONDS,
        )
        _service_processes(folder, services, community, redis_port)
        hooks.on_note(
            f"community of {config.households} households deployed; indexer, API "
            f"{services.api_url}, oracle and agent started; faults from seed {config.seed}"
        )
        meters = MeterBoard(community.members, mqtt_port, config.seed)
        stack.callback(meters.close)
        state = _State()
        clock_start = time.monotonic()
        prober = ApiProber(services.api_url, clock_start)
        stack.callback(prober.stop)
        _drive(config, services, community, meters, state, hooks, clock_start, sandbox, t0)
        prober.stop()
        hooks.on_note("faults over; waiting for every service to catch up")
        _settle(services, community, sandbox)
        if hooks.before_checks is not None:
            hooks.before_checks(sandbox)
        report = _prove(config, services, community, sandbox, state, prober, folder)
        report["wall_seconds"] = round(time.monotonic() - started, 1)
        report["folder"] = str(folder) if config.keep_dir is not None else None
        return SoakResult(report)
    raise AssertionError("unreachable")  # pragma: no cover


def _day_start() -> int:
    """The first boundary: midnight UTC+1 of a past day, so the chain's day is simulated."""
    now = int(time.time())
    return (now - 10 * 86_400) // 86_400 * 86_400 - 3_600 + 6 * 3_600


def _stop_all(services: Services) -> None:
    for managed in reversed(services.all()):
        if managed is not None:
            with contextlib.suppress(Exception):
                managed.stop()


def _drive(
    config: SoakConfig,
    services: Services,
    community: Community,
    meters: MeterBoard,
    state: _State,
    hooks: Hooks,
    clock_start: float,
    sandbox: Any,
    t0: int,
) -> None:
    schedule = Schedule(config.seed, ALL_KINDS, _mean_gap(config))

    def clock() -> float:
        return time.monotonic() - clock_start

    injector = Injector(services, community, state, clock)
    gateways = Gateways(community)
    for kind in ALL_KINDS:
        state.due[kind] = schedule.first_due(kind, 0.0)
    next_boundary = 0.0
    last_line = -10.0
    while True:
        now = clock()
        day_over = state.boundary > config.slots + 1
        enough = all(
            sum(1 for f in state.faults if f.kind is k) >= config.faults_per_kind for k in ALL_KINDS
        )
        if day_over and enough and not state.in_flight:
            return
        due = now >= next_boundary and services.anvil.running
        if due and _boundary(sandbox, services, meters, gateways, state, t0):
            next_boundary = now + config.pace_seconds
        for kind in ALL_KINDS:
            fault = state.in_flight.get(kind)
            if fault is not None:
                if injector.advance(fault):
                    fault.recovered_at = clock()
                    del state.in_flight[kind]
                    state.due[kind] = schedule.next_due(kind, clock())
                    if kind is FaultKind.POSTGRES_RESTART:
                        state.db_outages.append((fault.injected_at, fault.recovered_at))
                elif clock() - fault.injected_at > RECOVERY_TIMEOUT:
                    fault.note = "did not recover"
                    del state.in_flight[kind]
                    state.due[kind] = schedule.next_due(kind, clock())
                continue
            count = sum(1 for f in state.faults if f.kind is kind)
            if count >= config.faults_per_kind:
                continue
            if now >= state.due[kind] and injector.can_inject(kind):
                fault = schedule.draw(kind)
                try:
                    injector.inject(fault)
                except Exception as exc:
                    hooks.on_note(f"could not inject {kind.value}: {exc}")
                    state.due[kind] = now + 1.0
                    continue
                state.faults.append(fault)
                state.in_flight[kind] = fault
        for managed in (services.indexer, services.api, services.oracle, services.agent):
            if managed.supervise():
                hooks.on_note(
                    f"{managed.name} exited on its own (code {managed.exit_codes[-1]}): restarted"
                )
        if now - last_line >= 10:
            last_line = now
            where = (
                f"slot {state.boundary}/{config.slots}"
                if state.boundary <= config.slots
                else f"slot {state.boundary} (past the day's {config.slots}: until every kind "
                "had its faults)"
            )
            hooks.on_note(
                f"{where}, faults injected "
                f"{len(state.faults)}, in flight "
                f"{', '.join(k.value for k in state.in_flight) or 'none'}"
            )
        time.sleep(0.1)


def _mean_gap(config: SoakConfig) -> float:
    return max(3.0, (config.slots + 2) * config.pace_seconds / (config.faults_per_kind + 0.5))


def _boundary(
    sandbox: Any, services: Services, meters: MeterBoard, gateways: Gateways, state: _State, t0: int
) -> bool:
    """Boundary ``state.boundary``: meters, the block at the boundary, the gateways."""
    b = t0 + state.boundary * SLOT_SECONDS
    try:
        meters.publish() if state.boundary == 0 else None
        head_time = int(
            rpc_request(services.rpc_url, "eth_getBlockByNumber", ["latest", False])["timestamp"],
            16,
        )
        if head_time < b:
            if state.boundary > 0:
                meters.advance(b - SLOT_SECONDS)
                meters.publish()
                time.sleep(0.3)
            rpc_request(services.rpc_url, "evm_setNextBlockTimestamp", [b])
            rpc_request(services.rpc_url, "evm_mine", [])
            state.blocks_since_anvil_start += 1
        state.boundary += 1
    except Exception:
        state.boundary_errors += 1
        return False
    try:
        before = int(rpc_request(services.rpc_url, "eth_blockNumber", []), 16)
        gateways.step(b)
        after = int(rpc_request(services.rpc_url, "eth_blockNumber", []), 16)
        state.blocks_since_anvil_start += max(after - before, 0)
    except Exception:
        for member in gateways.community.members:
            with contextlib.suppress(Exception):
                member.account.sender.nonces.resync()
        with contextlib.suppress(Exception):
            sandbox.admin.nonces.resync()
    return True


def _settle(services: Services, community: Community, sandbox: Any) -> None:
    """Every service running, the oracle's outbox drained, the index at the head."""
    deadline = time.monotonic() + 180
    gateways = Gateways(community)
    while time.monotonic() < deadline:
        for managed in services.all():
            if managed is services.anvil and managed.process is None:
                restart_anvil(managed, services.rpc_url)
            elif managed.process is None:
                managed.start(wait=False)
            else:
                managed.supervise()
        try:
            now = int(
                rpc_request(services.rpc_url, "eth_getBlockByNumber", ["latest", False])[
                    "timestamp"
                ],
                16,
            )
            gateways.clear_due(now)
            head = _head(services.rpc_url)[0]
            outbox = community.files["oracle"].parent / "oracle" / "outbox.sqlite"
            if _outbox_pending(outbox) == 0 and _indexed(services, head):
                time.sleep(1.0)
                if _head(services.rpc_url)[0] == head:
                    return
        except Exception:
            pass
        time.sleep(0.5)
    raise SoakError("the services did not catch up within 180 s after the last fault")


def _prove(
    config: SoakConfig,
    services: Services,
    community: Community,
    sandbox: Any,
    state: _State,
    prober: ApiProber,
    folder: Path,
) -> dict[str, Any]:
    from enerwise.soak.community import claim_cleared

    for managed in (services.agent, services.oracle):
        managed.signal(signal.SIGTERM)
    sandbox.admin.nonces.resync()
    claim_cleared(sandbox)
    head = _head(services.rpc_url)[0]
    wait_until(lambda: _indexed(services, head), 120, "the index of the last claims")
    services.indexer.signal(signal.SIGTERM)
    outbox = community.files["oracle"].parent / "oracle" / "outbox.sqlite"
    readings = checks.check_readings(sandbox, outbox)
    duplicates = checks.duplicate_orders(sandbox)
    holders = [sandbox.admin.address, community.agent_key.address] + [
        m.account.address for m in community.members
    ]
    identities = checks.check_identities(sandbox, holders)
    fresh_url = services.postgres.create_database("fresh")
    checks.fresh_ingest(fresh_url, services.rpc_url, community.files["deployment"])
    differences = checks.indexer_differences(services.live_url, fresh_url)
    differences += checks.verify_index(services.live_url, services.rpc_url)
    outside = checks.api_errors_outside(prober.probes, state.db_outages, API_GRACE_SECONDS)
    stats = summarise(state.faults, ALL_KINDS)
    unrecovered = [f"{f.kind.value}: {f.note}" for f in state.faults if f.recovered_at is None]
    report: dict[str, Any] = {
        "seed": config.seed,
        "hours": config.hours,
        "slots": state.boundary,
        "faults": {k: v.as_dict() for k, v in stats.items()},
        "faults_total": len(state.faults),
        "lost_readings": len(readings.lost) + len(readings.duplicated),
        "readings_signed": readings.signed,
        "readings_on_chain": readings.on_chain,
        "readings_lost": readings.lost[:20],
        "readings_duplicated": readings.duplicated[:20],
        "readings_unsigned": readings.unsigned[:20],
        "orders": checks.order_count(sandbox),
        "duplicate_orders": len(duplicates),
        "duplicate_order_list": duplicates[:20],
        "identities": identities,
        "identities_ok": bool(identities) and all(identities.values()),
        "failing_identities": checks.failing(identities),
        "indexer_matches_chain": not differences,
        "indexer_differences": differences[:20],
        "api_probes": len(prober.probes),
        "api_5xx_outside_outages": sum(1 for p in outside if p.status >= 500),
        "api_unanswered_outside_outages": sum(1 for p in outside if p.status == 0),
        "unplanned_exits": {m.name: m.unplanned_exits for m in services.all() if m.unplanned_exits},
        "unrecovered": unrecovered,
    }
    report["ok"] = (
        report["lost_readings"] == 0
        and not readings.unsigned
        and report["duplicate_orders"] == 0
        and report["identities_ok"]
        and report["indexer_matches_chain"]
        and report["api_5xx_outside_outages"] == 0
        and report["api_unanswered_outside_outages"] == 0
        and not unrecovered
    )
    return report


def verdict(report: dict[str, Any]) -> list[str]:
    """One line per broken promise (empty: nothing lost)."""
    problems: list[str] = []
    for name in report["failing_identities"]:
        problems.append(f"conservation identity {name} does not hold on chain")
    if report["lost_readings"]:
        problems.append(
            f"{report['lost_readings']} signed readings not on chain exactly once: "
            f"{', '.join(report['readings_lost'] + report['readings_duplicated'])}"
        )
    if report.get("readings_unsigned"):
        problems.append(f"readings on chain the oracle never signed: {report['readings_unsigned']}")
    if report["duplicate_orders"]:
        problems.append(f"orders placed twice: {', '.join(report['duplicate_order_list'])}")
    if not report["indexer_matches_chain"]:
        problems.append(
            "the index differs from a fresh ingest of the chain: "
            + "; ".join(report["indexer_differences"])
        )
    if report["api_5xx_outside_outages"]:
        problems.append(f"{report['api_5xx_outside_outages']} API 5xx outside database outages")
    if report.get("api_unanswered_outside_outages"):
        problems.append(
            f"{report['api_unanswered_outside_outages']} API requests unanswered "
            "outside database outages"
        )
    if report["unrecovered"]:
        problems.append(f"faults that did not recover: {', '.join(report['unrecovered'])}")
    return problems
