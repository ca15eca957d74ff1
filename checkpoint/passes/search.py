"""过车查询: stored passes by time, place, plate pattern, plate and vehicle attributes.

A plate pattern is first turned into the set of plates seen in the window (exact: the plate;
fuzzy: the reads a fuzzy watch accepts that were seen; wildcard: one scan of the (plate,
captured_at) index with LIKE), so counting and paging then go through that index with
`plate = ANY(...)`. Without a plate the (checkpoint_id, captured_at) or captured_at index serves.
The pattern rules are the watchlist's, handed in as `PlateRules` (passes cannot import the
watchlist, a layer above it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import psycopg2.errors
import sqlalchemy.exc
from sqlalchemy import ARRAY, ColumnElement, Integer, Select, String, any_, bindparam, cast, func, literal, select, text
from sqlalchemy.orm import Session, aliased

from checkpoint.core.errors import InvalidInput
from checkpoint.passes import plate_wildcard
from checkpoint.passes.models import Pass
from checkpoint.passes.schemas import PassHit, PassSearchPage
from checkpoint.sites.models import Area, Checkpoint
from checkpoint.sites.service import checkpoints_in_area

MAX_RANGE = timedelta(days=31)
COUNT_CAP = 100_000  # counted exactly up to this; beyond, "more than" (the export limit too)
MAX_OFFSET = 10_000  # deeper pages: narrow the query or export it
MAX_WILDCARD_PLATES = 5_000  # distinct plates a wildcard may match in the window
PAGE_TIMEOUT_MS = 30_000
EXPORT_TIMEOUT_MS = 120_000
Sort = Literal["time_desc", "time_asc", "plate"]
PlateMode = Literal["exact", "wildcard", "fuzzy"]


class PlateRules(Protocol):
    """The watchlist's plate-pattern rules, as the app factory hands them to passes."""

    def pattern(self, mode: str, text: str, strictness: str) -> str:
        """The validated, normalised pattern; InvalidInput (a 422 with the reason) when it is not one."""

    def fuzzy_plates(self, session: Session, plate: str, strictness: str, start: datetime,
                     end: datetime) -> Sequence[str]:
        """The plate, then the other plates seen in [start, end) that a fuzzy watch on it matches."""


@dataclass(frozen=True, slots=True)
class PassFilter:
    """What the investigator asked for, before places and plate patterns are resolved."""

    start: datetime
    end: datetime
    checkpoints: Sequence[str] = ()
    districts: Sequence[str] = ()
    areas: Sequence[str] = ()
    direction: str | None = None
    plate: str | None = None
    plate_mode: PlateMode = "exact"
    strictness: str = "normal"
    plate_colour: str | None = None
    plate_type: str | None = None
    vehicle_colour: str | None = None
    vehicle_type: str | None = None
    vehicle_brand: str | None = None


@dataclass(frozen=True, slots=True)
class ResolvedFilter:
    """The filter in the pass table's terms: checkpoint ids and plates (None: any)."""

    query: PassFilter
    checkpoint_ids: tuple[int, ...] | None
    plates: tuple[str, ...] | None
    pattern: str | None  # the normalised pattern, for the audit row


TOO_SLOW = "查询超时：请缩小时间范围或增加条件（卡口、号牌） (the search took too long: narrow it)"


@contextmanager
def bounded(session: Session, milliseconds: int) -> Iterator[None]:
    """The block's queries under a time ceiling (JIT off: compiling costs more than these scans save);
    a query cancelled at the ceiling is answered 422 with what to do, not 500."""
    session.execute(text(f"SET LOCAL statement_timeout = {int(milliseconds)}"))
    session.execute(text("SET LOCAL jit = off"))
    try:
        yield
    except sqlalchemy.exc.OperationalError as exc:
        if not isinstance(exc.orig, psycopg2.errors.QueryCanceled):
            raise
        session.rollback()
        raise InvalidInput(TOO_SLOW) from exc


def check_reason(reason: str | None) -> str:
    """The stated reason, stripped: a plate search without one would defeat the audit."""
    stated = (reason or "").strip()
    if len(stated) < 4:
        raise InvalidInput("请填写查询事由（至少 4 个字），查询将记入审计日志 (state the reason for this search)")
    return stated


