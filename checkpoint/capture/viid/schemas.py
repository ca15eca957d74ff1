"""GA/T 1400.4 messages, in the standard's own field names (JSON over HTTP).

Requests are read leniently, as devices send them: numbers as strings or numbers, unknown fields
kept and ignored (a MotorVehicleObject has some 80 optional fields; a pass needs a dozen). The
answers are written exactly: `ResponseStatusObject` for one request, `ResponseStatusListObject`
with one status per object for a list. Also used, as a client, by a cascade to a higher platform.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

VIID_TIME = "%Y%m%d%H%M%S"  # yyyyMMddHHmmss, the standard's dateTime, local time without offset


def viid_time(at: datetime) -> str:
    return at.strftime(VIID_TIME)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class DeviceIdObject(_Lenient):
    """RegisterObject, UnRegisterObject and KeepaliveObject all carry just the DeviceID."""

    DeviceID: str = Field(min_length=1, max_length=48)


class RegisterRequest(_Lenient):
    RegisterObject: DeviceIdObject


class UnRegisterRequest(_Lenient):
    UnRegisterObject: DeviceIdObject


class KeepaliveRequest(_Lenient):
    KeepaliveObject: DeviceIdObject


class SubImageInfo(_Lenient):
    """One image of an object: base64 in Data, or a URL in StoragePath."""

    ImageID: str | None = None
    EventSort: str | None = None
    DeviceID: str | None = None
    StoragePath: str | None = Field(default=None, max_length=1024)
    Type: str | None = None  # ImageType: 01 车辆大图, 02 车牌彩色小图, 14 场景图, ... (codes.py)
    FileFormat: str | None = None
    ShotTime: str | None = None
    Width: int | None = None
    Height: int | None = None
    Data: str | None = Field(default=None, max_length=4_000_000)


class SubImages(_Lenient):
    """SubImageList."""

    SubImageInfoObject: list[SubImageInfo] = Field(default_factory=list, max_length=16)


class MotorVehicle(_Lenient):
    """MotorVehicleObject (GA/T 1400.3): the fields a pass is made of; the others are accepted and ignored."""

    MotorVehicleID: str | None = Field(default=None, max_length=64)
    InfoKind: str | None = None
    SourceID: str | None = None
    TollgateID: str | None = Field(default=None, max_length=20)
    DeviceID: str | None = Field(default=None, max_length=48)
    LaneNo: int | None = Field(default=None, ge=0, le=99)
    HasPlate: str | None = None
    PlateClass: str | None = None
    PlateColor: str | None = None
    PlateNo: str | None = Field(default=None, max_length=32)
    PassTime: str | None = None
    MarkTime: str | None = None
    AppearTime: str | None = None
    Speed: float | None = Field(default=None, ge=0, le=400)
    Direction: str | None = None
    VehicleClass: str | None = None
    VehicleBrand: str | None = None
    VehicleColor: str | None = None
    SubImageList: SubImages | None = None


class ResponseStatus(BaseModel):
    """ResponseStatusObject: the outcome of one request or of one object of a list."""

    RequestURL: str
    StatusCode: int
    StatusString: str
    Id: str = ""
    LocalTime: str


class ResponseStatusList(BaseModel):
    ResponseStatusObject: list[ResponseStatus]


def status_answer(status: ResponseStatus) -> dict[str, Any]:
    return {"ResponseStatusObject": status.model_dump()}


def status_list_answer(statuses: list[ResponseStatus]) -> dict[str, Any]:
    return {"ResponseStatusListObject": {"ResponseStatusObject": [status.model_dump() for status in statuses]}}
