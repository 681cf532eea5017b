"""JSON responses with ETags for data that no longer changes (finished slots)."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response
from pydantic import BaseModel


def json_response(request: Request, model: BaseModel, *, final: bool) -> Response:
    """``model`` as JSON; when ``final``, with a strong ETag, answering 304 to a match."""
    body = model.model_dump_json().encode()
    if not final:
        return Response(body, media_type="application/json", headers={"Cache-Control": "no-cache"})
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    wanted = request.headers.get("if-none-match", "")
    if etag in [tag.strip().removeprefix("W/") for tag in wanted.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
