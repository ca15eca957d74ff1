"""Summaries of closed local days, and which part of a window they answer.

Clones, night-active and frequent passing over all checkpoints read every pass of their
window: over a month of a city's traffic that is tens of millions of rows and far more than
an investigator can wait for. A closed day does not change (but for late uploads and
retention, handled below), so the job here computes once per day what those scans compute:

- `trajectory_plate_day`: each plate's passes that day, its first and last, split at 06:00 and counted
  at night;
- `trajectory_clone_pair`: the suspect pairs whose second pass is that day (the pair across
  midnight included: each scan starts `lookback` before the day);
- `trajectory_frequent_pair`: per (plate, checkpoint), cumulative daily counts over all summarised
  days, rebuilt whenever a day is (re)summarised.

Today is summarised the same way up to its last closed hour (today.py): a partial day, whose
summary ends at `covered_until`, with its (plate, checkpoint) counts in `trajectory_frequent_partial`.

Recomputing a day replaces its rows, so the job and `checkpoint trajectory summarize` can run
any number of times. `split_window` tells a query which days (or today's part) of its window are
summarised; it reads the pass table only for the rest, so its answer equals a scan of the raw passes.
"""

from __future__ import annotations

import logging
import time as time_module
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from checkpoint.trajectory.analyses.common import night_hours
from checkpoint.trajectory.analyses.limits import (
    DEFAULT_MAX_SPEED_KMH,
    DEFAULT_MIN_DISTANCE_M,
    DEFAULT_SAME_TIME_S,
    TravelLimits,
    clone_pairs_sql,
    travel_limits,
)
from checkpoint.trajectory.roads import FINGERPRINT_SQL, road_network

log = logging.getLogger(__name__)

NIGHT_START_HOUR, NIGHT_END_HOUR = 22, 6  # the night the summaries count; other hours read raw passes
CLOSED_AFTER = timedelta(minutes=15)  # a day is summarised no sooner than this after its local midnight
RESUMMARISE_AFTER = timedelta(hours=6)  # ... and once more after this, for passes uploaded late
BUILD_WORK_MEM = "1GB"
PLATE_INDEX = "ix_trajectory_plate_day_plate"
REBUILD_MIN_BYTES = 64 * 2**20  # a smaller index is read quickly however empty its pages


@dataclass(frozen=True)
class WindowSplit:
    """A window [start, end) as summarised whole days plus the ranges still read from `pass`."""

    days: list[date]
    raw: list[tuple[datetime, datetime]]
    partial: list[date] = field(default_factory=list)  # days in `days` summarised up to an hour of theirs only

    @property
    def whole(self) -> list[date]:
        """The summarised days that are whole (their frequent-passing counts are cumulative)."""
        return [day for day in self.days if day not in self.partial]

    def raw_condition(self, column: str = "captured_at", prefix: str = "raw") -> tuple[str, dict[str, datetime]]:
        """SQL for 'in a raw range' and its parameters ('false' when the summaries answer everything)."""
        if not self.raw:
            return "false", {}
        parts, params = [], {}
        for index, (low, high) in enumerate(self.raw):
            parts.append(f"({column} >= :{prefix}{index}a AND {column} < :{prefix}{index}b)")
            params[f"{prefix}{index}a"], params[f"{prefix}{index}b"] = low, high
        return "(" + " OR ".join(parts) + ")", params


    def raw_rows(self, columns: str, where: str = "true", prefix: str = "rows") -> tuple[str, dict[str, datetime]]:
        """SQL for the raw ranges' passes (`columns`, those matching `where`): one range scan each, UNION ALL.

        An OR of ranges makes PostgreSQL bitmap-scan the heap (a day of passes is ~400 MB); a scan
        per range can read a covering index alone (see EVERY_CHECKPOINT).
        """
        parts, params = [], {}
        for index, (low, high) in enumerate(self.raw):
            parts.append(f"SELECT {columns} FROM pass WHERE captured_at >= :{prefix}{index}a"
                         f" AND captured_at < :{prefix}{index}b AND {where}")
            params[f"{prefix}{index}a"], params[f"{prefix}{index}b"] = low, high
        return " UNION ALL ".join(parts) or f"SELECT {columns} FROM pass WHERE false", params


