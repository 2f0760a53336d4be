"""The valid-case steps of the operations that need an object in a given state (joint tasks,
return visits, surveys, exclusions, hotline orders, follows, meetings) or an administrator's
reference data (contacts, users, boundary generations, OGC collections, tiles): each sets the
case's values from :class:`reliability.fuzz_states.States` and names the role whose request it
is (``v.send_as``)."""

from __future__ import annotations

import io
import json
import math
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from urllib3.filepost import encode_multipart_formdata

if TYPE_CHECKING:
    from reliability.fuzz_valid import Draw, Validator

Recipe = Callable[["Validator", Any, str, dict[str, Any], "Draw"], None]
LANDLINE = "0571-88990000"  # published contacts are work numbers, never a mobile


def _json(case: Any, body: Any) -> None:
    case.body = body
    case.media_type = "application/json"


def _multipart(case: Any, fields: list[tuple[str, Any]]) -> None:
    """A multipart body as bytes, with its boundary in the Content-Type header."""
    raw, content_type = encode_multipart_formdata(fields)
    case.body = raw
    case.media_type = "multipart/form-data"
    if case.headers is None:
        case.headers = {}
    case.headers["Content-Type"] = content_type


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


# --- administrators' reference data ----------------------------------------------------------


def _contacts(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    case.query = {"scope_layer": "town", "scope_code": by["town"]} if draw.random() < 0.5 else {}
    v.send_as = v.states.role("admin")


def _contact_body(by: dict[str, Any], draw: Draw) -> dict[str, Any]:
    return {"agency": by["agency"], "kind": "", "scope_layer": "town", "scope_code": by["town"],
            "office": "值班室", "person": f"值班员{draw.randint(1, 99)}", "phone": LANDLINE,
            "hours": "8:30-17:30"}  # fmt: skip


def _put_contact(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    _json(case, _contact_body(by, draw))
    v.send_as = v.states.role("admin")


def _delete_contact(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: publish a contact (``PUT /contacts``) → its id → withdraw it."""
    admin = v.states.role("admin")
    body = _contact_body(by, draw)
    listed = v.states.call("PUT", "/api/v1/contacts", admin, json=body) or []
    ids = [c["id"] for c in listed if c.get("person") == body["person"]]
    if ids:
        case.path_parameters["contact_id"] = ids[0]
    v.send_as = admin


def _new_user(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    _json(case, {"username": f"fz-{uuid.uuid4().hex[:12]}", "role": "planner",
                 "display_name": "规划员"})  # fmt: skip
    v.send_as = v.states.role("admin")


def _access(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    town = {"role": "town_coordinator", "town_code": by["town"]}
    _json(case, draw.choice([{"role": "planner"}, town]))
    v.send_as = v.states.role("admin")


def _generation(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: ``GET /boundaries/generations`` → an id."""
    admin = v.states.role("admin")
    listed = v.states.call("GET", "/api/v1/boundaries/generations", admin) or []
    ids = [g["id"] for g in listed if g.get("layer") in ("town", "community")]
    if case.operation.path.endswith("/activate"):  # the active ones again: the district stays
        ids = [
            g["id"] for g in listed if g.get("layer") in ("town", "community") and g.get("active")
        ]
    if ids:
        case.path_parameters["generation_id"] = draw.choice(ids)
    case.query = {}
    v.send_as = admin


def _upload(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: an active generation's GeoJSON → uploaded again as a new generation."""
    admin = v.states.role("admin")
    listed = v.states.call("GET", "/api/v1/boundaries/generations", admin) or []
    active = [g for g in listed if g.get("layer") == "town" and g.get("active")]
    if not active:
        return
    r = v.session.get(f"{v.base_url}/api/v1/boundaries/generations/{active[0]['id']}.geojson",
                      headers=v._headers(admin), timeout=v.timeout_s)  # fmt: skip
    if r.status_code != 200:
        return
    # one area of it: a whole real layer may carry the slivers of overlap the check refuses
    layer = json.loads(r.content)
    layer["features"] = layer.get("features", [])[:1]
    data = json.dumps(layer).encode()
    _multipart(case, [("layer", "town"), ("description", "重新上传"),
                      ("file", ("towns.geojson", data, "application/geo+json"))])  # fmt: skip
    v.send_as = admin


# --- public reads: OGC, tiles, feeds ---------------------------------------------------------


def _ogc(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: ``GET /ogc/collections`` → an id (→ its items → a feature id)."""
    got = v.states.call("GET", "/ogc/collections", "anonymous") or {}
    ids = [c["id"] for c in got.get("collections", [])]
    if not ids:
        return
    collection = draw.choice(ids)
    case.path_parameters["collection_id"] = collection
    case.query = {"limit": draw.randint(1, 20)} if "items" in case.operation.path else {}
    if "feature_id" in case.path_parameters:
        items = v.states.call("GET", f"/ogc/collections/{collection}/items?limit=5", "anonymous")
        features = (items or {}).get("features", [])
        if features:
            case.path_parameters["feature_id"] = str(draw.choice(features)["id"])
        case.query = {}
    v.send_as = "anonymous"


def _tile_xyz(case: Any, by: dict[str, Any], draw: Draw) -> None:
    z = draw.randint(10, 15)
    x, y = _tile(by["lon"], by["lat"], z)
    case.path_parameters.update({"z": str(z), "x": str(x), "y": str(y)})
    case.query = {}
    if case.headers:
        case.headers.pop("If-None-Match", None)


def _boundary_tile(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    _tile_xyz(case, by, draw)
    case.path_parameters["collection"] = draw.choice(["town", "community"])
    v.send_as = "anonymous"


def _density_tile(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    _tile_xyz(case, by, draw)
    v.send_as = v.states.role("dispatcher")


def _layer(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """A layer with an active generation of its own (``agency`` only for agency units)."""
    plain = [layer for layer in v.world.layers if layer != "agency_unit"] or v.world.layers
    case.path_parameters["layer"] = draw.choice(plain)
    case.query = {k: val for k, val in (case.query or {}).items() if k in ("bbox", "zoom")}
    if "bbox" in case.query:
        case.query["bbox"] = by["bbox"]
    v.send_as = "anonymous"


def _area_feed(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    layer = draw.choice(["town", "community"])
    case.path_parameters.update({"layer": layer, "code": by[layer]})
    v.send_as = "anonymous"


# --- residents: follows, survey, the reporter's actions --------------------------------------


def _follow(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    contact = f"fz{uuid.uuid4().hex[:8]}@example.org"
    if draw.random() < 0.5:
        _json(case, {"tracking_code": by["tracking_code"], "contact": contact})
    else:
        _json(case, {"area_layer": "town", "area_code": by["town"], "contact": contact})
    v.send_as = "anonymous"


def _stop_follow(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    token = v.states.follow_token()
    if token:
        case.path_parameters["token"] = token
    v.send_as = "anonymous"


def _confirm_follow(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: ``POST /follows`` → its ref, and the code its message brings → confirmed."""
    pending = v.states.follow_request()
    if pending:
        _json(case, {"ref": pending[0], "code": pending[1]})
    v.send_as = "anonymous"


def _survey(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    made = v.states.resolved_case()
    if made:
        case.path_parameters["tracking_code"] = made[1]
    _json(case, {"resolved": True, "satisfaction": draw.randint(1, 5), "comment": ""})
    v.send_as = "anonymous"


def _dispute(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: a case resolved now → its reporter disputes the result."""
    made = v.states.resolved_case(fresh=True)
    if made:
        case.path_parameters["tracking_code"] = made[1]
    _json(case, {"action": "dispute", "note": "问题仍然存在"})
    v.send_as = "anonymous"


# --- staff: exclusions, tasks, evidence, hotline ---------------------------------------------


def _propose_exclusion(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    case_id = v.states.answered_case()
    if case_id:
        case.path_parameters["case_id"] = case_id
    _json(case, {"reason": "诉求明显不合理"})
    v.send_as = v.states.role("dispatcher")


def _review_exclusion(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    exclusion = v.states.exclusion()
    if exclusion:
        case.path_parameters["exclusion_id"] = exclusion
    _json(case, {"approve": draw.random() < 0.5, "note": "已核实"})
    v.send_as = v.states.role("admin")


def _joint_task(v: Validator, case: Any, draw: Draw) -> tuple[float, float] | None:
    """An open joint task no case had yet (a joint enforcement calls several units: each of
    the officers' tasks goes to one case); returns the point its case was filed at."""
    states = v.states
    if not states.joint_pool:
        found = states.joint_tasks()
        officers = [(r, t) for r, t in found if v.scopes[r].get("role") == "agency_officer"]
        states.joint_pool = [(r, t, states.last_point) for r, t in (officers or found)]
    if not states.joint_pool:
        return None
    label, task, point = states.joint_pool.pop(draw.randrange(len(states.joint_pool)))
    case.path_parameters["task_id"] = task
    v.send_as = label
    return point


def _report_in(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    point = _joint_task(v, case, draw)  # where the case was filed
    if point:
        _json(case, {"lon": point[0], "lat": point[1], "accuracy": draw.randint(3, 30)})


def _task_done(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: a refusal to correct reported now → a task it put on a work list → done."""
    found = v.states.refusal_tasks()
    if found:
        label, task = draw.choice(found)
        case.path_parameters["task_id"] = task
        v.send_as = label
    _json(case, {"note": "已整改"})


def _rate_task(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    town = v.states.role("town_coordinator")
    if not v.states.rated_tasks:
        own = v.scopes.get(town, {}).get("town_code")
        point = v.world.town_points.get(own) if own else None
        v.states.rated_tasks = [t for _, t in v.states.joint_tasks(point)]
    if v.states.rated_tasks:
        case.path_parameters["task_id"] = draw.choice(v.states.rated_tasks)
    _json(case, {"rating": draw.randint(1, 5), "note": ""})
    v.send_as = town


def _visit(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    task = v.states.visit_task()
    if task:
        case.path_parameters["task_id"] = task
    if draw.random() < 0.8:  # not reached: the task stays open for another call
        _json(case, {"reached": False, "comment": "无人接听"})
    else:
        _json(case, {"reached": True, "resolved": True, "satisfaction": 5, "comment": ""})
        if task in v.states.visit_tasks:  # reached: recorded, the task is done
            v.states.visit_tasks.remove(task)
    v.send_as = v.states.role("dispatcher")


def _evidence(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: a case dispatched now → the dispatcher adds before/after photos."""
    from PIL import Image

    made = v.states.file()
    if made is None or not all(v.states.act(made[0], a) for a in ("accept", "dispatch")):
        return
    picture = io.BytesIO()
    Image.new("RGB", (32, 24), (draw.randint(0, 255), 90, 160)).save(picture, "JPEG")
    case.path_parameters["case_id"] = made[0]
    _multipart(case, [("stage", draw.choice(["before", "after"])), ("note", "现场照片"),
                      ("photos", ("p.jpg", picture.getvalue(), "image/jpeg"))])  # fmt: skip
    v.send_as = v.states.role("dispatcher")


def _hotline_order(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    body: dict[str, Any] = {"order_no": f"FZ{uuid.uuid4().hex[:16]}", "content": "占道经营",
                            "lon": by["lon"], "lat": by["lat"],
                            "type_code": by["type"]}  # fmt: skip
    if draw.random() < 0.3:  # an address alone: parked for a dispatcher (202)
        body = {k: body[k] for k in ("order_no", "content")} | {"address": "无此地址"}
    _json(case, body)
    case.headers = v.states.hotline_headers(body)
    v.send_as = "anonymous"


def _place(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    order = v.states.hotline_order(parked=True)
    if order:
        case.path_parameters["order_id"] = order["order_id"]
    _json(case, {"lon": by["lon"], "lat": by["lat"], "crs": "wgs84", "type_code": by["type"]})
    v.send_as = v.states.role("dispatcher")


# --- analyses, assessment, bans, meetings -----------------------------------------------------


def _bans(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    case.query = {"include_expired": draw.choice(["true", "false"])}
    v.send_as = v.states.role(draw.choice(["dispatcher", "admin"]))


def _ban_body(draw: Draw) -> dict[str, Any]:
    """An address of TEST-NET-3 (never the fuzzer's own; a phone would be listed back)."""
    ip = f"203.0.113.{draw.randint(1, 254)}"
    return {"kind": "ip", "value": ip, "reason": "恶意举报", "days": draw.randint(1, 30)}


def _add_ban(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    _json(case, _ban_body(draw))
    v.send_as = v.states.role(draw.choice(["dispatcher", "admin"]))


def _lift_ban(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: ``POST /bans`` → its id → lifted."""
    dispatcher = v.states.role("dispatcher")
    got = v.states.call("POST", "/api/v1/bans", dispatcher, json=_ban_body(draw))
    if got:
        case.path_parameters["ban_id"] = int(got["id"])
    v.send_as = dispatcher


def _assessment_cases(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """A town's or an agency's figure by its published name, as an administrator."""
    kind, unit = draw.choice([("town", by["town"]), ("agency", by["agency"])])
    case.query = {"kind": kind, "unit": unit,
                  "figure": draw.choice(["received", "rejected", "response_due"])}  # fmt: skip
    v.send_as = v.states.role("admin")


def _hotspot_cell(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: ``GET /hotspots?grid=town&method=count`` → a cell of the answer."""
    cells = v.states.hotspot_cells()
    if cells:
        case.path_parameters["cell"] = draw.choice(cells)
    case.query = {"grid": "town", "method": "count"}
    v.send_as = v.states.role("dispatcher")


def _record(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: an extraordinary meeting prepared now → its minutes."""
    meeting = v.states.meeting()
    if meeting:
        case.path_parameters["meeting_id"] = meeting
        _json(case, v.states.record_body(meeting))
    v.send_as = v.states.role("admin")  # an admin or the town's coordinator records


def _action_done(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: a meeting recorded with a decision on a hot-spot item → its action → done."""
    action = v.states.meeting_action()
    if action:
        case.path_parameters["action_id"] = action
    _json(case, {"note": "已完成"})
    v.send_as = v.states.role("admin")


RECIPES: dict[str, Recipe] = {
    "GET /api/v1/bans": _bans,
    "POST /api/v1/bans": _add_ban,
    "DELETE /api/v1/bans/{ban_id}": _lift_ban,
    "GET /api/v1/assessment/cases": _assessment_cases,
    "GET /api/v1/hotspots/cells/{cell}": _hotspot_cell,
    "POST /api/v1/hotspots/cells/{cell}/agenda": _hotspot_cell,
    "POST /api/v1/meetings/{meeting_id}/record": _record,
    "POST /api/v1/meetings/actions/{action_id}/done": _action_done,
    "GET /api/v1/contacts": _contacts,
    "PUT /api/v1/contacts": _put_contact,
    "DELETE /api/v1/contacts/{contact_id}": _delete_contact,
    "POST /api/v1/users": _new_user,
    "PUT /api/v1/users/{username}/access": _access,
    "GET /api/v1/boundaries/generations/{generation_id}.geojson": _generation,
    "GET /api/v1/boundaries/generations/{generation_id}/compare": _generation,
    "POST /api/v1/boundaries/generations/{generation_id}/activate": _generation,
    "POST /api/v1/boundaries/uploads": _upload,
    "GET /ogc/collections/{collection_id}": _ogc,
    "GET /ogc/collections/{collection_id}/items": _ogc,
    "GET /ogc/collections/{collection_id}/items/{feature_id}": _ogc,
    "GET /tiles/{collection}/{z}/{x}/{y}.mvt": _boundary_tile,
    "GET /tiles/case_density/{z}/{x}/{y}.mvt": _density_tile,
    "GET /feeds/areas/{layer}/{code}.atom": _area_feed,
    "GET /api/v1/layers/{layer}.geojson": _layer,
    "POST /api/v1/follows": _follow,
    "POST /api/v1/follows/confirm": _confirm_follow,
    "POST /api/v1/follows/{token}/stop": _stop_follow,
    "POST /api/v1/track/{tracking_code}/survey": _survey,
    "POST /api/v1/track/{tracking_code}": _dispute,
    "POST /api/v1/cases/{case_id}/rating-exclusion": _propose_exclusion,
    "POST /api/v1/rating-exclusions/{exclusion_id}/review": _review_exclusion,
    "POST /api/v1/tasks/{task_id}/report-in": _report_in,
    "POST /api/v1/tasks/{task_id}/done": _task_done,
    "POST /api/v1/tasks/{task_id}/rating": _rate_task,
    "POST /api/v1/tasks/{task_id}/visit": _visit,
    "POST /api/v1/cases/{case_id}/evidence": _evidence,
    "POST /api/v1/hotline/orders": _hotline_order,
    "POST /api/v1/hotline/orders/{order_id}/place": _place,
}
