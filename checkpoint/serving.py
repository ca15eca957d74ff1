"""The API as several processes: `checkpoint serve --workers N`.

The serving process keeps the stream workers and the embedded servers; each API process connects to
the same servers and only answers HTTP, so the API can use more than one core's worth of Python
while the passes writer and the matchers still run once.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from checkpoint.core.bus import Bus
from checkpoint.core.config import get_settings
from checkpoint.core.db import Database
from checkpoint.core.logging import setup_logging
from checkpoint.runtime import System, WorkerNeedsServers

WORKER_HEALTHCHECK_S = 30


def serve_api_processes(system: System, host: str, port: int, processes: int) -> None:
    """Serve the API from `processes` uvicorn worker processes on one socket, until SIGINT or SIGTERM."""
    os.environ["CHECKPOINT_DATABASE_URL"] = system.database_url  # what api_process_app reads in each child
    os.environ["CHECKPOINT_REDIS_URL"] = system.redis_url
    config = uvicorn.Config(f"{__name__}:api_process_app", factory=True, host=host, port=port, workers=processes,
                            log_config=None, access_log=False,
                            timeout_graceful_shutdown=3,  # live alert streams never end by themselves
                            ssl_certfile=system.settings.tls_files()[0],
                            ssl_keyfile=system.settings.tls_files()[1],
                            # uvicorn kills a process that takes 5 s to import the app: a loaded machine does
                            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)
    Multiprocess(config, sockets=[config.bind_socket()]).run()  # returns once its processes have stopped


def api_process_app() -> FastAPI:
    """The app of one API process: the configured servers (the serving process's), no stream workers."""
    from checkpoint.main import create_app

    setup_logging()
    settings = get_settings()
    if not (settings.database_url and settings.redis_url):
        raise WorkerNeedsServers("an API process needs CHECKPOINT_DATABASE_URL and CHECKPOINT_REDIS_URL")
    Database.configure(settings.database_url)
    Bus.configure(settings.redis_url)
    return create_app()
