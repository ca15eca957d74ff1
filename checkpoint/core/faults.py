"""Fault points: named steps where a fault test makes this process fail as a crash would.

A worker calls `fault_point("matcher.after_commit")` at a step worth testing (after a commit and
before the publish that follows it, in the middle of a batch, during an index rebuild). Nothing
happens unless the point is armed:
  - in another process, by the environment: CHECKPOINT_FAULT=matcher.after_commit (die the first
    time it is reached) or CHECKPOINT_FAULT=matcher.after_commit:3 (the third time); several
    points separated by commas. The process kills itself with SIGKILL: no cleanup, no finally;
  - in this process, by `arm(name, times=1)`: the point raises FaultInjected instead (a test that
    runs the worker's step in its own thread checks what the crash left behind).
A disarmed point costs a dict lookup.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "CHECKPOINT_FAULT"


class FaultInjected(RuntimeError):
    """Raised at an armed point in this process (a crash, for a test that cannot kill itself)."""


_lock = threading.Lock()
_raise_at: dict[str, int] = {}  # point -> reached count at which it raises
_kill_at: dict[str, int] = {}  # point -> reached count at which the process kills itself
_reached: dict[str, int] = {}


def _load_environment() -> None:
    for item in filter(None, (part.strip() for part in os.environ.get(ENV, "").split(","))):
        name, _, nth = item.partition(":")
        _kill_at[name] = int(nth) if nth.isdigit() else 1


def fault_point(name: str) -> None:
    """Die here if a test armed this point (see the module's docstring); otherwise do nothing."""
    if name not in _raise_at and name not in _kill_at:
        return
    with _lock:
        _reached[name] = count = _reached.get(name, 0) + 1
        if _kill_at.get(name) == count:
            os.kill(os.getpid(), signal.SIGKILL)
        if _raise_at.get(name) == count:
            del _raise_at[name]
            raise FaultInjected(f"fault injected at {name}")


def arm(name: str, nth: int = 1) -> None:
    """Make the point raise FaultInjected the `nth` time it is reached from now (this process only)."""
    with _lock:
        _reached[name] = 0
        _raise_at[name] = nth


def disarm_all() -> None:
    with _lock:
        _raise_at.clear()
        _reached.clear()


_load_environment()
