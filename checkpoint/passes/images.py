"""Pass images on disk: data_dir/images/YYYYMMDD/<checkpoint code>/<pass id>_<kind>[_<content hash>].jpg.

The day is the pass's UTC day (its partition's, so retention drops both together). A stored image
is never overwritten: write_image links a finished temp file into place only if the name is free,
and pushed images carry a short hash of their bytes in the name (content_relpath), so two
different images can never share a path, even under one pass id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
import uuid
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from checkpoint.core.errors import InvalidInput
from checkpoint.lpr.images import image_size

IMAGES_DIR = "images"
JPEG_MAGIC = b"\xff\xd8\xff"
MAX_IMAGE_BYTES = 3_000_000
MAX_IMAGE_PIXELS = 7680 * 4320  # an 8K frame: no checkpoint camera sends more; a 12000x12000 JPEG is 2 MB
CONTENT_HASH_CHARS = 12  # 48 bits of sha256: a pass has at most a few images


class NotAJpeg(InvalidInput):
    reason = "invalid-image"


def decode_jpeg(kind: str, data: str) -> bytes:
    """The JPEG bytes of a base64 image; refuses anything that is not a decodable JPEG."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise NotAJpeg(f"images[{kind}]: not valid base64") from None
    return check_jpeg(f"images[{kind}]", raw)


def check_jpeg(what: str, raw: bytes) -> bytes:
    """The bytes themselves when they are a decodable JPEG of at most MAX_IMAGE_BYTES; else 422 naming `what`."""
    if len(raw) > MAX_IMAGE_BYTES:
        raise NotAJpeg(f"{what}: {len(raw)} bytes, more than {MAX_IMAGE_BYTES}")
    if not raw.startswith(JPEG_MAGIC):
        raise NotAJpeg(f"{what}: not a JPEG (no FF D8 FF start of image)")
    size = image_size(raw)  # from the header: a small file may declare a picture too large to decode
    if size is None:
        raise NotAJpeg(f"{what}: 读不到 JPEG 的尺寸 (the JPEG does not decode: no frame header)")
    if size[0] * size[1] > MAX_IMAGE_PIXELS or min(size) < 1:
        raise NotAJpeg(f"{what}: 图片尺寸 {size[0]}x{size[1]} 超出限制 (more than {MAX_IMAGE_PIXELS} pixels, "
                       "or empty)")
    # Decoding at 1/8 scale walks the whole entropy-coded stream at a fraction of the cost.
    decoded = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if decoded is None or decoded.size == 0:
        raise NotAJpeg(f"{what}: the JPEG does not decode")
    return raw


def image_relpath(captured_at: datetime, checkpoint_code: str, pass_id: uuid.UUID, kind: str) -> str:
    """Path relative to the data directory; the UTC day matches the pass's partition."""
    return f"{IMAGES_DIR}/{captured_at:%Y%m%d}/{checkpoint_code}/{pass_id}_{kind}.jpg"


def content_relpath(captured_at: datetime, checkpoint_code: str, pass_id: uuid.UUID, kind: str, raw: bytes) -> str:
    """image_relpath with a short hash of the bytes: id- and content-addressed, for images devices push."""
    digest = hashlib.sha256(raw).hexdigest()[:CONTENT_HASH_CHARS]
    return f"{IMAGES_DIR}/{captured_at:%Y%m%d}/{checkpoint_code}/{pass_id}_{kind}_{digest}.jpg"


def write_image(data_dir: Path, relpath: str, raw: bytes) -> bool:
    """Store the image unless one is already at `relpath`; True when this call created it.

    Atomic and never overwriting: the bytes go to a temp file first, which is then hard-linked to
    its name (link fails if the name exists), so a reader never sees half an image and a stored
    image is never replaced.
    """
    path = data_dir / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(raw)  # a full disk fails here: the finally below removes the partial file
        os.link(tmp, path)
    except FileExistsError:
        return False  # stored before (a retry) or meanwhile (a concurrent one)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def remove_images(data_dir: Path, relpaths: list[str]) -> None:
    """Remove these images where they are; one that is not there (nor its folder) is already gone."""
    for relpath in relpaths:
        try:
            (data_dir / relpath).unlink()
        except (FileNotFoundError, NotADirectoryError):
            pass
