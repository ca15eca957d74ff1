"""Routes for areas, checkpoints and the road graph (GeoJSON)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, UploadFile

from checkpoint.core import audit
from checkpoint.core.deps import CurrentUser, SessionDep, client_ip, require_roles
from checkpoint.core.errors import InvalidInput
from checkpoint.core.models import Role, User
from checkpoint.sites import service
from checkpoint.sites.checkpoint_edit import apply_changes, checked_changes
from checkpoint.sites.geodata_load import load_roads
from checkpoint.sites.schemas import AreaUpload, CheckpointUpdate, Feature, FeatureCollection, RoadImportResult

router = APIRouter(tags=["sites"])
AreaEditor = Annotated[User, Depends(require_roles(Role.planner, Role.admin))]
SiteAdmin = Annotated[User, Depends(require_roles(Role.admin))]


@router.get("/areas", response_model=FeatureCollection)
def list_areas(_user: CurrentUser, session: SessionDep, kind: str | None = None) -> FeatureCollection:
    """The city, district and centre-area polygons."""
    return FeatureCollection(features=[service.area_feature(a) for a in service.list_areas(session, kind)])


@router.get("/areas/{code}", response_model=Feature)
def read_area(code: str, _user: CurrentUser, session: SessionDep) -> Feature:
    return service.area_feature(service.get_area(session, code))


@router.put("/areas/{code}", response_model=Feature)
def update_area(code: str, body: AreaUpload, editor: AreaEditor, request: Request, session: SessionDep) -> Feature:
    """Replace an area's polygon (e.g. a centre area redrawn by a planner)."""
    area = service.update_area(session, service.get_area(session, code), body.geometry, body.name)
    audit.record(session, editor, "area.update", target=code, client_ip=client_ip(request))
    session.commit()
    return service.area_feature(area)


@router.get("/checkpoints", response_model=FeatureCollection)
def list_checkpoints(_user: CurrentUser, session: SessionDep, district: str | None = None) -> FeatureCollection:
    return service.checkpoints_collection(session, district)


@router.get("/checkpoints/{code}", response_model=Feature)
def read_checkpoint(code: str, _user: CurrentUser, session: SessionDep) -> Feature:
    checkpoint = service.get_checkpoint(session, code)
    return service.checkpoint_feature(checkpoint, service.feed_counts(session).get(checkpoint.id, 0))


@router.patch("/checkpoints/{code}", response_model=Feature)
def update_checkpoint(code: str, body: CheckpointUpdate, admin: SiteAdmin, request: Request,
                      session: SessionDep) -> Feature:
    """Edit name, position, lanes, directions, class (防线, retention) or active state; audited with the reason."""
    checkpoint = service.get_checkpoint(session, code)
    changed = apply_changes(session, checkpoint, checked_changes(session, checkpoint, body))
    audit.record(session, admin, "checkpoint.update", target=checkpoint.code,
                 reason=(body.change_reason or "").strip(), client_ip=client_ip(request),
                 detail={"changed": changed})
    session.commit()
    return service.checkpoint_feature(checkpoint, service.feed_counts(session).get(checkpoint.id, 0))


@router.get("/roads", response_model=FeatureCollection)
def list_roads(_user: CurrentUser, session: SessionDep) -> FeatureCollection:
    """The active road graph, one LineString per junction-to-junction edge."""
    return service.roads_collection(session)


ROAD_FILE_SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".geojson", ".json")


@router.post("/roads/import", response_model=RoadImportResult)
def import_roads(file: UploadFile, editor: AreaEditor, request: Request, session: SessionDep) -> RoadImportResult:
    """Replace the road graph with an uploaded OpenStreetMap extract or road-graph GeoJSON.

    Checkpoints are moved onto their nearest edge of the new graph. Large extracts (a whole
    province) are better loaded with `checkpoint geodata load-roads FILE`.
    """
    name = (file.filename or "").lower()
    if not name.endswith(ROAD_FILE_SUFFIXES):
        raise InvalidInput(f"{file.filename!r}: expected one of {', '.join(ROAD_FILE_SUFFIXES)}")
    suffix = ".osm.pbf" if name.endswith(".pbf") else Path(name).suffix
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        try:
            edges = load_roads(session, path)
        except InvalidInput as exc:  # name the user's file, not our temporary copy
            raise InvalidInput(str(exc).replace(str(path), repr(file.filename))) from None
    audit.record(session, editor, "roads.import", target=file.filename, client_ip=client_ip(request),
                 detail={"edges": edges})
    session.commit()
    return RoadImportResult(edges=edges, source=file.filename or "")
