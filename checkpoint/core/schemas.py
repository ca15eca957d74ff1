"""Pydantic models at the edge of the core routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str | None = Field(default=None, max_length=16, description="动态口令, when the user enrolled one")


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    roles: list[str]
    unit: str | None
    active: bool
    totp_enabled: bool = False
    created_at: datetime


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserPublic


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    roles: list[str] = Field(min_length=1)
    display_name: str = ""
    unit: str | None = None


class UserUpdate(BaseModel):
    """A system admin's change; `roles` is refused here (a security admin's PUT /users/{id}/roles)."""

    roles: list[str] | None = None
    active: bool | None = None
    password: str | None = Field(default=None, max_length=256)
    display_name: str | None = Field(default=None, max_length=128)
    unit: str | None = Field(default=None, max_length=128)


class RolesUpdate(BaseModel):
    roles: list[str] = Field(max_length=8)
    reason: str = Field(min_length=1, max_length=500)


class RoleGrantPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: int
    role: str
    reason: str
    status: str
    requested_by: int
    requested_at: datetime
    decided_by: int | None
    decided_at: datetime | None


class GrantDecision(BaseModel):
    confirm: bool
    reason: str = Field(default="", max_length=500)


class PasswordReset(BaseModel):
    """A new password for the user, shown once to the admin who reset it."""

    username: str
    password: str


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class TotpSetup(BaseModel):
    secret: str
    uri: str


class TotpCode(BaseModel):
    code: str = Field(min_length=6, max_length=8)


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    target: str | None
    reason: str | None
    detail: dict[str, Any]
    client_ip: str | None


class ConsoleConfig(BaseModel):
    site_name: str
    timezone: str
    tile_url: str | None
