"""An audit log nobody can rewrite: the app's role cannot truncate or unhook it, and the hash chain with
its anchors shows a removed or changed row (`checkpoint audit verify`)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from checkpoint.core import audit_chain, db_roles
from checkpoint.core.migrate import upgrade
from tests.conftest import TEST_SECRET
from tests.core.test_migrations import scratch_database


@pytest.fixture
def chained(servers: tuple[str, str]) -> Iterator[Engine]:
    """A migrated database of its own (tampering with it spoils no other test), app role made."""
    with scratch_database(servers[0]) as engine:
        upgrade(engine)
        db_roles.prepare(engine, TEST_SECRET)
        try:
            yield engine
        finally:
            engine.dispose()
            with create_engine(servers[0], isolation_level="AUTOCOMMIT").connect() as admin:
                admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{engine.url.database}" WITH (FORCE)')
                db_roles.drop_app_role(admin, str(engine.url.database))


def app_engine(engine: Engine) -> Engine:
    role = db_roles.app_role(str(engine.url.database))
    return create_engine(db_roles.runtime_url(engine.url.render_as_string(hide_password=False), role, TEST_SECRET))


def add_rows(engine: Engine, count: int) -> None:
    with engine.begin() as conn:
        for n in range(count):
            conn.execute(text("INSERT INTO audit_log (at, actor_name, action, target, reason, detail) "
                              "VALUES (now(), 'zhang.wei', 'plate.search', :t, '案件 2026-118', '{\"n\": 1}')"),
                         {"t": f"粤L{n:05d}"})


def tamper(engine: Engine, sql: str) -> None:
    """What a superuser could do: switch the triggers off, change the rows, switch them back on."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(text(sql))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def test_the_apps_role_cannot_truncate_alter_or_unhook_the_audit_log(chained: Engine) -> None:
    """Why, line 2: the application's database user could TRUNCATE the log, disable or drop its trigger."""
    app = app_engine(chained)
    try:
        add_rows(app, 2)  # the app writes and reads the log as itself ...
        with app.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 2
            assert conn.execute(text("SELECT current_user")).scalar() == db_roles.app_role(str(chained.url.database))
            assert conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar() is False
        for attack in ("TRUNCATE audit_log", "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
                       "ALTER TABLE audit_log DISABLE TRIGGER ALL", "DROP TRIGGER audit_log_chain ON audit_log",
                       "ALTER TABLE audit_log OWNER TO CURRENT_USER", "DROP TABLE audit_log",
                       "UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log",
                       "ALTER TABLE audit_log ADD COLUMN x int"):
            with pytest.raises(DBAPIError, match="must be owner|permission denied|append-only"), app.begin() as conn:
                conn.execute(text(attack))
        with app.begin() as conn:  # ... and still owns what it runs: a day partition of the passes
            conn.execute(text("CREATE TABLE pass_test_day PARTITION OF pass "
                              "FOR VALUES FROM ('2020-01-01') TO ('2020-01-02')"))
            conn.execute(text("DROP TABLE pass_test_day"))
        assert audit_chain.verify(chained).ok
    finally:
        app.dispose()


def test_verify_finds_a_changed_row_and_a_removed_row(chained: Engine, tmp_path: Path) -> None:
    add_rows(chained, 6)
    report = audit_chain.verify(chained, tmp_path)
    assert report.ok and report.rows == 6, report.problems
    with chained.connect() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM audit_log ORDER BY id"))]

    tamper(chained, f"UPDATE audit_log SET reason = '无' WHERE id = {ids[2]}")
    assert [p for p in audit_chain.verify(chained).problems if f"row {ids[2]} was changed" in p]

    tamper(chained, f"DELETE FROM audit_log WHERE id = {ids[4]}")
    problems = audit_chain.verify(chained).problems
    assert any(f"the row before id {ids[5]} was removed" in p for p in problems), problems


def test_an_anchor_outside_the_database_catches_a_cut_tail(chained: Engine, tmp_path: Path) -> None:
    add_rows(chained, 3)
    anchor = audit_chain.write_anchor(chained, tmp_path)
    assert anchor is not None and (tmp_path / "audit" / "anchors.jsonl").read_text().count("\n") == 1
    add_rows(chained, 1)
    assert audit_chain.verify(chained, tmp_path).ok
    tamper(chained, f"DELETE FROM audit_log WHERE id >= {anchor.last_id}")  # the chain before it is intact
    report = audit_chain.verify(chained, tmp_path)
    assert report.anchors_checked == 1 and any("cut or rewritten" in p for p in report.problems)


def test_the_chain_follows_parallel_writers(chained: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    app = app_engine(chained)
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: add_rows(app, 5), range(8)))
        report = audit_chain.verify(chained)
        assert report.ok and report.rows == 40, report.problems
    finally:
        app.dispose()


def test_the_cli_verify_names_the_changed_row(chained: Engine, tmp_path: Path) -> None:
    add_rows(chained, 3)
    env = {**os.environ, "CHECKPOINT_DATABASE_URL": chained.url.render_as_string(hide_password=False),
           "CHECKPOINT_REDIS_URL": "redis://127.0.0.1:1/0", "CHECKPOINT_DATA_DIR": str(tmp_path),
           "CHECKPOINT_SECRET_KEY": TEST_SECRET}
    command = [sys.executable, "-m", "checkpoint", "audit", "verify"]
    intact = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert intact.returncode == 0 and "audit chain intact: 3 rows" in intact.stdout, intact.stderr[-2000:]
    with chained.connect() as conn:
        first = conn.execute(text("SELECT min(id) FROM audit_log")).scalar()
    tamper(chained, f"UPDATE audit_log SET target = '粤L99999' WHERE id = {first}")
    broken = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert broken.returncode == 1 and f"row {first} was changed" in broken.stderr, broken.stderr[-2000:]


def test_the_running_application_connects_as_the_app_role(chained: Engine) -> None:
    from checkpoint.core.config import Settings
    from checkpoint.runtime import app_database_url

    settings = Settings(secret_key=TEST_SECRET)
    url = app_database_url(settings, chained, chained.url.render_as_string(hide_password=False))
    running = create_engine(url)
    try:
        with running.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == db_roles.app_role(str(chained.url.database))
            owner = conn.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'")).scalar()
            assert owner != conn.execute(text("SELECT current_user")).scalar()
    finally:
        running.dispose()
