"""Stateful links for the fuzzer's valid cases: objects in the state an operation needs, made
through the API itself as the role whose work it is (issue #17).

Each chain follows the product's own steps, as a client would: a resident files a report, the
dispatcher accepts it, calls a joint enforcement, dispatches, starts and resolves it; the
called unit finds its task in its work list; the resident answers the survey of a resolved
case; a hotline platform sends a signed work order; a follower confirms with the code its
confirmation message carries (read from the outbox, as the recipient reads the SMS or e-mail).
What the API does not hand back (a stop link's token) is read from the database under test,
like the other values of :class:`reliability.fuzz_valid.World`.

The server under the fuzzer runs with :data:`SERVER_ENV`: the fuzzer is one client at one
address, asking for hundreds of follows an hour (the per-address and per-target limits stay).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, text

from incidents.hotline_keys import sign
from meetings.service import today

if TYPE_CHECKING:
    from reliability.fuzz_valid import Validator

NOTE = "已现场核实"
#: A hot-spot analysis any district can answer: cases counted per town.
HOTSPOTS = "grid=town&method=count"
#: The server's settings for a fuzz run (beside the benchmarks' report limits).
#: Failed log-ins per address too: at 1,000 cases the generated wrong passwords of
#: ``POST /auth/token`` locked 127.0.0.1 out (536 of 1,000 answers 429); the per-account limit
#: stays, and tests/api holds the throttle itself.
SERVER_ENV = {
    "SHUDI_NOTIFY_FOLLOW_LIMIT_IP": "1000000/1m",
    "SHUDI_LOGIN_MAX_FAILURES_ADDRESS": "1000000",
}
#: Decisions (each with one action) recorded on a meeting made for the actions' cases.
ACTIONS_PER_MEETING = 10


class States:
    """Makes, and remembers, objects in the states the operations need."""

    def __init__(self, v: Validator) -> None:
        self.v = v
        self.engine = create_engine(v.world.db_url) if v.world.db_url else None
        self.resolved: list[tuple[int, str]] = []  # (case id, tracking code), survey open
        self.visit_tasks: list[int] = []
        self.rated_tasks: list[int] = []  # joint tasks of a case in the town role's town
        self.filed = 0
        self.follows = 0  # follow requests made (their targets taken in turn)
        self.last_point: tuple[float, float] = (0.0, 0.0)
        #: objects one chain made more of than its case used, each handed to one later case:
        #: open meeting actions, and open joint tasks (role label, task id, the case's point)
        self.open_actions: list[int] = []
        self.joint_pool: list[tuple[str, int, tuple[float, float]]] = []
        self.cells: list[str] = []  # the hot-spot count's cells, asked once

    # --- plumbing ---------------------------------------------------------------------------

    def role(self, role: str) -> str:
        """The first fuzzer role label with this role ("dispatcher", "admin", ...)."""
        for label, scope in sorted(self.v.scopes.items()):
            if scope.get("role") == role:
                return label
        return ""

    def call(self, method: str, path: str, role: str, **kw: Any) -> Any:
        """The JSON answer of a 2xx, else None."""
        headers = kw.pop("headers", {}) | self.v._headers(role)
        try:
            r = self.v.session.request(
                method, self.v.base_url + path, headers=headers, timeout=self.v.timeout_s, **kw
            )
        except Exception:
            return None
        if not 200 <= r.status_code < 300:
            return None
        if not r.content:
            return {}
        try:
            return r.json() if r.content[:1] in (b"{", b"[") else {"_headers": dict(r.headers)}
        except ValueError:
            return None

    def query(self, sql: str, **params: Any) -> list[Any]:
        if self.engine is None:
            return []
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    # --- cases -------------------------------------------------------------------------------

    def file(self, point: tuple[float, float] | None = None) -> tuple[int, str] | None:
        """A resident's report (a type that needs no photos to be resolved)."""
        w = self.v.world
        lon, lat = point or w.points[self.filed % len(w.points)]
        self.filed += 1
        self.last_point = (lon, lat)
        body = {"lon": lon, "lat": lat, "type": (w.plain_types or w.type_codes)[0],
                "description": "围墙倒塌，堵住人行道"}  # fmt: skip
        got = self.call("POST", "/api/v1/reports", "anonymous", json=body,
                        headers={"Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
        return (int(got["id"]), str(got["tracking_code"])) if got else None

    def act(self, case_id: int, action: str, role: str = "", **extra: Any) -> bool:
        """One transition as ``role`` (the dispatcher by default), with the case's ETag."""
        role = role or self.role("dispatcher")
        path = f"/api/v1/cases/{case_id}"
        try:
            r = self.v.session.get(
                self.v.base_url + path, headers=self.v._headers(role), timeout=self.v.timeout_s
            )
        except Exception:
            return False
        etag = r.headers.get("ETag") if r.status_code == 200 else None
        body = {"action": action, "note": NOTE} | extra
        done = self.call("POST", path + "/transitions", role, json=body,
                         headers={"If-Match": etag} if etag else {})  # fmt: skip
        return done is not None

    def resolve(self, case_id: int) -> bool:
        return all(self.act(case_id, a) for a in ("accept", "dispatch", "start", "resolve"))

    def resolved_case(self, fresh: bool = False) -> tuple[int, str] | None:
        """A resolved case and its tracking code (``fresh``: one made now, used up by the
        caller)."""
        if self.resolved and not fresh:
            return self.resolved[0]
        made = self.file()
        if made is None or not self.resolve(made[0]):
            return None
        if not fresh:
            self.resolved.append(made)
        return made

    def joint_tasks(self, point: tuple[float, float] | None = None) -> list[tuple[str, int]]:
        """A new joint enforcement: (role label that sees it in its work list, task id)."""
        w = self.v.world
        agencies = [a for a in w.joint_parties if a in w.agencies] or w.agencies[:2]
        made = self.file(point)
        if made is None or not self.act(made[0], "accept"):
            return []
        if not self.act(made[0], "joint", parties=agencies):
            return []
        return self.work_tasks(made[0], ("joint",))

    def work_tasks(self, case_id: int, kinds: tuple[str, ...] = ()) -> list[tuple[str, int]]:
        """Open tasks of a case as the work lists show them: (role label, task id)."""
        found = []
        for label, scope in sorted(self.v.scopes.items()):
            if scope.get("role") in ("agency_officer", "town_coordinator", "community_worker"):
                listed: Any = self.call("GET", "/api/v1/tasks", label) or []
                items: Any = (
                    listed.get("tasks", listed.get("items", []))
                    if isinstance(listed, dict)
                    else listed
                )
                found += [
                    (label, int(t["id"]))
                    for t in items
                    if t.get("case_id") == case_id
                    and not t.get("done")
                    and (not kinds or t.get("kind") in kinds)
                ]
        return found

    def refusal_tasks(self) -> list[tuple[str, int]]:
        """A refusal to correct reported by a community worker or a property company in its
        own area: the open tasks it puts on the town's and the agencies' work lists."""
        own = []
        for label, scope in sorted(self.v.scopes.items()):
            point = self.v.world.company_points.get(scope.get("company") or "")
            point = point or self.v.world.community_points.get(scope.get("community_code") or "")
            if point:
                own.append((label, point))
        if not own:
            return []
        label, (lon, lat) = own[self.filed % len(own)]
        self.filed += 1
        types = self.v.world.enforcement_types or self.v.world.type_codes
        body = {"lon": lon, "lat": lat, "type": types[self.filed % len(types)],
                "said": "拒不整改", "party": "某商户"}  # fmt: skip
        got = self.call("POST", "/api/v1/staff/refusals", label, json=body)
        case_id = (got or {}).get("case_id", (got or {}).get("id"))
        if not case_id:
            return []
        return self.work_tasks(int(case_id))

    # --- follow-ups ---------------------------------------------------------------------------

    def answered_case(self) -> int | None:
        """A new resolved case with a survey answer (what a rating exclusion needs)."""
        made = self.resolved_case(fresh=True)
        if made is None:
            return None
        body = {"resolved": True, "satisfaction": 2, "comment": "态度一般"}
        got = self.call("POST", f"/api/v1/track/{made[1]}/survey", "anonymous", json=body)
        return made[0] if got is not None else None

    def exclusion(self) -> int | None:
        """A new pending rating exclusion."""
        case_id = self.answered_case()
        if case_id is None:
            return None
        got = self.call("POST", f"/api/v1/cases/{case_id}/rating-exclusion",
                        self.role("dispatcher"), json={"reason": "诉求不合理"})  # fmt: skip
        return int(got["id"]) if got else None

    def follow_request(self) -> tuple[str, str, str] | None:
        """A new pending follow: (its confirmation ref, the code, the address's digest), as
        the resident gets them: the ref from the answer, the code from the confirmation
        message as its channel is handed it (the outbox row the sender passes on: its body is
        the text sent, its recipient sealed). Targets taken in turn, so that no case or area
        reaches its own hourly limit of follow requests."""
        targets: list[dict[str, str]] = [{"tracking_code": c} for c in self.v.known.tracking_codes]
        targets += [{"area_layer": "town", "area_code": t} for t in self.v.world.towns]
        targets += [{"area_layer": "community", "area_code": c} for c in self.v.world.communities]
        for _ in range(min(3, len(targets))):
            target = targets[self.follows % len(targets)]
            self.follows += 1
            contact = f"fz{uuid.uuid4().hex[:10]}@example.org"
            got = self.call(
                "POST", "/api/v1/follows", "anonymous", json=target | {"contact": contact}
            )
            if got and got.get("confirm_ref"):
                break
        else:
            return None
        ref = str(got["confirm_ref"])
        link = f"/follow/confirm/{ref}?code="
        rows = self.query(
            """SELECT body, recipient_digest FROM notify_message
               WHERE strpos(body, :link) > 0 ORDER BY id DESC LIMIT 1""",
            link=link,
        )
        code = re.search(re.escape(link) + r"(\d{6})", rows[0].body) if rows else None
        return (ref, code.group(1), str(rows[0].recipient_digest)) if code else None

    def follow_token(self) -> str | None:
        """A new confirmed follow's stop token (the link its messages carry): asked for,
        confirmed with the code its message brought, then read from the database under test
        (the follow of that address)."""
        pending = self.follow_request()
        if pending is None:
            return None
        ref, code, digest = pending
        got = self.call("POST", "/api/v1/follows/confirm", "anonymous",
                        json={"ref": ref, "code": code})  # fmt: skip
        if not (got or {}).get("confirmed"):
            return None
        rows = self.query(
            """SELECT token FROM notify_follow WHERE recipient_digest = :d
               AND confirmed_at IS NOT NULL ORDER BY id DESC LIMIT 1""",
            d=digest,
        )
        return str(rows[0].token) if rows else None

    # --- hotline ------------------------------------------------------------------------------

    def hotline_headers(self, body: dict[str, Any]) -> dict[str, str]:
        """The platform's signature of the body as the requests library sends it."""
        raw = json.dumps(body, allow_nan=False).encode()
        stamp = str(int(time.time()))
        return {"X-Api-Key": self.v.world.hotline_key, "X-Timestamp": stamp,
                "X-Signature": sign(self.v.world.hotline_secret, stamp, raw)}  # fmt: skip

    def hotline_order(self, *, parked: bool = False) -> dict[str, Any] | None:
        w = self.v.world
        lon, lat = w.points[0]
        body: dict[str, Any] = {"order_no": f"FZ{uuid.uuid4().hex[:16]}", "content": "占道经营",
                                "type_code": (w.plain_types or w.type_codes)[0]}  # fmt: skip
        if parked:
            body["address"] = f"无此地址{uuid.uuid4().hex[:6]}"
        else:
            body |= {"lon": lon, "lat": lat, "address": "金桂苑"}
        got = self.call("POST", "/api/v1/hotline/orders", "anonymous", json=body,
                        headers=self.hotline_headers(body))  # fmt: skip
        return got if isinstance(got, dict) else None

    def visit_task(self) -> int | None:
        """An open 回访 task: a hotline case resolved."""
        if self.visit_tasks:
            return self.visit_tasks[0]
        order = self.hotline_order()
        if not order or "case_id" not in order or not self.resolve(int(order["case_id"])):
            return None
        rows = self.query(
            """SELECT id FROM case_task WHERE case_id = :c AND kind = 'return_visit'
               AND NOT done""",
            c=int(order["case_id"]),
        )
        self.visit_tasks += [int(r.id) for r in rows]
        return self.visit_tasks[0] if self.visit_tasks else None

    def hotspot_cells(self) -> list[str]:
        """The cells of a hot-spot count by town (what the hot-spot page lists): asked once a
        run (the towns holding cases; the fuzzer's own reports only add cases to them)."""
        if not self.cells:
            got = self.call("GET", f"/api/v1/hotspots?{HOTSPOTS}", self.role("dispatcher")) or {}
            self.cells = [str(f["properties"]["cell"]) for f in got.get("features", [])
                          if (f.get("properties") or {}).get("cell") is not None]  # fmt: skip
        return self.cells

    # --- meetings -----------------------------------------------------------------------------

    def meeting(self) -> int | None:
        """A new extraordinary meeting of the dispatcher's first town."""
        body = {"town": self.v.world.towns[0], "kind": "extraordinary", "topic": "联合执法"}
        got = self.call("POST", "/api/v1/meetings", self.role("admin"), json=body)
        return int(got["id"]) if got else None

    def meeting_action(self) -> int | None:
        """An open meeting action no case had yet: a hot-spot cell proposed for the town's
        meeting, the meeting prepared and recorded with a decision and an action on each of its
        items (up to :data:`ACTIONS_PER_MEETING`; the others are kept for the next cases)."""
        if self.open_actions:
            return self.open_actions.pop(0)
        dispatcher, admin = self.role("dispatcher"), self.role("admin")
        for cell in self.hotspot_cells():
            self.call("POST", f"/api/v1/hotspots/cells/{cell}/agenda?{HOTSPOTS}", dispatcher)
        meeting = self.meeting()
        if meeting is None:
            return None
        body = self.record_body(meeting, items=ACTIONS_PER_MEETING)
        if not body["decisions"]:
            return None
        got = self.call("POST", f"/api/v1/meetings/{meeting}/record", admin, json=body)
        actions = [int(a["id"]) for item in (got or {}).get("items", [])
                   for a in item.get("actions", []) if not a.get("done_on")]  # fmt: skip
        self.open_actions += actions[1:]
        return actions[0] if actions else None

    def record_body(self, meeting_id: int, *, items: int = 3) -> dict[str, Any]:
        """The minutes of a meeting: a decision with an action on each of its first ``items``
        items."""
        got = self.call("GET", f"/api/v1/meetings/{meeting_id}", self.role("admin")) or {}
        town = self.v.world.towns[0]
        decisions = [
            {"item_id": int(item["id"]), "decision": "限期整改",
             "actions": [{"title": "整改复查", "owner_kind": "town", "owner_code": town,
                          "due_on": (today() + timedelta(days=14)).isoformat()}]}
            for item in got.get("items", [])[:items]
        ]  # fmt: skip
        return {
            "held_on": today().isoformat(),  # the district's day, as the meetings count it
            "attendees": [{"party": "town_government", "unit": "镇政府", "name": "李四"}],
            "decisions": decisions,
            "note": "",
        }
