"""Valid cases for the fuzzer: requests that can succeed, so the central paths are fuzzed past
their input validation (issue #17: every operation reaches its success status in ≥ 10 % of its
cases).

Half of each operation's cases are *valid*: schemathesis generates a positive case from the
OpenAPI document (its schema constraints and enums: ``fmt`` is ``json``/``xml``, a report's body
is ``ReportIn``), then :func:`make_valid` — a ``map_case``-style step — puts in values that exist
in the database under test, read at run time (:func:`load_world`): points inside the district
(a point on the surface of each community), reportable type codes, agencies, towns, layers,
an Open311 API key, a fresh ``Idempotency-Key``. Stateful links, as OpenAPI links would state
them, are followed through the fuzzer's own answers:

* log in → token (``POST /auth/token`` with a real user's password);
* file a report → its id and tracking code join the known ids (``POST /reports`` → ``case_id``,
  ``tracking_code``; Open311 ``POST requests`` likewise);
* ``GET /cases/{id}`` as the role → its ``ETag`` and ``allowed_actions`` → ``POST transitions``
  with ``If-Match`` and one allowed action (the fields it requires filled in);
* ``GET /track/{code}`` → its ``allowed_actions`` → ``POST /track/{code}``;
* ``POST /bans`` → ``DELETE /bans/{id}``; a meeting prepared → its minutes → an action done;
* and the longer chains of :mod:`reliability.fuzz_states` (a joint enforcement for the called
  unit's report-in, a resolved case for the survey, the reporter's dispute and a rating
  exclusion, a signed hotline order, a parked one to place, a follow's stop link), used by the
  recipes of :mod:`reliability.fuzz_recipes_states`, each naming the role whose request it is.

A valid case is sent as a role that has not been refused (401/403) on a valid case of that
operation yet: the fuzzer learns who may call what from the answers, not from a table.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy import create_engine, text

#: Open311 path formats (``{fmt}``) the spec serves.
FORMATS = ("json", "xml")
#: Operations whose success makes objects later operations need: fuzzed first.
PRODUCERS = (
    "POST /api/v1/reports",
    "POST /api/v1/staff/refusals",
    "POST /open311/v2/requests.{fmt}",
    "POST /api/v1/bans",
    "POST /api/v1/meetings",
)
#: Operations that use up objects or lock users out: fuzzed last, on objects of their own.
CONSUMERS = (
    "DELETE /api/v1/bans/{ban_id}",
    "POST /api/v1/meetings/{meeting_id}/record",
    "POST /api/v1/users/{username}/disable",
    "POST /api/v1/users/{username}/enable",
    "POST /api/v1/users/{username}/password",
    "DELETE /api/v1/users/{username}/sessions",
    "POST /api/v1/apikeys/{key_id}/revoke",
)
#: The user the user-administration operations act on (never one the fuzzer logs in as).
VICTIM = "fuzz-victim"


def order(label: str) -> int:
    """Sort key: producers, then the rest, then consumers."""
    if label in PRODUCERS:
        return 0
    return 2 if label in CONSUMERS else 1


@dataclass
class World:
    """Values valid in the database under test, read at run time."""

    points: list[tuple[float, float]] = field(default_factory=list)
    type_codes: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    towns: list[str] = field(default_factory=list)
    communities: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    bbox: str = ""
    api_key: str = ""
    victim_key_ids: list[int] = field(default_factory=list)
    credentials: dict[str, str] = field(default_factory=dict)
    #: a point inside each community (by code) and each property company's first estate
    community_points: dict[str, tuple[float, float]] = field(default_factory=dict)
    company_points: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: where the states of :mod:`reliability.fuzz_states` read what the API does not return
    db_url: str = ""
    #: reportable types resolved without before/after photos; agencies of the staff roles
    plain_types: list[str] = field(default_factory=list)
    joint_parties: list[str] = field(default_factory=list)
    #: reportable enforcement types (a refusal to correct is reported for these only)
    enforcement_types: list[str] = field(default_factory=list)
    #: a hotline platform's API key and signing secret
    hotline_key: str = ""
    hotline_secret: str = ""
    #: a point inside each town (by code)
    town_points: dict[str, tuple[float, float]] = field(default_factory=dict)


def load_world(db_url: str, *, credentials: dict[str, str]) -> World:
    """Read the valid values; make an Open311 API key, spare keys and the victim user."""
    from accounts.service import create_api_key, create_user
    from incidents.hotline_keys import create_platform

    world = World(credentials=dict(credentials), db_url=db_url)
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            rows = conn.execute(
                text("""SELECT ST_X(p) AS x, ST_Y(p) AS y FROM (
                            SELECT ST_Transform(ST_PointOnSurface(geom), 4326) AS p
                            FROM boundary WHERE layer = 'community' ORDER BY code) s""")
            ).all()
            world.points = [(round(r.x, 6), round(r.y, 6)) for r in rows]
            for attr, sql in (
                ("town_points", "SELECT code AS k, geom FROM boundary WHERE layer = 'town'"),
                (
                    "community_points",
                    "SELECT code AS k, geom FROM boundary WHERE layer = 'community'",
                ),
                (
                    "company_points",
                    """SELECT DISTINCT ON (property_company) property_company AS k, geom
                       FROM boundary WHERE layer = 'property_area' AND property_company <> ''
                       ORDER BY property_company, code""",
                ),
            ):
                found = conn.execute(
                    text(f"""SELECT k, ST_X(p) AS x, ST_Y(p) AS y FROM (
                             SELECT k, ST_Transform(ST_PointOnSurface(geom), 4326) AS p
                             FROM ({sql}) q) s""")
                ).all()
                setattr(world, attr, {r.k: (round(r.x, 6), round(r.y, 6)) for r in found})
            ext = conn.execute(
                text("""SELECT ST_XMin(e) a, ST_YMin(e) b, ST_XMax(e) c, ST_YMax(e) d FROM (
                        SELECT ST_Extent(ST_Transform(geom, 4326))::geometry e FROM boundary
                        WHERE layer = 'town') s""")
            ).one()
            world.bbox = f"{ext.a:.5f},{ext.b:.5f},{ext.c:.5f},{ext.d:.5f}"
            world.type_codes = list(
                conn.execute(
                    text("""SELECT code FROM violation_type
                            WHERE reportable AND active AND NOT sensitive ORDER BY code""")
                ).scalars()
            )
            world.plain_types = [
                t
                for t in conn.execute(
                    text("""SELECT code FROM violation_type WHERE reportable AND active
                            AND NOT sensitive AND NOT evidence ORDER BY code""")
                ).scalars()
            ]
            world.enforcement_types = list(
                conn.execute(
                    text("""SELECT code FROM violation_type WHERE reportable AND active
                            AND NOT sensitive AND scope = 'enforcement' ORDER BY code""")
                ).scalars()
            )
            world.joint_parties = list(
                conn.execute(
                    text("""SELECT DISTINCT agency FROM app_user WHERE agency IS NOT NULL
                            AND username = ANY(:u) ORDER BY agency"""),
                    {"u": list(credentials)},
                ).scalars()
            )
            platform = create_platform(conn, name=f"fuzz-hotline-{secrets.token_hex(3)}")
            world.hotline_key = str(platform["api_key"])
            world.hotline_secret = str(platform["secret"])
            world.agencies = list(
                conn.execute(text("SELECT code FROM agency ORDER BY code")).scalars()
            )
            for attr, layer in (("towns", "town"), ("communities", "community")):
                setattr(
                    world,
                    attr,
                    list(
                        conn.execute(
                            text(
                                "SELECT DISTINCT code FROM boundary WHERE layer = :l ORDER BY code"
                            ),
                            {"l": layer},
                        ).scalars()
                    ),
                )
            world.layers = list(
                conn.execute(text("SELECT DISTINCT layer FROM boundary ORDER BY layer")).scalars()
            )
            world.api_key = create_api_key(conn, name="fuzz")
            for n in range(20):
                create_api_key(conn, name=f"fuzz-spare-{n}")
            world.victim_key_ids = list(
                conn.execute(
                    text("SELECT id FROM api_key WHERE name LIKE 'fuzz-spare-%' ORDER BY id")
                ).scalars()
            )
            if not conn.execute(
                text("SELECT 1 FROM app_user WHERE username = :u"), {"u": VICTIM}
            ).first():
                create_user(
                    conn, username=VICTIM, password=secrets.token_urlsafe(12), role="planner"
                )
    finally:
        engine.dispose()
    if not (world.points and world.type_codes):
        raise RuntimeError("the database under test has no district or no reportable types")
    return world


Draw = random.Random  # choices hang on the fuzzer's state: drawn apart from hypothesis


class Validator:
    """Turns a generated positive case into a valid one (see the module's docstring)."""

    def __init__(
        self, base_url: str, world: World, known: Any, tokens: dict[str, str], timeout_s: float
    ) -> None:
        self.base_url = base_url
        self.world = world
        self.known = known
        self.tokens = tokens
        self.timeout_s = timeout_s
        self.session = requests.Session()
        #: photo id -> (case id, tracking code) of the reports this validator filed with a photo
        self.photos: dict[int, tuple[int, str]] = {}
        self.task_ids: list[int] = []
        #: open tasks by the role whose work list showed them
        self.tasks_of: dict[str, list[int]] = {}
        self.send_as = ""
        self._states: Any = None
        self.scopes: dict[str, dict[str, Any]] = {}
        for role in tokens:  # each role's own scope, as the API tells it
            me = self._get("/api/v1/auth/me", role)
            if me is not None and me.status_code == 200:
                self.scopes[role] = me.json()

    def file_photos(self, count: int = 3) -> None:
        """File ``count`` reports with a photo (multipart), so the photo operations have real
        photos, each with its own case and tracking code."""
        import io

        from PIL import Image

        for n in range(count):
            picture = io.BytesIO()
            Image.new("RGB", (64, 48), (40 * n, 120, 200)).save(picture, "JPEG")
            lon, lat = self.world.points[n % len(self.world.points)]
            r = self.session.post(
                f"{self.base_url}/api/v1/reports",
                data={"lon": lon, "lat": lat, "type": self.world.type_codes[0],
                      "description": "井盖缺失"},
                files={"photos": ("photo.jpg", picture.getvalue(), "image/jpeg")},
                headers={"Idempotency-Key": uuid.uuid4().hex},
                timeout=self.timeout_s,
            )  # fmt: skip
            r.raise_for_status()
            case_id, code = int(r.json()["id"]), str(r.json()["tracking_code"])
            staff = self._get(f"/api/v1/cases/{case_id}/photos", "dispatcher")
            listed = staff.json() if staff is not None and staff.status_code == 200 else []
            items = listed.get("photos", listed) if isinstance(listed, dict) else listed
            for photo in items:
                self.photos[int(photo["id"])] = (case_id, code)
                self.known.photo_ids.append(int(photo["id"]))
            self.known.case_ids.append(case_id)
            self.known.tracking_codes.append(code)

    @property
    def states(self) -> Any:
        """The stateful links (:class:`reliability.fuzz_states.States`), made when first used."""
        if self._states is None:
            from reliability.fuzz_states import States

            self._states = States(self)
        return self._states

    def _headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}

    def _get(self, path: str, role: str) -> requests.Response | None:
        try:
            return self.session.get(
                self.base_url + path, headers=self._headers(role), timeout=self.timeout_s
            )
        except requests.RequestException:
            return None

    def make_valid(self, label: str, case: Any, role: str, draw: Draw) -> str:
        """Put valid values into ``case`` (in place) for ``label`` sent as ``role``; returns
        the role to send it as (a recipe may name the one whose request it is)."""
        w = self.world
        point = draw.choice(w.points)
        type_code = draw.choice(w.type_codes)
        by_name: dict[str, Any] = {
            "lon": point[0],
            "lat": point[1],
            "type": type_code,
            "service_code": type_code,
            "bbox": w.bbox,
            "fmt": draw.choice(FORMATS),
        }
        if w.agencies:
            by_name["agency"] = draw.choice(w.agencies)
        if w.towns:
            by_name["town"] = draw.choice(w.towns)
        if w.communities:
            by_name["community"] = draw.choice(w.communities)
        if w.layers:
            by_name["layer"] = draw.choice(w.layers)
        known_ids = {
            "case_id": self.known.case_ids,
            "request_id": self.known.case_ids,
            "tracking_code": self.known.tracking_codes,
            "token": self.known.tracking_codes,
            # the photos it filed itself, whose case and tracking code it knows
            "photo_id": list(self.photos) or self.known.photo_ids,
            "ban_id": self.known.ban_ids,
            "meeting_id": self.known.meeting_ids,
            "action_id": self.known.action_ids,
            "property_area_code": self.known.property_areas,
            "key_id": w.victim_key_ids,
            "task_id": self.task_ids,
        }
        for name, values in known_ids.items():
            if values:
                by_name[name] = draw.choice(values)
        by_name["username"] = VICTIM
        # filters that narrow a listing to nothing or to a bad window are left out
        drop = {"crs", "at", "since", "until", "from", "to", "status", "scope", "q", "offset"}
        for container in (case.path_parameters, case.query):
            if not container:
                continue
            for name in list(container):
                if name in drop and container is case.query:
                    del container[name]
                elif name in by_name:
                    container[name] = by_name[name]
        if case.headers is not None and "idempotency-key" in {k.lower() for k in case.headers}:
            case.headers["Idempotency-Key"] = uuid.uuid4().hex
        photo_id = (case.path_parameters or {}).get("photo_id")
        if photo_id in self.photos:  # a photo is asked for through its own case
            owner, code = self.photos[photo_id]
            for name, value in (("case_id", owner), ("tracking_code", code)):
                if name in case.path_parameters:
                    case.path_parameters[name] = value
        from reliability.fuzz_recipes import RECIPES

        self.send_as = role
        recipe = RECIPES.get(label)
        if recipe is not None:
            recipe(self, case, role, by_name, draw)  # may name the role it belongs to
        return self.send_as


