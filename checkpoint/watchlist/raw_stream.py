"""The pass stream read without decoding: the matcher needs only the plate of most passes.

With `decode_responses` every field of every entry becomes a str (ten fields a pass); reading bytes
and decoding the plate alone, and the whole entry only for passes with candidates, cuts the cost of
each XREADGROUP by about a quarter. The stream's format is unchanged; other consumers read it as before.
"""

from __future__ import annotations

from redis import ConnectionPool, Redis

from checkpoint.core.bus import Fields

RawMessage = tuple[bytes, dict[bytes, bytes]]


def raw_client(bus: Redis) -> Redis:
    """A client to the same server and database as `bus`, answering bytes."""
    pool = bus.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))


def decoded(fields: dict[bytes, bytes], errors: str = "strict") -> Fields:
    """The entry as str fields (`errors="replace"` for one being dead-lettered as unreadable)."""
    return {key.decode(errors=errors): value.decode(errors=errors) for key, value in fields.items()}
