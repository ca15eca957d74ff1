"""A hit alert keeps its pass's images: hard-linked (else copied) into data_dir/alerts/.

Pass images live under data_dir/images/YYYYMMDD/<checkpoint code>/, and passes retention removes whole
day (or checkpoint) folders. An alert must outlive that, so when it is created its images get a
second name under alerts/YYYYMMDD/<checkpoint code>/ (same file name), a folder retention never
touches; a hard link costs no space, a copy is made where links are impossible (another filesystem).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from checkpoint.passes.images import IMAGES_DIR

log = logging.getLogger(__name__)
ALERTS_DIR = "alerts"


def keep_image(data_dir: Path, relpath: str | None) -> str | None:
    """The alert's own path (relative to data_dir) for a pass image, or None if there is none on disk."""
    if not relpath:
        return None
    root = data_dir.resolve()
    source = (root / relpath).resolve()
    if not source.is_relative_to(root / IMAGES_DIR) or not source.is_file():
        return None
    kept = f"{ALERTS_DIR}/{source.relative_to(root / IMAGES_DIR).as_posix()}"
    target = root / kept
    if target.is_file():
        return kept  # the same pass on another watch, or a redelivered pass
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copyfile(source, temporary)
    os.replace(temporary, target)
    return kept


def alert_image_file(data_dir: Path, relpath: str | None) -> Path | None:
    """The file behind an alert's image path, if it is one of the alerts' own and still on disk."""
    if not relpath:
        return None
    root = data_dir.resolve()
    path = (root / relpath).resolve()
    return path if path.is_relative_to(root / ALERTS_DIR) and path.is_file() else None
