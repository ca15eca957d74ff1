"""What a pushing camera sends (fields after GA/T 1400's motor-vehicle object) and what admins see."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

PlateColourName = Literal["blue", "yellow", "green", "white", "black", "unknown"]
Direction = Literal["in", "out"]
ImageKind = Literal["scene", "plate"]
DeviceKind = Literal["smart", "snapshot", "gat1400"]


class PushedImage(BaseModel):
    """One JPEG, base64-encoded: the whole frame (scene, 场景图) or the plate crop (plate, 车牌图)."""

    model_config = ConfigDict(extra="forbid")

    type: ImageKind
    data: str = Field(min_length=4, max_length=4_000_000, description="base64 of a JPEG (at most ~3 MB)")


class PassPush(BaseModel):
    """A pass record pushed by a smart camera (GA/T 1400 MotorVehicle: HPHM, HPYS, SBBH, CDBH, JGSJ, CLSD)."""

    model_config = ConfigDict(extra="forbid")

    device_id: str = Field(min_length=1, max_length=48, description="the device's registered code (SBBH)")
    record_id: str | None = Field(default=None, min_length=1, max_length=64,
                                  description="the device's own id of this record: a retried push with "
                                              "the same id, pass_time and plate is stored once; an id reused "
                                              "with another time or plate (a reset counter) is another pass")
    plate_no: str = Field(min_length=1, max_length=16, description="号牌号码 plate number, as read")
    plate_colour: PlateColourName = "unknown"
    plate_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    lane_no: int = Field(ge=1, le=16)
    direction: Direction
    pass_time: AwareDatetime = Field(description="when the vehicle passed, with its UTC offset")
    speed: float | None = Field(default=None, ge=0.0, le=400.0, description="km/h")
    images: list[PushedImage] = Field(default_factory=list, max_length=2)


class PushAccepted(BaseModel):
    pass_id: uuid.UUID
    status: Literal["accepted"] = "accepted"
    images_stored: bool = Field(default=True, description="false when the server could not store every image "
                                                          "(its disk); the pass itself is accepted")


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=3, max_length=48, pattern=r"^[A-Za-z0-9_.:-]+$")
    name: str = Field(default="", max_length=128)
    checkpoint: str = Field(min_length=1, max_length=32, description="the checkpoint's code")
    lanes: list[int] = Field(default_factory=list, max_length=16)
    direction: Direction | None = None
    kind: DeviceKind = Field(default="smart", description="smart: pushes pass records it read itself "
                                                           "(/ingest/passes); snapshot: pushes JPEGs we read "
                                                           "(/ingest/snapshots); gat1400: GA/T 1400 camera or "
                                                           "lower platform (/VIID/..., HTTP Digest)")
    tollgate_id: str | None = Field(default=None, pattern=r"^\d{20}$",
                                    description="gat1400: the 20-digit TollgateID it reports")
    digest_username: str | None = Field(default=None, min_length=1, max_length=64,
                                        description="gat1400: its HTTP Digest username")
    digest_password: str | None = Field(default=None, min_length=6, max_length=128, repr=False,
                                        description="gat1400: its HTTP Digest password (only a hash is kept)")


class DeviceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool


class DevicePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    checkpoint_id: int
    lanes: list[int]
    direction: str | None
    kind: str
    key_prefix: str
    active: bool
    created_at: datetime
    tollgate_id: str | None = None
    digest_username: str | None = None


class DeviceRegistered(DevicePublic):
    api_key: str = Field(description="shown once: only its sha256 is kept")


class SnapshotQueued(BaseModel):
    """A snapshot accepted for plate reading: its pass, if a plate is read, gets this id."""

    snapshot_id: uuid.UUID
    status: Literal["queued"] = "queued"


class FeedHealthPublic(BaseModel):
    feed_id: int
    checkpoint_code: str
    lane: int
    kind: str
    state: str
    last_error: str
    online_rate: float


class FeedStatusReport(BaseModel):
    """在线率 (online rate: mean share of the window each feed was online) and 完好率 (intact rate:
    share of enabled video feeds online now), per feed and per checkpoint."""

    since: datetime
    until: datetime
    feeds: list[FeedHealthPublic]
    online_rate: float | None
    intact_rate: float | None
    checkpoints: dict[str, str]
