"""A whole Checkpoint system on servers of its own, for the fault suite (tests/faults) and the soak bench.

A private PostgreSQL (stopped with `-m immediate` as a crash would) and a private Redis (killed with
-9, restarted on its append-only file), and each part of the application as a process started by
command, killed with -9 and started again: the API (uvicorn on `checkpoint.serving:api_process_app`,
as each API process of `checkpoint serve` runs), the passes writer, the watchlist matcher, the alert
relay, and the snapshot LPR workers. Counters read the truth from PostgreSQL
and Redis, so a case asserts exact counts: passes stored per pass id, alerts stored per (pass, watch),
alert ids appended to `checkpoint:alerts`.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import redis as redis_lib
from sqlalchemy import select

from bench.fault_service import ROOT, Service
from bench.waiting import wait_for
from checkpoint.capture import service as capture_service
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core import login_sessions, users
from checkpoint.core.config import Settings
from checkpoint.core.db import Database
from checkpoint.core.postgres_process import PostgresServer
from checkpoint.core.redis_process import RedisServer, free_port
from checkpoint.runtime import prepare_database
from checkpoint.sites.models import Checkpoint

ALERTS_STREAM = "checkpoint:alerts"
PASSWORD = "Fault-drill-password-1"


@dataclass(frozen=True)
class DeviceKey:
    code: str
    key: str
    checkpoint_code: str
    checkpoint_id: int


@dataclass
class System:
    """Servers and processes of one system; `close()` stops everything and removes the servers' data."""

    work: Path
    webhook_url: str | None = None
    snapshot_processes: int = 1
    pg: PostgresServer = field(init=False)
    redis: RedisServer = field(init=False)
    services: dict[str, Service] = field(init=False, default_factory=dict)
    watch_tokens: tuple[str, str] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.work / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.secret_key = secrets.token_urlsafe(32)
        self.pg = PostgresServer(self.work / "pg")
        self.pg.start()
        self.redis = RedisServer(self.work / "redis")
        self.redis.wait_up()
        self.database_url = self.pg.url
        self._prepare()
        self.port = free_port()
        self.checkpoints = self._checkpoints()
        self._devices_made = 0
        env = {**os.environ, "CHECKPOINT_DATABASE_URL": self.database_url, "CHECKPOINT_REDIS_URL": self.redis.url,
               "CHECKPOINT_DATA_DIR": str(self.data_dir), "CHECKPOINT_SECRET_KEY": self.secret_key,
               "PYTHONPATH": str(ROOT)}
        env.pop("CHECKPOINT_FAULT", None)
        if self.webhook_url:
            env["CHECKPOINT_WATCHLIST_WEBHOOK_URL"] = self.webhook_url
        python = sys.executable
        cli = [python, "-c", "from checkpoint.cli import main; main()"]  # the `checkpoint` command of this tree
        commands = {
            "api": [python, "-m", "uvicorn", "checkpoint.serving:api_process_app", "--factory", "--host",
                    "127.0.0.1", "--port", str(self.port), "--no-access-log", "--log-level", "warning"],
            "writer": [*cli, "passes", "writer", "--consumer", "fault-writer",
                       "--claim-idle-ms", "1000"],
            "matcher": [*cli, "watchlist", "matcher", "--consumer", "fault-matcher"],
            "snapshots": [*cli, "capture", "snapshots", "--processes",
                          str(self.snapshot_processes)],
        }
        commands["relay"] = [*cli, "watchlist", "relay"]
        # every group declared on the pass stream must be read, or it holds the stream (and /health says so)
        commands["coverage"] = [*cli, "coverage", "verify"]
        self.services = {name: Service(name, argv, env, self.work / f"{name}.log") for name, argv in commands.items()}

    # --- set-up ---------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Migrate and load the reference data, leaving this process's Database as it was (tests share it)."""
        saved = Database.engine, Database.sessions
        try:
            engine = Database.configure(self.database_url)
            prepare_database(Settings(database_url=self.database_url, data_dir=self.data_dir,
                                      secret_key=self.secret_key), engine)
            assert Database.sessions is not None
            self.sessions = Database.sessions
        finally:
            Database.engine, Database.sessions = saved

    def _checkpoints(self) -> list[tuple[str, int, int]]:
        """(code, id, lanes) of every checkpoint, in id order."""
        with self.sessions() as session:
            rows = session.scalars(select(Checkpoint).order_by(Checkpoint.id))
            return [(row.code, row.id, row.lanes) for row in rows]

    def env(self) -> dict[str, str]:
        return dict(self.services["api"].env)

    def start(self, *names: str) -> None:
        """Start the named services (default: API, writer, matcher, relay and coverage) and wait for the API."""
        for name in names or self.core_services():
            if not self.services[name].alive():
                self.services[name].start()
        if "api" in (names or self.core_services()):
            self.wait_api()

    def core_services(self) -> tuple[str, ...]:
        return tuple(name for name in ("api", "writer", "matcher", "relay", "coverage") if name in self.services)

    def wait_api(self, timeout_s: float = 60.0) -> None:
        wait_for(lambda: self.http("GET", "/api/v1/health")[0] == 200, timeout_s, "the API to answer /health",
                 every_s=0.1)

    def http(self, method: str, path: str, body: Any = None, token: str | None = None,
             timeout_s: float = 10.0) -> tuple[int, Any]:
        """(status, decoded JSON or text) of one request; status 0 when the API cannot be reached."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            return 0, None
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode(errors="replace")

    def close(self) -> None:
        for service in self.services.values():
            service.stop()
        self.redis.stop()
        self.pg.remove()
        shutil.rmtree(self.work, ignore_errors=True)

    # --- people, devices, watches ---------------------------------------------------------------

    def user_token(self, *roles: str, whole_network: bool = True) -> tuple[int, str]:
        """A new user holding `roles` and a bearer token for them (a dispatcher sees the whole network)."""
        from checkpoint.watchlist.models import DispatcherScope

        with self.sessions() as session:
            user = users.create(session, username=f"drill{secrets.token_hex(4)}", password=PASSWORD,
                                roles=list(roles))
            session.flush()
            if "dispatcher" in roles:
                session.add(DispatcherScope(user_id=user.id, whole_network=whole_network, districts=[],
                                            checkpoint_ids=[]))
            token, _ = login_sessions.open_session(session, user, self.secret_key, 24 * 3600)  # a real login
            session.commit()
            return user.id, token

    def register_devices(self, count: int, kind: str = "smart", lanes: int = 4) -> list[DeviceKey]:
        """`count` new devices, one a checkpoint (round robin over the 120), covering lanes 1..`lanes`."""
        made: list[DeviceKey] = []
        with self.sessions() as session:
            for _ in range(count):
                code, checkpoint_id, checkpoint_lanes = self.checkpoints[self._devices_made % len(self.checkpoints)]
                self._devices_made += 1
                device_code = f"DRILL-{self._devices_made:05d}-{secrets.token_hex(2)}"
                body = DeviceCreate(code=device_code, checkpoint=code, kind=kind,
                                    lanes=list(range(1, min(lanes, max(checkpoint_lanes, 1)) + 1)))
                device, key = capture_service.register_device(session, body)
                made.append(DeviceKey(device.code, key, code, checkpoint_id))
            session.commit()
        return made

    def watch_plates(self, plates: Iterable[str]) -> dict[str, int]:
        """Register and approve an exact whole-network watch on each plate through the API; plate -> watch id."""
        watched = {plate: self.request_watch(plate) for plate in plates}
        for entry_id in watched.values():
            status, body = self.decide_watch(entry_id, "approve")
            assert status == 200, (status, body)
        return watched

    def request_watch(self, plate: str) -> int:
        """An officer registers an exact whole-network watch on `plate`, submitted for approval; its id."""
        status, entry = self.http("POST", "/api/v1/watchlist/watches", {
            "pattern": plate, "category": "stolen", "reason": "故障演练 fault drill", "submit": True},
            self._watch_tokens()[0])
        assert status == 201, (status, entry)
        return int(entry["id"])

    def decide_watch(self, entry_id: int, decision: str) -> tuple[int, Any]:
        """A second (supervising) officer approves or withdraws the watch: (status, body) as answered. A
        withdrawal is asked for by the officer first (request, then an approver's approval)."""
        if decision == "withdraw":
            status, body = self.http("POST", f"/api/v1/watchlist/watches/{entry_id}/withdraw-request",
                                     {"reason": "演练 drill"}, self._watch_tokens()[0])
            if status != 200:
                return status, body
        return self.http("POST", f"/api/v1/watchlist/watches/{entry_id}/{decision}", {"reason": "演练 drill"},
                         self._watch_tokens()[1])

    def _watch_tokens(self) -> tuple[str, str]:
        """(officer, supervisor) bearer tokens, made once: four eyes need two people."""
        if self.watch_tokens is None:
            self.watch_tokens = (self.user_token("officer")[1], self.user_token("officer", "approver")[1])
        return self.watch_tokens

    # --- faults ---------------------------------------------------------------------------------

    def restart_redis(self, down_s: float = 0.0) -> None:
        """kill -9 Redis, leave it down `down_s`, start it again on its append-only file."""
        self.redis.kill()
        if down_s:
            time.sleep(down_s)  # the outage itself is the fault being drilled
        self.redis.start()
        self.redis.wait_up(30)

    def restart_postgres(self, down_s: float = 0.0) -> None:
        """`pg_ctl stop -m immediate`, leave it down `down_s`, start it again (crash recovery)."""
        self.pg.stop_immediate()
        if down_s:
            time.sleep(down_s)  # the outage itself is the fault being drilled
        self.pg.start()

    # --- counters -------------------------------------------------------------------------------

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = psycopg2.connect(self.pg.dsn, connect_timeout=5)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        finally:
            conn.close()

    def passes_stored(self, pass_ids: Iterable[str]) -> Counter[str]:
        """Rows in `pass` per pass id, for the given ids (absent: 0)."""
        ids = list(pass_ids)
        rows = self.query("SELECT id::text, count(*) FROM pass WHERE id = ANY(%s::uuid[]) GROUP BY id", ids)
        return Counter({row[0]: int(row[1]) for row in rows})

    def alerts_stored(self, pass_ids: Iterable[str]) -> Counter[tuple[str, int]]:
        """hit_alert rows per (first pass, watch) for alerts raised by the given passes."""
        rows = self.query("SELECT pass_id::text, entry_id, count(*) FROM hit_alert WHERE pass_id = ANY(%s::uuid[]) "
                          "GROUP BY pass_id, entry_id", list(pass_ids))
        return Counter({(row[0], int(row[1])): int(row[2]) for row in rows})

    def hits_stored(self, pass_ids: Iterable[str]) -> Counter[tuple[str, int]]:
        """watch_hit rows per (pass, watch) for the given passes."""
        rows = self.query("SELECT pass_id::text, entry_id, count(*) FROM watch_hit WHERE pass_id = ANY(%s::uuid[]) "
                          "GROUP BY pass_id, entry_id", list(pass_ids))
        return Counter({(row[0], int(row[1])): int(row[2]) for row in rows})

    def alert_ids(self, pass_ids: Iterable[str]) -> dict[str, int]:
        """first pass id -> alert id of the alerts raised by the given passes."""
        rows = self.query("SELECT pass_id::text, id FROM hit_alert WHERE pass_id = ANY(%s::uuid[])", list(pass_ids))
        return {row[0]: int(row[1]) for row in rows}

    def bus(self) -> redis_lib.Redis:
        return redis_lib.Redis.from_url(self.redis.url, decode_responses=True, socket_timeout=5)

    def alerts_on_stream(self, kind: str = "new") -> Counter[int]:
        """Entries on `checkpoint:alerts` per alert id (of the given kind)."""
        client = self.bus()
        try:
            found: Counter[int] = Counter()
            last = "-"
            while True:
                batch: Any = client.xrange(ALERTS_STREAM, min=last, count=1000)
                fresh = [(msg_id, fields) for msg_id, fields in batch if msg_id != last]
                if not fresh:
                    return found
                for msg_id, fields in fresh:
                    if fields.get("kind", "new") == kind and "alert_id" in fields:
                        found[int(fields["alert_id"])] += 1
                    last = msg_id
        finally:
            client.close()

    def groups_drained(self) -> bool:
        """Every consumer group on the reads and passes streams has read everything and acked it."""
        client = self.bus()
        try:
            for stream in ("checkpoint:reads", "checkpoint:passes"):
                if not client.exists(stream):
                    continue
                groups: Any = client.xinfo_groups(stream)
                for group in groups:
                    if group["name"] in ("passes", "watchlist") and (group["pending"] or group.get("lag")):
                        return False
            return True
        except redis_lib.RedisError:
            return False
        finally:
            client.close()

    def wait_drained(self, timeout_s: float = 60.0) -> None:
        wait_for(self.groups_drained, timeout_s, "the writer and matcher groups to have read and acked everything",
                 every_s=0.1)
