"""Transports: how a message leaves. Each gets the message's idempotency key.

- ``FileSink``: one JSON line per message in a file only its owner may read (0600), for a
  machine with no channel configured (``make run`` offline);
- ``Smtp``: e-mail (STARTTLS and login when configured), ``Message-ID: <key@domain>``;
- ``AliyunSms``: Alibaba Cloud SMS ``SendSms`` (RPC signature 1.0, HMAC-SHA1), ``OutId=key``;
- ``Webhook``: a JSON POST signed with HMAC-SHA256, ``Idempotency-Key: key``;
- ``DingTalk``: a group robot's text message, timestamp+HMAC-SHA256 signature in the query.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import stat
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from notify.exceptions import ChannelConfigError, ChannelError
from notify.signing import aliyun_signature, dingtalk_sign, webhook_signature

TIMEOUT_S = 10.0
#: Alibaba Cloud answers that retrying cannot fix.
ALIYUN_PERMANENT = (
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.INVALID_PARAMETERS",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
)


@dataclass(frozen=True)
class Outgoing:
    """A message as a transport sees it (``to`` in the clear: a transport must have it)."""

    key: str
    channel: str
    to: str
    subject: str
    body: str
    template: str
    params: dict[str, Any]


class Transport(Protocol):
    name: str

    def send(self, msg: Outgoing) -> None: ...


class FileSink:
    """Appends each message as one JSON line; the file is readable by its owner only."""

    name = "file"
    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, msg: Outgoing) -> None:
        line = json.dumps(
            {
                "key": msg.key,
                "at": datetime.now(UTC).isoformat(),
                "channel": msg.channel,
                "to": msg.to,
                "template": msg.template,
                "subject": msg.subject,
                "body": msg.body,
            },
            ensure_ascii=False,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if stat.S_ISREG(os.fstat(fd).st_mode):  # never a device such as /dev/null
                    os.fchmod(fd, 0o600)
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)


def _post(url: str, data: bytes, headers: dict[str, str]) -> bytes:
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return bytes(resp.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()[:300].decode(errors="replace")
        raise ChannelError(
            f"HTTP {exc.code}: {body}", permanent=400 <= exc.code < 500 and exc.code != 429
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ChannelError(f"cannot reach {urlsplit(url).netloc}: {exc}") from exc


class Smtp:
    """E-mail over SMTP: ``smtp://[user:pass@]host:port[?starttls=1]``."""

    name = "smtp"

    def __init__(self, url: str, sender: str, ca_file: Path | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme != "smtp" or not parts.hostname:
            raise ChannelConfigError("SHUDI_NOTIFY_SMTP_URL is smtp://[user:pass@]host:port")
        self.host = parts.hostname
        self.port = parts.port or 25
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else ""
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.sender = sender
        self.ca_file = ca_file
        if self.user and not self.starttls:
            raise ChannelConfigError("SMTP login needs ?starttls=1 (no password in the clear)")

    def send(self, msg: Outgoing) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = msg.to
        mail["Subject"] = msg.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{msg.key}@{self.sender.rpartition('@')[2] or 'shudi'}>"
        mail["X-Shudi-Template"] = msg.template
        mail.set_content(msg.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S) as smtp:
                if self.starttls:
                    ctx = ssl.create_default_context(cafile=self.ca_file)
                    smtp.starttls(context=ctx)
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError("the mail server refused the recipient", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP: {exc}") from exc


class AliyunSms:
    """Alibaba Cloud SMS ``SendSms`` (POST, form-encoded, signature version 1.0)."""

    name = "aliyun"

    def __init__(
        self, *, key_id: str, secret: str, endpoint: str, sign_name: str, templates: str
    ) -> None:
        self.key_id, self.secret, self.endpoint, self.sign_name = (
            key_id,
            secret,
            endpoint,
            sign_name,
        )
        self.templates: dict[str, str] = {}
        for entry in filter(None, (e.strip() for e in templates.split(","))):
            name, eq, code = entry.partition("=")
            if not eq or not code.strip():
                raise ChannelConfigError("SHUDI_NOTIFY_SMS_TEMPLATES is name=SMS_code,...")
            self.templates[name.strip()] = code.strip()

    def request(self, msg: Outgoing, *, nonce: str, timestamp: str) -> dict[str, str]:
        """The signed form parameters of one ``SendSms`` call."""
        code = self.templates.get(msg.template)
        if code is None:
            raise ChannelError(f"no SMS template code for {msg.template!r}", permanent=True)
        params = {
            "AccessKeyId": self.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": msg.key,
            "PhoneNumbers": msg.to,
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": code,
            "TemplateParam": json.dumps(msg.params, ensure_ascii=False, sort_keys=True),
            "Timestamp": timestamp,
            "Version": "2017-05-25",
        }
        return {"Signature": aliyun_signature(params, self.secret, "POST"), **params}

    def send(self, msg: Outgoing) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        form = self.request(msg, nonce=str(uuid.uuid4()), timestamp=stamp)
        raw = _post(
            self.endpoint,
            urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": msg.key},
        )
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise ChannelError("SMS provider answered something that is not JSON") from exc
        if answer.get("Code") != "OK":
            code = str(answer.get("Code"))
            raise ChannelError(
                f"SMS provider: {code} {answer.get('Message', '')}",
                permanent=code in ALIYUN_PERMANENT,
            )


class Webhook:
    """A JSON POST signed with HMAC-SHA256 (``X-Shudi-Signature``) for any channel."""

    name = "webhook"

    def __init__(self, url: str, secret: str | None) -> None:
        if not secret:
            raise ChannelConfigError("SHUDI_NOTIFY_WEBHOOK_URL needs SHUDI_NOTIFY_WEBHOOK_SECRET")
        self.url, self.secret = url, secret

    def send(self, msg: Outgoing) -> None:
        body = json.dumps(
            {
                "key": msg.key,
                "channel": msg.channel,
                "to": msg.to,
                "template": msg.template,
                "subject": msg.subject,
                "body": msg.body,
            },
            ensure_ascii=False,
        ).encode()
        stamp = str(int(time.time()))
        _post(
            self.url,
            body,
            {
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": msg.key,
                "X-Shudi-Timestamp": stamp,
                "X-Shudi-Signature": webhook_signature(self.secret, stamp, body),
            },
        )


class DingTalk:
    """A DingTalk group robot (``msgtype: text``), signed when a secret is set."""

    name = "dingtalk"

    def __init__(self, url: str, secret: str | None) -> None:
        self.url, self.secret = url, secret

    def send(self, msg: Outgoing) -> None:
        url = self.url
        if self.secret:
            ms = int(time.time() * 1000)
            url += (
                f"{'&' if '?' in url else '?'}timestamp={ms}&sign={dingtalk_sign(self.secret, ms)}"
            )
        body = json.dumps(
            {"msgtype": "text", "text": {"content": f"{msg.subject}\n{msg.body}"}},
            ensure_ascii=False,
        ).encode()
        raw = _post(
            url,
            body,
            {"Content-Type": "application/json; charset=utf-8", "X-Shudi-Message-Key": msg.key},
        )
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise ChannelError("DingTalk answered something that is not JSON") from exc
        if answer.get("errcode") != 0:
            raise ChannelError(f"DingTalk: {answer.get('errcode')} {answer.get('errmsg', '')}")
