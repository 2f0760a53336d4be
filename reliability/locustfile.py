"""The locust users of the load run (started by ``reliability.load``, one locust process a step).

Three kinds of user, each paced at one request a second (so the offered rate is the number of
users):

* ``Dispatcher`` (logged in, bearer token): polls the live map (``GET /api/v1/cases.geojson``
  with ``since`` = the previous answer's ``now``), lists cases with filters, and accepts
  reported cases (``POST /api/v1/cases/{id}/transitions`` with ``If-Match``; each case is taken
  by one user only, so no 412 is expected);
* ``Resident`` (anonymous): files a report with a photo (multipart, a real JPEG) and an
  ``Idempotency-Key``, and reads tracking pages (``GET /api/v1/track/{code}``);
* ``OtherRole`` (an agency officer or the planner): lists cases and polls the map, the roles
  that may not see reporters' phone numbers.

Every answer is timed and every body scanned for mobile phone numbers; the samples and the scan
go to ``$SHUDI_LOAD_OUT`` (JSON) when locust quits. The plan (tokens, cases, codes, points,
photo) comes from ``$SHUDI_LOAD_PLAN``.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from itertools import cycle
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant_throughput, events, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["SHUDI_LOAD_PLAN"]).read_text())
OUT = Path(os.environ["SHUDI_LOAD_OUT"])
PHOTO = Path(PLAN["photo"]).read_bytes()
#: A mainland mobile number, not part of a longer digit run or a decimal fraction.
PHONE = re.compile(rb"(?<![\d.])1[3-9]\d{9}(?!\d)")
#: Roles that may be shown reporters' phone numbers (incidents/access.py SEES_PERSONAL_DATA).
MAY_SEE_PHONES = frozenset(PLAN["may_see_phones"])

samples: list[tuple[float, str, float, int]] = []  # (unix time, name, ms, status; 0 = no answer)
scan: dict[str, Any] = {"bodies": 0, "phones": {}, "leaks": 0, "examples": []}
#: [id, version] of cases waiting for acceptance; earlier steps took the first ``OFFSET``.
OFFSET = int(os.environ.get("SHUDI_LOAD_OFFSET", "0"))
reported = iter(PLAN["reported"][OFFSET:])
taken = 0
codes: list[str] = list(PLAN["codes"])
dispatcher_tokens = cycle(PLAN["tokens"]["dispatcher"])
other_tokens = cycle(PLAN["tokens"]["other"])


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    response: Any = None,
    exception: BaseException | None = None,
    context: dict[str, Any] | None = None,
    **_kw: Any,
) -> None:
    status = 0 if exception is not None and response is None else int(response.status_code or 0)
    samples.append((time.time(), name, float(response_time), status))
    body = getattr(response, "content", None) or b""
    role = (context or {}).get("role", "?")
    scan["bodies"] += 1
    found = PHONE.findall(body)
    if found:
        where = f"{role}: {name}"
        scan["phones"][where] = scan["phones"].get(where, 0) + len(found)
        if role not in MAY_SEE_PHONES:
            scan["leaks"] += len(found)
            if len(scan["examples"]) < 5:
                scan["examples"].append([role, name, found[0].decode()])


@events.quitting.add_listener
def _write(**_kw: Any) -> None:
    OUT.write_text(json.dumps({"samples": samples, "scan": scan, "taken": taken}))


class Dispatcher(FastHttpUser):
    weight = 4
    wait_time = constant_throughput(1)

    def context(self) -> dict[str, str]:
        return {"role": "dispatcher"}

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {next(dispatcher_tokens)}"}
        self.since = PLAN["since"]

    @task(4)
    def map_poll(self) -> None:
        with self.client.get(
            "/api/v1/cases.geojson",
            params={"since": self.since},
            headers=self.auth,
            name="map GeoJSON (since)",
            catch_response=True,
        ) as r:
            if r.status_code == 200:
                self.since = r.json()["now"]

    @task(3)
    def listing(self) -> None:
        params: dict[str, Any] = {"limit": 50}
        for key, values in PLAN["filters"].items():
            if random.random() < 0.5:
                params[key] = random.choice(values)
        self.client.get("/api/v1/cases", params=params, headers=self.auth, name="listing")

    @task(1)
    def accept(self) -> None:
        global taken
        case = next(reported, None)
        if case is None:
            return
        taken += 1
        self.client.post(
            f"/api/v1/cases/{case[0]}/transitions",
            json={"action": "accept", "note": "受理"},
            headers={**self.auth, "If-Match": f'"{case[1]}"'},
            name="transition (If-Match)",
        )


def _multipart(fields: dict[str, str], photo: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with ``fields`` and one JPEG under ``photos``."""
    boundary = uuid.uuid4().hex
    out = []
    for k, v in fields.items():
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        )
    out.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; '
        f'filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        + photo
        + b"\r\n"
    )
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


class Resident(FastHttpUser):
    weight = 5
    wait_time = constant_throughput(1)

    def context(self) -> dict[str, str]:
        return {"role": "resident"}

    @task(1)
    def report(self) -> None:
        x, y = random.choice(PLAN["points"])
        body, ctype = _multipart(
            {
                "lon": f"{x:.7f}",
                "lat": f"{y:.7f}",
                "type": random.choice(PLAN["types"]),
                "description": "楼道里堆满杂物，影响通行，请尽快处理",
                "phone": f"139{random.randrange(10**8):08d}",
                "contact_name": "王女士",
            },
            PHOTO,
        )
        with self.client.post(
            "/api/v1/reports",
            data=body,  # type: ignore[arg-type]  # bytes are sent as they are
            headers={"Content-Type": ctype, "Idempotency-Key": uuid.uuid4().hex},
            name="report with photo",
            catch_response=True,
        ) as r:
            if r.status_code == 201:
                codes.append(r.json()["tracking_code"])

    @task(1)
    def track(self) -> None:
        self.client.get(f"/api/v1/track/{random.choice(codes)}", name="track")


class OtherRole(FastHttpUser):
    weight = 1
    wait_time = constant_throughput(1)

    def context(self) -> dict[str, str]:
        return {"role": self.role}

    def on_start(self) -> None:
        self.role, token = next(other_tokens)
        self.auth = {"Authorization": f"Bearer {token}"}

    @task(1)
    def listing(self) -> None:
        self.client.get("/api/v1/cases", params={"limit": 50}, headers=self.auth, name="listing")

    @task(1)
    def map_poll(self) -> None:
        self.client.get(
            "/api/v1/cases.geojson",
            params={"since": PLAN["since"]},
            headers=self.auth,
            name="map GeoJSON (since)",
        )
