"""Helpers the analyses share: checkpoint look-ups and the site's local clock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from checkpoint.core.errors import InvalidInput, NotFound

DEFAULT_LIMIT = 500
ANALYTIC_WORK_MEM = "256MB"  # month-wide sorts and hashes stay in memory instead of spilling to disk


class UnknownCheckpointCode(NotFound):
    reason = "unknown-checkpoint"


@dataclass(frozen=True)
class CheckpointInfo:
    id: int
    code: str
    name: str
    lon: float
    lat: float


def checkpoint_infos(session: Session) -> dict[int, CheckpointInfo]:
    rows = session.execute(text("SELECT id, code, name, lon, lat FROM checkpoint"))
    return {row.id: CheckpointInfo(row.id, row.code, row.name, row.lon, row.lat) for row in rows}


def checkpoint_ids(session: Session, codes: list[str]) -> list[int]:
    """Ids of checkpoints given by code (or numeric id); unknown codes are refused by name."""
    by_code = {info.code: info.id for info in checkpoint_infos(session).values()}
    ids: list[int] = []
    for code in codes:
        found = by_code.get(code)
        if found is None and code.isdigit() and int(code) in by_code.values():
            found = int(code)
        if found is None:
            raise UnknownCheckpointCode(f"checkpoint {code!r} does not exist")
        ids.append(found)
    return ids


def night_condition(column: str, start_hour: int, end_hour: int) -> str:
    """SQL for 'local time `column` is at night'; the hours are checked ints, so inlining them is safe."""
    return night_hours(f"extract(hour FROM {column})", start_hour, end_hour)


def night_hours(hour: str, start_hour: int, end_hour: int) -> str:
    """SQL for 'the local hour `hour` is at night', from start_hour to end_hour."""
    if not (0 <= start_hour <= 23 and 0 <= end_hour <= 23) or start_hour == end_hour:
        raise InvalidInput("night hours must be 0-23 and differ, e.g. 22 to 6")
    joiner = "OR" if start_hour > end_hour else "AND"
    return f"({hour} >= {int(start_hour)} {joiner} {hour} < {int(end_hour)})"


def use_analytic_memory(session: Session) -> None:
    """Give this transaction's month-wide sorts and aggregates room in memory (reset at commit)."""
    session.execute(text(f"SET LOCAL work_mem = '{ANALYTIC_WORK_MEM}'"))
    session.execute(text("SET LOCAL jit = off"))  # compiling cost ~1 s a query and saved less
