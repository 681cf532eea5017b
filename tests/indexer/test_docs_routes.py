"""The API's route table in docs/indexer.md is the API: every route served is listed there, and
every route listed is served (a route added or renamed without the table fails here)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine

from indexer.api import create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "indexer.md"
SPAN = re.compile(r"`(?:(GET|POST|PUT|PATCH|DELETE) )?(/[^`?\s]*)[^`]*`")


def _normal(path: str) -> str:
    """A path with every ``{parameter}`` written ``{}`` (the doc may name it differently)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def documented() -> set[tuple[str, str]]:
    """``(method, path)`` of each route in the doc's API table: every code span of a row that
    is a path (a path without a method takes the one before it in its row)."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## API", 1)[1].split("\n\n", 2)[1]
    found: set[tuple[str, str]] = set()
    for row in table.splitlines():
        method = "GET"
        for verb, path in SPAN.findall(row if row.startswith("| `") else ""):
            method = verb or method
            found.add((method, _normal(path)))
    return found


def served() -> set[tuple[str, str]]:
    document = create_app(create_engine("sqlite://")).openapi()
    return {
        (method.upper(), _normal(path))
        for path, operations in document["paths"].items()
        for method in operations
    }


def test_the_route_table_lists_every_route_the_api_serves() -> None:
    assert sorted(served() - documented()) == []


def test_every_route_in_the_table_is_served() -> None:
    assert sorted(documented() - served()) == []
