"""Typed settings, read from the environment (prefix ``SHUDI_``) when first asked for.

Nothing here runs at import time: call :func:`get_settings` where settings are needed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; each maps to an environment variable ``SHUDI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SHUDI_", extra="ignore")

    home: Path = Field(
        default=Path("var"), description="Where the embedded PostGIS and files live."
    )
    database_url: str | None = Field(
        default=None, description="An external PostGIS; when unset the embedded cluster is used."
    )
    db_name: str = "shudi"
    db_pool_size: int = 10
    db_pool_timeout_s: float = 5.0
    statement_timeout_ms: int = 15_000
    host: str = "127.0.0.1"
    port: int = 8000
    require_durable_db: bool = Field(
        default=True,
        description="Refuse to serve when fsync, synchronous_commit or full_page_writes is off.",
    )
    batch_max_points: int = 10_000
    layer_max_features: int = 5_000
    basemap: str = Field(
        default="none",
        description="Map pages' basemap: none (boundaries only, offline) | osm | tianditu | "
        "amap | local (see webmap/basemaps.py).",
    )
    basemap_url: str | None = Field(
        default=None, description="The XYZ tile URL template of the local basemap."
    )
    basemap_crs: str = Field(
        default="wgs84", description="The CRS of the local basemap's tiles: wgs84 | gcj02."
    )
    tianditu_key: str | None = Field(default=None, description="The Tianditu key (tk).")

    @property
    def pg_dir(self) -> Path:
        """The embedded cluster's folder."""
        return self.home.resolve() / "pg"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return Settings()
