"""WatchEntry (a watched plate pattern), HitAlert (a pass matching one), and dispatcher scopes.

PostgreSQL is the source of truth; the Redis index is rebuilt from `watch_entry` whenever lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from checkpoint.core.db import Base, UtcDateTime, utcnow


class WatchStatus(StrEnum):
    draft = "draft"
    pending = "pending"  # submitted, waiting for a second user's approval
    active = "active"
    rejected = "rejected"
    withdrawn = "withdrawn"
    expired = "expired"


class AlertStatus(StrEnum):
    """缉查布控 practice: 签收, 研判 (valid / false read), 拦截指令, 处置反馈, 结案."""

    new = "new"
    signed = "signed"
    valid = "valid"
    false_read = "false_read"
    instructed = "instructed"
    feedback = "feedback"
    closed = "closed"


class WatchEntry(Base):
    __tablename__ = "watch_entry"
    __table_args__ = (
        CheckConstraint("match_mode IN ('exact', 'wildcard', 'fuzzy')", name="match_mode"),
        CheckConstraint("scope_kind IN ('network', 'districts', 'checkpoints')", name="scope_kind"),
        CheckConstraint("priority BETWEEN 1 AND 3", name="priority"),
        CheckConstraint("valid_to > valid_from", name="validity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pattern: Mapped[str] = mapped_column(String(16), index=True)
    match_mode: Mapped[str] = mapped_column(String(8))
    strictness: Mapped[str] = mapped_column(String(8), default="normal")
    plate_colour: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    case_number: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 1 highest
    scope_kind: Mapped[str] = mapped_column(String(16), default="network")
    scope_districts: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    scope_checkpoint_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_to: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default=WatchStatus.draft.value, index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    # withdrawal is asked for first (an officer or approver), then approved by a second person
    withdraw_requested_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    withdraw_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    withdraw_request_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# an alert's images: the kind (as in `images_pending` and the image route) -> its column
IMAGE_COLUMNS = {"scene": "image_path", "plate": "plate_image_path", "last_scene": "last_image_path",
                 "last_plate": "last_plate_image_path"}


class HitAlert(Base):
    """One alert per vehicle within the grouping window, listing every watch it matched; repeats raise
    `hit_count` and move its last checkpoint, position, images and predictions along with the car."""

    __tablename__ = "hit_alert"
    __table_args__ = (Index("ix_hit_alert_entry_plate_last_seen", "entry_id", "plate", "last_seen_at"),
                      Index("ix_hit_alert_plate_last_seen", "plate", "last_seen_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("watch_entry.id"), index=True)  # the most urgent watch
    # every watch matched: {entry_id, pattern, match_mode, category, priority, why}, the most urgent first
    watches: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    pass_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the first pass
    plate: Mapped[str] = mapped_column(String(16))
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoint.id"))
    checkpoint_code: Mapped[str] = mapped_column(String(32), default="", server_default="")  # as at the hit
    checkpoint_name: Mapped[str] = mapped_column(String(128), default="", server_default="")
    district: Mapped[str] = mapped_column(String(32), index=True)
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_pass_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    last_checkpoint_id: Mapped[int] = mapped_column(Integer)
    last_checkpoint_code: Mapped[str] = mapped_column(String(32), default="", server_default="")
    last_checkpoint_name: Mapped[str] = mapped_column(String(128), default="", server_default="")
    last_lat: Mapped[float | None] = mapped_column()
    last_lon: Mapped[float | None] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    hit_count: Mapped[int] = mapped_column(Integer, default=1)
    why: Mapped[str] = mapped_column(String(128))
    lat: Mapped[float] = mapped_column()
    lon: Mapped[float] = mapped_column()
    image_path: Mapped[str | None] = mapped_column(Text)
    plate_image_path: Mapped[str | None] = mapped_column(Text)
    last_image_path: Mapped[str | None] = mapped_column(Text)  # the latest repeat's images (none: the first's)
    last_plate_image_path: Mapped[str | None] = mapped_column(Text)
    predicted: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.new.value, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sign_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    signed_unit: Mapped[str | None] = mapped_column(String(128))
    judged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    instructed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    instruction: Mapped[str | None] = mapped_column(Text)
    feedback_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    feedback_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    feedback: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # pass images not yet kept for the alert (the alerts folder could not be written): kind (IMAGE_COLUMNS)
    # -> pass image path, retried by the relay's image loop; NULL when nothing is pending
    images_pending: Mapped[dict[str, str] | None] = mapped_column(JSONB)

    @property
    def images_missing(self) -> bool:
        return bool(self.images_pending)


class WatchHit(Base):
    """One (pass, watch) match; its primary key is what makes a redelivered pass harmless."""

    __tablename__ = "watch_hit"

    pass_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("watch_entry.id"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("hit_alert.id"), index=True)
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    pushed: Mapped[bool] = mapped_column(Boolean, default=True)  # unused since the alert outbox (0013)


class DispatcherScope(Base):
    """Which checkpoints' alerts a dispatcher receives: the whole network, districts, or checkpoints."""

    __tablename__ = "dispatcher_scope"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    whole_network: Mapped[bool] = mapped_column(Boolean, default=False)
    districts: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    checkpoint_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)


class WebhookDelivery(Base):
    """A new alert to forward to the provincial platform: the outbox row is written in the alert's
    transaction, so no alert is forwarded that was not stored and none stored is forgotten; retried
    with backoff until the platform answers 2xx (`delivered_at`)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "next_attempt_at", postgresql_where=text("delivered_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("hit_alert.id"), index=True)
    body: Mapped[str] = mapped_column(Text)  # the alert JSON, as posted
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)  # HTTP status of the last answer, if any
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AlertEvent(Base):
    """The alerts outbox: one row per thing dispatchers must be told (a new alert, a repeat, a lifecycle
    update), written in the transaction that changes the alert. The relay numbers rows (`event_id`, the
    SSE id, dense and in publication order), appends them to `checkpoint:alerts` and marks them
    published; a live stream that reconnects replays `event_id > Last-Event-ID` from here."""

    __tablename__ = "alert_event"
    __table_args__ = (
        Index("ix_alert_event_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)  # set by the relay, in order
    alert_id: Mapped[int] = mapped_column(ForeignKey("hit_alert.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # new, repeat, update
    district: Mapped[str] = mapped_column(String(32))  # routing fields for the dispatchers' scopes
    checkpoint_id: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(128), default="")  # the matcher or user that caused it
    body: Mapped[str] = mapped_column(Text)  # the alert as JSON, as it was when the event was written
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
