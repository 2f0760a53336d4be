"""The administrator's routes over the district's reference data: published contacts per area
and boundary generations (upload with validation, compare with the active one, preview as
GeoJSON, activate). Thin: :mod:`jurisdictions.pickers`, :mod:`jurisdictions.catalog`,
:mod:`jurisdictions.layer_upload` and :func:`jurisdictions.generations.activate` do the work.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from accounts.admin_router import Admin
from jurisdictions import generations, layer_upload, pickers, published_contacts
from shudi.database import db_connection

router = APIRouter(prefix="/api/v1", tags=["admin"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
NO_STORE = {"Cache-Control": "no-store"}


class ContactIn(BaseModel):
    """A contact to publish (or replace) for an agency in an area."""

    agency: str = Field(max_length=64)
    kind: str = Field(default="", max_length=32)
    scope_layer: str = Field(default="", max_length=32)
    scope_code: str = Field(default="", max_length=64)
    office: str = Field(default="", max_length=200)
    person: str = Field(max_length=100)
    phone: str = Field(max_length=32)
    hours: str = Field(default="", max_length=100)


@router.get("/contacts")
def contacts(conn: Conn, _who: Admin, scope_layer: str = "", scope_code: str = "") -> list[dict]:
    """The contacts published for one area (none given: the district-wide ones)."""
    return pickers.list_contacts(conn, scope_layer=scope_layer, scope_code=scope_code)


@router.put("/contacts")
def set_contact(conn: Conn, _who: Admin, body: ContactIn) -> list[dict]:
    """Publish or replace an agency's contact for an area; the area's contacts after it."""
    published_contacts.set_contact(conn, **body.model_dump())
    return pickers.list_contacts(conn, scope_layer=body.scope_layer, scope_code=body.scope_code)


@router.delete("/contacts/{contact_id}", status_code=204)
def remove_contact(conn: Conn, _who: Admin, contact_id: int) -> Response:
    """Withdraw a published contact."""
    published_contacts.remove_contact(conn, contact_id=contact_id)
    return Response(status_code=204)


def _problem(p: Any) -> dict[str, Any]:
    return asdict(p) | {"codes": list(p.codes)}


@router.post("/boundaries/uploads", status_code=201)
def upload(
    conn: Conn,
    _who: Admin,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage or zipped Shapefile")],
    layer: Annotated[str, Form(max_length=32)],
    agency: Annotated[str, Form(max_length=64)] = "",
    code_field: Annotated[str, Form(max_length=64)] = "",
    name_field: Annotated[str, Form(max_length=64)] = "",
    parent_field: Annotated[str, Form(max_length=64)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
) -> dict[str, Any]:
    """Validate a layer file and store it as a new, inactive generation; 422 with the
    problems per feature (``problems``) when it has errors — then nothing is stored."""
    data = file.file.read()  # a sync route: GDAL and the checks run off the event loop
    fields = {"code": code_field, "name": name_field, "parent_code": parent_field}
    result = layer_upload.upload_layer(
        conn,
        data=data,
        filename=file.filename or "upload",
        layer=layer,
        agency=agency or None,
        fields=fields,
        description=description,
    )
    return result | {"warnings": [_problem(p) for p in result["warnings"]]}


@router.get("/boundaries/generations")
def list_generations(conn: Conn, _who: Admin) -> list[dict[str, Any]]:
    """Every generation with its validity periods."""
    return generations.list_generations(conn)


@router.get("/boundaries/generations/{generation_id}/compare")
def compare(conn: Conn, _who: Admin, generation_id: int) -> dict[str, Any]:
    """A generation against its layer's active one: codes added, removed, changed (areas in
    m² before and after)."""
    return layer_upload.compare_with_active(conn, generation_id=generation_id)


@router.get(
    "/boundaries/generations/{generation_id}.geojson",
    responses={200: {"content": {"application/geo+json": {}}}},
)
def generation_geojson(conn: Conn, _who: Admin, generation_id: int) -> Response:
    """A generation's features as GeoJSON (for the preview map)."""
    body = layer_upload.generation_geojson(conn, generation_id=generation_id)
    return Response(body, media_type="application/geo+json", headers=NO_STORE)


@router.post("/boundaries/generations/{generation_id}/activate")
def activate(conn: Conn, _who: Admin, generation_id: int) -> dict[str, Any]:
    """Make a generation its layer's active one; the open cases follow their new owners
    (``moved`` says how many changed owner, of ``open_cases``)."""
    done = generations.activate(conn, generation_id=generation_id)
    return asdict(done)