# Names every checkpoint, so a range scan wanting only plate, checkpoint and time reads the
# (checkpoint_id, captured_at) INCLUDE (plate) index alone: 2.7 s instead of 5.1 s for a day at load 15.
EVERY_CHECKPOINT = "checkpoint_id = ANY(ARRAY(SELECT id FROM checkpoint))"


def night_ranges(ranges: list[tuple[datetime, datetime]], zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The parts of `ranges` at the summaries' night (22:00-06:00 local), so an index reads only those."""
    found = []
    for low, high in ranges:
        day = low.astimezone(zone).date() - timedelta(days=1)
        while day <= high.astimezone(zone).date():
            dusk = datetime.combine(day, time(NIGHT_START_HOUR), tzinfo=zone).astimezone(UTC)
            dawn = datetime.combine(day + timedelta(days=1), time(NIGHT_END_HOUR), tzinfo=zone).astimezone(UTC)
            if max(low, dusk) < min(high, dawn):
                found.append((max(low, dusk), min(high, dawn)))
            day += timedelta(days=1)
    return found


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight of `day`, local midnight of the next day) in UTC."""
    start = datetime.combine(day, time(), tzinfo=zone)
    return start.astimezone(UTC), datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)


def split_window(session: Session, start: datetime, end: datetime, timezone: str, *,
                 roads: str | None = None, frequent: bool = False) -> WindowSplit:
    """Which days of [start, end) are summarised (in `timezone`, for these `roads`), and the rest.

    A whole day counts when it lies inside the window; today's partial summary (up to its last
    closed hour) counts when its part lies inside and it is the window's last summarised day.
    """
    zone = ZoneInfo(timezone)
    first, last = start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone).date()
    if day_bounds(first, zone)[0] < start:
        first += timedelta(days=1)
    if first > last:
        return WindowSplit([], [(start, end)])
    rows = session.execute(text(
        "SELECT day, covered_until FROM trajectory_summary_day WHERE day >= :first AND day <= :last AND timezone = :tz"
        " AND (CAST(:roads AS text) IS NULL OR roads = :roads) AND (NOT :frequent OR in_frequent) ORDER BY day"),
        {"first": first, "last": last, "tz": timezone, "roads": roads, "frequent": frequent}).all()
    covered: list[tuple[date, datetime, datetime]] = []
    for index, row in enumerate(rows):
        low, day_end = day_bounds(row.day, zone)
        high = row.covered_until or day_end
        if high <= end and (high == day_end or index == len(rows) - 1):
            covered.append((row.day, low, high))
    raw: list[tuple[datetime, datetime]] = []
    cursor = start
    for _day, low, high in covered:
        if cursor < low:
            raw.append((cursor, low))
        cursor = high
    if cursor < end:
        raw.append((cursor, end))
    return WindowSplit([day for day, _low, _high in covered], raw,
                       [day for day, _low, high in covered if high != day_bounds(day, zone)[1]])


def touching_split(session: Session, start: datetime, end: datetime, timezone: str, *,
                   roads: str | None = None, frequent: bool = False) -> WindowSplit:
    """The summarised days that touch [start, end), also those only partly inside, and what is left to read.

    For summaries that still answer exactly for part of a day: a clone pair carries both its
    passes' times, a plate-day row its first and last pass.
    """
    zone = ZoneInfo(timezone)
    first = day_bounds(start.astimezone(zone).date(), zone)[0]
    last = day_bounds((end - timedelta(microseconds=1)).astimezone(zone).date(), zone)[1]
    whole = split_window(session, first, last, timezone, roads=roads, frequent=frequent)
    raw = [(max(low, start), min(high, end)) for low, high in whole.raw if max(low, start) < min(high, end)]
    return WindowSplit(whole.days, raw, whole.partial)


def roads_fingerprint(session: Session) -> str:
    """Changes when roads or checkpoints change: clone summaries made on other roads are not used."""
    return repr(tuple(session.execute(FINGERPRINT_SQL).one()))


PLATE_DAY_SQL = """
INSERT INTO trajectory_plate_day (day, plate, passes, first_at, last_at, early_passes, early_night, late_night)
SELECT :day, plate, count(*), min(captured_at), max(captured_at), count(*) FILTER (WHERE hour < :end_hour),
       count(*) FILTER (WHERE hour < :end_hour AND {night}), count(*) FILTER (WHERE hour >= :end_hour AND {night})
