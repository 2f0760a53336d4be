"""Demo cases for the sample district: a few hundred reports spread over the last 60 days,
moved along the workflow to every state, so the maps and lists have something to show.

Idempotent: the set is recorded under an idempotency key and made only once per database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import numpy as np
from PIL import Image
from sqlalchemy import Connection, text

from accounts.models import Role
from accounts.service import Principal
from incidents import case_photos, evidence, idempotency
from incidents.intake import Report, submit, using
from incidents.photos import SanitizedPhoto, sanitize_photo
from incidents.queries import case_version
from incidents.service import transition
from jurisdictions import catalog
from jurisdictions.active import ACTIVE_BOUNDARIES
from jurisdictions.exceptions import OutsideServiceArea
from shudi.exceptions import ShudiError

DEMO_KEY = "demo-cases-v1"
#: How far along the workflow each demo case goes, and how often (weights).
PATHS: tuple[tuple[tuple[str, ...], int], ...] = (
    ((), 20),
    (("accept",), 10),
    (("accept", "dispatch"), 20),
    (("accept", "dispatch", "start"), 25),
    (("accept", "dispatch", "start", "resolve"), 10),
    (("accept", "dispatch", "start", "resolve", "verify"), 25),
)
NOTES = {
    "resolve": "已处理完毕",
    "verify": "现场核查属实",
    "reject": "不属于受理范围",
    "before": "到场时现状",
    "after": "已清理完毕",
}


def load_demo_cases(conn: Connection, *, count: int = 400, seed: int = 20261125) -> int:
    """File ``count`` demo cases once; returns how many were made now (0 when done before)."""
    fingerprint = idempotency.request_hash({"count": count, "seed": seed})
    if idempotency.begin(conn, key=DEMO_KEY, scope="demo", fingerprint=fingerprint):
        return 0
    dispatcher = _dispatcher(conn)
    rng = np.random.default_rng(seed)
    types = [t["code"] for t in catalog.list_types(conn, reportable=True)]
    spots = conn.execute(
        text(f"""
        SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (
          SELECT ST_PointOnSurface(b.geom) AS p FROM {ACTIVE_BOUNDARIES} b
          WHERE b.layer = 'property_area' ORDER BY b.code) s""")
    ).all()
    weights = np.array([w for _, w in PATHS], dtype=float)
    now = datetime.now(UTC)
    for i in range(count):
        x, y = spots[int(rng.integers(len(spots)))]
        jitter = rng.normal(0, 0.0004, 2)
        when = now - timedelta(days=float(rng.uniform(0, 60)))
        report = Report(
            lon=float(x + jitter[0]),
            lat=float(y + jitter[1]),
            type=types[int(rng.integers(len(types)))],
            channel="phone",
            description=f"演示案件 {i + 1}",
            address_text="",
        )
        try:
            _, case = submit(
                reader=using(conn),
                writer=using(conn),
                report=report,
                actor=dispatcher,
                keyed=False,
                now=when,
            )
        except OutsideServiceArea:  # a jittered point just outside the district: skip it
            continue
        path = PATHS[int(rng.choice(len(PATHS), p=weights / weights.sum()))][0]
        for action in path:
            if action == "resolve" and case_photos.needed(conn, type_code=report.type):
                for stage in evidence.HANDLER_STAGES:  # 处置前后: the site before and after
                    evidence.add(
                        conn,
                        case_id=case.id,
                        principal=dispatcher,
                        stage=stage,
                        photos=[_site_photo(stage)],
                        note=NOTES.get(stage, ""),
                    )
            version = case_version(conn, case_id=case.id)
            payload = {"note": NOTES.get(action, "")}
            if action == "verify":
                payload["outcome"] = "fixed"
            transition(
                conn,
                case_id=case.id,
                principal=dispatcher,
                action=action,
                payload=payload,
                if_match=version,
            )
    idempotency.finish(
        conn,
        key=DEMO_KEY,
        scope="demo",
        fingerprint=fingerprint,
        status_code=200,
        body={"count": count},
    )
    return count


def _dispatcher(conn: Connection) -> Principal:
    row = conn.execute(
        text("SELECT id, username FROM app_user WHERE username = 'demo-dispatcher'")
    ).first()
    if row is None:
        raise ShudiError(
            "the demo cases are moved along by the demo dispatcher, who does not exist: "
            "run `shudi demo` without --no-users once, or with --cases 0"
        )
    return Principal(user_id=row.id, username=row.username, role=Role.dispatcher)


def _site_photo(stage: str) -> SanitizedPhoto:
    """A small stand-in photo of a site: grey before, green after (demo data only)."""
    colour = (120, 120, 120) if stage == "before" else (60, 150, 80)
    buf = BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, format="JPEG")
    return sanitize_photo(buf.getvalue(), filename=f"{stage}.jpg")
