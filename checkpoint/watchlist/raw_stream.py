"""The pass stream read without decoding: the matcher needs only the plate of most passes.

Reading bytes and decoding the plate alone (`plate_of`), and the whole entry only for passes with
candidates (`decoded`, then PassEvent.from_fields), keeps the matcher's per-pass work small. A
packed event (`event.v1`, passes/events.py) starts with the plate; an event of the older format
(one field per attribute, still in the stream after an upgrade) has a `plate` field.
"""

from __future__ import annotations

from redis import ConnectionPool, Redis

from checkpoint.core.bus import Fields
from checkpoint.passes.events import EVENT_KEY, PassEvent

RawMessage = tuple[bytes, dict[bytes, bytes]]
_EVENT_KEY = EVENT_KEY.encode()


def raw_client(bus: Redis) -> Redis:
    """A client to the same server and database as `bus`, answering bytes."""
    pool = bus.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))


def decoded(fields: dict[bytes, bytes], errors: str = "strict") -> Fields:
    """The entry as str fields (`errors="replace"` for one being dead-lettered as unreadable)."""
    return {key.decode(errors=errors): value.decode(errors=errors) for key, value in fields.items()}


def plate_of(fields: dict[bytes, bytes]) -> str:
    """The plate of a raw pass event, as PassEvent.from_fields would read it; KeyError or ValueError if
    the entry has none."""
    value = fields.get(_EVENT_KEY)
    if value is None:
        return fields[b"plate"].decode()
    plate = value[:value.index(b"\t")]
    if b"\\" in plate:  # an escaped value (never a normalized plate): parse it as the consumers do
        return PassEvent.from_fields(decoded(fields)).captured.plate
    return plate.decode()
