"""The pass stream read without decoding: the matcher needs only the plate of most passes.

Reading bytes and decoding the plate alone (`plate_of`), and the whole entry only for passes with
candidates (`decoded`, then PassEvent.from_fields), keeps the matcher's per-pass work small.
"""

from __future__ import annotations

from redis import ConnectionPool, Redis

from checkpoint.core.bus import Fields
from checkpoint.passes.record import plate_of_raw_event

RawMessage = tuple[bytes, dict[bytes, bytes]]


def raw_client(bus: Redis) -> Redis:
    """A client to the same server and database as `bus`, answering bytes."""
    pool = bus.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))


def decoded(fields: dict[bytes, bytes], errors: str = "strict") -> Fields:
    """The entry as str fields (`errors="replace"` for one being dead-lettered as unreadable)."""
    return {key.decode(errors=errors): value.decode(errors=errors) for key, value in fields.items()}


def plate_of(fields: dict[bytes, bytes]) -> str:
    """The plate of a raw pass event (passes/record.py decodes it); KeyError or ValueError if none."""
    return plate_of_raw_event(fields)
