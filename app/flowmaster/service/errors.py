"""Errors as JSON: every 4xx names the field and the reason.

    {"error": "validation_failed", "message": "...", "errors": [{"field": "query.limit", "reason": "..."}]}

Fields are `body.<name>`, `query.<name>`, `path.<name>`, `header.<Name>` or `form.<name>`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("flowmaster.errors")


class FieldError(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    error: str
    message: str
    errors: list[FieldError]


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors = list(errors) or [("request", message)]
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "errors": [{"field": f, "reason": r} for f, r in self.errors],
        }


def bad_request(field: str, reason: str, status: int = 422, code: str = "validation_failed") -> ApiError:
    return ApiError(status, code, f"{field}: {reason}", [(field, reason)])


def not_found(what: str, field: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found", [(field, f"no {what} with this id")])


def unauthenticated(reason: str) -> ApiError:
    return ApiError(401, "unauthenticated", reason, [("header.Authorization", reason)], headers={"WWW-Authenticate": "Bearer"})


def forbidden_entity(entity: str, field: str = "legal_entity") -> ApiError:
    reason = f"legal entity '{entity}' is not one of yours"
    return ApiError(403, "forbidden", reason, [(field, reason)])


_LOC_PREFIX = {"body": "body", "query": "query", "path": "path", "header": "header", "cookie": "cookie"}


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOC_PREFIX:
        return ".".join(parts)
    return ".".join(["body", *parts])


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [(_field(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in exc.errors()]
        err = ApiError(422, "validation_failed", "; ".join(f"{f}: {r}" for f, r in errors) or "invalid request", errors)
        return JSONResponse(err.body(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        field = {404: "path", 405: "method"}.get(exc.status_code, "request")
        reason = str(exc.detail)
        if exc.status_code == 405:
            reason = f"{request.method} is not allowed on {request.url.path}"
        err = ApiError(exc.status_code, "http_error", reason, [(field, reason)])
        return JSONResponse(err.body(), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RedisError)
    async def _redis_down(_: Request, exc: RedisError) -> JSONResponse:
        return _unavailable("redis", exc)

    @app.exception_handler(OperationalError)
    async def _pg_down(_: Request, exc: OperationalError) -> JSONResponse:
        return _unavailable("postgresql", exc)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refused a value (e.g. a NUL character in text): the client's data, not our fault.
        reason = str(exc.orig).splitlines()[0] if exc.orig else "value cannot be stored"
        err = ApiError(422, "unstorable_value", reason, [("body", reason)])
        return JSONResponse(err.body(), status_code=422)


def _unavailable(dependency: str, exc: Exception) -> JSONResponse:
    """A dependency is down (restart, failover): 503 and a hint to retry, not a crash."""
    log.warning("dependency unavailable", extra={"dependency": dependency, "error": f"{type(exc).__name__}: {exc}"[:300]})
    reason = f"{dependency} is unavailable; retry shortly"
    err = ApiError(503, "dependency_unavailable", reason, [(dependency, reason)])
    return JSONResponse(err.body(), status_code=503, headers={"Retry-After": "1"})


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no or unknown session token"},
    403: {"model": ErrorBody, "description": "the resource belongs to a legal entity that is not yours"},
    404: {"model": ErrorBody, "description": "no such resource"},
    409: {"model": ErrorBody, "description": "conflict (state, or Idempotency-Key reused with another request)"},
    422: {"model": ErrorBody, "description": "invalid field; errors name it and the reason"},
    429: {"model": ErrorBody, "description": "rate limit exceeded; Retry-After says when to come back"},
}
