"""Trip splitting at gaps: the boundary, empty input and the configurable gap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from checkpoint.trajectory.trips import split_trips

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Seen:
    captured_at: datetime


def at(*minutes: float) -> list[Seen]:
    return [Seen(T0 + timedelta(minutes=m)) for m in minutes]


def test_no_passes_no_trips() -> None:
    assert split_trips([]) == []


def test_a_gap_longer_than_30_minutes_starts_a_new_trip() -> None:
    trips = split_trips(at(0, 10, 25, 56, 60, 200))
    assert [len(trip) for trip in trips] == [3, 2, 1]


def test_a_gap_of_exactly_the_limit_stays_in_the_trip() -> None:
    assert [len(trip) for trip in split_trips(at(0, 30, 60))] == [3]


def test_the_gap_is_configurable() -> None:
    assert [len(trip) for trip in split_trips(at(0, 10, 25), timedelta(minutes=5))] == [1, 1, 1]
    with pytest.raises(ValueError, match="positive"):
        split_trips(at(0), timedelta(0))
