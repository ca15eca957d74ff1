"""Pydantic models at the edge of the sites routes (GeoJSON out, checkpoint changes in)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int | str | None = None
    geometry: dict[str, Any]
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


class CheckpointUpdate(BaseModel):
    """An admin's change to a checkpoint: only the fields given change. Ranges are checked by the service,
    which answers in Chinese; `change_reason` (why, for the audit log) is required there too."""

    name: str | None = None
    lat: float | None = None
    lon: float | None = None
    lanes: int | None = None
    directions: list[str] | None = None
    defence_line: str | None = None  # 防线 class: city (市界) or county (县界/城区)
    retention_class: int | None = None
    active: bool | None = None
    reason: str | None = Field(default=None, max_length=1000)  # why the checkpoint stands there
    change_reason: str | None = None  # why it is changed now: recorded in the audit log


class AreaUpload(BaseModel):
    """An edited area polygon (e.g. a centre area redrawn by a planner)."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    geometry: dict[str, Any]


class RoadImportResult(BaseModel):
    edges: int
    source: str
