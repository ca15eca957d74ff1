"""The audit log as a CSV file for auditors: the filters of GET /audit, streamed; the export is audited too."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from checkpoint.core import audit
from checkpoint.core.db import utcnow
from checkpoint.core.deps import AuditorUser, SessionDep, SettingsDep, client_ip
from checkpoint.core.errors import InvalidInput
from checkpoint.core.models import AuditEntry

router = APIRouter(tags=["audit"])
MAX_EXPORT_ROWS = 100_000
CSV_HEADER = ("编号 id", "时间 time", "用户 actor", "动作 action", "对象 target", "事由 reason", "详情 detail", "IP")
Text = Annotated[str | None, Query(max_length=256)]


@router.get("/audit/export")
def export_audit(auditor: AuditorUser, request: Request, session: SessionDep, settings: SettingsDep,
                 action: Text = None, actor: Text = None, target: Text = None, since: datetime | None = None,
                 until: datetime | None = None) -> StreamingResponse:
    """Audit rows matching the filters, newest first (at most 100,000), as a UTF-8 CSV file."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput("结束时间须晚于开始时间 (until must come after since)")
    filters = {"action": action, "actor": actor, "target": target, "since": since, "until": until}
    audit.record(session, auditor, "audit.export.csv", client_ip=client_ip(request),
                 detail={key: value.isoformat() if isinstance(value, datetime) else value
                         for key, value in filters.items() if value})
    session.commit()
    query = audit.filtered(action=action, actor=actor, target=target, since=since, until=until).limit(MAX_EXPORT_ROWS)
    rows = session.scalars(query.execution_options(stream_results=True, yield_per=2_000))
    zone = ZoneInfo(settings.timezone)
    name = f"审计日志-{utcnow().astimezone(zone):%Y%m%d%H%M}.csv"
    return StreamingResponse(_csv(rows, zone), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
                                      "Cache-Control": "no-store"})


def _csv(rows: Iterator[AuditEntry], zone: ZoneInfo, chunk: int = 1_000) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # spreadsheet programs then read the file as UTF-8
    writer.writerow(CSV_HEADER)
    for count, row in enumerate(rows, start=1):
        writer.writerow((row.id, row.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), row.actor_name, row.action,
                         row.target or "", row.reason or "", json.dumps(row.detail, ensure_ascii=False),
                         row.client_ip or ""))
        if count % chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
