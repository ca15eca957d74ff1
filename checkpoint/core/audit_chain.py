"""The audit log's hash chain: verify it, and anchor its head outside the database.

The database's insert trigger (migration 0023) gives each row `prev_hash` (the previous row's hash) and
`row_hash` = sha256 of a canonical JSON array of the row's fields and `prev_hash`. Verification
recomputes every hash here in Python from the fields (the database's own hash function is not trusted:
whoever can change rows could change it too), so a changed row no longer hashes to its `row_hash`, and
a removed row leaves the next row's `prev_hash` naming a hash that is not the row before it.
Rewriting the whole chain from some row on is what the anchors catch: once a day the head (last id
and hash) is appended to a file under the data directory, outside the database; verify checks that
every anchored row still carries the anchored hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

GENESIS = "0" * 64
ANCHOR_FILE = Path("audit") / "anchors.jsonl"
ANCHOR_EVERY_S = 24 * 3600.0
# The same canonical text the trigger hashes, built by PostgreSQL's jsonb (its text form is canonical).
ROWS_SQL = text("""
SELECT id, prev_hash, row_hash,
       jsonb_build_array(prev_hash, id, extract(epoch FROM at), actor_id, actor_name, action, target, reason,
                         detail, client_ip)::text AS payload
FROM audit_log WHERE id > :after ORDER BY id LIMIT :batch
""")
HEAD_SQL = text("SELECT id, row_hash FROM audit_log ORDER BY id DESC LIMIT 1")


@dataclass(frozen=True)
class Anchor:
    at: str
    last_id: int
    head: str


@dataclass
class ChainReport:
    rows: int = 0
    head_id: int | None = None
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)
    anchors_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def row_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def verify(engine: Engine, data_dir: Path | None = None, batch: int = 5000) -> ChainReport:
    """Walk the whole chain in id order; then check the anchors written under `data_dir`."""
    report = ChainReport()
    hashes: dict[int, str] = {}
    anchors = read_anchors(data_dir) if data_dir is not None else []
    anchored_ids = {anchor.last_id for anchor in anchors}
    expected_prev, after = GENESIS, 0
    with engine.connect() as conn:
        while True:
            rows = conn.execute(ROWS_SQL, {"after": after, "batch": batch}).all()
            for row_id, prev, stored, payload in rows:
                if prev != expected_prev:
                    report.problems.append(f"审计记录 {row_id} 之前的记录被删除或改动 (the row before id {row_id} "
                                           f"was removed or changed: its prev_hash does not match)")
                if row_hash(payload) != stored:
                    report.problems.append(f"审计记录 {row_id} 被改动 (row {row_id} was changed: its hash does "
                                           "not match its fields)")
                if row_id in anchored_ids:
                    hashes[row_id] = stored
                expected_prev, after = stored, row_id
                report.rows += 1
            if len(rows) < batch:
                break
    report.head_id, report.head_hash = (after or None), expected_prev
    for anchor in anchors:
        report.anchors_checked += 1
        found = hashes.get(anchor.last_id)
        if found != anchor.head:
            what = "已不存在 (is gone)" if found is None else "哈希不同 (has another hash)"
            report.problems.append(f"{anchor.at} 锚定的审计记录 {anchor.last_id} {what}: "
                                   f"the chain was cut or rewritten after it was anchored")
    return report


def anchor_path(data_dir: Path) -> Path:
    return data_dir / ANCHOR_FILE


def read_anchors(data_dir: Path) -> list[Anchor]:
    path = anchor_path(data_dir)
    if not path.exists():
        return []
    return [Anchor(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def write_anchor(engine: Engine, data_dir: Path) -> Anchor | None:
    """Append the chain's head to the anchor file (opened for appending only; never rewritten)."""
    with engine.connect() as conn:
        head = conn.execute(HEAD_SQL).first()
    if head is None:
        return None
    anchor = Anchor(at=datetime.now(UTC).isoformat(timespec="seconds"), last_id=int(head[0]), head=str(head[1]))
    path = anchor_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(anchor)) + "\n")
    path.chmod(0o600)
    return anchor


def anchor_loop(engine: Engine, data_dir: Path, stop: threading.Event, every_s: float = ANCHOR_EVERY_S) -> None:
    """Write an anchor now and then once a day, until `stop` (a supervisor thread)."""
    while not stop.is_set():
        try:
            anchor = write_anchor(engine, data_dir)
            log.info("core.audit_anchor", extra={"anchor": anchor})
        except Exception:  # an outage: the next day's anchor covers it
            log.exception("core.audit_anchor_failed")
        stop.wait(every_s)
