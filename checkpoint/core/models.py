"""Tables owned by core: users and the append-only audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from checkpoint.core.db import Base, UtcDateTime, utcnow


class Role(StrEnum):
    """What a user may do; a user holds one or more roles."""

    officer = "officer"  # registers watches
    dispatcher = "dispatcher"  # receives and handles hit alerts
    investigator = "investigator"  # searches plates, trajectories, analyses
    planner = "planner"  # checkpoint placement and coverage
    admin = "admin"  # users, checkpoints, feeds
    auditor = "auditor"  # reads the audit log


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    unit: Mapped[str | None] = mapped_column(String(128))  # police unit, for alert scopes later
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=0)  # bump to revoke tokens
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    def has_any(self, *roles: Role) -> bool:
        return any(role.value in self.roles for role in roles)


class AuditEntry(Base):
    """One thing a person did or tried; rows are never updated or deleted (a trigger refuses)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(256))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    client_ip: Mapped[str | None] = mapped_column(String(64))
