"""The migrations build exactly the schema the models declare (no drift between the two).

`compare_metadata` sees tables, columns and index columns but not an index's INCLUDE columns or
its WHERE predicate, so the index definitions (`pg_get_indexdef`) of the migrated database are
also compared with those of a database the models create directly (`create_all`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, make_url, text

import checkpoint.models  # noqa: F401  (registers every table)
from checkpoint.core.db import Base

INDEXES_SQL = text("""
SELECT t.relname, c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = 'public'::regnamespace AND t.relname <> 'alembic_version'
""")
COLUMNS_SQL = text("""
SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'alembic_version'
""")


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diff = [describe(d) for d in compare_metadata(context, Base.metadata) if not on_day_partition(d)]
    assert diff == [], "models and migrations differ:\n" + "\n".join(diff)


def test_indexes_agree_with_the_models_including_include_columns_and_predicates(
        engine: Engine, servers: tuple[str, str]) -> None:
    with scratch_database(servers[0]) as declared:
        Base.metadata.create_all(declared)
        expected = index_definitions(declared)
    found = index_definitions(engine)
    assert any(" INCLUDE (" in d and " WHERE " in d for d in expected.values())  # the comparison can see both
    differ = [f"{name}:\n  migrated: {found.get(name)}\n  models:   {expected.get(name)}"
              for name in sorted(expected.keys() | found.keys()) if found.get(name) != expected.get(name)]
    assert differ == [], "index definitions differ:\n" + "\n".join(differ)


def index_definitions(engine: Engine) -> dict[str, str]:
    """Index name -> its CREATE INDEX statement; day partitions' own indexes are made at run time."""
    with engine.connect() as conn:
        rows = conn.execute(INDEXES_SQL).all()
    return {name: definition.replace(" ON ONLY ", " ON ") for table, name, definition in rows
            if not str(table).startswith("pass_")}


def column_definitions(engine: Engine) -> set[tuple[str, ...]]:
    with engine.connect() as conn:
        return {tuple(str(v) for v in row) for row in conn.execute(COLUMNS_SQL)
                if not str(row[0]).startswith("pass_")}


@contextmanager
def scratch_database(admin_url: str) -> Iterator[Engine]:
    """An empty database of its own on the run's server, dropped afterwards."""
    admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"checkpoint_scratch_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    scratch = create_engine(make_url(admin_url).set(database=name))
    try:
        yield scratch
    finally:
        scratch.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def on_day_partition(change: Any) -> bool:
    """Day partitions (pass_YYYYMMDD) and their indexes are made at run time, not declared."""
    if not isinstance(change, tuple):
        return False
    item = change[1]
    table = getattr(item, "table", item)
    return str(getattr(table, "name", "")).startswith("pass_")


def describe(change: Any) -> str:
    if isinstance(change, tuple):
        return f"{change[0]} {getattr(change[1], 'name', change[1])}"
    return str(change)
