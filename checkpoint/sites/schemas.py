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
    name: str | None = Field(default=None, min_length=1, max_length=128)
    lanes: int | None = Field(default=None, ge=1, le=16)
    directions: list[Literal["in", "out"]] | None = Field(default=None, min_length=1)
    retention_class: Literal[1, 2] | None = None
    active: bool | None = None
    reason: str | None = Field(default=None, max_length=1000)


class AreaUpload(BaseModel):
    """An edited area polygon (e.g. a centre area redrawn by a planner)."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    geometry: dict[str, Any]


class RoadImportResult(BaseModel):
    edges: int
    source: str
