"""A private PostgreSQL starts, answers, stops immediately (connections fail) and starts again."""

from __future__ import annotations

import psycopg2
import pytest

from checkpoint.core.postgres_process import PostgresServer


def test_a_private_server_survives_an_immediate_stop_with_its_data() -> None:
    server = PostgresServer()
    try:
        server.start()
        with psycopg2.connect(server.dsn) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
        server.stop_immediate()
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(server.dsn, connect_timeout=1)
        server.start()
        with psycopg2.connect(server.dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT n FROM kept")
            assert cur.fetchall() == [(7,)]
    finally:
        server.remove()