def check_range(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("时间须带时区，例如 2026-11-01T08:00:00+08:00 (give times with a time zone)")
    if end <= start:
        raise InvalidInput("结束时间须晚于开始时间 (the end must come after the start)")
    if end - start > MAX_RANGE:
        raise InvalidInput(f"时间范围最长 {MAX_RANGE.days} 天，请缩小范围 (at most {MAX_RANGE.days} days)")


def resolve(session: Session, query: PassFilter, rules: PlateRules | None) -> ResolvedFilter:
    """Places to checkpoint ids and the plate pattern to the plates seen; refuses what cannot be searched."""
    check_range(query.start, query.end)
    ids = _checkpoint_ids(session, query)
    if not query.plate or not query.plate.strip():
        return ResolvedFilter(query, ids, None, None)
    if rules is None:
        raise InvalidInput("此处不支持号牌模式查询 (plate patterns are not available here)")
    pattern = rules.pattern(query.plate_mode, query.plate, query.strictness)
    if query.plate_mode == "exact":
        plates: Sequence[str] = [pattern]
    elif query.plate_mode == "fuzzy":
        plates = rules.fuzzy_plates(session, pattern, query.strictness, query.start, query.end)
    else:
        with bounded(session, PAGE_TIMEOUT_MS):
            plates = _wildcard_plates(session, pattern, query.start, query.end, ids)
    return ResolvedFilter(query, ids, tuple(plates), pattern)


def _checkpoint_ids(session: Session, query: PassFilter) -> tuple[int, ...] | None:
    """The union of the named checkpoints, districts and areas; None when no place was named."""
    if not (query.checkpoints or query.districts or query.areas):
        return None
    ids: set[int] = set()
    if query.checkpoints:
        found = {code: cid for code, cid in session.execute(select(Checkpoint.code, Checkpoint.id)
                                                            .where(Checkpoint.code.in_(query.checkpoints)))}
        unknown = sorted(set(query.checkpoints) - set(found))
        if unknown:
            raise InvalidInput(f"未知卡口编号 unknown checkpoint code(s): {', '.join(unknown)}")
        ids.update(found.values())
    if query.districts:
        found_d = {cid: district for cid, district in session.execute(
            select(Checkpoint.id, Checkpoint.district).where(Checkpoint.district.in_(query.districts)))}
        unknown = sorted(set(query.districts) - set(found_d.values()))
        if unknown:
            raise InvalidInput(f"未知区县或区县内无卡口 unknown district(s): {', '.join(unknown)}")
        ids.update(found_d)
    for area in query.areas:
        if session.scalar(select(Area.id).where(Area.code == area)) is None:
            raise InvalidInput(f"未知区域 unknown area: {area}")
        inside = checkpoints_in_area(session, area)
        if not inside:
            raise InvalidInput(f"区域 {area} 内没有卡口 (no checkpoint inside area {area})")
        ids.update(checkpoint.id for checkpoint in inside)
    return tuple(sorted(ids))


def _wildcard_plates(session: Session, pattern: str, start: datetime, end: datetime,
                     ids: tuple[int, ...] | None) -> list[str]:
    found = plate_wildcard.matching_plates(session, pattern, start, end, ids, MAX_WILDCARD_PLATES + 1)
    if len(found) > MAX_WILDCARD_PLATES:
        raise InvalidInput(f"模式 {pattern} 在此时段匹配超过 {MAX_WILDCARD_PLATES} 个号牌，请补充已知字符或缩小范围"
                           f" (the pattern matches more than {MAX_WILDCARD_PLATES} plates)")
    return sorted(found)


def _where(resolved: ResolvedFilter) -> Select[Pass]:
    q = resolved.query
    stmt = select(Pass).where(Pass.captured_at >= q.start, Pass.captured_at < q.end)
    if resolved.checkpoint_ids is not None:  # one array parameter, whatever the number of checkpoints or plates
        stmt = stmt.where(Pass.checkpoint_id == any_(bindparam("ids", list(resolved.checkpoint_ids),
                                                               type_=ARRAY(Integer))))
    if resolved.plates is not None:
        stmt = stmt.where(Pass.plate == any_(bindparam("plates", list(resolved.plates), type_=ARRAY(String))))
    for column, value in ((Pass.direction, q.direction), (Pass.plate_colour, q.plate_colour),
                          (Pass.plate_type, q.plate_type), (Pass.vehicle_colour, q.vehicle_colour),
                          (Pass.vehicle_type, q.vehicle_type)):
        if value:
            stmt = stmt.where(column == value)
    if q.vehicle_brand:
        stmt = stmt.where(Pass.vehicle_brand.ilike(f"%{q.vehicle_brand.replace('%', '').replace('_', '')}%"))
    return stmt


def _ordered(resolved: ResolvedFilter, sort: Sort,
             columns: Callable[[Any], Sequence[ColumnElement[Any]]] | None = None) -> Select[Any]:
    """The hits in `sort` order: whole passes, or the `columns` made of the hits and their checkpoint.

    With a plate set, its passes are first read through the plate index (a materialised CTE), then
    sorted: otherwise the planner walks the window's captured_at index newest first, filtering for
    the plates, and a wildcard's few thousand hits can cost a scan of the whole week.
    """
    stmt = _where(resolved)
    hits: Any = Pass
    if resolved.plates is not None:
        hits = aliased(Pass, stmt.cte("hits").prefix_with("MATERIALIZED"))
        stmt = select(hits)
    if columns is not None:
        stmt = stmt.with_only_columns(*columns(hits)).outerjoin(Checkpoint, Checkpoint.id == hits.checkpoint_id)
    if sort == "time_asc":
        return stmt.order_by(hits.captured_at, hits.id)
    if sort == "plate":
        return stmt.order_by(hits.plate, hits.captured_at.desc(), hits.id)
    return stmt.order_by(hits.captured_at.desc(), hits.id)


def search_page(session: Session, resolved: ResolvedFilter, *, sort: Sort, page: int, page_size: int,
                names: dict[int, Checkpoint]) -> PassSearchPage:
    """One page of hits and the count (exact up to COUNT_CAP)."""
    offset = (page - 1) * page_size
    if offset > MAX_OFFSET:
        raise InvalidInput(f"最多翻到第 {MAX_OFFSET // page_size} 页，更多结果请缩小条件或导出 (page too deep)")
    stmt = _where(resolved)
    with bounded(session, PAGE_TIMEOUT_MS):
        capped = stmt.with_only_columns(literal(1)).limit(COUNT_CAP + 1).subquery()  # index-only where it can
        total = session.scalar(select(func.count()).select_from(capped)) or 0
        rows = list(session.scalars(_ordered(resolved, sort).offset(offset).limit(page_size))) if total else []
    return PassSearchPage(total=min(total, COUNT_CAP), total_exact=total <= COUNT_CAP, page=page,
                          page_size=page_size, plates=list(resolved.plates) if resolved.plates is not None else None,
                          items=[hit(row, names) for row in rows])


def hit(row: Pass, names: dict[int, Checkpoint]) -> PassHit:
    checkpoint = names.get(row.checkpoint_id)
    return PassHit(id=row.id, captured_at=row.captured_at, plate=row.plate, plate_colour=row.plate_colour,
                   plate_type=row.plate_type, checkpoint_code=checkpoint.code if checkpoint else str(row.checkpoint_id),
                   checkpoint_name=checkpoint.name if checkpoint else "",
                   district_name=checkpoint.district_name if checkpoint else "", lane=row.lane,
                   direction=row.direction, speed_kmh=row.speed_kmh, vehicle_colour=row.vehicle_colour,
                   vehicle_type=row.vehicle_type, vehicle_brand=row.vehicle_brand,
                   has_scene=row.image_path is not None, has_plate=row.plate_image_path is not None)


def checkpoint_names(session: Session) -> dict[int, Checkpoint]:
    return {checkpoint.id: checkpoint for checkpoint in session.scalars(select(Checkpoint))}


def export_columns(timezone: str) -> Callable[[Any], list[ColumnElement[Any]]]:
    """The CSV's columns, formatted by PostgreSQL (local time, checkpoint code and name, the id as text):
    formatting 100,000 rows in Python took longer than reading them."""

    def columns(hits: Any) -> list[ColumnElement[Any]]:
        local = func.to_char(func.timezone(timezone, hits.captured_at), "YYYY-MM-DD HH24:MI:SS")
        return [local, hits.plate, hits.plate_colour, hits.plate_type,
                func.coalesce(Checkpoint.code, cast(hits.checkpoint_id, String)), func.coalesce(Checkpoint.name, ""),
                func.coalesce(Checkpoint.district_name, ""), hits.lane, hits.direction, hits.speed_kmh,
                hits.vehicle_colour, hits.vehicle_type, hits.vehicle_brand, cast(hits.id, String)]

    return columns


def export_rows(session: Session, resolved: ResolvedFilter, *, sort: Sort, timezone: str, limit: int = COUNT_CAP,
                batch: int = 5_000) -> Iterator[Sequence[object]]:
    """The hits as CSV-ready rows (export_columns), fetched from a server-side cursor in batches."""
    stmt = _ordered(resolved, sort, export_columns(timezone)).limit(limit)
    with bounded(session, EXPORT_TIMEOUT_MS):
        result = session.execute(stmt.execution_options(stream_results=True, yield_per=batch))
        for partition in result.partitions():
            yield from partition
