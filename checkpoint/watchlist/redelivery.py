"""Passes read again after a failure: how often each was delivered, and which failures are the pass's own.

A batch that fails is read again pass by pass. A failure of the infrastructure (Redis or PostgreSQL
unreachable) says nothing about the pass: it stays pending however often it is read. Any other
failure is the pass's own (it breaks the handler); once the pass has been delivered
`max_deliveries` times it is dead-lettered with the reason instead of blocking the matcher forever.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OperationalError, InterfaceError,
                                                          DisconnectionError, PoolTimeout)


def is_infrastructure_error(exc: BaseException) -> bool:
    return isinstance(exc, INFRASTRUCTURE_ERRORS)


def delivery_counts(bus: Redis, stream: str, group: str, consumer: str, ids: list[str]) -> dict[str, int]:
    """XPENDING's delivery count of each of `ids` (pending with `consumer`, read in stream order)."""
    if not ids:
        return {}
    pending: Any = bus.xpending_range(stream, group, min=ids[0], max=ids[-1], count=len(ids) + 100,
                                      consumername=consumer)
    return {str(row["message_id"]): int(row["times_delivered"]) for row in pending}
