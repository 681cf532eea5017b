"""Schemathesis against /openapi.json: generated requests never cause a server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

from chain.compiler import compile_contracts
from chain.local_node import start_anvil
from devchain.sandbox import Sandbox
from indexer.api import ApiConfig, create_app
from indexer.db.engine import make_engine
from indexer.db.migrate import upgrade
from tests.indexer.conftest import Played
from tests.indexer.fuzzing import fuzz_operations
from tests.indexer.scenario import play_round


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    compile_contracts()
    with start_anvil() as node:
        community = Sandbox.at(node.rpc_url)
        played = Played(node, community, play_round(community))
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/fuzz.sqlite3")
        upgrade(engine)
        played.ingester(engine).sync()
        yield create_app(engine, ApiConfig(rate_limit_per_minute=0))
        engine.dispose()


@pytest.fixture(scope="module")
def api_schema(api_app: Any) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)
    return schema.exclude(path="/v1/stream")  # an endless stream: covered in test_live


def test_no_generated_request_causes_a_server_error(api_schema: Any) -> None:
    operations = list(api_schema.get_all_operations())
    assert len(operations) >= 15
    report = fuzz_operations(api_schema, allowed_client_errors=frozenset({405}))
    assert report.server_errors == []
    assert report.calls >= 10 * len(operations) // 2