FROM (SELECT plate, captured_at, extract(hour FROM captured_at AT TIME ZONE :tz) AS hour
      FROM pass WHERE captured_at >= :low AND captured_at < :high) local
GROUP BY plate
"""

CLONE_DAY_SQL = """
INSERT INTO trajectory_clone_pair (day, plate, prev_at, prev_cp, captured_at, checkpoint_id, needed_s,
                                   distance_m, duration_s, too_fast)
SELECT :day, plate, prev_at, prev_cp, captured_at, checkpoint_id, coalesce(needed_s, 0), coalesce(distance_m, 0),
       duration_s, too_fast
FROM ({pairs}) pairs
"""


def summarise_day(session: Session, day: date, timezone: str, until: datetime | None = None) -> int:
    """(Re)compute one local day's summaries, or its part before `until`; returns its pass count. The caller commits."""
    zone = ZoneInfo(timezone)
    low, high = day_bounds(day, zone)
    until = until if until is not None and until < high else None  # a whole day is summarised as one
    high = until or high
    session.execute(text(f"SET LOCAL work_mem = '{BUILD_WORK_MEM}'"))
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("DELETE FROM trajectory_plate_day WHERE day = :day"), {"day": day})
    session.execute(text(PLATE_DAY_SQL.format(night=night_hours("hour", NIGHT_START_HOUR, NIGHT_END_HOUR))),
                    {"day": day, "tz": timezone, "low": low, "high": high, "end_hour": NIGHT_END_HOUR})
    limits = default_limits(session)
    session.execute(text("DELETE FROM trajectory_clone_pair WHERE day = :day"), {"day": day})
    pairs = clone_pairs_sql(scan="captured_at >= :scan_from AND captured_at < :high",
                            keep="s.captured_at >= :low")
    session.execute(text(CLONE_DAY_SQL.format(pairs=pairs)),
                    {"day": day, "low": low, "high": high, "scan_from": low - limits.lookback,
                     **limits.params(DEFAULT_SAME_TIME_S)})
    session.execute(text("DELETE FROM trajectory_frequent_partial WHERE day = :day"), {"day": day})
    if until:  # the cumulative counts are for whole days: a partial day's are kept apart
        session.execute(text(FREQUENT_PARTIAL_SQL), {"day": day, "low": low, "high": high})
    passes = int(session.scalar(text("SELECT coalesce(sum(passes), 0) FROM trajectory_plate_day WHERE day = :day"),
                                {"day": day}) or 0)
    session.execute(text("""
        INSERT INTO trajectory_summary_day (day, timezone, passes, roads, summarised_at, in_frequent, covered_until)
        VALUES (:day, :tz, :passes, :roads, now(), :partial, :until)
        ON CONFLICT (day) DO UPDATE SET timezone = excluded.timezone, passes = excluded.passes,
            roads = excluded.roads, summarised_at = excluded.summarised_at, in_frequent = excluded.in_frequent,
            covered_until = excluded.covered_until
    """), {"day": day, "tz": timezone, "passes": passes, "roads": roads_fingerprint(session),
           "partial": until is not None, "until": high if until else None})
    return passes


FREQUENT_PARTIAL_SQL = """
INSERT INTO trajectory_frequent_partial (day, plate, checkpoint_id, passes)
SELECT :day, plate, checkpoint_id, count(*) FROM pass WHERE captured_at >= :low AND captured_at < :high
  AND checkpoint_id = ANY(ARRAY(SELECT id FROM checkpoint))
GROUP BY plate, checkpoint_id
"""


