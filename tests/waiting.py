"""Wait on a condition instead of sleeping a fixed time (bench/waiting.py, with the tests' default)."""

from __future__ import annotations

from collections.abc import Callable

from bench.waiting import wait_for


def wait_until(predicate: Callable[[], object], timeout_s: float = 5.0, what: str = "condition") -> object:
    return wait_for(predicate, timeout_s, what)
