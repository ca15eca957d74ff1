"""Request body limits per route, enforced before the body is read.

An unauthenticated 500 MB body once took the API to 1.7 GB: FastAPI reads a JSON body whole before
any dependency (the token check included) runs. This ASGI middleware answers 413 from the declared
Content-Length without reading a byte, and counts the bytes of a body streamed without one
(chunked), stopping at the route's limit; the route never sees more than its limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from checkpoint.core.errors import problem_response

INT4_MAX = 2_147_483_647
DbId = Annotated[int, Field(ge=1, le=INT4_MAX)]  # a row id at the edge: past int4 is a 422, not a 500

JSON_BODY_BYTES = 1 * 1024 * 1024  # any JSON request: the largest (a watch, a coverage what-if) is a few KB
SNAPSHOT_BODY_BYTES = 3_000_000  # a raw JPEG: passes/images.py MAX_IMAGE_BYTES
PUSH_BODY_BYTES = 9 * 1024 * 1024  # a pass with two base64 JPEGs of at most 4,000,000 characters each
AREA_BODY_BYTES = 8 * 1024 * 1024  # a district's GeoJSON outline
ROAD_IMPORT_BYTES = 64 * 1024 * 1024  # an uploaded road extract; larger: `checkpoint geodata load-roads`

# (method, path pattern, limit): the first match wins; every other request gets JSON_BODY_BYTES.
ROUTE_LIMITS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("POST", re.compile(r"^/api/v1/ingest/snapshots$"), SNAPSHOT_BODY_BYTES),
    ("POST", re.compile(r"^/api/v1/ingest/passes$"), PUSH_BODY_BYTES),
    ("PUT", re.compile(r"^/api/v1/areas/[^/]+$"), AREA_BODY_BYTES),
    ("POST", re.compile(r"^/api/v1/roads/import$"), ROAD_IMPORT_BYTES),
)


def body_limit(method: str, path: str) -> int:
    for route_method, pattern, limit in ROUTE_LIMITS:
        if method == route_method and pattern.match(path):
            return limit
    return JSON_BODY_BYTES


def too_large_detail(limit: int) -> str:
    return f"请求体过大：此接口最多接受 {limit} 字节 (request body larger than this route's {limit} bytes)"


class BodyTooLarge(Exception):
    """Raised inside receive() once a streamed body passes its limit; turned into a 413 below."""


@dataclass
class _Counted:
    limit: int
    received: int = 0


class BodyLimitMiddleware:
    """413 for a body over its route's limit: from Content-Length up front, else while it streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, limit)
            return
        if declared is not None and declared < 0:
            await _send_problem(scope, receive, send, 400, "bad-content-length", "Content-Length 无效 (invalid)")
            return
        counted = _Counted(limit)
        started = False

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                counted.received += len(message.get("body", b""))
                if counted.received > counted.limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(scope, receive, send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    await _send_problem(scope, receive, send, 413, "body-too-large", too_large_detail(limit))


async def _send_problem(scope: Scope, receive: Receive, send: Send, status: int, reason: str, detail: str) -> None:
    response = problem_response(status, reason, detail)
    response.headers["Connection"] = "close"  # the unread rest of the body is not waited for
    await response(scope, receive, send)
