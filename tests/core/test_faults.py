"""Fault points fire only when armed: raised in-process, or a SIGKILL in a process armed by its environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from checkpoint.core.faults import ENV, FaultInjected, arm, disarm_all, fault_point


def test_an_unarmed_point_does_nothing_and_an_armed_one_raises_at_its_nth_pass() -> None:
    fault_point("test.step")
    arm("test.step", nth=2)
    fault_point("test.step")
    with pytest.raises(FaultInjected):
        fault_point("test.step")
    fault_point("test.step")  # fired once, then disarmed
    disarm_all()


def test_a_point_armed_by_the_environment_kills_the_process_with_sigkill() -> None:
    code = "from checkpoint.core.faults import fault_point\nfault_point('x.a')\nprint('once')\nfault_point('x.a')\n" \
           "print('never')"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, ENV: "x.a:2"}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["once"]