def harvest(
    label: str,
    status: int,
    body: Any,
    known: Any,
    sent: Any,
    validator: Validator | None = None,
    role: str = "",
) -> None:
    """Follow the links of an answer: new ids join the known ones; used-up ones leave."""
    if label == "GET /api/v1/tasks" and status == 200 and validator is not None:
        items = body.get("tasks", body.get("items", [])) if isinstance(body, dict) else body
        for task in items if isinstance(items, list) else []:
            if isinstance(task, dict) and "id" in task and task["id"] not in validator.task_ids:
                validator.task_ids.append(int(task["id"]))
                if not task.get("done"):
                    validator.tasks_of.setdefault(role, []).append(int(task["id"]))
    if 200 <= status < 300 and isinstance(body, dict):
        if label == "POST /api/v1/reports" and "id" in body:
            known.case_ids.append(int(body["id"]))
            known.tracking_codes.append(str(body["tracking_code"]))
        elif label == "POST /api/v1/bans" and "id" in body:
            known.ban_ids.append(int(body["id"]))
        elif label == "POST /api/v1/meetings" and "id" in body:
            known.meeting_ids.append(int(body["id"]))
    if label == "DELETE /api/v1/bans/{ban_id}" and status in (204, 404):
        _discard(known.ban_ids, sent.get("ban_id"))
    if label == "POST /api/v1/meetings/{meeting_id}/record" and status in (200, 201, 409):
        _discard(known.meeting_ids, sent.get("meeting_id"))


def _discard(values: list[Any], value: Any) -> None:
    if value in values and len(values) > 1:
        values.remove(value)
