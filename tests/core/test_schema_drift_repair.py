"""Migration 0015 brings a database migrated by the first versions of 0008 and 0012 to the fresh schema.

Each case builds a database with the current migrations up to 0012, then undoes what the later
edits of 0008 and 0012 added (the first versions' DDL), stores a summarised day, and upgrades.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from checkpoint.core.db import Base
from checkpoint.core.migrate import alembic_config, upgrade
from tests.core.test_migrations import column_definitions, index_definitions, on_day_partition, scratch_database

NO_INCLUDE = ("DROP INDEX ix_trajectory_plate_day_plate;"
              " CREATE INDEX ix_trajectory_plate_day_plate ON trajectory_plate_day (plate, day)")
FIRST_VERSIONS = {  # what a database that ran each landed version lacks
    "0008 v1 + 0012 v1": ["ALTER TABLE trajectory_plate_day DROP COLUMN first_at, DROP COLUMN last_at", NO_INCLUDE],
    "0008 v2 + 0012 v1": ["ALTER TABLE trajectory_plate_day DROP COLUMN last_at", NO_INCLUDE],
    "0008 v3 + 0012 v1": ["ALTER TABLE trajectory_plate_day DROP COLUMN last_at"],
    "0008 v3 + 0012 v2 (fresh)": [],
}


@pytest.mark.parametrize("history", list(FIRST_VERSIONS))
def test_drift_repair_gives_the_fresh_schema(history: str, engine: Engine, servers: tuple[str, str]) -> None:
    fresh_indexes, fresh_columns = index_definitions(engine), column_definitions(engine)
    with scratch_database(servers[0]) as drifted:
        upgrade(drifted, "0012")
        with drifted.begin() as conn:
            for statement in FIRST_VERSIONS[history]:
                conn.exec_driver_sql(statement)
            columns = set(conn.scalars(text("SELECT column_name FROM information_schema.columns"
                                            " WHERE table_name = 'trajectory_plate_day'")))
            conn.execute(text("INSERT INTO trajectory_summary_day (day, timezone, passes, roads, summarised_at,"
                              " in_frequent) VALUES ('2026-11-01', 'Asia/Shanghai', 1, 'r', now(), true)"))
            conn.execute(text(
                f"INSERT INTO trajectory_plate_day (day, plate, passes, early_passes, early_night, late_night"
                f"{''.join(', ' + c for c in ('first_at', 'last_at') if c in columns)})"
                f" VALUES ('2026-11-01', '粤L12345', 1, 0, 0, 0{', now()' * len(columns & {'first_at', 'last_at'})})"))
        if NO_INCLUDE in FIRST_VERSIONS[history]:
            assert index_definitions(drifted) != fresh_indexes  # the comparison sees a missing INCLUDE
        upgrade(drifted)
        assert index_definitions(drifted) == fresh_indexes
        assert column_definitions(drifted) == fresh_columns
        with drifted.connect() as conn:
            diff = [d for d in compare_metadata(MigrationContext.configure(conn), Base.metadata)
                    if not on_day_partition(d)]
            summarised = conn.scalar(text("SELECT count(*) FROM trajectory_summary_day"))
            version = conn.scalar(text("SELECT version_num FROM alembic_version"))
    assert diff == []
    assert (version,) == tuple(ScriptDirectory.from_config(alembic_config()).get_heads())
    # a repaired day is forgotten (read raw, then summarised again); a fresh database keeps its summaries
    assert summarised == (1 if not FIRST_VERSIONS[history] else 0)
