"""Input no route should ever see, refused with a 4xx problem before it can become a 500.

- NUL and other control characters in the path, the query or a JSON string: PostgreSQL cannot store
  a NUL (psycopg2 raises ValueError, which used to be a plain-text 500 on five routes, login
  included) and the others have no place in a plate, a code or a reason. Tab, CR and LF are kept
  in JSON strings (a multi-line reason).
- A value PostgreSQL refuses (an integer past its column's range, ...): 422 instead of 500.
- OPTIONS: 204 with the Allow header of the path's routes (RFC 9110 §9.3.7), 404 for no route.
- Starlette's own errors (404 for no route, 405 wrong method) as problems, like every other error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote_to_bytes

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Mount, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from checkpoint.core.errors import problem_response

# C0 controls and DEL, raw (in a decoded path or query) or as a JSON escape; tab, LF and CR are allowed in JSON.
_RAW_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
_JSON_CONTROL = re.compile(rb"(?<!\\)(?:\\\\)*\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")
CONTROL_DETAIL = ("输入含有控制字符（如 NUL 空字节），请删除后重试 "
                  "(the request holds a control character such as NUL in {where})")
DATA_DETAIL = "输入的数值超出范围或格式不被数据库接受 (a value is out of range or not storable: {why})"
STATUS_REASONS = {404: ("not-found", "没有这个地址 (no such route)"),
                  405: ("method-not-allowed", "此地址不支持该请求方法 (method not allowed here)")}


class InputGuardMiddleware:
    """Refuses control characters before routing and answers OPTIONS; JSON bodies are read once here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._allow_table: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _control_in_url(scope)
        if where is not None:
            await _problem(scope, receive, send, 422, "control-character", CONTROL_DETAIL.format(where=where))
            return
        if scope["method"] == "OPTIONS":
            await self._answer_options(scope, receive, send)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        if _JSON_CONTROL.search(body) if b"\\u00" in body else False:
            await _problem(scope, receive, send, 422, "control-character", CONTROL_DETAIL.format(where="the body"))
            return
        await self.app(scope, _replay(body, more, receive), send)

    async def _answer_options(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._allow_table is None:
            self._allow_table = allow_table(scope["app"].routes)
        methods: set[str] = set()
        for pattern, allowed in self._allow_table:
            if pattern.match(scope["path"]):
                methods |= allowed
        if not methods:
            reason, detail = STATUS_REASONS[404]
            await _problem(scope, receive, send, 404, reason, detail)
            return
        if "GET" in methods:
            methods.add("HEAD")
        methods.add("OPTIONS")
        await Response(status_code=204, headers={"Allow": ", ".join(sorted(methods))})(scope, receive, send)


def allow_table(routes: Sequence[BaseRoute]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each route's path pattern with its methods; a mount (the static files) answers GET below it."""
    table = []
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, Mount):
            table.append((re.compile("^" + re.escape(route.path) + "/.*$"), frozenset({"GET"})))
            continue
        if context.path is None:
            continue
        regex, _format, _convertors = compile_path(context.path)
        table.append((regex, frozenset(context.methods or ())))
    return table


def _control_in_url(scope: Scope) -> str | None:
    path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    if _RAW_CONTROL.search(unquote_to_bytes(path)) or _RAW_CONTROL.search(scope["path"].encode("utf-8", "replace")):
        return "the path"
    query: bytes = scope.get("query_string", b"")
    if query and _RAW_CONTROL.search(unquote_to_bytes(query.replace(b"+", b" "))):
        return "the query"
    return None


def _is_json(scope: Scope) -> bool:
    if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
        return False
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body (BodyLimitMiddleware, outside this one, bounds it); more=False after a disconnect."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if complete:
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}
        return await receive()

    return replay


async def _problem(scope: Scope, receive: Receive, send: Send, status: int, reason: str, detail: str) -> None:
    await problem_response(status, reason, detail)(scope, receive, send)


def install_input_errors(app: FastAPI) -> None:
    """Handlers for what got past the middleware: values PostgreSQL refuses, Starlette's 404/405."""

    @app.exception_handler(sqlalchemy.exc.DataError)
    async def _data_error(_request: Request, exc: sqlalchemy.exc.DataError) -> JSONResponse:
        why = str(exc.orig).splitlines()[0] if exc.orig is not None else "refused"
        return problem_response(422, "invalid-value", DATA_DETAIL.format(why=why))

    @app.exception_handler(ValueError)
    async def _nul(_request: Request, exc: ValueError) -> JSONResponse:
        if "NUL" not in str(exc):  # psycopg2: "A string literal cannot contain NUL (0x00) characters."
            raise exc
        return problem_response(422, "control-character", CONTROL_DETAIL.format(where="a value"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        reason, detail = STATUS_REASONS.get(exc.status_code, ("error", str(exc.detail)))
        response = problem_response(exc.status_code, reason, detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
