"""The SQLAlchemy engine, session factory and declarative base shared by every domain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, MetaData, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """timestamptz that refuses naive datetimes and always hands back UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times")
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)


# An unreachable or silently dead PostgreSQL must fail a call, not hang it: a connect gives up after
# 5 s, and TCP keepalives notice a peer gone without a FIN within ~1 min.
CONNECT_ARGS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                "keepalives_count": 3}


def make_engine(url: str, pool_size: int = 20) -> Engine:
    """Pool bigger than the API thread pool (40): a request waiting for a connection must never
    hold the last thread another request needs to give its connection back."""
    return create_engine(url, pool_size=pool_size, max_overflow=30, pool_pre_ping=True, future=True,
                         connect_args=CONNECT_ARGS)


class Database:
    """The process's engine and session factory, set once at start-up."""

    engine: Engine | None = None
    sessions: sessionmaker[Session] | None = None

    @classmethod
    def configure(cls, url: str) -> Engine:
        cls.engine = make_engine(url)
        cls.sessions = sessionmaker(bind=cls.engine, expire_on_commit=False)
        return cls.engine

    @classmethod
    def dispose(cls) -> None:
        if cls.engine is not None:
            cls.engine.dispose()
        cls.engine = None
        cls.sessions = None


def get_session() -> Iterator[Session]:
    if Database.sessions is None:
        raise RuntimeError("database not configured: call Database.configure() at start-up")
    with Database.sessions() as session:
        yield session
