"""The benchmark database: its own PostgreSQL database, migrated and loaded with the geodata."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url

from checkpoint.core.config import Settings
from checkpoint.core.db import Database
from checkpoint.runtime import prepare_database

BENCH_DB = os.environ.get("CHECKPOINT_BENCH_DATABASE_URL",
                          "postgresql+psycopg2://postgres@127.0.0.1:5432/checkpoint_bench")


def bench_engine(url: str = BENCH_DB, *, migrate: bool = True) -> Engine:
    """An engine on the benchmark database, created and migrated on first use.

    `migrate=False` skips the migrations of an existing database, so a bulk load can run before
    newer indexes are built (building them after the load is several times faster).
    """
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)).first()
        if exists is None:
            conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()
    engine = Database.configure(url)
    if not migrate and exists is not None:
        return engine
    settings = Settings(database_url=url, redis_url="redis://127.0.0.1:6379/14", secret_key="bench-only-not-secret",
                        data_dir=Path(tempfile.mkdtemp(prefix="checkpoint-bench-")))
    prepare_database(settings, engine)
    return engine
