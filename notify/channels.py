"""Transports: how a message leaves. Each gets the message's idempotency key.

- ``FileSink``: one JSON line per message in a file only its owner may read (0600), for a
  machine with no channel configured (``make run`` offline);
- ``Smtp``: e-mail (STARTTLS and login when configured), ``Message-ID: <key@domain>``;
- ``AliyunSms``: Alibaba Cloud SMS ``SendSms`` (RPC signature 1.0, HMAC-SHA1), ``OutId=key``;
- ``Webhook``: a JSON POST signed with HMAC-SHA256, ``Idempotency-Key: key``;
- ``DingTalk``: a group robot's text message, timestamp+HMAC-SHA256 signature in the query.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import queue
import smtplib
import ssl
import stat
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
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


class _Pool:
    """Idle connections to one endpoint, reused across messages and threads (keep-alive)."""

    def __init__(self, make: Callable[[], Any], close: Callable[[Any], None]) -> None:
        self.make, self.close = make, close
        self.idle: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def take(self) -> tuple[Any, bool]:
        """A connection and whether it was reused (a reused one may have gone stale)."""
        try:
            return self.idle.get_nowait(), True
        except queue.Empty:
            return self.make(), False

    def give(self, conn: Any) -> None:
        self.idle.put(conn)

    def drop(self, conn: Any) -> None:
        with contextlib.suppress(Exception):
            self.close(conn)


_HTTP_POOLS: dict[tuple[str, str], _Pool] = {}
_HTTP_LOCK = threading.Lock()


def _http_pool(scheme: str, netloc: str) -> _Pool:
    with _HTTP_LOCK:
        pool = _HTTP_POOLS.get((scheme, netloc))
        if pool is None:
            cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            pool = _Pool(lambda: cls(netloc, timeout=TIMEOUT_S), lambda c: c.close())
            _HTTP_POOLS[(scheme, netloc)] = pool
        return pool


def _post(url: str, data: bytes, headers: dict[str, str]) -> bytes:
    """POST over a kept-alive connection to ``url``'s host; a stale reused connection is
    retried once on a fresh one (the request never reached the server)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ChannelConfigError(f"not an http(s) URL: {parts.scheme}://{parts.netloc}")
    pool = _http_pool(parts.scheme, parts.netloc)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    for _ in range(2):
        conn, reused = pool.take()
        try:
            conn.request("POST", target, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
            pool.drop(conn)
            if reused:
                continue
            raise ChannelError(f"cannot reach {parts.netloc}: {exc}") from exc
        except (http.client.HTTPException, OSError) as exc:
            pool.drop(conn)
            raise ChannelError(f"cannot reach {parts.netloc}: {exc}") from exc
        if resp.will_close:
            pool.drop(conn)
        else:
            pool.give(conn)
        if resp.status >= 300:
            body = raw[:300].decode(errors="replace")
            permanent = 400 <= resp.status < 500 and resp.status != 429
            raise ChannelError(f"HTTP {resp.status}: {body}", permanent=permanent)
        return bytes(raw)
    raise ChannelError(f"cannot reach {parts.netloc}: the connection keeps closing")


def _header_safe(value: str) -> str:
    """A header value with no line breaks (no header injection)."""
    return value.replace("\r", " ").replace("\n", " ")


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
        self.pool = _Pool(self._connect, self._quit)

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S)
        if self.starttls:
            ctx = ssl.create_default_context(cafile=self.ca_file)
            smtp.starttls(context=ctx)
        if self.user:
            smtp.login(self.user, self.password)
        return smtp

    @staticmethod
    def _quit(smtp: smtplib.SMTP) -> None:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def compose(self, msg: Outgoing) -> bytes | EmailMessage:
        """The message as sent: UTF-8 text, base64, the subject RFC 2047-encoded, built
        directly (the ``email`` package's builder costs ~40× more per message); addresses that
        are not ASCII go through :class:`EmailMessage` (SMTPUTF8)."""
        message_id = f"<{msg.key}@{self.sender.rpartition('@')[2] or 'shudi'}>"
        if not (self.sender.isascii() and msg.to.isascii()):
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = self.sender, msg.to, msg.subject
            mail["Date"], mail["Message-ID"] = formatdate(localtime=False), message_id
            mail["X-Shudi-Template"] = msg.template
            mail.set_content(msg.body)
            return mail
        subject = Header(msg.subject, "utf-8").encode(linesep="\r\n") if msg.subject else ""
        body = base64.encodebytes(msg.body.encode()).replace(b"\n", b"\r\n")
        head = (
            f"From: {self.sender}\r\nTo: {msg.to}\r\nSubject: {subject}\r\n"
            f"Date: {formatdate(localtime=False)}\r\nMessage-ID: {message_id}\r\n"
            f"X-Shudi-Template: {_header_safe(msg.template)}\r\nMIME-Version: 1.0\r\n"
            'Content-Type: text/plain; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        )
        return head.encode("ascii", "replace") + body

    def send(self, msg: Outgoing) -> None:
        """One message over a kept-open session (RSET between messages); a session the server
        dropped is reopened once."""
        raw = self.compose(msg)
        for _ in range(2):
            smtp: smtplib.SMTP | None = None
            reused = False
            try:
                smtp, reused = self.pool.take()
                if isinstance(raw, bytes):
                    smtp.sendmail(self.sender, [msg.to], raw)
                else:
                    smtp.send_message(raw)
            except smtplib.SMTPServerDisconnected as exc:
                if smtp is not None:
                    self.pool.drop(smtp)
                if reused:
                    continue
                raise ChannelError(f"SMTP: {exc}") from exc
            except smtplib.SMTPRecipientsRefused as exc:
                self.pool.give(smtp)
                raise ChannelError("the mail server refused the recipient", permanent=True) from exc
            except (smtplib.SMTPException, OSError) as exc:
                if smtp is not None:
                    self.pool.drop(smtp)
                raise ChannelError(f"SMTP: {exc}") from exc
            self.pool.give(smtp)
            return
        raise ChannelError("SMTP: the server keeps closing the session")

    def close(self) -> None:
        """Quit the idle sessions."""
        while True:
            try:
                self._quit(self.pool.idle.get_nowait())
            except queue.Empty:
                return


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
