"""Pydantic models at the edge of the watchlist routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from checkpoint.core.limits import DbId
from checkpoint.watchlist.plates import MatchMode, Strictness

Category = Literal["stolen", "case_related", "cloned_plate", "fugitive", "unlicensed", "traffic_violation", "other"]
PlateColour = Literal["blue", "yellow", "green", "white", "black"]


class WatchPattern(BaseModel):
    pattern: str = Field(min_length=1, max_length=16)
    match_mode: MatchMode = MatchMode.exact
    strictness: Strictness = Strictness.normal
    plate_colour: PlateColour | None = None


class PreviewRequest(WatchPattern):
    """A preview is a plate search: its reason is required (checked in the route, with a Chinese answer)."""

    reason: str | None = Field(default=None, max_length=2000)


class WatchCreate(WatchPattern):
    category: Category
    reason: str = Field(min_length=2, max_length=2000)
    case_number: str | None = Field(default=None, max_length=64)
    priority: int = Field(default=2, ge=1, le=3)
    scope_kind: Literal["network", "districts", "checkpoints"] = "network"
    scope_districts: list[str] = Field(default_factory=list, max_length=200)
    scope_checkpoint_ids: list[DbId] = Field(default_factory=list, max_length=5000)
    valid_from: datetime | None = None  # default: now
    valid_to: datetime | None = None  # default: 30 days after valid_from
    submit: bool = True  # straight to pending approval; False keeps a draft


class WatchPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    pattern: str
    match_mode: str
    strictness: str
    plate_colour: str | None
    category: str
    reason: str
    case_number: str | None
    priority: int
    scope_kind: str
    scope_districts: list[str]
    scope_checkpoint_ids: list[int]
    valid_from: datetime
    valid_to: datetime
    status: str
    requested_by: int
    approved_by: int | None
    withdrawn_by: int | None
    withdraw_reason: str | None
    withdraw_requested_by: int | None = None
    withdraw_request_reason: str | None = None
    created_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None
    ended_at: datetime | None


class WatchChanged(WatchPublic):
    """A watch just approved or withdrawn: committed (a durable fact) and whether the index holds it yet."""

    in_force: bool  # the Redis index is at the database's version: every matcher applies it at its next batch
    notice: str | None = None  # why not yet, in words for the console


class MatcherReport(BaseModel):
    consumer: str
    version: int
    reported_at: datetime
    current: bool  # at the database's version


class IndexStatus(BaseModel):
    """Where the watch index stands: the database's change-log version, Redis's, each live matcher's."""

    database_version: int
    redis_reachable: bool
    redis_version: int | None  # None: no ready index in Redis (being rebuilt), or Redis unreachable
    matchers: list[MatcherReport]
    in_force: bool  # Redis and every reporting matcher at the database's version
    notice: str | None = None


class Decision(BaseModel):
    reason: str = Field(default="", max_length=2000)


class PreviewPass(BaseModel):
    pass_id: uuid.UUID
    plate: str
    checkpoint_id: int
    captured_at: datetime
    why: str


class Preview(BaseModel):
    pattern: str
    days: int
    matched: int
    passes: list[PreviewPass]


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entry_id: int  # the most urgent watch it matched
    watches: list[dict[str, Any]] = []  # every watch matched: entry_id, pattern, match_mode, category, priority, why
    pass_id: uuid.UUID
    plate: str
    checkpoint_id: int
    checkpoint_code: str = ""  # the first hit's checkpoint, as it was named then
    checkpoint_name: str = ""
    district: str
    captured_at: datetime
    last_pass_id: uuid.UUID
    last_checkpoint_id: int
    last_checkpoint_code: str = ""  # where the vehicle was seen last: the alert follows it
    last_checkpoint_name: str = ""
    last_lat: float | None = None
    last_lon: float | None = None
    last_seen_at: datetime
    hit_count: int
    why: str
    lat: float
    lon: float
    image_path: str | None
    plate_image_path: str | None
    last_image_path: str | None = None  # the latest repeat's images (None: see the first's)
    last_plate_image_path: str | None = None
    images_missing: bool = False  # raised before its images could be kept: 图片待补, kept by a retry
    predicted: list[dict[str, Any]]  # next checkpoints and ETAs from the last checkpoint seen
    status: str
    created_at: datetime
    sign_due_at: datetime
    signed_at: datetime | None
    signed_unit: str | None
    judged_at: datetime | None
    instructed_at: datetime | None
    instruction: str | None
    feedback_due_at: datetime | None
    feedback_at: datetime | None
    feedback: str | None
    closed_at: datetime | None


class AlertAction(BaseModel):
    action: Literal["sign", "valid", "false_read", "instruct", "feedback", "close"]
    note: str = Field(default="", max_length=2000)


class ScopeUpdate(BaseModel):
    whole_network: bool = False
    districts: list[str] = Field(default_factory=list, max_length=200)
    checkpoint_ids: list[DbId] = Field(default_factory=list, max_length=5000)


class ScopePublic(ScopeUpdate):
    user_id: int


class UnitStats(BaseModel):
    unit: str
    alerts: int
    signed: int
    signed_on_time: int
    feedback: int
    feedback_on_time: int


class WebhookDeliveryPublic(BaseModel):
    """One alert's forwarding to the provincial platform: pending until `delivered_at`."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    alert_id: int
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
