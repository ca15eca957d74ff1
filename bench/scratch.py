"""A database of one benchmark run's own, so a run never touches the test or demo data."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, make_url


@dataclass
class ScratchDatabase:
    """Created on the admin URL's server under `prefix_pid`; `drop()` when the run ends, failed or not."""

    admin: Engine
    name: str
    url: str

    @classmethod
    def create(cls, admin_url: str, prefix: str) -> ScratchDatabase:
        base = make_url(admin_url)
        name = f"{prefix}_{os.getpid()}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return cls(admin, name, base.set(database=name).render_as_string(hide_password=False))

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()
