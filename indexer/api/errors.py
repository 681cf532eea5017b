"""JSON errors: every error the API sends is ``{"error": {"code", "message"[, "details"]}}``.

Client mistakes get 4xx with a stable ``code`` (unknown slot 404 ``slot_not_found``, malformed
address 422 ``invalid_request``...); an unexpected failure is a 500 ``internal_error`` that
never echoes internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """An error with a status, a stable code and a human message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def not_found(what: str, code: str) -> ApiError:
    return ApiError(404, code, f"{what} is not known to the index")


def check_window(first: int, last: int, ends: str, *, step: int, most: int, per: str) -> None:
    """A requested window ``from_{ends}..to_{ends}`` (``first``, ``last``): 422 ``invalid_range``
    when it runs backwards, 422 ``range_too_long`` when it spans more than ``most`` steps of
    ``step`` (``per`` names them: ``"days per report"``), so one request never reads without
    bound."""
    if first > last:
        raise ApiError(422, "invalid_range", f"from_{ends} is after to_{ends}")
    if (last - first) // step > most:
        raise ApiError(422, "range_too_long", f"at most {most} {per}")


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(error_body(exc.code, exc.message), exc.status, headers=exc.headers)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return JSONResponse(
            jsonable_encoder(error_body("invalid_request", f"{where}: {first['msg']}", details)),
            422,
        )

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def database_down(_: Request, exc: Exception) -> JSONResponse:
        logger.warning("database unavailable: %s", str(exc).splitlines()[0])
        return JSONResponse(
            error_body("unavailable", "the database is unavailable"),
            503,
            headers={"Retry-After": "5"},
        )

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal_error", "internal error"), 500)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(OperationalError, database_down)
    app.add_exception_handler(Exception, unexpected)
