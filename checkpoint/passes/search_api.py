"""过车查询 routes: search stored passes, and export the hits as CSV; every search states a reason, audited."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from checkpoint.core import audit
from checkpoint.core.deps import SessionDep, SettingsDep, client_ip, require_roles
from checkpoint.core.errors import InvalidInput
from checkpoint.core.models import Role, User
from checkpoint.lpr.models import PlateColour, PlateType
from checkpoint.passes import search, vehicle
from checkpoint.passes.schemas import PassSearchPage

router = APIRouter(tags=["passes"])
PassSearcher = Annotated[User, Depends(require_roles(Role.investigator, Role.dispatcher, Role.admin))]
Codes = Annotated[list[str], Query(max_length=200)]
Text = Annotated[str | None, Query(max_length=32)]


def plate_rules(request: Request) -> search.PlateRules | None:
    """The watchlist's plate rules, put in `app.state` by the app factory (passes cannot import them)."""
    rules: search.PlateRules | None = getattr(request.app.state, "plate_rules", None)
    return rules


def _word(value: str | None, known: Iterable[str], what: str) -> str | None:
    if not value:
        return None
    if value not in known:
        raise InvalidInput(f"{what}取值无效 unknown {value!r}；可选 one of: {', '.join(known)}")
    return value


def pass_filter(
    start: Annotated[datetime, Query(description="开始时间 start of the range, with a time zone")],
    end: Annotated[datetime, Query(description="结束时间 end of the range (exclusive), with a time zone")],
    checkpoint: Codes = [],  # noqa: B006 - FastAPI copies defaults
    district: Codes = [],  # noqa: B006
    area: Codes = [],  # noqa: B006
    direction: Annotated[Literal["in", "out"] | None, Query()] = None,
    plate: Annotated[str | None, Query(max_length=16, description="号牌或号牌模式 plate or pattern")] = None,
    plate_mode: Annotated[search.PlateMode, Query(description="exact 精确, wildcard 模糊 (?*), fuzzy 近似")] = "exact",
    strictness: Annotated[Literal["strict", "normal", "loose"], Query()] = "normal",
    plate_colour: Text = None,
    plate_type: Text = None,
    vehicle_colour: Text = None,
    vehicle_type: Text = None,
    vehicle_brand: Text = None,
) -> search.PassFilter:
    """The query parameters both the search and its export take."""
    return search.PassFilter(
        start=start, end=end, checkpoints=tuple(checkpoint), districts=tuple(district), areas=tuple(area),
        direction=direction, plate=plate, plate_mode=plate_mode, strictness=strictness,
        plate_colour=_word(plate_colour, [c.value for c in PlateColour], "号牌颜色 plate colour"),
        plate_type=_word(plate_type, [t.value for t in PlateType], "号牌种类 plate type"),
        vehicle_colour=_word(vehicle_colour, vehicle.VEHICLE_COLOURS, "车身颜色 vehicle colour"),
        vehicle_type=_word(vehicle_type, vehicle.VEHICLE_TYPES, "车辆类型 vehicle type"),
        vehicle_brand=(vehicle_brand or "").strip() or None)


Filter = Annotated[search.PassFilter, Depends(pass_filter)]
Rules = Annotated[search.PlateRules | None, Depends(plate_rules)]
Reason = Annotated[str | None, Query(max_length=500, description="查询事由（必填，记入审计）why (required, audited)")]
Sort = Annotated[search.Sort, Query(description="time_desc 最新在前, time_asc, plate")]


def _audited(session: SessionDep, user: User, request: Request, action: str, reason: str,
             resolved: search.ResolvedFilter, **results: Any) -> None:
    q = resolved.query
    query = {"start": q.start.isoformat(), "end": q.end.isoformat(), "checkpoints": list(q.checkpoints),
             "districts": list(q.districts), "areas": list(q.areas), "direction": q.direction, "plate": q.plate,
             "plate_mode": q.plate_mode if q.plate else None, "plate_colour": q.plate_colour,
             "plate_type": q.plate_type, "vehicle_colour": q.vehicle_colour, "vehicle_type": q.vehicle_type,
             "vehicle_brand": q.vehicle_brand,
             "plates": list(resolved.plates[:50]) if resolved.plates is not None else None}
    audit.record(session, user, action, target=resolved.pattern, reason=reason, client_ip=client_ip(request),
                 detail={"query": {k: v for k, v in query.items() if v not in (None, [])}, **results})
    session.commit()


@router.get("/passes/search", response_model=PassSearchPage)
def search_passes(user: PassSearcher, request: Request, session: SessionDep, query: Filter, rules: Rules,
                  reason: Reason = None, sort: Sort = "time_desc", page: Annotated[int, Query(ge=1)] = 1,
                  page_size: Annotated[int, Query(ge=1, le=200)] = 50) -> PassSearchPage:
    """过车查询: passes in [start, end) at the named places (any, when none), of the plate pattern and
    attributes given; one page and the count (exact up to 100,000)."""
    stated = search.check_reason(reason)
    resolved = search.resolve(session, query, rules)
    found = search.search_page(session, resolved, sort=sort, page=page, page_size=page_size,
                               names=search.checkpoint_names(session))
    _audited(session, user, request, "pass.search", stated, resolved, results=found.total, page=page)
    return found


CSV_HEADER = ("时间 time", "号牌 plate", "号牌颜色 plate colour", "号牌种类 plate type", "卡口编号 checkpoint",
              "卡口名称 name", "区县 district", "车道 lane", "方向 direction", "速度 km/h", "车身颜色 colour",
              "车辆类型 type", "品牌 brand", "过车编号 pass id")


@router.get("/passes/search/export")
def export_passes(user: PassSearcher, request: Request, session: SessionDep, settings: SettingsDep, query: Filter,
                  rules: Rules, reason: Reason = None, sort: Sort = "time_desc") -> StreamingResponse:
    """The hits (up to 100,000, in `sort` order) as a UTF-8 CSV file, streamed as it is read."""
    stated = search.check_reason(reason)
    resolved = search.resolve(session, query, rules)
    _audited(session, user, request, "pass.export.csv", stated, resolved, limit=search.COUNT_CAP)
    rows = search.export_rows(session, resolved, sort=sort, timezone=settings.timezone)
    first = list(itertools.islice(rows, 1))  # runs the query now: a refusal is still a 4xx, not a cut file
    zone = ZoneInfo(settings.timezone)
    name = f"过车查询-{query.start.astimezone(zone):%Y%m%d%H%M}-{query.end.astimezone(zone):%Y%m%d%H%M}.csv"
    return StreamingResponse(
        _csv(itertools.chain(first, rows)), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Cache-Control": "no-store"})


def _csv(rows: Iterator[Sequence[Any]], chunk: int = 2_000) -> Iterator[str]:
    """The CSV text in chunks of `chunk` rows; a BOM first so spreadsheet programs read it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    while batch := list(itertools.islice(rows, chunk)):
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
