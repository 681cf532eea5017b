"""``enerwise indexer``: migrate the database, ingest the chain, verify it, serve the API."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from chain.errors import ChainError
from enerwise.cli.console import console, err_console
from enerwise.cli.options import DatabaseUrl, DeploymentFile, JsonFlag, RpcUrl, SettingsConfig
from enerwise.cli.output import print_json, print_json_line

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from energychain.deploy import Deployment
    from enerwise.settings import Settings
    from indexer.api.sessions import RoleResolver
    from indexer.ingest import Ingester, StepResult

app = typer.Typer(
    help="The market indexer: database migrations, ingestion, verification, the API.",
    no_args_is_help=True,
)

RedisOpt = Annotated[
    str | None, typer.Option("--redis-url", help="Publish the live feed through Redis.")
]


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _rpc_url(settings: Settings) -> str:
    from chain.connection import resolve_rpc_url

    return resolve_rpc_url(settings.rpc_url)


def _deployment(rpc_url: str, path: Path | None) -> Deployment:
    from chain.rpc import JsonRpcClient
    from energychain.deploy import Deployment, deployment_path

    if path is None:
        rpc = JsonRpcClient(rpc_url)
        try:
            path = deployment_path(rpc.chain_id())
        finally:
            rpc.close()
    return Deployment.load(path)


def _time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone (a one-line error otherwise)."""
    from billing.bill import zone

    zone(name)
    return name


def _engine(settings: Settings) -> Engine:
    from indexer.db.engine import make_engine

    return make_engine(settings.database_url)


@app.command("migrate")
def migrate(
    config: SettingsConfig = None, database_url: DatabaseUrl = None, json_out: JsonFlag = False
) -> None:
    """Bring the database schema to the latest revision (Alembic)."""
    from enerwise.settings import load_settings
    from indexer.db.migrate import upgrade

    settings = load_settings(config, database_url=database_url)
    revision = upgrade(_engine(settings))
    if json_out:
        print_json({"revision": revision})
        return
    console.print(f"database at revision {revision}")


def _pool_address(pool: str | None) -> str | None:
    """``--pool`` (``pool_address``) checksummed; a one-line error, before any node is asked,
    when it is not an address."""
    from web3 import Web3

    from enerwise.errors import OptionError

    if pool is None:
        return None
    if not Web3.is_address(pool):
        raise OptionError(f"--pool: {pool!r} is not an address")
    return str(Web3.to_checksum_address(pool))


def _addresses(deployment: Deployment, pool: str | None) -> dict[str, str]:
    """The deployment's addresses, with ``pool`` as the city pool to follow when given."""
    from indexer.pool_queries import POOL_KEY

    addresses = dict(deployment.addresses)
    if pool is not None:
        addresses[POOL_KEY] = pool
    return addresses


def _ingester(
    settings: Settings, deployment_file: Path | None, poll: float, max_range: int = 20_000
) -> Ingester:
    from chain.heads import HeadWatcher, ws_url_for
    from chain.rpc import JsonRpcClient
    from indexer.ingest import IngestConfig, Ingester
    from indexer.live import Publisher, RedisPublisher

    pool = _pool_address(settings.pool_address)
    rpc_url = _rpc_url(settings)
    ws_url = settings.ws_url or ws_url_for(rpc_url)
    deployment = _deployment(rpc_url, deployment_file)
    publisher: Publisher | None = RedisPublisher(settings.redis_url) if settings.redis_url else None
    return Ingester(
        _engine(settings),
        JsonRpcClient(rpc_url),
        _addresses(deployment, pool),
        deployment.block_number,
        publisher=publisher,
        config=IngestConfig(
            confirmations=settings.confirmations,
            poll_interval=poll,
            initial_range=min(500, max_range),
            max_range=max_range,
        ),
        heads=None if ws_url == "off" else HeadWatcher(ws_url),
    )


