"""The throughput baseline: the least an HTTP point lookup over the same PostGIS can do.

One FastAPI route, one pooled connection checkout, one query — plain ``ST_Contains`` on the
un-subdivided boundary polygons, first match — and a small JSON answer. Served by uvicorn with
the settings of ``shudi serve`` (see :func:`benchmarks.common.baseline_argv`).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, text

QUERY = text("""
SELECT code FROM boundary
WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))
LIMIT 1
""")


def create_app() -> FastAPI:
    """The baseline app, on the database the service uses."""
    from benchmarks.common import database_url

    engine = create_engine(database_url(), pool_size=10, max_overflow=10)
    app = FastAPI(title="shudi benchmark baseline")

    @app.get("/api/v1/resolve")
    def resolve(lon: float, lat: float, crs: str = "wgs84") -> JSONResponse:
        with engine.connect() as conn:
            code = conn.execute(QUERY, {"x": lon, "y": lat}).scalar()
        return JSONResponse({"code": code, "crs": crs})

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    return app
