"""The 属地 duty to dissuade, stop and report (三（二）), as one use case.

"按照属地管理原则，社区居委会、物业服务企业发现物业管理区域内违法违规行为，要及时劝阻和制止，对拒不
改正的要向所在辖区镇人民政府（街道办事处）和相关执法部门报告。"

A property company's staff (in its own estate) or a community worker (in their own community)
files "found, dissuaded, refused to correct": the case is created through the staff channel,
the dissuasion is recorded on its history (who, when, what was said, photos), and the refusal
goes at once to the work lists of the town and the competent enforcement department.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from accounts.models import Role
from accounts.service import Principal
from incidents.case_record import read_case
from incidents.duties import report_refusal
from incidents.effect_context import Ctx
from incidents.exceptions import InvalidReport, NotYourPlace, TransitionForbidden
from incidents.intake import Report, create_case
from incidents.photos import SanitizedPhoto
from incidents.placement import StorePoint, store_point
from incidents.store import add_event
from jurisdictions import catalog
from jurisdictions.service import resolve_one
from notify.service import enqueue_for_event

#: The staff channel of each role that carries this duty.
CHANNEL = {Role.property_company: "patrol_property", Role.community_worker: "patrol_community"}
MAX_SAID = 2000


@dataclass
class RefusalReport:
    """What the staff member found, when they dissuaded, what was said, and photos."""

    lon: float
    lat: float
    type: str
    said: str
    """What the staff member said to the violator and how they answered (劝阻情况)."""
    dissuaded_at: datetime | None = None
    """When the dissuasion took place (default: now)."""
    party: str = ""
    """Who was dissuaded, as staff describe them (e.g. 3幢502住户); never shown to residents."""
    crs: str = "wgs84"
    description: str = ""
    address_text: str = ""
    photos: list[SanitizedPhoto] = field(default_factory=list)


def _check_place(conn: Connection, principal: Principal, point: StorePoint) -> None:
    res = resolve_one(conn, lon=point.lon, lat=point.lat)
    if principal.role is Role.property_company:
        pa = res.property_area
        if pa is None or not principal.company or pa.property_company != principal.company:
            raise NotYourPlace("该位置不在贵公司服务的物业管理区域内，只能报告本小区的违法违规行为")
    elif res.community is None or res.community.code != principal.community_code:
        raise NotYourPlace("该位置不在本社区辖区内，只能报告本社区的违法违规行为")


def _when(report: RefusalReport, now: datetime) -> datetime:
    at = report.dissuaded_at or now
    if at.tzinfo is None:
        raise InvalidReport("dissuaded_at needs a time zone, e.g. 2026-12-01T09:30:00+08:00")
    if at > now:
        raise InvalidReport("劝阻时间不能晚于现在")
    return at


def file_refusal(
    conn: Connection,
    *,
    principal: Principal,
    report: RefusalReport,
    now: datetime | None = None,
) -> dict[str, Any]:
    """File "found, dissuaded, refused to correct"; the case with the parties told."""
    channel = CHANNEL.get(principal.role)
    if channel is None:
        raise TransitionForbidden("只有物业服务企业和社区工作人员可以报告劝阻无效的违法违规行为")
    said = report.said.strip()
    if not said:
        raise InvalidReport("请填写劝阻情况（说了什么、对方如何答复）")
    if len(said) > MAX_SAID:
        raise InvalidReport(f"劝阻情况不超过 {MAX_SAID} 字")
    vtype = catalog.get_type(conn, code=report.type)
    if vtype.scope != "enforcement":
        raise InvalidReport(
            "劝阻无效的报告只用于违法违规行为（执法类问题），物业服务问题请直接办理"
        )
    now = now or datetime.now(UTC)
    at = _when(report, now)
    point = store_point(report.lon, report.lat, report.crs)  # converted once
    _check_place(conn, principal, point)
    created = create_case(
        conn,
        report=Report(
            lon=report.lon,
            lat=report.lat,
            type=report.type,
            crs=point.crs,
            description=report.description,
            address_text=report.address_text,
            channel=channel,
        ),
        actor=principal,
        now=now,
        point=point,
        photos=report.photos,
    )
    case_id = created.id
    dissuasion = {
        "by": principal.label,
        "at": at.isoformat(),
        "said": said,
        "party": report.party.strip(),
        "photos": len(report.photos),
    }
    add_event(
        conn,
        case_id=case_id,
        actor=principal,
        action="dissuasion",
        from_status="reported",
        to_status="reported",
        note=said,
        data=dissuasion,
        public=False,
    )
    case = read_case(conn, case_id=case_id)
    notify = report_refusal(Ctx(conn, case, principal, {}, now), note=said)
    add_event(
        conn,
        case_id=case_id,
        actor=principal,
        action="refused_to_correct",
        from_status="reported",
        to_status="reported",
        note=said,
        data={"notify": notify, "dissuasion": dissuasion},
        public=False,
    )
    # the units it was reported to, the estate's company and community: through the outbox
    enqueue_for_event(conn, case_id=case_id, action="refused_to_correct", data={"notify": notify})
    return {
        "id": case_id,
        "tracking_code": created.tracking_code,
        "status": "reported",
        "due_at": created.due_at,
        "handler": case["handler_name"],
        "notified": notify,
        "dissuasion": dissuasion,
    }
