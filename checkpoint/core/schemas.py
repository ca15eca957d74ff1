"""Pydantic models at the edge of the core routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    roles: list[str]
    unit: str | None
    active: bool
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
    roles: list[str] | None = None
    active: bool | None = None
    password: str | None = Field(default=None, max_length=256)
    display_name: str | None = None
    unit: str | None = None


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
