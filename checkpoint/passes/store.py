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

from checkpoint.passes.record import RECORD_FIELDS, STORED_VALUES, CapturedPass

COLUMNS = (*(name if name != "pass_id" else "id" for name in RECORD_FIELDS[:STORED_VALUES]), "lat", "lon",
           "received_at")  # a packed record's stored values, then what the writer adds
COLUMN_LIST = ", ".join(COLUMNS)
COPY_OPTIONS = "(NULL '')"  # a packed record writes None as an empty value
STAGE_TABLE = "pass_stage"

Position = tuple[float, float]  # (lat, lon)


def stored_line(record: str, suffix: str) -> str:
    """The COPY line of a packed record: its stored values (all but `source`, the last) and `suffix`."""
    return record[:record.rindex("\t")] + suffix


def line_suffix(lat: str, lon: str, received_at: str) -> str:
    """What the writer appends to a record's stored values: position and receive time, and the newline."""
    return f"\t{lat}\t{lon}\t{received_at}\n"


def copy_rows(passes: Iterable[CapturedPass], positions: dict[int, Position], received_at: datetime) -> str:
    """The batch in COPY text format (COPY_OPTIONS), in COLUMNS order."""
    received = received_at.isoformat()
    suffixes = {checkpoint_id: line_suffix(repr(lat), repr(lon), received)
                for checkpoint_id, (lat, lon) in positions.items()}
    return "".join([stored_line(item.to_record(), suffixes[item.checkpoint_id]) for item in passes])


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
            cur.copy_expert(f"COPY pass ({COLUMN_LIST}) FROM STDIN WITH {COPY_OPTIONS}", io.StringIO(data),
                            size=len(data) + 1)  # one read(): psycopg2 takes the GIL back for each chunk
        except psycopg2.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT pass_copy")
        else:
            cur.execute("RELEASE SAVEPOINT pass_copy")
            return count
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} "
                    "(LIKE pass INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        cur.execute(f"TRUNCATE {STAGE_TABLE}")
        cur.copy_expert(f"COPY {STAGE_TABLE} ({COLUMN_LIST}) FROM STDIN WITH {COPY_OPTIONS}", io.StringIO(data),
                        size=len(data) + 1)
        cur.execute(f"INSERT INTO pass ({COLUMN_LIST}) SELECT {COLUMN_LIST} FROM {STAGE_TABLE} "
                    "ON CONFLICT DO NOTHING")
        inserted: int = cur.rowcount
        return inserted
