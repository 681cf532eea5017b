"""Answers of a fake JSON-RPC 2.0 node over HTTP."""

from __future__ import annotations

from typing import Any

import httpx


def error_answer(request: dict[str, Any], code: int, message: str) -> httpx.Response:
    """The node's refusal of ``request`` (HTTP 200 carrying a JSON-RPC error)."""
    error = {"code": code, "message": message}
    return httpx.Response(200, json={"jsonrpc": "2.0", "id": request["id"], "error": error})
