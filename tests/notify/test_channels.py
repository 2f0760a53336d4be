"""Each transport against a local server that speaks its protocol and checks it as the
provider documents it: SMTP (aiosmtpd, plain and STARTTLS+login), Alibaba Cloud SendSms,
the DingTalk group robot, the generic signed webhook; and the file sink."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import ssl
import stat
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from protocol_servers import (
    Received,
    aliyun_expected_signature,
    dingtalk_expected_sign,
    http_server,
)

from notify.channels import AliyunSms, DingTalk, FileSink, Outgoing, Smtp, Webhook
from notify.exceptions import ChannelConfigError, ChannelError
from notify.signing import aliyun_signature

MSG = Outgoing(
    key="5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5",
    channel="email",
    to="resident@example.com",
    subject="您反映的问题已受理（查询码 ABCDEFGHJKMN） / Your report has been accepted",
    body="您反映的问题已受理。\n\nYour report has been accepted.\n",
    template="case_accepted",
    params={"code": "ABCDEFGHJKMN"},
)


def test_aliyun_signature_matches_the_documented_example() -> None:
    # the SendSms example of Alibaba Cloud's SMS documentation (AccessKey testId/testSecret)
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
        "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
    }  # fmt: skip
    assert aliyun_signature(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


class Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_smtp_delivers_with_the_key_as_message_id() -> None:
    inbox = Inbox()
    port = _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        Smtp(f"smtp://127.0.0.1:{port}", "shudi@district.example").send(MSG)
    finally:
        ctl.stop()
    (sender, rcpts, raw), = inbox.mails  # fmt: skip
    assert sender == "shudi@district.example" and rcpts == ["resident@example.com"]
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Message-ID"] == f"<{MSG.key}@district.example>"
    assert mail["Subject"] == MSG.subject
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.index("已受理") < text.index("accepted")


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_smtp_starttls_and_login(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins: list[str] = []

    def authenticator(_server: Any, _session: Any, _env: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and data.password == b"s3cret:/@"
        logins.append(f"{mechanism}:{data.login.decode()}:{ok}")
        return AuthResult(success=ok)

    inbox = Inbox()
    port = _free_port()
    ctl = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
        authenticator=authenticator, auth_require_tls=True,
    )  # fmt: skip
    ctl.start()
    try:
        url = f"smtp://mailer:s3cret%3A%2F%40@127.0.0.1:{port}?starttls=1"
        Smtp(url, "shudi@district.example", ca_file=cert).send(MSG)
        with pytest.raises(ChannelError):
            Smtp(f"smtp://mailer:wrong@127.0.0.1:{port}?starttls=1", "s@x.example",
                 ca_file=cert).send(MSG)  # fmt: skip
    finally:
        ctl.stop()
    assert len(inbox.mails) == 1
    assert logins[0].endswith(":mailer:True") and logins[-1].endswith(":False")
    with pytest.raises(ChannelConfigError):  # a password never travels in the clear
        Smtp(f"smtp://u:p@127.0.0.1:{port}", "s@x.example")


def sms_message() -> Outgoing:
    return Outgoing(
        key="a1b2c3d4e5f60718293a4b5c6d7e8f90",
        channel="sms",
        to="13812345678",
        subject="",
        body="【属地】您反映的问题已受理",
        template="case_accepted",
        params={"code": "ABCDEFGHJKMN", "handler": "城管一中队"},
    )


def test_aliyun_sendsms_is_signed_as_documented() -> None:
    def answer(got: Received) -> tuple[int, dict[str, Any]]:
        form = dict(__import__("urllib.parse").parse.parse_qsl(got.body.decode()))
        ok = form.get("Signature") == aliyun_expected_signature(form, "key-secret")
        if not ok:
            return 400, {"Code": "SignatureDoesNotMatch", "Message": "bad signature"}
        if form["PhoneNumbers"] == "10000":
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "illegal number"}
        return 200, {"Code": "OK", "Message": "OK", "BizId": "1", "RequestId": "r"}

    sms = sms_message()
    with http_server(answer) as server:
        channel = AliyunSms(key_id="key-id", secret="key-secret", endpoint=server.url + "/",
                            sign_name="属地", templates="case_accepted=SMS_100")  # fmt: skip
        channel.send(sms)
        with pytest.raises(ChannelError) as bad:
            channel.send(Outgoing(**(vars(sms) | {"to": "10000"})))
        assert bad.value.permanent
        wrong = AliyunSms(key_id="key-id", secret="other", endpoint=server.url + "/",
                          sign_name="属地", templates="case_accepted=SMS_100")  # fmt: skip
        with pytest.raises(ChannelError) as refused:
            wrong.send(sms)
        assert "SignatureDoesNotMatch" in str(refused.value)
    form = dict(__import__("urllib.parse").parse.parse_qsl(server.received[0].body.decode()))
    assert form["Action"] == "SendSms" and form["Version"] == "2017-05-25"
    assert form["SignatureMethod"] == "HMAC-SHA1" and form["SignatureVersion"] == "1.0"
    assert form["OutId"] == sms.key and form["SignName"] == "属地"
    assert form["TemplateCode"] == "SMS_100" and form["PhoneNumbers"] == "13812345678"
    assert json.loads(form["TemplateParam"]) == {"code": "ABCDEFGHJKMN", "handler": "城管一中队"}
    dt.datetime.strptime(form["Timestamp"], "%Y-%m-%dT%H:%M:%SZ")


def test_dingtalk_robot_signature_and_message() -> None:
    secret = "SEC0123456789abcdef"

    def answer(got: Received) -> tuple[int, dict[str, Any]]:
        stamp = got.query.get("timestamp", "0")
        fresh = abs(int(stamp) - time.time() * 1000) < 3600_000
        if not fresh or got.query.get("sign") != dingtalk_expected_sign(secret, stamp):
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    with http_server(answer) as server:
        url = f"{server.url}/robot/send?access_token=tok"
        DingTalk(url, secret).send(MSG)
        with pytest.raises(ChannelError, match="310000"):
            DingTalk(url, "SECwrong").send(MSG)
    first = server.received[0]
    assert first.query["access_token"] == "tok"
    body = json.loads(first.body)
    assert body["msgtype"] == "text" and body["text"]["content"].startswith(MSG.subject)


def test_webhook_is_signed_and_carries_the_idempotency_key() -> None:
    secret = "hook-secret"

    def answer(got: Received) -> tuple[int, dict[str, Any]]:
        stamp = got.headers["x-shudi-timestamp"]
        mac = hmac.new(secret.encode(), stamp.encode() + b"." + got.body, hashlib.sha256)
        if got.headers["x-shudi-signature"] != "sha256=" + mac.hexdigest():
            return 401, {"error": "bad signature"}
        return 200, {"ok": True}

    with http_server(answer) as server:
        Webhook(server.url + "/hook", secret).send(MSG)
        with pytest.raises(ChannelError, match="401") as bad:
            Webhook(server.url + "/hook", "other").send(MSG)
        assert bad.value.permanent
    assert server.received[0].headers["idempotency-key"] == MSG.key
    assert json.loads(server.received[0].body)["to"] == "resident@example.com"


def test_file_sink_is_json_lines_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "sink" / "out.jsonl"
    sink = FileSink(path)
    sink.send(MSG)
    sink.send(sms_message())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [m["key"] for m in lines] == [MSG.key, sms_message().key]
    assert lines[1]["to"] == "13812345678" and lines[1]["body"].startswith("【属地】")