def default_limits(session: Session) -> TravelLimits:
    return travel_limits(road_network(session), DEFAULT_MAX_SPEED_KMH, DEFAULT_MIN_DISTANCE_M, DEFAULT_SAME_TIME_S)


FREQUENT_BUILD_SQL = """
INSERT INTO trajectory_frequent_pair (plate, checkpoint_id, passes, cum)
WITH per_day AS (
  SELECT plate, checkpoint_id, CAST(captured_at AT TIME ZONE :tz AS date) - CAST(:first AS date) AS d, count(*) AS n
  FROM pass WHERE captured_at >= :low AND captured_at < :high
  GROUP BY 1, 2, 3
), runs AS (
  SELECT plate, checkpoint_id, d, n, sum(n) OVER w AS s, coalesce(lead(d) OVER w, :days) AS next_d
  FROM per_day WHERE d = ANY(:included)
  WINDOW w AS (PARTITION BY plate, checkpoint_id ORDER BY d)
)
SELECT plate, checkpoint_id, sum(n),
       CAST('{0' || repeat(',0', min(d)) || string_agg(repeat(',' || s, next_d - d), '' ORDER BY d) || '}' AS int[])
FROM runs GROUP BY plate, checkpoint_id HAVING sum(n) >= 2
"""


def rebuild_frequent(session: Session, timezone: str) -> int:
    """Rebuild the per-(plate, checkpoint) cumulative counts over every summarised day; returns rows.

    Pairs seen once only are left out (frequent passing asks for at least two); a query adds what
    its raw ranges saw, and looks the left-out pairs up when they could reach its threshold.
    """
    zone = ZoneInfo(timezone)
    days = list(session.scalars(text("SELECT day FROM trajectory_summary_day WHERE timezone = :tz"
                                     " AND covered_until IS NULL ORDER BY day"), {"tz": timezone}))
    session.execute(text("DELETE FROM trajectory_frequent_pair"))
    session.execute(text("UPDATE trajectory_summary_day SET in_frequent = false WHERE covered_until IS NULL"))
    if not days:
        return 0
    session.execute(text(f"SET LOCAL work_mem = '{BUILD_WORK_MEM}'"))
    session.execute(text("SET LOCAL jit = off"))
    first, span = days[0], (days[-1] - days[0]).days + 1
    session.execute(text(FREQUENT_BUILD_SQL), {
        "tz": timezone, "first": first, "low": day_bounds(first, zone)[0], "high": day_bounds(days[-1], zone)[1],
        "days": span, "included": [(day - first).days for day in days]})
    session.execute(text("UPDATE trajectory_summary_day SET in_frequent = true WHERE timezone = :tz"
                         " AND covered_until IS NULL"), {"tz": timezone})
    return int(session.scalar(text("SELECT count(*) FROM trajectory_frequent_pair")) or 0)


