"""Splitting a plate's time-ordered passes into trips at long gaps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

DEFAULT_GAP = timedelta(minutes=30)


class Timed(Protocol):
    @property
    def captured_at(self) -> datetime: ...


T = TypeVar("T", bound=Timed)


def split_trips(passes: Sequence[T], gap: timedelta = DEFAULT_GAP) -> list[list[T]]:
    """Group time-ordered passes into trips: a new trip starts after more than `gap` without a pass."""
    if gap <= timedelta(0):
        raise ValueError("the gap between trips must be positive")
    trips: list[list[T]] = []
    for pass_ in passes:
        if trips and pass_.captured_at - trips[-1][-1].captured_at <= gap:
            trips[-1].append(pass_)
        else:
            trips.append([pass_])
    return trips
