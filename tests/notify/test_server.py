"""Done-when: on a running ``shudi serve``, a report with a phone number puts the accepted SMS
in the file sink within 2 s; with channels configured, the same path reaches a local SMTP
server, an SMS endpoint that checks Alibaba Cloud's signature and a DingTalk robot that checks
DingTalk's; no phone number in the server's log."""

from __future__ import annotations

import json
import os
import socket
import stat
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from aiosmtpd.controller import Controller
from protocol_servers import (
    Received,
    aliyun_expected_signature,
    dingtalk_expected_sign,
    http_server,
)
from sqlalchemy import create_engine
from support import live_server, load_mini

from accounts.service import create_user
from jurisdictions import catalog

PASSWORD = "correct horse battery"
PHONE = "13912345678"


@pytest.fixture(scope="module")
def district(module_scratch_db_url: str) -> str:
    eng = create_engine(module_scratch_db_url)
    with eng.begin() as conn:
        load_mini(conn)
        catalog.sync_taxonomy(conn)
        create_user(conn, username="disp", password=PASSWORD, role="dispatcher")
    eng.dispose()
    return module_scratch_db_url


def file(base: str, **extra: Any) -> dict[str, Any]:
    kind = httpx.get(
        f"{base}/api/v1/violation-types", params={"agency": "urban_management", "reportable": True}
    ).json()[0]["code"]
    body = {"lon": 120.002, "lat": 30.002, "type": kind, "phone": PHONE, **extra}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r = httpx.post(f"{base}/api/v1/reports", json=body, headers=key, timeout=30)
    assert r.status_code == 201, r.text
    return dict(r.json())


def token(base: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": "disp", "password": PASSWORD})
    return str(r.json()["access_token"])


def sink_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_accepted_sms_reaches_the_file_sink_within_2s(district: str, tmp_path: Path) -> None:
    sink, log = tmp_path / "sink.jsonl", tmp_path / "server.log"
    env = {"SHUDI_NOTIFY_IN_SERVER": "1", "SHUDI_NOTIFY_SINK": str(sink),
           "SHUDI_NOTIFY_QUIET_HOURS": "off"}  # fmt: skip
    with live_server(district, log=log, **env) as base:
        case = file(base)
        start = time.monotonic()
        sms: list[dict[str, Any]] = []
        while time.monotonic() - start < 2.0 and not sms:
            time.sleep(0.05)
            sms = [m for m in sink_lines(sink) if m["channel"] == "sms"
                   and case["tracking_code"] in m["body"]]  # fmt: skip
        elapsed = time.monotonic() - start
        assert sms, f"no SMS in the sink after {elapsed:.2f} s"
        print(f"accepted SMS in the sink {elapsed:.2f} s after the 201")
        shown = httpx.get(
            f"{base}/api/v1/cases/{case['id']}/messages",
            headers={"Authorization": f"Bearer {token(base)}"},
        )
    assert sms[0]["to"] == PHONE and sms[0]["body"].startswith("【属地】")
    assert sms[0]["template"] == "case_accepted" and "/track/" in sms[0]["body"]
    assert stat.S_IMODE(os.stat(sink).st_mode) == 0o600
    assert [(m["channel"], m["state"]) for m in shown.json()] == [("sms", "sent")]
    assert PHONE not in shown.text and "139****5678" in shown.text
    assert PHONE not in log.read_text() and "139****5678" in log.read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.mails: list[bytes] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.mails.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox, port = Inbox(), _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield port, inbox
    ctl.stop()


def test_configured_channels_over_their_protocols(
    district: str, tmp_path: Path, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    sms_ok: list[dict[str, str]] = []
    robot_ok: list[dict[str, Any]] = []

    def sms_answer(got: Received) -> tuple[int, dict[str, Any]]:
        form = dict(parse_qsl(got.body.decode()))
        if form.get("Signature") != aliyun_expected_signature(form, "sms-secret"):
            return 400, {"Code": "SignatureDoesNotMatch"}
        sms_ok.append(form)
        return 200, {"Code": "OK", "Message": "OK"}

    def robot_answer(got: Received) -> tuple[int, dict[str, Any]]:
        stamp = got.query.get("timestamp", "")
        if got.query.get("sign") != dingtalk_expected_sign("SECrobot", stamp):
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        robot_ok.append(json.loads(got.body))
        return 200, {"errcode": 0, "errmsg": "ok"}

    log = tmp_path / "server.log"
    with http_server(sms_answer) as sms, http_server(robot_answer) as robot:
        env = {
            "SHUDI_NOTIFY_IN_SERVER": "1",
            "SHUDI_NOTIFY_QUIET_HOURS": "off",
            "SHUDI_NOTIFY_SINK": str(tmp_path / "unused.jsonl"),
            "SHUDI_NOTIFY_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "SHUDI_NOTIFY_SMTP_FROM": "notice@qingxi.example",
            "SHUDI_NOTIFY_SMS_ACCESS_KEY_ID": "sms-id",
            "SHUDI_NOTIFY_SMS_ACCESS_KEY_SECRET": "sms-secret",
            "SHUDI_NOTIFY_SMS_ENDPOINT": sms.url + "/",
            "SHUDI_NOTIFY_SMS_TEMPLATES": "case_accepted=SMS_900001",
            "SHUDI_NOTIFY_DINGTALK_URL": f"{robot.url}/robot/send?access_token=t",
            "SHUDI_NOTIFY_DINGTALK_SECRET": "SECrobot",
        }
        with live_server(district, log=log, **env) as base:
            case = file(base, email="li.si@example.com")
            auth = {"Authorization": f"Bearer {token(base)}"}
            for version, action in enumerate(("accept", "dispatch"), start=1):
                moved = httpx.post(
                    f"{base}/api/v1/cases/{case['id']}/transitions",
                    json={"action": action},
                    headers=auth | {"If-Match": f'"{version}"'},
                )
                assert moved.status_code == 200, moved.text
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (sms_ok and robot_ok and inbox.mails):
                time.sleep(0.1)
    assert sms_ok and sms_ok[0]["PhoneNumbers"] == PHONE
    assert sms_ok[0]["TemplateCode"] == "SMS_900001"
    assert json.loads(sms_ok[0]["TemplateParam"])["code"] == case["tracking_code"]
    mail = message_from_bytes(inbox.mails[0], policy=policy.default)
    assert mail["To"] == "li.si@example.com" and case["tracking_code"] in str(mail["Subject"])
    assert robot_ok[0]["text"]["content"].startswith("新案件")
    assert PHONE not in log.read_text() and "li.si@example.com" not in log.read_text()
    assert not (tmp_path / "unused.jsonl").exists()