def days_to_summarise(session: Session, timezone: str, now: datetime, days_back: int) -> list[date]:
    """Closed days of the last `days_back` that are missing, summarised too early, or whose passes changed."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    wanted = [today - timedelta(days=back) for back in range(days_back, 0, -1)]
    wanted = [day for day in wanted if day_bounds(day, zone)[1] + CLOSED_AFTER <= now]
    if not wanted:
        return []
    done = {row.day: row for row in session.execute(text(
        "SELECT day, timezone, passes, summarised_at, covered_until FROM trajectory_summary_day WHERE day >= :first"),
        {"first": wanted[0]})}
    counted = _passes_by_day(session, wanted, zone) if done else {}
    due = []
    for day in wanted:
        row = done.get(day)
        if (row is None or row.timezone != timezone or row.passes != counted.get(day, 0) or row.covered_until
                or row.summarised_at < day_bounds(day, zone)[1] + RESUMMARISE_AFTER <= now):
            due.append(day)
    return due


def _passes_by_day(session: Session, days: list[date], zone: ZoneInfo) -> dict[date, int]:
    """Pass counts per local day (an index-only count): retention or late uploads change them."""
    rows = session.execute(text(
        "SELECT CAST(captured_at AT TIME ZONE :tz AS date) AS day, count(*) AS n FROM pass"
        " WHERE captured_at >= :low AND captured_at < :high GROUP BY 1"),
        {"tz": zone.key, "low": day_bounds(days[0], zone)[0], "high": day_bounds(days[-1], zone)[1]})
    return {row.day: int(row.n) for row in rows}


def summarise(session: Session, timezone: str, *, days_back: int, now: datetime | None = None,
              force: bool = False) -> list[date]:
    """Summarise the closed days that need it (all of the last `days_back` with `force`); commits per day.

    `days_back` is the site's RetentionSettings.summary_days(): summaries of older days are deleted, as
    retention has removed their passes.
    """
    now = now or datetime.now(UTC)
    zone = ZoneInfo(timezone)
    if force:
        today = now.astimezone(zone).date()
        due = [today - timedelta(days=back) for back in range(days_back, 0, -1)
               if day_bounds(today - timedelta(days=back), zone)[1] + CLOSED_AFTER <= now]
    else:
        due = days_to_summarise(session, timezone, now, days_back)
    session.commit()
    oldest = now.astimezone(zone).date() - timedelta(days=days_back)  # older days: retention removed them
    dropped = session.execute(text("DELETE FROM trajectory_summary_day WHERE day < :oldest OR timezone <> :tz"
                                   " RETURNING day"), {"oldest": oldest, "tz": timezone}).all()
    session.execute(text("DELETE FROM trajectory_plate_day WHERE day < :oldest"), {"oldest": oldest})
    session.execute(text("DELETE FROM trajectory_clone_pair WHERE day < :oldest"), {"oldest": oldest})
    session.execute(text("DELETE FROM trajectory_frequent_partial WHERE day < :oldest"), {"oldest": oldest})
    for day in due:
        passes = summarise_day(session, day, timezone)
        session.commit()
        log.info("trajectory.day_summarised", extra={"day": day.isoformat(), "passes": passes})
    stale = session.scalar(text("SELECT count(*) FROM trajectory_summary_day WHERE NOT in_frequent"))
    if due or stale or dropped:  # also after a run stopped between a day and the rebuild
        rows = rebuild_frequent(session, timezone)
        session.commit()
        log.info("trajectory.frequent_rebuilt", extra={"pairs": rows})
        vacuum_summaries(session)
        if due:
            rebuild_plate_index(session.get_bind().engine)
    else:
        session.commit()
    return due


def rebuild_plate_index(engine: Engine, min_bytes: int = REBUILD_MIN_BYTES) -> bool:
    """Rebuild the (plate, day) index once it is big enough to matter, without blocking readers.

    Each summarised day adds a row inside every active plate's range of that index, so its pages
    split all over and it ends up about half empty: at 61 M passes 913 MB against 444 MB rebuilt,
    and first entry, which probes it per plate, took 4-7 s against 3.5 s. The job summarises at
    most a few times a day (a closed day, then its late uploads), so a rebuild each time is cheap.
    A concurrent rebuild waits for every transaction that wrote to the table, so the caller has
    committed. Returns whether it rebuilt.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        size = int(conn.execute(text("SELECT pg_relation_size(CAST(:name AS regclass))"),
                                {"name": PLATE_INDEX}).scalar_one())
        if size < min_bytes:
            return False
        started = time_module.monotonic()
        conn.execute(text(f"REINDEX INDEX CONCURRENTLY {PLATE_INDEX}"))
    log.info("trajectory.plate_index_rebuilt", extra={"bytes_before": size,
                                                      "seconds": round(time_module.monotonic() - started, 1)})
    return True


def vacuum_summaries(session: Session) -> None:
    """Mark the new rows all-visible (index-only scans) and give the planner their statistics."""
    with session.get_bind().engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) trajectory_summary_day, trajectory_plate_day, trajectory_clone_pair,"
                          " trajectory_frequent_pair, trajectory_frequent_partial"))
