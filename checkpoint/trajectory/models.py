"""Per-day summaries of closed days, so month-wide analyses do not re-read every pass.

A local day is summarised once it has closed (and once more a few hours later, for late
uploads); recomputing a day replaces its rows. Queries read these rows for summarised days and
the pass table for the rest of their window (the current day, or any day not summarised),
so their answers equal a scan of the raw passes. See trajectory/summaries.py.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, Date, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from checkpoint.core.db import Base, UtcDateTime


class SummaryDay(Base):
    """One summarised local day: in which time zone, when, and against which road network."""

    __tablename__ = "trajectory_summary_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    passes: Mapped[int] = mapped_column(BigInteger)
    roads: Mapped[str] = mapped_column(Text)  # road/checkpoint fingerprint: clone limits depend on it
    summarised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    in_frequent: Mapped[bool] = mapped_column(Boolean, default=False)  # counted in trajectory_frequent_pair
    # where the summary of a day not closed yet ends (today, up to its last closed hour); NULL: the whole day
    covered_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PlateDay(Base):
    """A plate's passes on one local day: its first, and a split at the night boundary (06:00) for 昼伏夜出."""

    __tablename__ = "trajectory_plate_day"
    __table_args__ = (
        # a plate's days, read whole from the index (night-active candidates, first-entry probes)
        Index("ix_trajectory_plate_day_plate", "plate", "day",
              postgresql_include=["passes", "early_passes", "early_night", "late_night"]),
        # the few rows with night passes, read whole from the index to find night-active candidates
        Index("ix_trajectory_plate_day_night", "day", "plate",
              postgresql_include=["passes", "early_passes", "early_night", "late_night"],
              postgresql_where=text("early_night > 0 OR late_night > 0")),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), primary_key=True)
    passes: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)  # first pass that day (初次入城)
    # last pass that day: with first_at, whether the plate passed before or after any instant of the day
    last_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    early_passes: Mapped[int] = mapped_column(Integer)  # before 06:00: they belong to the night before
    early_night: Mapped[int] = mapped_column(Integer)
    late_night: Mapped[int] = mapped_column(Integer)  # from 22:00: the night that starts this day


class ClonePair(Base):
    """A suspect pair of consecutive passes of one plate whose second pass is on `day`."""

    __tablename__ = "trajectory_clone_pair"
    __table_args__ = (Index("ix_trajectory_clone_pair_day", "day"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    plate: Mapped[str] = mapped_column(String(16))
    prev_at: Mapped[datetime] = mapped_column(UtcDateTime)
    prev_cp: Mapped[int] = mapped_column(Integer)
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    checkpoint_id: Mapped[int] = mapped_column(Integer)
    needed_s: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    too_fast: Mapped[bool] = mapped_column(Boolean)


class FrequentPartial(Base):
    """Passes per (plate, checkpoint) in the summarised part of a partial day (today, up to its last closed hour).

    The cumulative counts of FrequentPair are rebuilt over whole days only; a partial day changes
    every hour, so its counts are kept apart and replaced each time.
    """

    __tablename__ = "trajectory_frequent_partial"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    passes: Mapped[int] = mapped_column(Integer)


class FrequentPair(Base):
    """A (plate, checkpoint) seen at least twice on the summarised days, with cumulative daily counts.

    `cum[k + 1]` is the passes on the days before day k (k counted from the first day with `in_frequent`), so
    any run of days [lo, hi) costs one subtraction: cum[hi + 1] - cum[lo + 1].
    """

    __tablename__ = "trajectory_frequent_pair"

    plate: Mapped[str] = mapped_column(String(16), primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    passes: Mapped[int] = mapped_column(Integer)
    cum: Mapped[list[int]] = mapped_column(ARRAY(Integer))
