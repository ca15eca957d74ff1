"""Retention: passes and their images older than their checkpoint's class are removed.

Class 1 keeps 30 days, class 2 keeps 15 (CHECKPOINT_RETENTION__DAYS_CLASS1/2). Whole UTC days expire: a day is
removed once all of it is older than the retention. Partitions older than the longest retention
are dropped whole; rows of shorter-retention checkpoints in the days between are deleted in a
transaction that sets `checkpoint.retention = 'on'`, the only way past the pass table's
append-only trigger. Image folders go the same way: images/YYYYMMDD whole, or
images/YYYYMMDD/<checkpoint code> of the shorter classes.

Images attached to a hit alert must be kept with the alert: the alert owner copies (or
hard-links) them outside images/ (e.g. data_dir/alerts/), which retention never touches.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, bindparam, select, text

from checkpoint.core.settings_groups import RetentionSettings
from checkpoint.passes import partitions
from checkpoint.passes.images import IMAGES_DIR
from checkpoint.sites.models import Checkpoint

log = logging.getLogger(__name__)

DEFAULT_DAYS = RetentionSettings().days_by_class()  # a site's own: CHECKPOINT_RETENTION__*, passed in


@dataclass
class RetentionReport:
    dropped_partitions: list[str] = field(default_factory=list)
    deleted_rows: int = 0
    removed_image_dirs: list[str] = field(default_factory=list)


def first_kept_day(now: datetime, days: int) -> date:
    """The oldest UTC day that still has a moment younger than `days` days."""
    return (now.astimezone(UTC) - timedelta(days=days)).date()


def run_retention(engine: Engine, data_dir: Path, now: datetime | None = None,
                  days_by_class: dict[int, int] | None = None) -> RetentionReport:
    """Remove expired passes and images; safe to run at any time and repeatedly."""
    now = now or datetime.now(UTC)
    days_by_class = {**DEFAULT_DAYS, **(days_by_class or {})}
    longest = max(days_by_class.values())
    oldest_kept = first_kept_day(now, longest)
    report = RetentionReport()
    with engine.begin() as conn:
        for name in partitions.list_partitions(conn):
            day = _partition_day(name)
            if day is not None and day < oldest_kept:
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
                report.dropped_partitions.append(name)
    with engine.connect() as conn:
        codes_by_class: dict[int, list[tuple[int, str]]] = {}
        for cp_id, code, cls in conn.execute(select(Checkpoint.id, Checkpoint.code, Checkpoint.retention_class)):
            codes_by_class.setdefault(cls, []).append((cp_id, code))
    short = {cls: days for cls, days in days_by_class.items() if days < longest and cls in codes_by_class}
    for cls, days in sorted(short.items()):
        cutoff = datetime.combine(first_kept_day(now, days), datetime.min.time(), tzinfo=UTC)
        ids = [cp_id for cp_id, _ in codes_by_class[cls]]
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL checkpoint.retention = 'on'"))
            result = conn.execute(
                text("DELETE FROM pass WHERE checkpoint_id IN :ids AND captured_at < :cutoff")
                .bindparams(bindparam("ids", expanding=True)), {"ids": ids, "cutoff": cutoff})
            report.deleted_rows += result.rowcount
    report.removed_image_dirs = _remove_image_dirs(data_dir, now, longest, short, codes_by_class)
    log.info("passes.retention", extra={"dropped_partitions": len(report.dropped_partitions),
                                        "deleted_rows": report.deleted_rows,
                                        "removed_image_dirs": len(report.removed_image_dirs)})
    return report


def _partition_day(name: str) -> date | None:
    try:
        return datetime.strptime(name.removeprefix(f"{partitions.PARENT}_"), "%Y%m%d").date()
    except ValueError:
        return None


def _remove_image_dirs(data_dir: Path, now: datetime, longest: int, short: dict[int, int],
                       codes_by_class: dict[int, list[tuple[int, str]]]) -> list[str]:
    root = data_dir / IMAGES_DIR
    if not root.is_dir():
        return []
    removed: list[str] = []
    for day_dir in sorted(root.iterdir()):
        try:
            day = datetime.strptime(day_dir.name, "%Y%m%d").date()
        except ValueError:
            continue  # not a day folder: never ours to remove
        if day < first_kept_day(now, longest):
            shutil.rmtree(day_dir, ignore_errors=True)
            removed.append(str(day_dir.relative_to(data_dir)))
            continue
        for cls, days in short.items():
            if day < first_kept_day(now, days):
                for _, code in codes_by_class[cls]:
                    folder = day_dir / code
                    if folder.is_dir():
                        shutil.rmtree(folder, ignore_errors=True)
                        removed.append(str(folder.relative_to(data_dir)))
    return removed
