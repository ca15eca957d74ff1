"""Bring the system up: servers (configured or embedded), schema, reference data, first admin."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from redis import Redis
from sqlalchemy import Engine

from checkpoint.core import db_roles, users
from checkpoint.core.bus import Bus
from checkpoint.core.config import Settings, get_settings
from checkpoint.core.db import Database
from checkpoint.core.embedded import EmbeddedServers, start_embedded
from checkpoint.core.logging import setup_logging
from checkpoint.core.migrate import upgrade
from checkpoint.core.security import generate_password
from checkpoint.passes.partitions import ensure_current_partitions
from checkpoint.sites.geodata_load import is_empty, load_geodata

log = logging.getLogger(__name__)


@dataclass
class System:
    settings: Settings
    engine: Engine
    bus: Redis
    embedded: EmbeddedServers
    database_url: str
    redis_url: str
    first_admin_password: str | None = None


@contextmanager
def running_system(settings: Settings, prepare: bool = True, redis: bool = True) -> Iterator[System]:
    """Servers connected (started if embedded); with `prepare`, schema, partitions, data and admin ready."""
    embedded = start_embedded(settings.data_dir, need_postgres=not settings.database_url,
                              need_redis=redis and not settings.redis_url)
    database_url = settings.database_url or embedded.database_url
    redis_url = settings.redis_url or embedded.redis_url or ""
    assert database_url is not None
    try:
        engine = Database.configure(database_url)
        bus = Bus.configure(redis_url) if redis else Redis()  # an unconnected client: never used
        system = System(settings, engine, bus, embedded, database_url, redis_url)
        if prepare:
            system.first_admin_password = prepare_database(settings, engine)
        system.database_url = app_database_url(settings, engine, database_url)
        if system.database_url != database_url:  # from here on, never as the audit log's owner
            Database.dispose()
            system.engine = Database.configure(system.database_url)
        yield system
    finally:
        if redis:
            Bus.close()
        Database.dispose()
        embedded.stop()


def prepare_database(settings: Settings, engine: Engine) -> str | None:
    """Migrate, create partitions, load the reference geodata once, create the first admin.

    Returns the first admin's password when it was created now (to be shown once), else None.
    """
    upgrade(engine)
    with engine.begin() as conn:  # back as far as retention keeps (the writer adds any other on demand)
        ensure_current_partitions(conn, days_back=settings.retention.longest_days() + 1)
    db_roles.prepare(engine, settings.resolved_secret_key())  # after the partitions: the app role owns them
    assert Database.sessions is not None
    with Database.sessions() as session:
        if is_empty(session):
            summary = load_geodata(session, settings.geodata_dir)
            log.info("sites.geodata_loaded", extra={"areas": summary.areas, "checkpoints": summary.checkpoints,
                                                    "road_edges": summary.road_edges})
        password = generate_password()
        admin = users.ensure_first_admin(session, password)
        session.commit()
    return password if admin is not None else None


def app_database_url(settings: Settings, engine: Engine, database_url: str) -> str:
    """The application role's URL (core/db_roles.py) once prepare made it, else the configured one."""
    role = db_roles.app_role(engine.url.database or "")
    with engine.connect() as conn:
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role}).first()
    return db_roles.runtime_url(database_url, role if exists else None, settings.resolved_secret_key())


class WorkerNeedsServers(Exception):
    """A stand-alone worker process was started without configured servers."""


@contextmanager
def worker_process(what: str) -> Iterator[tuple[System, threading.Event]]:
    """A stream worker run as its own process: configured servers (no embedded ones), JSON logging,
    and SIGTERM/SIGINT setting the returned `stop` so the worker finishes its batch and exits."""
    setup_logging()
    settings = get_settings()
    if not (settings.database_url and settings.redis_url):
        raise WorkerNeedsServers(f"set CHECKPOINT_DATABASE_URL and CHECKPOINT_REDIS_URL (with the embedded "
                                 f"servers the {what} runs inside `checkpoint serve`)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with running_system(settings, prepare=False) as system:
        yield system, stop
