"""Writing batches of captured passes into the day-partitioned pass table, idempotent by pass id.

The fast path COPYs the batch straight into `pass` inside a savepoint; if any pass of the batch
is already stored (a redelivery after a crash), that COPY fails as a whole and the batch goes
through a temporary table and `INSERT ... ON CONFLICT DO NOTHING` instead. Either way each pass
is stored once, and the caller commits.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import psycopg2
import psycopg2.errors

from checkpoint.capture.records import CapturedPass
from checkpoint.core.bus import Fields

COLUMNS = ("id", "captured_at", "plate", "plate_colour", "plate_type", "confidence", "checkpoint_id", "feed_id",
           "device_id", "lane", "direction", "speed_kmh", "lat", "lon", "image_path", "plate_image_path",
           "received_at")
COLUMN_LIST = ", ".join(COLUMNS)
STAGE_TABLE = "pass_stage"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

Position = tuple[float, float]  # (lat, lon)


def _text(value: str | None) -> str:
    return "\\N" if value is None else value.translate(_ESCAPES)


def _num(value: float | int | None) -> str:
    return "\\N" if value is None else repr(value)


def copy_rows(passes: Iterable[CapturedPass], positions: dict[int, Position], received_at: datetime) -> str:
    """The batch in COPY text format, in COLUMNS order."""
    received = received_at.isoformat()
    lines = []
    for item in passes:
        lat, lon = positions[item.checkpoint_id]
        lines.append("\t".join((
            str(item.pass_id), item.captured_at.isoformat(), _text(item.plate), _text(item.plate_colour),
            _text(item.plate_type), repr(item.confidence), str(item.checkpoint_id), _num(item.feed_id),
            _num(item.device_id), _num(item.lane), _text(item.direction), _num(item.speed_kmh), repr(lat),
            repr(lon), _text(item.image_path), _text(item.plate_image_path), received,
        )))
    lines.append("")
    return "\n".join(lines)


def copy_rows_of_fields(rows: Sequence[tuple[Fields, tuple[str, str]]], received_at: datetime) -> str | None:
    """The batch in COPY text format straight from the stream fields (CapturedPass.to_fields), in COLUMNS order.

    The writer's fast path: no parsing into CapturedPass and back. Text columns are escaped,
    the others passed on as written and checked by PostgreSQL (the writer falls back to row by
    row when it refuses one). None when a value would break the COPY framing (a tab or newline
    in a number): the caller takes the slow path.
    """
    received = received_at.isoformat()
    lines = []
    for fields, (lat, lon) in rows:
        get = fields.get
        lines.append("\t".join((
            fields["pass_id"], fields["captured_at"], _text(fields["plate"]), _text(get("plate_colour", "unknown")),
            _text(get("plate_type", "unknown")), get("confidence") or "0.0", fields["checkpoint_id"],
            get("feed_id") or "\\N", get("device_id") or "\\N", get("lane") or "\\N", _text(get("direction") or None),
            get("speed_kmh") or "\\N", lat, lon, _text(get("image_path") or None),
            _text(get("plate_image_path") or None), received,
        )))
    lines.append("")
    data = "\n".join(lines)
    if data.count("\n") != len(rows) or data.count("\t") != (len(COLUMNS) - 1) * len(rows) or "\r" in data:
        return None
    return data


def days_of(passes: Iterable[CapturedPass]) -> set[date]:
    return {item.captured_at.date() for item in passes}


def insert_passes(conn: Any, passes: Sequence[CapturedPass], positions: dict[int, Position],
                  received_at: datetime) -> int:
    """Store the batch on a psycopg2 connection (in its open transaction); returns how many were new.

    Every checkpoint must be in `positions` and every day must have its partition. Does not commit.
    """
    if not passes:
        return 0
    return insert_copy_text(conn, copy_rows(passes, positions, received_at), len(passes))


def insert_copy_text(conn: Any, data: str, count: int) -> int:
    """Store `count` rows of COPY text (COLUMNS order) in the open transaction; returns how many were new.

    Raises psycopg2.DataError (in an aborted transaction) when PostgreSQL cannot read a value.
    """
    with conn.cursor() as cur:
        cur.execute("SAVEPOINT pass_copy")
        try:
            cur.copy_expert(f"COPY pass ({COLUMN_LIST}) FROM STDIN", io.StringIO(data))
        except psycopg2.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT pass_copy")
        else:
            cur.execute("RELEASE SAVEPOINT pass_copy")
            return count
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} "
                    "(LIKE pass INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        cur.execute(f"TRUNCATE {STAGE_TABLE}")
        cur.copy_expert(f"COPY {STAGE_TABLE} ({COLUMN_LIST}) FROM STDIN", io.StringIO(data))
        cur.execute(f"INSERT INTO pass ({COLUMN_LIST}) SELECT {COLUMN_LIST} FROM {STAGE_TABLE} "
                    "ON CONFLICT DO NOTHING")
        inserted: int = cur.rowcount
        return inserted
