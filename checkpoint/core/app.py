"""The bare application: error rendering and core routes. Domains are mounted in checkpoint.main."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from checkpoint.core.api import VERSION
from checkpoint.core.api import router as core_router
from checkpoint.core.audit_api import router as audit_router
from checkpoint.core.dead_letters_api import router as dead_letters_router
from checkpoint.core.errors import install_error_handlers, problem_response
from checkpoint.core.input_guard import InputGuardMiddleware, install_input_errors
from checkpoint.core.limits import BodyLimitMiddleware
from checkpoint.core.metrics import HttpMetricsMiddleware, register_live, render, stream_metrics
from checkpoint.core.problem_zh import validation_detail, validation_message

API_PREFIX = "/api/v1"


def create_base_app() -> FastAPI:
    app = FastAPI(title="Checkpoint", version=VERSION, docs_url=None, openapi_url=None, redoc_url=None)
    install_error_handlers(app)
    install_input_errors(app)
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(BodyLimitMiddleware)  # before anything reads the body
    app.add_middleware(HttpMetricsMiddleware)  # outermost: refused requests are timed too
    register_live("streams", stream_metrics)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus exposition, for the monitoring network only (the proxy refuses it from outside)."""
        body, content_type = render()
        return Response(body, media_type=content_type)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [dict(err) for err in exc.errors()]
        detail = validation_detail(errors)  # Chinese, field by field: "缺少必填项：车牌 plate"
        response = problem_response(422, "invalid-input", detail)
        response.body = response.render({"title": "invalid-input", "status": 422, "detail": detail,
                                         "reason": "invalid-input",
                                         "errors": [{"loc": list(err.get("loc", ())), "type": err.get("type"),
                                                     "msg": validation_message(err), "msg_en": err.get("msg")}
                                                    for err in errors]})
        response.headers["content-length"] = str(len(response.body))
        return response

    app.include_router(core_router, prefix=API_PREFIX)
    app.include_router(audit_router, prefix=API_PREFIX)
    app.include_router(dead_letters_router, prefix=API_PREFIX)
    return app
