"""What the fuzzing found, pinned down: the error answers in the OpenAPI document, and inputs
that used to crash the server (NUL characters, time zone offsets PostgreSQL cannot take)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from abuse.exceptions import InvalidBan
from api.app import create_app
from api.openapi import ERRORS, OWN_ERRORS
from shudi.database import db_connection, db_reader, reader_factory
from shudi.read_replica import read_db, read_factory


@pytest.fixture
def client(conn: Connection, mini: dict) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[db_connection] = lambda: conn
    app.dependency_overrides[db_reader] = lambda: conn
    app.dependency_overrides[reader_factory] = lambda: lambda: nullcontext(conn)
    app.dependency_overrides[read_db] = lambda: conn
    app.dependency_overrides[read_factory] = lambda: lambda: nullcontext(conn)
    with TestClient(app) as c:
        yield c


def test_document_declares_the_error_answers() -> None:
    document = create_app().openapi()
    operations = {
        f"{method.upper()} {path}": op
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    }
    assert set(ERRORS) <= set(operations), "ERRORS names an operation that does not exist"
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    assert document["components"]["schemas"]["ErrorOut"]["required"] == ["code", "message"]
    for label, op in operations.items():
        if label.split()[1].startswith(OWN_ERRORS):
            assert {"400", "404"} <= set(op["responses"]), label
            continue
        responses = op["responses"]
        assert responses["503"]["content"]["application/json"]["schema"] == error_ref, label
        assert "Retry-After" in responses["503"]["headers"], label
        assert "422" in responses, label
        if op.get("security"):
            assert responses["401"]["content"]["application/json"]["schema"] == error_ref
        for status in ERRORS.get(label, ()):
            assert str(status) in responses, (label, status)
    transitions = operations["POST /api/v1/cases/{case_id}/transitions"]["responses"]
    assert {"400", "401", "403", "404", "409", "412", "413", "428"} <= set(transitions)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/violation-types", {"q": "违\x00建"}),
        ("/api/v1/route", {"lon": 120.002, "lat": 30.002, "type": "a\x00"}),
        ("/api/v1/directory/P1%0011", {}),
        ("/api/v1/track/AB%00CD", {}),
        ("/api/v1/reports/duplicates", {"lon": 120.002, "lat": 30.002, "type": "\x00"}),
    ],
)
def test_nul_characters_are_invalid_input(client: TestClient, path: str, params: dict) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request" and "NUL" in r.json()["message"]


def test_nul_characters_in_open311_get_its_error_shape(client: TestClient) -> None:
    r = client.get("/open311/v2/services/a%00b.json")
    assert r.status_code == 400
    assert r.json() == [{"code": 400, "description": "text must not contain NUL (0x00) characters"}]


def test_time_zone_offsets_postgresql_cannot_take_are_invalid_input(client: TestClient) -> None:
    params = {"lon": 120.002, "lat": 30.002, "at": "2026-01-01T10:00:00+20:23"}
    r = client.get("/api/v1/resolve", params=params)
    assert r.status_code == 422, r.text
    assert r.json() == {
        "code": "invalid_request",
        "message": "a time zone offset is out of range (at most ±15:59)",
    }


def test_a_ban_of_a_billion_years_is_invalid_input(conn: Connection, client: TestClient) -> None:
    """Found by the fuzzing: ``days`` past what a date can hold answered 500."""
    from abuse.service import add_ban
    from accounts.models import Role
    from accounts.router import current_principal
    from accounts.service import Principal

    app = client.app
    app.dependency_overrides[current_principal] = lambda: Principal(  # type: ignore[attr-defined]
        user_id=0, username="disp", role=Role.dispatcher
    )
    body = {"kind": "ip", "value": "198.51.100.7", "reason": "flood", "days": 3.5e16}
    r = client.post("/api/v1/bans", json=body)
    assert r.status_code == 422 and r.json()["code"] == "invalid_request", r.text
    assert client.post("/api/v1/bans", json=body | {"days": 30}).status_code == 201
    with pytest.raises(InvalidBan):
        add_ban(conn, kind="ip", value="198.51.100.8", reason="flood", days=float("nan"))


def test_a_streamed_export_refused_by_the_database_is_invalid_input(client: TestClient) -> None:
    """Found by the fuzzing (issue #17): the CSV export streams, so a time zone offset
    PostgreSQL cannot take failed after the answer began and answered 500."""
    from accounts.models import Role
    from accounts.router import current_principal
    from accounts.service import Principal

    app = client.app
    app.dependency_overrides[current_principal] = lambda: Principal(  # type: ignore[attr-defined]
        user_id=0, username="disp", role=Role.dispatcher
    )
    r = client.get("/api/v1/cases.csv", params={"to": "2026-01-01T00:00:00-21:10"})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request" and "15:59" in r.json()["message"]
    ok = client.get("/api/v1/cases.csv", params={"to": "2026-01-01T00:00:00+08:00"})
    assert ok.status_code == 200 and ok.content.startswith("\ufeff".encode()), ok.text


def test_document_declares_the_success_answers_the_fuzzing_got() -> None:
    """Answers the valid cases got and the document did not declare (schemathesis ST103):
    placing a parked hotline order files a case (201, docs/hotline.md), and a resident's
    first survey answer is stored (201) while a repeat returns the stored one (200)."""
    paths = create_app().openapi()["paths"]
    place = paths["/api/v1/hotline/orders/{order_id}/place"]["post"]["responses"]
    assert "201" in place and "200" not in place
    survey = paths["/api/v1/track/{tracking_code}/survey"]["post"]["responses"]
    assert {"200", "201"} <= set(survey)
