"""A landed migration is never edited: every migration file keeps the sha256 it landed with."""

from __future__ import annotations

import hashlib
from pathlib import Path

from checkpoint.core.migrate import MIGRATIONS_DIR

TABLE = Path(__file__).with_name("migration_checksums.txt")


def landed() -> dict[str, str]:
    """File name -> sha256, from the checked-in table (`sha256sum` format, # comments)."""
    table: dict[str, str] = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            table[name] = digest
    return table


def on_disk() -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py"))}


def test_every_landed_migration_is_unchanged_and_every_file_is_listed() -> None:
    table, files = landed(), on_disk()
    problems = [f"{name}: edited after it landed (sha256 {files[name]}, landed as {digest}); "
                "restore it and put the change in a new migration"
                for name, digest in table.items() if name in files and files[name] != digest]
    problems += [f"{name}: landed but now missing; a landed migration is never removed"
                 for name in table if name not in files]
    problems += [f"{name}: not in {TABLE.name}; when it lands, add the line `{digest}  {name}`"
                 for name, digest in files.items() if name not in table]
    assert problems == [], "\n".join(problems)


def test_the_table_lists_the_first_migrations() -> None:
    assert {"0001_foundation.py", "0008_trajectory_summaries.py", "0012_trajectory_partial_day.py"} <= set(landed())
