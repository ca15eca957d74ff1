"""The application factory: the core app with every domain's routes and the web console mounted."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from checkpoint.capture.api import router as capture_router
from checkpoint.capture.metrics import device_metrics
from checkpoint.capture.viid.api import router as viid_router
from checkpoint.core.app import API_PREFIX, create_base_app
from checkpoint.core.deps import CurrentUser
from checkpoint.core.metrics import register_live
from checkpoint.core.openapi import install_openapi
from checkpoint.coverage.api import router as coverage_router
from checkpoint.passes.api import router as passes_router
from checkpoint.sites.api import router as sites_router
from checkpoint.trajectory.api import router as trajectory_router
from checkpoint.watchlist.api import router as watchlist_router
from checkpoint.watchlist.plate_search import WatchlistPlateRules, plates_matching

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"
JPEG = {"image/jpeg": {"type": "string", "format": "binary"}}
SUCCESS_MEDIA = {  # routes whose success is not JSON: the schema names what they send
    ("GET", "/api/v1/passes/{pass_id}/images/{kind}"): JPEG,
    ("GET", "/api/v1/watchlist/alerts/{alert_id}/images/{kind}"): JPEG,
    ("GET", "/api/v1/watchlist/alerts/stream"): {"text/event-stream": {"type": "string"}},
    ("GET", "/api/v1/trajectories/{plate}/export"): {"application/geo+json": {"type": "object"},
                                                     "text/csv; charset=utf-8": {"type": "string"}},
    ("POST", "/api/v1/coverage/export"): {"text/html; charset=utf-8": {"type": "string"}},
}


def create_app() -> FastAPI:
    app = create_base_app()
    app.include_router(sites_router, prefix=API_PREFIX)
    app.include_router(coverage_router, prefix=API_PREFIX)
    app.include_router(trajectory_router, prefix=API_PREFIX)
    app.include_router(capture_router, prefix=API_PREFIX)
    app.include_router(passes_router, prefix=API_PREFIX)
    app.include_router(watchlist_router, prefix=API_PREFIX)
    app.include_router(viid_router)  # GA/T 1400 devices call /VIID/... at the root, as the standard names it
    register_live("devices", device_metrics)
    app.state.fuzzy_plate_search = plates_matching  # read by trajectory's fuzzy_plate_search dependency
    app.state.plate_rules = WatchlistPlateRules()  # read by 过车查询 (passes.search_api.plate_rules)
    install_openapi(app, SUCCESS_MEDIA)
    _mount_docs(app)
    _mount_console(app)
    return app


def _mount_docs(app: FastAPI) -> None:
    """OpenAPI docs for logged-in users only (the console's cookie is enough in a browser)."""

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi(_user: CurrentUser) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/api/docs", include_in_schema=False)
    def docs(_user: CurrentUser) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/v1/openapi.json", title="Checkpoint API",
                                   swagger_js_url="/static/vendor/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")


def _mount_console(app: FastAPI) -> None:
    """The console is static HTML/JS: pages hold no data, every datum comes from the API."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/console/map")

    @app.get("/login", include_in_schema=False)
    def login_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "login.html")

    @app.get("/console/{page}", include_in_schema=False)
    def console_page(page: str) -> FileResponse:
        return FileResponse(STATIC_DIR / "console.html")
