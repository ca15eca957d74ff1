"""Domain errors carry an HTTP status and a reason; one handler renders them (RFC 9457)."""

from __future__ import annotations

from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


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


def problem_response(status: int, reason: str, detail: str) -> JSONResponse:
    body = {"title": reason, "status": status, "detail": detail, "reason": reason}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc.status, exc.reason, str(exc))
