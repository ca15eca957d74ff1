"""Domain errors carry an HTTP status and a reason; one handler renders them (RFC 9457).

An infrastructure outage (PostgreSQL or Redis unreachable) is not a bug: it is answered 503 with
Retry-After and a problem body saying what is down, never a plain-text 500, so cameras and the
console retry instead of giving up.
"""

from __future__ import annotations

import logging
import time
from typing import ClassVar

import psycopg2
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from checkpoint.core.problem_zh import chinese_detail

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5  # what a 503 asks clients to wait: about a Redis restart, or a PostgreSQL failover's first try

# Errors that mean "the server cannot be reached or is restarting", not "the request is wrong".
DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,  # connection refused or lost, server shutting down or starting
    sqlalchemy.exc.InterfaceError,  # the connection is closed
    sqlalchemy.exc.TimeoutError,  # no pooled connection came back in time
    psycopg2.OperationalError,  # the same, from code that uses psycopg2 directly
    psycopg2.InterfaceError,
)
REDIS_OUTAGES: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,  # refused, reset, or still loading its data (BusyLoadingError)
    redis.exceptions.TimeoutError,
    redis.exceptions.OutOfMemoryError,  # at maxmemory: it refuses writes until the streams are trimmed
    redis.exceptions.ReadOnlyError,  # a replica, after a failover, until clients find the new primary
)


class DomainError(Exception):
    """Base for every error a service raises on purpose; never HTTPException in services."""

    status: ClassVar[int] = 400
    reason: ClassVar[str] = "bad-request"


class NotFound(DomainError):
    status = 404
    reason = "not-found"


class Conflict(DomainError):
    status = 409
    reason = "conflict"


class InvalidInput(DomainError):
    status = 422
    reason = "invalid-input"


class NotAuthenticated(DomainError):
    status = 401
    reason = "not-authenticated"


class Forbidden(DomainError):
    status = 403
    reason = "forbidden"


class ServiceUnavailable(DomainError):
    """A server the request needs cannot be asked now; answered 503 with Retry-After."""

    status = 503
    reason = "service-unavailable"


DATABASE_DOWN_DETAIL = "数据库暂时无法访问，请稍后重试 (PostgreSQL is unavailable; retry later)"
REDIS_DOWN_DETAIL = "消息队列暂时无法访问，请稍后重试 (Redis is unavailable; retry later)"


def problem_response(status: int, reason: str, detail: str) -> JSONResponse:
    """The RFC 9457 body; `detail` always opens with a Chinese sentence (problem_zh.py)."""
    body = {"title": reason, "status": status, "detail": chinese_detail(status, reason, detail), "reason": reason}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


OUTAGE_LOG_EVERY_S = 10.0  # one warning per outage kind this often, with the count of requests answered 503
_outage_log: dict[str, tuple[float, int]] = {}  # event -> (when last logged, 503s since)


def _log_outage(event: str, request: Request, exc: Exception) -> None:
    """At 480 pushes/s an outage would write a warning per push: write one every OUTAGE_LOG_EVERY_S."""
    now = time.monotonic()
    last, count = _outage_log.get(event, (-OUTAGE_LOG_EVERY_S, 0))
    if now - last < OUTAGE_LOG_EVERY_S:
        _outage_log[event] = (last, count + 1)
        return
    _outage_log[event] = (now, 0)
    log.warning(event, extra={"path": request.url.path, "error": type(exc).__name__, "answered_503_since": count})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc.status, exc.reason, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """The framework's own 404/405/...: the same problem body, in Chinese first."""
        reason = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(exc.status_code,
                                                                                           "bad-request")
        response = problem_response(exc.status_code, reason, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        _log_outage("core.database_unavailable", request, exc)
        return problem_response(503, "database-unavailable", DATABASE_DOWN_DETAIL)

    async def _redis_down(request: Request, exc: Exception) -> JSONResponse:
        _log_outage("core.redis_unavailable", request, exc)
        return problem_response(503, "redis-unavailable", REDIS_DOWN_DETAIL)

    for outage in DATABASE_OUTAGES:
        app.add_exception_handler(outage, _database_down)
    for outage in REDIS_OUTAGES:
        app.add_exception_handler(outage, _redis_down)
