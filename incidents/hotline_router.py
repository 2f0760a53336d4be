"""HTTP routes of the hotline (12345) work-order link (docs/hotline.md). Thin: the signature is
checked by :mod:`incidents.hotline_keys`, the order decided by :mod:`incidents.hotline`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection

from accounts.router import CurrentPrincipal
from gis.coords import CoordSystem
from incidents import hotline, hotline_keys
from shudi.database import db_connection

router = APIRouter(prefix="/api/v1/hotline", tags=["hotline"])
Conn = Annotated[Connection, Depends(db_connection, scope="function")]
MAX_BODY = 64 * 1024


class HotlineOrderIn(BaseModel):
    """A 12345 work order (工单)."""

    model_config = ConfigDict(extra="forbid")
    order_no: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="The platform's order number (工单编号): idempotency key",
    )
    content: str = Field(min_length=1, max_length=4000, description="诉求内容")
    address: str = Field(default="", max_length=500, description="地址 as the caller gave it")
    lon: float | None = Field(default=None, description="Longitude in `crs`")
    lat: float | None = Field(default=None, description="Latitude in `crs`")
    crs: CoordSystem = Field(
        default=CoordSystem.WGS84, description="wgs84 | gcj02 | bd09 | cgcs2000"
    )
    category: str = Field(
        default="", max_length=200, description="The platform's category (诉求分类)"
    )
    type_code: str = Field(
        default="", max_length=64, description="A violation type code (wins over category)"
    )
    time_limit: datetime | None = Field(default=None, description="办结时限 (ISO 8601 with offset)")
    caller_phone: str = Field(
        default="", max_length=20, description="来电号码: sealed, never returned"
    )


class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lon: float
    lat: float
    crs: CoordSystem = CoordSystem.WGS84
    type_code: str | None = Field(default=None, max_length=64)


EXAMPLE = {
    "order_no": "GD202612070001",
    "content": "小区门口有人占道经营，影响通行",
    "address": "金桂苑",
    "lon": 120.0167,
    "lat": 30.0006,
    "crs": "gcj02",
    "category": "城市管理/占道经营",
    "time_limit": "2026-12-10T18:00:00+08:00",
    "caller_phone": "13800000000",
}
ANSWER = {
    "order_no": "GD202612070001",
    "state": "filed",
    "order_id": 7,
    "case_id": 42,
    "tracking_code": "7KQ2M9XW3PHA",
    "status": "reported",
    "handler": "公安分局 西派出所",
    "town_code": "T1",
    "due_at": "2026-12-10T10:00:00+00:00",
}
PARKED = {
    "order_no": "GD202612070002",
    "state": "parked",
    "order_id": 8,
    "reason": "地址匹配到 3 个地点，需人工定位",
    "candidates": [
        {"kind": "town", "code": "T2", "name": "乙镇", "context": "", "lon": 120.03, "lat": 30.01}
    ],
}


def _err(description: str) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/ErrorOut"}  # api/openapi.py declares it
    return {"description": description, "content": {"application/json": {"schema": ref}}}


ORDER_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": HotlineOrderIn.model_json_schema(),
                "examples": {
                    "gcj02": {"summary": "An order with GCJ-02 coordinates", "value": EXAMPLE}
                },
            }
        },
    },
    "parameters": [
        {
            "name": h,
            "in": "header",
            "required": True,
            "schema": {"type": "string"},
            "description": d,
        }
        for h, d in (
            ("X-Api-Key", "The platform's API key"),
            ("X-Timestamp", "Unix seconds; refused when more than 300 s from the server's clock"),
            ("X-Signature", "sha256=hex(HMAC-SHA256(secret, X-Timestamp + '.' + raw body))"),
        )
    ],
}
ORDER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The same order again: the same answer, `duplicate: true`"},
    201: {"description": "Filed as a case", "content": {"application/json": {"example": ANSWER}}},
    202: {
        "description": "Parked for a dispatcher (the address names no one place)",
        "content": {"application/json": {"example": PARKED}},
    },
    401: _err(
        "hotline_credentials_missing | hotline_key_invalid | hotline_timestamp_invalid | "
        "hotline_timestamp_stale | hotline_signature_invalid"
    ),
    409: _err("hotline_order_conflict: the order number was received with another body"),
    422: _err(
        "hotline_order_invalid | hotline_category_unmapped | unknown_violation_type | "
        "outside_service_area | invalid_coordinates | invalid_request"
    ),
}


def _json(payload: Any, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(payload, default=str), status_code=status_code, media_type="application/json"
    )


@router.post("/orders", openapi_extra=ORDER_DOC, responses=ORDER_RESPONSES, status_code=201)
async def receive_order(request: Request, conn: Conn) -> Response:
    """Receive a hotline platform's work order (signed; idempotent on `order_no`)."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise hotline.HotlineOrderInvalid(f"the body is larger than {MAX_BODY} bytes")
    h = request.headers

    def run() -> tuple[int, dict[str, Any]]:
        platform = hotline_keys.authenticate(
            conn,
            api_key=h.get("x-api-key"),
            timestamp=h.get("x-timestamp"),
            signature=h.get("x-signature"),
            body=body,
        )
        try:
            order = HotlineOrderIn.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise hotline.HotlineOrderInvalid(f"{where}: {first['msg']}", field=where) from None
        data = order.model_dump() | {"crs": order.crs.value}
        return hotline.receive_order(conn, platform_id=platform, order=hotline.Order(**data))

    status, answer = await run_in_threadpool(run)
    return _json(answer, status)


@router.get("/orders/parked", responses={403: _err("not a dispatcher or admin")})
def parked(conn: Conn, principal: CurrentPrincipal) -> Response:
    """Orders waiting for a dispatcher to choose their point (dispatchers and admins)."""
    return _json(hotline.parked_orders(conn, principal=principal))


@router.post(
    "/orders/{order_id}/place",
    status_code=201,
    responses={
        403: _err("not a dispatcher"),
        404: _err("hotline_order_not_found"),
        409: _err("hotline_order_already_filed"),
    },
)
def place(order_id: int, body: PlaceIn, conn: Conn, principal: CurrentPrincipal) -> Response:
    """Place a parked order at the point the dispatcher chose: it is filed as a case."""
    answer = hotline.place_parked(
        conn,
        order_id=order_id,
        lon=body.lon,
        lat=body.lat,
        crs=body.crs.value,
        principal=principal,
        type_code=body.type_code,
    )
    return _json(answer, 201)
