"""The indexer and the API (and the dApp's static build) of a demo run, in threads.

The ingester follows the demo's chain into a SQLite database in the run's work folder; the
FastAPI app (``indexer.api.create_app``) serves it with uvicorn on ``127.0.0.1:port``.
Both stop when :meth:`ApiServices.stop` is called (the demo's clean-up).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from chain.rpc import JsonRpcClient
from devchain.sandbox import Sandbox
from enerwise.demo.config import DemoError
from indexer.api import ApiConfig, create_app
from indexer.api.sessions import ChainRoles
from indexer.community_queries import Tariffs
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from indexer.ingest import IngestConfig, Ingester
from indexer.live import LocalHub

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


@dataclass
class ApiServices:
    """The running ingester and API server."""

    url: str
    ingester: Ingester
    _stop: threading.Event
    _threads: list[threading.Thread] = field(default_factory=list)
    _server: object | None = None

    def indexed_block(self) -> int:
        """The ingester's checkpoint (last block written to the database)."""
        from indexer import store

        with self.ingester.engine.connect() as conn:
            checkpoint = store.checkpoint(conn)
        return checkpoint.block_number if checkpoint is not None else 0

    def wait_indexed(self, block: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.indexed_block() >= block:
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.should_exit = True  # type: ignore[attr-defined]
        for thread in self._threads:
            thread.join(timeout=10)
        self.ingester.rpc.close()
        self.ingester.engine.dispose()


def start_services(
    sandbox: Sandbox,
    rpc_url: str,
    *,
    port: int,
    workdir: Path,
    dapp_dir: Path,
    retail: int,
    feed_in: int,
) -> ApiServices:
    """Migrate a fresh database, start ingesting and serve the API on ``127.0.0.1:port``."""
    import uvicorn

    engine = make_engine(f"sqlite:///{workdir / 'indexer.sqlite3'}")
    upgrade(engine)
    hub = LocalHub()
    deployment = sandbox.deployment
    ingester = Ingester(
        engine,
        JsonRpcClient(rpc_url),
        deployment.addresses,
        deployment.block_number,
        publisher=hub,
        config=IngestConfig(confirmations=0, poll_interval=0.2),
    )
    ingester.prepare()
    stop = threading.Event()
    api = create_app(
        engine,
        ApiConfig(
            cors_origins=[f"http://{HOST}:{port}", f"http://localhost:{port}"],
            rate_limit_per_minute=0,
            tariffs=Tariffs(retail=retail, feed_in=feed_in),
            siwe_domain=f"{HOST}:{port}",
            rpc_url=rpc_url,
            static_dir=dapp_dir if dapp_dir.is_dir() else None,
        ),
        hub=hub,
        roles=ChainRoles(
            JsonRpcClient(rpc_url), deployment.addresses["market"], deployment.addresses["registry"]
        ),
    )
    server = uvicorn.Server(
        uvicorn.Config(api, host=HOST, port=port, log_level="warning", access_log=False)
    )
    services = ApiServices(url=f"http://{HOST}:{port}", ingester=ingester, _stop=stop)
    services._server = server
    services._threads = [
        threading.Thread(target=ingester.run, args=(stop,), name="demo-ingester", daemon=True),
        threading.Thread(target=server.run, name="demo-api", daemon=True),
    ]
    for thread in services._threads:
        thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not services._threads[1].is_alive():
            services.stop()
            raise DemoError(f"the API could not start on {HOST}:{port} (port in use?)")
        if time.monotonic() > deadline:
            services.stop()
            raise DemoError(f"the API did not start on {HOST}:{port} within 15 s")
        time.sleep(0.02)
    logger.info("indexer and API at %s", services.url)
    return services
