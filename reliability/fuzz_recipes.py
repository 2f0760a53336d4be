"""The per-operation steps of the fuzzer's valid cases (``reliability/fuzz_valid.py``): the
body or query an operation needs beyond what its parameters' names give, and the links an
operation follows (a case's ETag and allowed actions before a transition, a tracking page's
actions before a reporter's), each a ``map_case``-style step on a generated positive case."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reliability.fuzz_recipes_states import RECIPES as STATE_RECIPES

if TYPE_CHECKING:
    from reliability.fuzz_valid import Draw, Validator


def _set_header(case: Any, name: str, value: str) -> None:
    if case.headers is None:
        case.headers = {}
    case.headers[name] = value


def _report(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    case.body = {
        "lon": by["lon"],
        "lat": by["lat"],
        "type": by["type"],
        "description": "围墙倒塌，堵住人行道",
        "phone": "13800000000",
        "contact_name": "王五",
    }
    case.media_type = "application/json"
    _set_header(case, "Idempotency-Key", uuid.uuid4().hex)
    v.send_as = "anonymous"  # a resident's report (staff file through their own channels)


def _refusal(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """A property company or community worker, at a point of its own estate or community."""
    own = []
    for name, scope in v.scopes.items():
        if scope.get("company") in v.world.company_points:
            own.append((name, v.world.company_points[scope["company"]]))
        elif scope.get("community_code") in v.world.community_points:
            own.append((name, v.world.community_points[scope["community_code"]]))
    if not own:
        return
    name, (lon, lat) = draw.choice(sorted(own))
    case.body = {"lon": lon, "lat": lat, "type": by["type"], "said": "拒不整改", "party": "某商户"}
    case.media_type = "application/json"
    v.send_as = name


def _duplicates(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    case.query = {"lon": by["lon"], "lat": by["lat"], "type": by["type"]}


def _token(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:

    username = draw.choice(sorted(v.world.credentials))
    case.body = {"username": username, "password": v.world.credentials[username]}
    case.media_type = "application/x-www-form-urlencoded"


def _open311_post(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    case.body = {
        "api_key": v.world.api_key,
        "jurisdiction_id": "shudi",
        "service_code": by["type"],
        "lat": by["lat"],
        "long": by["lon"],
        "description": "路灯不亮",
    }
    case.media_type = "application/x-www-form-urlencoded"


def _open311_get(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    case.query = {"jurisdiction_id": "shudi"}


def _transition(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: ``GET /cases/{id}`` → ETag and an allowed action → the transition."""

    r = v._get(f"/api/v1/cases/{case.path_parameters['case_id']}", role)
    if r is None or r.status_code != 200:
        return
    actions = [a for a in r.json().get("allowed_actions", []) if a not in ("merge", "joint")]
    if not actions:
        return
    action = draw.choice(sorted(actions))
    due = (datetime.now(UTC) + timedelta(days=draw.randint(2, 20))).isoformat()
    body: dict[str, Any] = {"action": action, "note": "已现场核实"}
    extra: dict[str, dict[str, Any]] = {
        "refer": {"to_party": by.get("agency")},
        "verify": {"outcome": draw.choice(["fixed", "not_fixed", "not_our_matter"])},
        "request_postpone": {"due_at": due},
        "postpone": {"due_at": due},
        "order_correction": {"due_at": due},
        "correct_location": {"lon": by["lon"], "lat": by["lat"]},
        "correct_type": {"type": by["type"]},
    }
    body |= extra.get(action, {})
    if action == "complete_task":
        tasks = [t["id"] for t in r.json().get("tasks", []) if not t.get("done")]
        body["task_id"] = tasks[0] if tasks else 0
    case.body = body
    case.media_type = "application/json"
    _set_header(case, "If-Match", r.headers.get("ETag", ""))


def _track_action(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    """Link: ``GET /track/{code}`` → an allowed action of the reporter."""

    for _ in range(5):  # a case whose reporter can act now
        r = v._get(f"/api/v1/track/{case.path_parameters['tracking_code']}", "anonymous")
        actions = sorted(r.json().get("allowed_actions", [])) if r and r.status_code == 200 else []
        if actions or not v.known.tracking_codes:
            break
        case.path_parameters["tracking_code"] = draw.choice(v.known.tracking_codes)
    if not actions:
        return
    action = draw.choice(actions)
    body: dict[str, Any] = {"action": action, "note": "问题仍然存在"}
    if action == "rate":
        body["satisfaction"] = draw.choice(["satisfied", "dissatisfied"])
    case.body = body
    case.media_type = "application/json"


def _meeting(v: Validator, case: Any, role: str, by: dict[str, Any], draw: Draw) -> None:
    if isinstance(case.body, dict):
        case.body["town"] = by.get("town", "")
        case.body.pop("month", None)


RECIPES: dict[str, Callable[[Validator, Any, str, dict[str, Any], Draw], None]] = {
    "POST /api/v1/reports": _report,
    "GET /api/v1/reports/duplicates": _duplicates,
    "POST /api/v1/auth/token": _token,
    "POST /open311/v2/requests.{fmt}": _open311_post,
    "GET /open311/v2/requests.{fmt}": _open311_get,
    "POST /api/v1/cases/{case_id}/transitions": _transition,
    "POST /api/v1/track/{tracking_code}": _track_action,
    "POST /api/v1/meetings": _meeting,
    "POST /api/v1/staff/refusals": _refusal,
}
RECIPES |= STATE_RECIPES
