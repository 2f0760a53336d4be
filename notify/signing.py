"""Request signatures of the providers, as each documents them.

- Alibaba Cloud RPC API (SMS ``SendSms``), signature version 1.0: the parameters sorted by
  name, each name and value percent-encoded (RFC 3986: space %20, ``*`` %2A, ``~`` kept),
  joined ``k=v&...``; the string to sign is ``METHOD&%2F&`` + percentEncode(that); the
  signature is base64(HMAC-SHA1(secret + "&", string to sign)).
- DingTalk group robot: ``sign`` = urlencode(base64(HMAC-SHA256(secret, "timestamp\\nsecret")))
  with the timestamp in milliseconds, both in the query.
- Generic webhook: ``X-Shudi-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." +
  body))`` beside ``X-Shudi-Timestamp`` (seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote


def percent_encode(value: str) -> str:
    """Alibaba Cloud's percentEncode (RFC 3986 unreserved characters kept)."""
    return quote(value, safe="-_.~")


def aliyun_string_to_sign(params: dict[str, str], method: str = "POST") -> str:
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(query)}"


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """The ``Signature`` parameter of an RPC-style request (HMAC-SHA1)."""
    digest = hmac.new(
        f"{secret}&".encode(), aliyun_string_to_sign(params, method).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The robot's ``sign`` query value (already URL-encoded)."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return quote(base64.b64encode(mac.digest()).decode(), safe="")


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
