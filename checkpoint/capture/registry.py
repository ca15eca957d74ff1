"""The device and feed registry: every camera of every checkpoint lane, in one table a site can import and export.

One CSV row is one camera: a video feed (rtsp, http, file) or a pushing device (smart, snapshot,
gat1400). A video feed is known by (checkpoint, lane, direction, kind), a device by its code; an
import adds what is new and changes what differs, and reports each wrong row by its line with the
reason while the others are applied. Passwords in feed URLs and digest passwords are never
answered or exported: URLs come back as rtsp://user:***@host/..., and an imported `***` keeps
the stored one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture import service
from checkpoint.capture.models import Device
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core import digest
from checkpoint.core.errors import DomainError
from checkpoint.sites.models import Checkpoint, Feed

COLUMNS = ("checkpoint", "lane", "direction", "kind", "code", "name", "source", "rtsp_transport", "tollgate_id",
           "digest_username", "digest_password", "enabled")
VIDEO_KINDS = ("rtsp", "http", "file")
DEVICE_KINDS = ("smart", "snapshot", "gat1400")
HIDDEN = "***"


def masked_source(source: str) -> str:
    """A feed URL without its password (rtsp://admin:***@10.0.0.5/...): what answers, logs and exports show."""
    parts = urlsplit(source)
    if not parts.password:
        return source
    host = parts.hostname or ""
    netloc = f"{parts.username}:{HIDDEN}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def unmasked_source(new: str, stored: str | None) -> str:
    """An imported URL whose password is `***` gets the stored URL's password back."""
    parts = urlsplit(new)
    if parts.password != HIDDEN or not stored:
        return new
    old = urlsplit(stored)
    if old.password is None:
        return new
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{HIDDEN}@", f":{old.password}@", 1)))


def audit_detail(report: ImportReport, **extra: object) -> dict[str, object]:
    """One audit entry for an import: the counts, and every change by line and target."""
    return {"added": report.added, "changed": report.changed, "unchanged": report.unchanged,
            "errors": len(report.errors), **extra,
            "changes": [{"line": line, "action": action, "target": target} for line, action, target in report.changes]}


@dataclass
class ImportReport:
    """Per line (1 = the header): added, changed, unchanged, or the reason it was not applied."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    changes: list[tuple[int, str, str]] = field(default_factory=list)  # (line, action, target) for the audit


class RowRefused(Exception):
    pass


def _flag(value: str) -> bool:
    text = value.strip().lower()
    if text in ("", "1", "true", "yes", "y", "是", "启用"):
        return True
    if text in ("0", "false", "no", "n", "否", "停用"):
        return False
    raise RowRefused(f"enabled {value!r} 应为 1/0 或 true/false")


@dataclass
class _Known:
    checkpoints: dict[str, Checkpoint]
    feeds: dict[tuple[int, int, str, str], Feed]
    devices: dict[str, Device]


def _load(session: Session) -> _Known:
    checkpoints = {cp.code: cp for cp in session.scalars(select(Checkpoint))}
    feeds = {(f.checkpoint_id, f.lane, f.direction, f.kind): f
             for f in session.scalars(select(Feed).where(Feed.kind.in_(VIDEO_KINDS)).order_by(Feed.id))}
    return _Known(checkpoints, feeds, {d.code: d for d in session.scalars(select(Device))})


def import_rows(session: Session, rows: Iterable[dict[str, str]], digest_realm: str) -> ImportReport:
    """Apply every good row (the caller commits); the header is line 1, so the first row is line 2.

    The registry is read once and the rows applied in memory, flushed together: 480 lanes in well
    under the 10 s a site waits for (docs/BENCHMARKS.md).
    """
    report = ImportReport()
    known = _load(session)
    for line, raw in enumerate(rows, start=2):
        row = {key.strip().lower(): (value or "").strip() for key, value in raw.items() if key}
        try:  # every check comes before a row changes anything: a refused row leaves nothing behind
            outcome, target = _apply(session, known, row, digest_realm)
        except (RowRefused, DomainError) as exc:
            report.errors.append((line, str(exc)))
            continue
        if outcome == "unchanged":
            report.unchanged += 1
        else:
            report.added += outcome == "added"
            report.changed += outcome == "changed"
            report.changes.append((line, outcome, target))
    session.flush()
    return report


def _apply(session: Session, known: _Known, row: dict[str, str], realm: str) -> tuple[str, str]:
    checkpoint = known.checkpoints.get(row.get("checkpoint", ""))
    if checkpoint is None:
        raise RowRefused(f"卡口 {row.get('checkpoint', '')!r} 未登记")
    kind = row.get("kind", "")
    lane_text = row.get("lane", "")
    if not lane_text.isdigit() or not 1 <= int(lane_text) <= checkpoint.lanes:
        raise RowRefused(f"车道 {lane_text!r} 不在卡口 {checkpoint.code} 的 1..{checkpoint.lanes} 之内")
    lane, direction = int(lane_text), row.get("direction", "") or "in"
    if direction not in ("in", "out"):
        raise RowRefused(f"方向 {direction!r} 应为 in 或 out")
    enabled = _flag(row.get("enabled", ""))
    if kind in VIDEO_KINDS:
        return _apply_feed(session, known, checkpoint, lane, direction, kind, row, enabled)
    if kind in DEVICE_KINDS:
        return _apply_device(session, known, checkpoint, lane, direction, kind, row, enabled, realm)
    raise RowRefused(f"类型 {kind!r} 应为 {', '.join(VIDEO_KINDS + DEVICE_KINDS)} 之一")


def _apply_feed(session: Session, known: _Known, checkpoint: Checkpoint, lane: int, direction: str, kind: str,
                row: dict[str, str], enabled: bool) -> tuple[str, str]:
    source = row.get("source", "")
    if kind in ("rtsp", "http") and not source.lower().startswith(f"{kind}://") and not (
            kind == "http" and source.lower().startswith("https://")):
        raise RowRefused(f"视频源 {masked_source(source)!r} 应以 {kind}:// 开头")
    if kind == "file" and not source:
        raise RowRefused("文件视频源须给出路径")
    transport = row.get("rtsp_transport", "") or None
    if transport not in (None, "tcp", "udp"):
        raise RowRefused(f"rtsp_transport {transport!r} 应为 tcp 或 udp")
    key = (checkpoint.id, lane, direction, kind)
    feed = known.feeds.get(key)
    target = f"feed:{checkpoint.code}/{lane}/{direction}/{kind}"
    if feed is None:
        feed = Feed(checkpoint_id=checkpoint.id, lane=lane, direction=direction, kind=kind, source=source,
                    enabled=enabled, rtsp_transport=transport, name=row.get("name", ""))
        session.add(feed)
        known.feeds[key] = feed
        return "added", target
    wanted = {"source": unmasked_source(source, feed.source), "enabled": enabled, "rtsp_transport": transport,
              "name": row.get("name", "")}
    return _update(feed, wanted), target


def _apply_device(session: Session, known: _Known, checkpoint: Checkpoint, lane: int, direction: str, kind: str,
                  row: dict[str, str], enabled: bool, realm: str) -> tuple[str, str]:
    code = row.get("code", "")
    password = row.get("digest_password", "")
    device = known.devices.get(code)
    target = f"device:{code}"
    if device is None:
        try:
            body = DeviceCreate.model_validate({
                "code": code, "name": row.get("name", ""), "checkpoint": checkpoint.code, "lanes": [lane],
                "direction": direction, "kind": kind, "tollgate_id": row.get("tollgate_id") or None,
                "digest_username": row.get("digest_username") or None, "digest_password": password or None})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise RowRefused(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
        device, _key = service.new_device(checkpoint, body, realm)  # its API key: issued again when wanted
        device.active = enabled
        session.add(device)
        known.devices[code] = device
        return "added", target
    if device.checkpoint_id != checkpoint.id or device.kind != kind:
        raise RowRefused(f"设备 {code} 已登记在其他卡口或为其他类型，请先在设备页修改")
    lanes = sorted(set(device.lanes) | {lane}) if device.lanes else []  # none: every lane, as before
    wanted: dict[str, Any] = {"name": row.get("name", "") or device.name, "lanes": lanes, "active": enabled,
                              "direction": direction if device.direction else None}
    if kind == "gat1400":
        wanted["tollgate_id"] = row.get("tollgate_id") or device.tollgate_id
        wanted["digest_username"] = row.get("digest_username") or device.digest_username
        if password and password != HIDDEN:
            wanted["digest_ha1"] = digest.ha1(wanted["digest_username"] or "", realm, password)
    return _update(device, wanted), target


def _update(row: Any, wanted: dict[str, Any]) -> str:
    changed = False
    for name, value in wanted.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return "changed" if changed else "unchanged"


def export_rows(session: Session) -> list[dict[str, str]]:
    """Every feed and device, one row per lane, passwords hidden (re-importing the file changes nothing)."""
    codes = {cp.id: cp.code for cp in session.scalars(select(Checkpoint))}
    lanes = {cp.id: cp.lanes for cp in session.scalars(select(Checkpoint))}
    rows = []
    for feed in session.scalars(select(Feed).where(Feed.kind.in_(VIDEO_KINDS)).order_by(Feed.checkpoint_id, Feed.lane)):
        rows.append({"checkpoint": codes[feed.checkpoint_id], "lane": str(feed.lane), "direction": feed.direction,
                     "kind": feed.kind, "code": "", "name": feed.name, "source": masked_source(feed.source),
                     "rtsp_transport": feed.rtsp_transport or "", "tollgate_id": "", "digest_username": "",
                     "digest_password": "", "enabled": "1" if feed.enabled else "0"})
    for device in session.scalars(select(Device).order_by(Device.checkpoint_id, Device.code)):
        for lane in device.lanes or range(1, lanes[device.checkpoint_id] + 1):
            rows.append({"checkpoint": codes[device.checkpoint_id], "lane": str(lane),
                         "direction": device.direction or "in", "kind": device.kind, "code": device.code,
                         "name": device.name, "source": "", "rtsp_transport": "",
                         "tollgate_id": device.tollgate_id or "", "digest_username": device.digest_username or "",
                         "digest_password": HIDDEN if device.digest_ha1 else "",
                         "enabled": "1" if device.active else "0"})
    return rows


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def read_csv(text: str) -> list[dict[str, str]]:
    """The rows of an uploaded file (a UTF-8 BOM, as spreadsheet programs write, is dropped)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [name for name in ("checkpoint", "lane", "kind") if name not in (reader.fieldnames or [])]
    if missing:
        raise RowRefused(f"表头缺少列 {', '.join(missing)}（应有 {', '.join(COLUMNS)}）")
    return list(reader)