@app.command("run")
def run(
    config: SettingsConfig = None,
    database_url: DatabaseUrl = None,
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    redis_url: RedisOpt = None,
    confirmations: Annotated[
        int | None, typer.Option(min=0, help="Blocks to stay behind the head.")
    ] = None,
    poll_interval: Annotated[float, typer.Option(min=0.01, help="Seconds between polls.")] = 1.0,
    once: Annotated[bool, typer.Option("--once", help="Exit when caught up.")] = False,
    max_range: Annotated[
        int, typer.Option(min=1, help="Most blocks per eth_getLogs range.")
    ] = 20_000,
    pool: Annotated[
        str | None,
        typer.Option(
            "--pool",
            help="A CityPool to follow too (communities, grid fee, limits); a database "
            "indexes one set of addresses, so adding a pool later needs a new database.",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Follow the chain and write its events to the database (Ctrl-C stops cleanly).

    With --json one JSON line per committed range or undone reorg, and the checkpoint at the
    end; otherwise log lines on stderr.
    """
    from enerwise.settings import load_settings

    settings = load_settings(
        config,
        database_url=database_url,
        rpc_url=rpc_url,
        redis_url=redis_url,
        confirmations=confirmations,
        pool_address=pool,
    )
    ingester = _ingester(settings, deployment, poll_interval, max_range)
    checkpoint = ingester.prepare()  # a mistake (no node, no schema) is one line: no logs yet
    _logging(verbose)
    err_console.print(
        f"indexing chain {ingester.info.chain_id if ingester.info else '?'} from block "
        f"{checkpoint.block_number + 1} ({settings.confirmations} confirmations)"
    )
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    ingester.run(stop, exit_when_idle=once, on_step=_step_line if json_out else None)
    if json_out:
        with ingester.engine.connect() as conn:
            from indexer.store import checkpoint as stored

            last = stored(conn)
        print_json_line({"checkpoint": last.block_number if last else None})


def _step_line(result: StepResult) -> None:
    if not result.idle and not result.retry:
        print_json_line(
            {
                "from_block": result.from_block,
                "to_block": result.to_block,
                "events": result.events,
                "reorged_to": result.reorged_to,
            }
        )


@app.command("verify")
def verify_command(
    config: SettingsConfig = None,
    database_url: DatabaseUrl = None,
    rpc_url: RpcUrl = None,
    json_out: JsonFlag = False,
) -> None:
    """Reconcile the database with the chain; exit 1 when anything differs."""
    from chain.rpc import JsonRpcClient
    from enerwise.settings import load_settings
    from indexer.verify import verify

    settings = load_settings(config, database_url=database_url, rpc_url=rpc_url)
    report = verify(_engine(settings), JsonRpcClient(_rpc_url(settings)))
    if json_out:
        print_json(report.to_json())
    else:
        for kind, count in report.checked.items():
            console.print(f"{kind:<18} {count} checked")
        for line in report.differences:
            err_console.print(f"[red]difference:[/] {line}", highlight=False)
        console.print(
            f"block {report.block}: "
            + ("database equals chain" if report.ok else f"{len(report.differences)} differences")
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("openapi")
def openapi(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    json_out: JsonFlag = False,  # the document is JSON either way; accepted like everywhere
) -> None:
    """Print the API's OpenAPI document (what /openapi.json serves), without a server or a
    database: the dApp's TypeScript types are generated from it (`make dapp`)."""
    import json

    from sqlalchemy import create_engine

    from indexer.api import create_app

    document = create_app(create_engine("sqlite://")).openapi()
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    if output is None:
        console.file.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    if not output.is_file() or output.read_text(encoding="utf-8") != text:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {output}")


@app.command("serve")
def serve(
    config: SettingsConfig = None,
    database_url: DatabaseUrl = None,
    rpc_url: RpcUrl = None,
    redis_url: RedisOpt = None,
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    ingest: Annotated[
        bool, typer.Option("--ingest", help="Also run the ingester in this process.")
    ] = False,
    deployment: DeploymentFile = None,
    dapp_dir: Annotated[Path, typer.Option(help="Static dApp build served at /.")] = Path(
        "dapp/out"
    ),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Serve the HTTP API (/v1, /docs, /health, /metrics, SSE at /v1/stream).

    One process; to scale out run several (with ENERWISE_REDIS_URL and a shared
    ENERWISE_SESSION_SECRET) behind a load balancer.
    """
    import uvicorn

    from enerwise.settings import load_settings
    from indexer.api import ApiConfig, create_app
    from indexer.community_queries import Tariffs
    from indexer.db.migrate import check_schema
    from indexer.live import FanOut, LocalHub, RedisPublisher

    settings = load_settings(
        config,
        database_url=database_url,
        rpc_url=rpc_url,
        redis_url=redis_url,
        api_host=host,
        api_port=port,
    )
    engine = _engine(settings)
    check_schema(engine)  # a database never migrated is one line: no logs yet
    _logging(verbose)
    hub = LocalHub()
    node_url, roles, recorded = _chain_roles(settings, deployment)
    explorer = settings.explorer_url or recorded.get("explorer_url")
    api_config = ApiConfig(
        cors_origins=[o.strip() for o in settings.cors_origins.split(",") if o.strip()],
        rate_limit_per_minute=settings.rate_limit_per_minute,
        tariffs=Tariffs(retail=settings.retail_tariff, feed_in=settings.feed_in_tariff),
        siwe_domain=settings.siwe_domain or f"{settings.api_host}:{settings.api_port}",
        rpc_url=node_url,
        static_dir=dapp_dir,
        redis_url=settings.redis_url,
        explorer_url=str(explorer).rstrip("/") if explorer else None,
        time_zone=_time_zone(settings.time_zone or str(recorded.get("time_zone") or "UTC")),
    )
    if settings.session_secret:
        api_config.session_secret = settings.session_secret
    stop = threading.Event()
    thread: threading.Thread | None = None
    if ingest:
        ingester = _ingester(settings, deployment, 0.2)
        if settings.redis_url:
            ingester.publisher = FanOut(RedisPublisher(settings.redis_url))
            # with Redis the app's relay feeds the hub; publishing to both would duplicate
        else:
            ingester.publisher = hub
        ingester.prepare()
        thread = threading.Thread(target=ingester.run, args=(stop,), name="ingester", daemon=True)
        thread.start()
    app_ = create_app(engine, api_config, hub=hub, roles=roles)
    # Everything allocated so far (app, SQLAlchemy, pydantic schemas) lives for the whole
    # process: frozen, full collections stop walking it. Measured with `enerwise bench indexer`'s
    # load (500 requests/s, 100k-event index): p99 195-231 ms -> 13-14 ms in one run.
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(
            app_,
            host=settings.api_host,
            port=settings.api_port,
            log_level="debug" if verbose else "info",
            access_log=verbose,
        )
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=5)


def _chain_roles(
    settings: Settings, deployment: Path | None
) -> tuple[str | None, RoleResolver | None, dict[str, object]]:
    """The node, the on-chain roles of sign-in and the deployment's recorded settings; the API
    still serves reads without them (a warning says what is missing)."""
    from chain.rpc import JsonRpcClient
    from indexer.api.sessions import ChainRoles

    try:
        node_url = _rpc_url(settings)
    except ChainError:
        err_console.print("[yellow]no chain reachable: sign-in roles are unavailable[/]")
        return None, None, {}
    try:
        found = _deployment(node_url, deployment)
        roles = ChainRoles(
            JsonRpcClient(node_url), found.addresses["market"], found.addresses["registry"]
        )
    except Exception as exc:  # the API still serves reads without a chain
        err_console.print(f"[yellow]no on-chain roles ({exc}); operators cannot sign in[/]")
        return node_url, None, {}
    return node_url, roles, found.settings
