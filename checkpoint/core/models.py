"""Tables owned by core: users, their role grants and login sessions, and the append-only audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, false
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from checkpoint.core.db import Base, UtcDateTime, utcnow


class Role(StrEnum):
    """What a user may do; a user holds one or more roles (三员分立: see core/duties.py)."""

    officer = "officer"  # registers watches, requests their withdrawal
    dispatcher = "dispatcher"  # receives and handles hit alerts
    investigator = "investigator"  # searches plates, trajectories, analyses
    planner = "planner"  # checkpoint placement and coverage
    admin = "admin"  # 系统管理员: accounts, devices, checkpoints, feeds; grants no role
    security_admin = "security_admin"  # 安全管理员: grants and revokes roles; approves nothing
    auditor = "auditor"  # 审计管理员: reads and exports the audit log, nothing else
    approver = "approver"  # 审批人: approves watches and withdrawals; creates no user, grants no role


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
    created_by: Mapped[int | None] = mapped_column(Integer)  # who created the account (None: shell, system)
    password_set_by: Mapped[int | None] = mapped_column(Integer)  # an admin's reset; None once the user sets it
    totp_secret: Mapped[str | None] = mapped_column(String(64))  # second factor (RFC 6238), when enrolled
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
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
    # set by the database's insert trigger (migration 0023): sha256 over the previous row's hash and this row
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class RoleGrant(Base):
    """A role asked for by one security admin; `approver` takes effect only when a second one confirms."""

    __tablename__ = "role_grant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, confirmed, refused
    requested_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LoginThrottle(Base):
    """Login tries per (name, source): reserved before the password is checked, so parallel tries cannot
    pass the limit; a source locks only its own pair, never the name everywhere."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LoginSession(Base):
    """One login: its token names it (`sid`); logout revokes it, idleness ends it."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    client_ip: Mapped[str | None] = mapped_column(String(64))
