"""Pydantic models at the edge of the coverage routes: what-if changes in, the report out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictFloat

from checkpoint.coverage.reading import Reading


class AddedCheckpoint(BaseModel):
    """A proposed checkpoint: placed on the road nearest to (lon, lat), for the area it guards."""

    code: str | None = Field(default=None, max_length=32)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    guards: str = Field(min_length=1, max_length=32)
    directions: list[Literal["in", "out"]] = Field(default=["in", "out"], min_length=1)


class MovedCheckpoint(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class RedrawnArea(BaseModel):
    """An area polygon to try instead of the stored one (or a new protected area)."""

    code: str = Field(min_length=1, max_length=32)
    name: str | None = Field(default=None, max_length=64)
    kind: Literal["city", "centre"] = "centre"
    geometry: dict[str, Any]


class WhatIf(BaseModel):
    offline: list[str] = Field(default_factory=list, max_length=1000)
    added: list[AddedCheckpoint] = Field(default_factory=list, max_length=500)
    moved: list[MovedCheckpoint] = Field(default_factory=list, max_length=500)
    areas: list[RedrawnArea] = Field(default_factory=list, max_length=50)
    criticality: bool = True
    core_depth_m: StrictFloat = Field(default=0.0, ge=0, le=50_000,
                                description="routes must reach junctions this deep inside; 0: any junction inside")


class AreaResult(BaseModel):
    code: str
    name: str
    min_captures_in: int | None
    min_captures_out: int | None
    crossings: int
    leak_routes: int
    holds: bool


class CheckpointCriticality(BaseModel):
    code: str
    area: str
    new_leaks: int
    min_captures_in_after: int | None
    min_captures_out_after: int | None


class CoverageReportPublic(BaseModel):
    holds: bool
    offline: list[str]
    seconds: float | None
    areas: list[AreaResult]
    leaks: dict[str, Any]  # GeoJSON FeatureCollection of leak routes
    criticality: list[CheckpointCriticality]
    ring: list[dict[str, Any]]


class RuleQuery(BaseModel):
    """The rule under a reading, for the stored placement with `what_if` applied."""

    reading: Reading = Field(default_factory=Reading)
    what_if: WhatIf = Field(default_factory=WhatIf)


class Point(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class OptimumQuery(BaseModel):
    """Optimal placement under a reading: quotas per county (the plan's by default), checkpoints kept where
    they stand, roads forbidden (the road nearest each point), and the solver's time."""

    reading: Reading = Field(default_factory=Reading)
    quotas: dict[str, int] | None = Field(default=None, description="county code -> checkpoints; None: the plan's")
    keep: list[str] = Field(default_factory=list, max_length=500)
    forbid: list[Point] = Field(default_factory=list, max_length=500)
    time_limit_s: float = Field(default=10.0, gt=0, le=60)
    spend_quota: bool = Field(default=False, description="spend each county's unused quota as a second layer "
                                                         "where the optimum's routes run most (as geodata/ does)")
