"""Typed settings, read from the environment (prefix ``SHUDI_``) when first asked for.

Nothing here runs at import time: call :func:`get_settings` where settings are needed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; each maps to an environment variable ``SHUDI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SHUDI_", extra="ignore")

    home: Path = Field(
        default=Path("var"), description="Where the embedded PostGIS and files live."
    )
    backup_dir: Path | None = Field(
        default=None,
        description="The pgBackRest repository of `shudi backup` (default $SHUDI_HOME/backup); "
        "better on another disk. See docs/backups.md.",
    )
    database_url: str | None = Field(
        default=None, description="An external PostGIS; when unset the embedded cluster is used."
    )
    database_read_url: str | None = Field(
        default=None,
        description="A streaming replica for the reads that tolerate a little lag (live feed, "
        "layers, hot spots, OGC items, planners' listings); 'embedded': the one `shudi db "
        "replica start` makes. Unset: every read goes to the primary. See docs/scaling.md.",
    )
    read_max_lag_s: float = Field(
        default=5.0,
        ge=0,
        description="Replica lag past which those reads go to the primary instead.",
    )
    read_lag_check_s: float = Field(
        default=1.0, gt=0, description="How long a process reuses its measure of the lag."
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
        description="Map pages' basemap: none (the app's own names, outlines and roads; "
        "offline) | osm | tianditu | amap | local | file:PATH (an MBTiles tile package the app "
        "serves itself; see docs/basemaps.md).",
    )
    basemap_url: str | None = Field(
        default=None, description="The XYZ tile URL template of the local basemap."
    )
    basemap_crs: str = Field(
        default="wgs84",
        description="The CRS of the local or file: basemap's tiles: wgs84 | gcj02.",
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
    report_in_tolerance_m: float = Field(
        default=300.0,
        gt=0,
        description="吹哨报到: how far (metres) from a case's place a called unit may confirm "
        "its arrival.",
    )
    hotspot_min_cases: int = Field(
        default=30,
        ge=1,
        description="An analysis of fewer cases draws no conclusion: no hot/cold classes, and "
        "the map says so (the small-sample rule, hotspots/readable.py).",
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
    log_format: Literal["json", "text"] = Field(
        default="text",
        description="Server log lines: json (one object per line) | text. Both carry the "
        "request id (X-Request-Id).",
    )
    access_log: bool = Field(
        default=True,
        description="One log line per request (method, path without query, route, status, "
        "duration, request id); off: none.",
    )
    metrics_cases_ttl_s: float = Field(
        default=5.0, ge=0, description="How long /metrics reuses its count of cases by status."
    )

    # --- notifications (notify/): the outbox's sender and its channels ---------------------
    notify_in_server: bool = Field(
        default=True, description="`shudi serve` runs the outbox sender too (--no-notify: off)."
    )
    notify_public_url: str = Field(
        default="http://127.0.0.1:8000", description="Base of the links put in messages."
    )
    notify_poll_s: float = Field(default=0.5, gt=0, description="How often the sender looks.")
    notify_max_attempts: int = Field(default=8, ge=1, description="Tries before dead-letter.")
    notify_backoff_s: float = Field(
        default=5.0, gt=0, description="First retry delay; doubles each try (at most 1 h)."
    )
    notify_rate_per_hour: int = Field(
        default=6, ge=1, description="Most messages one resident's address gets in an hour."
    )
    notify_quiet_hours: str = Field(
        default="22:00-08:00",
        description="Beijing time when residents get no SMS except urgent types (off: none).",
    )
    notify_digest_at: str = Field(
        default="08:00",
        pattern=r"^(off|([01]\d|2[0-3]):[0-5]\d)$",
        description="Beijing time at which the sender enqueues the previous day's town "
        "digests (off: never; `shudi notify digest` any time).",
    )
    notify_remind_every_s: float = Field(
        default=60.0,
        ge=0,
        description="How often the sender runs the deadline reminders (督办: cases' deadlines, "
        "joint tasks' report-in and completion) — 0: never (then `shudi cases remind` by cron).",
    )
    notify_remind_within_h: float = Field(
        default=4.0, gt=0, description="Remind a unit this long before a case's deadline."
    )
    notify_remind_report_in_min: float = Field(
        default=10.0, gt=0, description="Remind a called unit this long before its report-in."
    )
    notify_follow_limit_ip: str = Field(
        default="10/1h",
        description="Follow requests per client address (N/PERIOD, e.g. 10/1h; off).",
    )
    notify_follow_limit_contact: str = Field(
        default="3/1d",
        description="Confirmation messages one phone or e-mail address gets (so nobody can "
        "be flooded by others' follow requests).",
    )
    notify_follow_limit_target: str = Field(
        default="30/1h", description="Follow requests per case (tracking code) or area."
    )
    notify_sink: Path | None = Field(
        default=None,
        description="The file sink (one JSON line per message, mode 0600) used by channels "
        "with no transport configured; default $SHUDI_HOME/notify-sink.jsonl.",
    )
    notify_smtp_url: str | None = Field(
        default=None, description="smtp://[user:pass@]host:port[?starttls=1] for e-mail."
    )
    notify_smtp_from: str = Field(default="shudi@localhost", description="The From address.")
    notify_smtp_ca_file: Path | None = Field(
        default=None, description="CA bundle trusted for STARTTLS (default: the system's)."
    )
    notify_sms_access_key_id: str | None = Field(
        default=None, description="Alibaba Cloud AccessKey ID for SMS (SendSms)."
    )
    notify_sms_access_key_secret: str | None = Field(default=None, description="Its secret.")
    notify_sms_endpoint: str = Field(
        default="https://dysmsapi.aliyuncs.com/", description="The SendSms endpoint."
    )
    notify_sms_sign_name: str = Field(default="属地", description="The SMS signature (签名).")
    notify_sms_templates: str = Field(
        default="",
        description="Provider template codes per template: name=SMS_123,name2=SMS_456.",
    )
    notify_sms_max_segments: int = Field(
        default=3, ge=1, le=10, description="Longest SMS in parts (70 chars, 67 when split)."
    )
    notify_dingtalk_url: str | None = Field(
        default=None, description="DingTalk group-robot webhook (…/robot/send?access_token=…)."
    )
    notify_dingtalk_secret: str | None = Field(
        default=None, description="The robot's signing secret (SEC…)."
    )
    notify_webhook_url: str | None = Field(
        default=None, description="A generic webhook for channels with no other transport."
    )
    notify_webhook_secret: str | None = Field(
        default=None, description="Its HMAC-SHA256 key (X-Shudi-Signature header)."
    )
    # --- the hotline (12345) work-order link (incidents/hotline*, docs/hotline.md) ----------
    hotline_callback_url: str | None = Field(
        default=None, description="Where case milestones are posted back to the hotline platform."
    )
    hotline_callback_secret: str | None = Field(
        default=None, description="The callbacks' HMAC-SHA256 key (X-Hotline-Signature header)."
    )
    hotline_max_skew_s: int = Field(
        default=300, ge=1, description="How far a signed order's timestamp may be from now."
    )

    @property
    def pg_dir(self) -> Path:
        """The embedded cluster's folder."""
        return self.home.resolve() / "pg"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return Settings()
