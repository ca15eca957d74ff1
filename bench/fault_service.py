"""One application process of a fault drill: started by command, killed with -9 (children too), started again."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Service:
    """One application process started by command in a session of its own (so -9 takes its children too)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self, fault: str | None = None) -> None:
        """Start it; `fault` arms CHECKPOINT_FAULT (name[:n]) in this run only."""
        env = dict(self.env)
        env.pop("CHECKPOINT_FAULT", None)
        if fault:
            env["CHECKPOINT_FAULT"] = fault
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts} fault={fault}\n".encode())
            self.proc = subprocess.Popen(self.argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL to the process and everything it started: a crash, no cleanup."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def restart(self, fault: str | None = None) -> None:
        self.kill9()
        self.start(fault)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (the worker finishes its batch), then SIGKILL if it lingers."""
        if not self.alive():
            return
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill9()
        except ProcessLookupError:
            pass

    def processes(self) -> list[psutil.Process]:
        """The process and its children (uvicorn, snapshot LPR processes), for memory samples."""
        if not self.alive():
            return []
        assert self.proc is not None
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_bytes(self) -> int:
        total = 0
        for proc in self.processes():
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total
