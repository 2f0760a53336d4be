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
    max_body_bytes: int = Field(
        default=2 << 20, description="Largest request body of JSON and form routes (413 above)."
    )
    max_report_body_bytes: int = Field(
        default=50 << 20, description="Largest multipart report (photos: 6 of up to 8 MiB)."
    )
    max_upload_body_bytes: int = Field(
        default=100 << 20, description="Largest boundary-file upload (/api/v1/boundaries...)."
    )
    audit_seal_interval_s: float = Field(
        default=2.0, description="How often the server seals the audit log (0: never)."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    require_durable_db: bool = Field(
        default=True,
        description="Refuse to serve when fsync, synchronous_commit or full_page_writes is off.",
    )
    batch_max_points: int = 10_000
    layer_max_features: int = 5_000
    max_bbox_deg2: float = Field(
        default=4.0, gt=0, description="Largest bbox a listing or map query may ask for (deg²)."
    )
    boundary_max_features: int = Field(
        default=100_000, description="Most features one boundary file may hold (import)."
    )
    boundary_max_vertices: int = Field(
        default=20_000_000, description="Most vertices one boundary file may hold (import)."
    )
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
    hotspot_processes: int = Field(
        default=1,
        ge=0,
        le=8,
        description="Processes per app worker that run hot-spot analyses (0: in the request's "
        "thread), so a long analysis never holds up other requests.",
    )
    hotspot_memory_mb: int = Field(
        default=3072,
        ge=0,
        description="Address space each hot-spot process may use, in MiB (0: no cap); an "
        "analysis past it is refused, not OOM-killed.",
    )
    hotspot_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Seconds one hot-spot analysis may run before its process is stopped (503).",
    )
    hotspot_min_count: int = Field(
        default=3, ge=1, description="Hot-spot cells with fewer cases have their counts withheld."
    )

    login_max_failures_account: int = Field(
        default=5, ge=0, description="Failed log-ins per user name within the window (0: off)."
    )
    login_max_failures_address: int = Field(
        default=20, ge=0, description="Failed log-ins per client address within the window."
    )
    login_window_s: int = Field(default=900, ge=1, description="The log-in throttle's window.")
    session_cookie_secure: bool = Field(
        default=False,
        description="Send the session cookie only over HTTPS (set it true behind TLS).",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Proxy addresses whose X-Forwarded-For is trusted (comma-separated; '' "
        "trusts none, so the peer's own address is the client's).",
    )

    pii_keys: str | None = Field(
        default=None,
        description="Keys sealing residents' names and phone numbers (id:base64url,...; the "
        "first seals). Unset: $SHUDI_HOME/pii-keys, made on first use. See docs/privacy.md.",
    )
    pii_retention_days: int = Field(
        default=365,
        ge=1,
        description="Days after closing before `shudi cases anonymise` erases a case's "
        "reporter names and phone numbers.",
    )
    report_limit_ip: str = Field(
        default="30/1h",
        description="Reports per client address (N/PERIOD, e.g. 30/1h, 5/10m; off). Behind a "
        "proxy, serve with --forwarded-allow-ips so the client's address is seen.",
    )
    report_limit_phone: str = Field(default="10/1h", description="Reports per phone number.")
    report_limit_cell: str = Field(
        default="10/1h", description="Reports of one type in one small map cell (H3)."
    )
    report_limit_cell_resolution: int = Field(
        default=10, ge=7, le=12, description="H3 resolution of that cell (10: ~0.015 km²)."
    )

    @property
    def pg_dir(self) -> Path:
        """The embedded cluster's folder."""
        return self.home.resolve() / "pg"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return Settings()
