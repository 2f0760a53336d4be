"""Handling evidence (处置前后) over HTTP on a real PostGIS: the handler's before/after photos,
the rule that a type whose remedy can be seen on site is resolved only with both, and what the
resident tracking the case sees of them. Which types are "visible on site" is the product's
choice written in the taxonomy; the two tests below pick one of each by hand: an illegal
structure (违章搭建, 二（五）3.1: removed or not, a photo shows it) and a neighbours' dispute
(mediated: nothing to photograph)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Connection
from support import IN_P111, app_client

from accounts.service import Principal, issue_token
from incidents import service
from incidents.intake import Report, submit, using


@pytest.fixture
def client(conn: Connection, world: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


def auth(conn: Connection, who: Principal) -> dict[str, str]:
    token, _ = issue_token(conn, principal=who)
    return {"Authorization": f"Bearer {token}"}


def jpeg(colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG")
    return buf.getvalue()


def act(conn: Connection, who: Principal, case_id: int, action: str, **payload: Any) -> None:
    version = service.get_case(conn, case_id=case_id, principal=who)["version"]
    service.transition(
        conn, case_id=case_id, principal=who, action=action, payload=payload, if_match=version
    )


def in_progress(
    conn: Connection, world: dict, type_code: str, files: Sequence[tuple[str, bytes]] = ()
) -> dict[str, Any]:
    """A report of ``type_code`` at P111 (with ``files`` as its photos), accepted, dispatched
    and taken up by its handler."""
    report = Report(lon=IN_P111[0], lat=IN_P111[1], type=type_code, description="测试")
    _, filed = submit(
        reader=using(conn), writer=using(conn), keyed=False, report=report, files=files
    )
    case = filed.as_json()
    d = world["dispatcher"]
    act(conn, d, case["id"], "accept")
    act(conn, d, case["id"], "dispatch")
    handler = world["urban"] if type_code == "illegal_construction" else d
    act(conn, handler, case["id"], "start")
    return case


def resolve(client: TestClient, conn: Connection, who: Principal, cid: int) -> Any:
    version = service.get_case(conn, case_id=cid, principal=who)["version"]
    return client.post(
        f"/api/v1/cases/{cid}/transitions",
        headers=auth(conn, who) | {"If-Match": f'"{version}"'},
        json={"action": "resolve", "note": "已拆除"},
    )


def evidence(client: TestClient, conn: Connection, who: Principal, cid: int, stage: str) -> Any:
    return client.post(
        f"/api/v1/cases/{cid}/evidence",
        headers=auth(conn, who),
        data={"stage": stage, "note": "现场照片"},
        files=[("photos", (f"{stage}.jpg", jpeg(), "image/jpeg"))],
    )


def test_an_illegal_structure_is_resolved_only_with_before_and_after_photos(
    conn: Connection, world: dict, client: TestClient
) -> None:
    urban = world["urban"]
    case = in_progress(conn, world, "illegal_construction")
    cid = case["id"]

    refused = resolve(client, conn, urban, cid)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "evidence_required"
    assert refused.json()["missing"] == ["before", "after"]

    after = evidence(client, conn, urban, cid, "after")
    assert after.status_code == 201, after.text
    assert after.json()["missing"] == ["before"]
    assert resolve(client, conn, urban, cid).json()["missing"] == ["before"]

    before = evidence(client, conn, urban, cid, "before")
    assert before.status_code == 201 and before.json()["missing"] == []
    done = resolve(client, conn, urban, cid)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved"

    stages = [
        p["stage"]
        for p in client.get(f"/api/v1/cases/{cid}/photos", headers=auth(conn, urban)).json()
    ]
    assert stages == ["after", "before"]
    # the resident sees what was done (the after-photo), not the handler's before-photo
    code = case["tracking_code"]
    tracked = client.get(f"/api/v1/track/{code}").json()
    assert tracked["photo_ids"] == [] and tracked["after_photo_ids"] == [
        after.json()["photo_ids"][0]
    ]
    assert "evidence" in [e["action"] for e in tracked["events"]]
    assert (
        client.get(f"/api/v1/track/{code}/photos/{after.json()['photo_ids'][0]}").status_code == 200
    )
    hidden = client.get(f"/api/v1/track/{code}/photos/{before.json()['photo_ids'][0]}")
    assert hidden.status_code == 404


def test_a_report_photo_counts_as_before(conn: Connection, world: dict, client: TestClient) -> None:
    urban = world["urban"]
    case = in_progress(conn, world, "illegal_construction", files=[("r.jpg", jpeg((9, 9, 9)))])
    assert resolve(client, conn, urban, case["id"]).json()["missing"] == ["after"]
    assert evidence(client, conn, urban, case["id"], "after").status_code == 201
    assert resolve(client, conn, urban, case["id"]).status_code == 200


def test_a_dispute_is_resolved_without_photos(
    conn: Connection, world: dict, client: TestClient
) -> None:
    d = world["dispatcher"]
    case = in_progress(conn, world, "dispute_property_management")
    assert resolve(client, conn, d, case["id"]).status_code == 200


def test_who_and_when(conn: Connection, world: dict, client: TestClient) -> None:
    case = in_progress(conn, world, "illegal_construction")
    cid = case["id"]
    # another town's coordinator does not see the case; the police do not handle it
    assert evidence(client, conn, world["town_t2"], cid, "after").status_code == 404
    stranger = evidence(client, conn, world["police_ps1"], cid, "after")
    assert stranger.status_code in (403, 404), stranger.text
    # the town of the place sees the case but does not handle it
    town = evidence(client, conn, world["town_t1"], cid, "after")
    assert town.status_code == 403 and town.json()["code"] == "forbidden"
    bad = client.post(
        f"/api/v1/cases/{cid}/evidence",
        headers=auth(conn, world["urban"]),
        data={"stage": "during"},
        files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))],
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_report"
    empty = client.post(
        f"/api/v1/cases/{cid}/evidence", headers=auth(conn, world["urban"]), data={"stage": "after"}
    )
    assert empty.status_code == 422 and empty.json()["code"] == "missing_field"
    not_image = client.post(
        f"/api/v1/cases/{cid}/evidence",
        headers=auth(conn, world["urban"]),
        data={"stage": "after"},
        files=[("photos", ("a.jpg", b"not a picture at all", "image/jpeg"))],
    )
    assert not_image.status_code == 422 and not_image.json()["photo_error"] == "not_an_image"
    # once resolved and closed, nothing more is added
    assert evidence(client, conn, world["urban"], cid, "before").status_code == 201
    assert evidence(client, conn, world["urban"], cid, "after").status_code == 201
    assert resolve(client, conn, world["urban"], cid).status_code == 200
    act(conn, world["dispatcher"], cid, "verify", outcome="fixed", note="核实")
    late = evidence(client, conn, world["urban"], cid, "after")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"
