"""Day partitions of the pass table: created ahead of time, dropped whole by retention."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, text

PARENT = "pass"


def partition_name(day: date) -> str:
    return f"pass_{day:%Y%m%d}"


def ensure_day_partitions(conn: Connection, first_day: date, last_day: date) -> list[str]:
    """Create the missing UTC-day partitions from first_day to last_day inclusive; returns those created."""
    existing = set(list_partitions(conn))
    created: list[str] = []
    day = first_day
    while day <= last_day:
        name = partition_name(day)
        if name not in existing:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            end = start + timedelta(days=1)
            conn.execute(text(
                f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{PARENT}" '
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            ))
            created.append(name)
        day += timedelta(days=1)
    return created


def list_partitions(conn: Connection) -> list[str]:
    rows = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :parent ORDER BY c.relname"
    ), {"parent": PARENT})
    return [row[0] for row in rows]


def ensure_current_partitions(conn: Connection, days_back: int = 31, days_ahead: int = 7) -> list[str]:
    today = datetime.now(UTC).date()
    return ensure_day_partitions(conn, today - timedelta(days=days_back), today + timedelta(days=days_ahead))
