"""``POST /api/v1/resolve/batch``: the body's fast parse accepts and refuses exactly what the
documented body (``BatchIn``) does, and a large answer's gzip reads back as the answer."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from support import app_client

from jurisdictions.answer_gzip import SPLIT_FROM, gzip_answer
from jurisdictions.batch_body import parse_batch

HEADERS = {"content-type": "application/json"}


@pytest.fixture
def client(conn: Connection, mini: dict) -> Iterator[TestClient]:
    with app_client(conn) as c:
        yield c


@pytest.mark.parametrize(
    ("body", "points"),
    [
        ('{"points": [[120.002, 30.002], [120, 30]]}', [[120.002, 30.002], [120.0, 30.0]]),
        ('{"points": [[120.002, 30.002]], "crs": "gcj02", "extra": 1}', [[120.002, 30.002]]),
        ('{"points": [[120.002, 30.002]], "at": null}', [[120.002, 30.002]]),
        # read by pydantic's lax rules, as before: a numeric string, true as 1
        ('{"points": [["120.002", 30.002]]}', [[120.002, 30.002]]),
        ('{"points": [[true, 30.002]]}', [[1.0, 30.002]]),
    ],
)
def test_accepted_bodies(body: str, points: list[list[float]]) -> None:
    assert parse_batch(body.encode()).points.tolist() == points


@pytest.mark.parametrize(
    "body",
    [
        '{"points": []}',
        '{"points": [[120.0, 30.0, 1.0]]}',
        '{"points": [[120.0]]}',
        '{"points": [[120.0, 30.0], [121.0]]}',
        '{"points": [[null, 30.0]]}',
        '{"points": [["east", 30.0]]}',
        '{"points": [{"lon": 120.0, "lat": 30.0}]}',
        '{"points": "120,30"}',
        '{"points": [[120.0, 30.0]], "crs": "GCJ02"}',
        '{"points": [[120.0, 30.0]], "crs": null}',
        '{"points": [[120.0, 30.0]], "at": "yesterday"}',
        "{}",
        "[]",
        "not json",
    ],
)
def test_refused_bodies_get_the_validation_error(client: TestClient, body: str) -> None:
    r = client.post("/api/v1/resolve/batch", content=body, headers=HEADERS)
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_numbers_as_strings_answer_as_numbers(client: TestClient) -> None:
    plain = client.post("/api/v1/resolve/batch", json={"points": [[120.002, 30.002]]}).json()
    text = client.post("/api/v1/resolve/batch", json={"points": [["120.002", "30.002"]]}).json()
    assert plain == text and plain["results"][0]["property_area"]["code"] == "P111"


def test_a_timestamp_still_picks_the_generations(client: TestClient) -> None:
    body = {"points": [[120.002, 30.002]], "at": "2000-01-01T00:00:00+08:00"}
    (item,) = client.post("/api/v1/resolve/batch", json=body).json()["results"]
    assert item["error"]["code"] == "outside_service_area"  # no generation was valid then


@pytest.mark.parametrize("size", [0, 1, SPLIT_FROM - 1, SPLIT_FROM, SPLIT_FROM + 1, 3_000_001])
def test_gzip_of_an_answer_reads_back(size: int) -> None:
    data = (b'{"point":{"lon":120.1,"lat":30.2}},' * (size // 35 + 1))[:size]
    packed = gzip_answer(data)
    assert gzip.decompress(packed) == data
    decoder = httpx._decoders.GZipDecoder()  # what the benchmark's client reads it with
    assert decoder.decode(packed) + decoder.flush() == data
    if size > 1000:
        assert len(packed) < size / 10  # repetitive JSON still shrinks


def test_a_large_batch_answer_is_gzipped(client: TestClient) -> None:
    pts = [[120.0 + (i % 100) * 0.0004, 30.0 + (i // 100) * 0.0002] for i in range(10_000)]
    r = client.post(
        "/api/v1/resolve/batch", json={"points": pts}, headers={"accept-encoding": "gzip"}
    )
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    results = json.loads(r.content)["results"]  # httpx has read the gzip stream
    assert len(results) == 10_000 and len(r.content) > SPLIT_FROM
    assert results[0]["point"] == {"lon": 120.0, "lat": 30.0}
