"""The Redis connection (streams, sets, hashes, pub/sub) shared by every domain."""

from __future__ import annotations

from redis import Redis


class Bus:
    """The process's Redis client, set once at start-up."""

    client: Redis | None = None

    @classmethod
    def configure(cls, url: str) -> Redis:
        cls.client = Redis.from_url(url, decode_responses=True, health_check_interval=30)
        return cls.client

    @classmethod
    def close(cls) -> None:
        if cls.client is not None:
            cls.client.close()
        cls.client = None


def get_bus() -> Redis:
    if Bus.client is None:
        raise RuntimeError("redis not configured: call Bus.configure() at start-up")
    return Bus.client
