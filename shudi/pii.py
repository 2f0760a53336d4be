"""Residents' personal data encrypted at rest: AES-256-GCM with named, rotatable keys.

A sealed value is ``pii1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>``; the column it
belongs to is bound in as associated data, so a phone number cannot be moved into another
column and still open. The keys come from ``SHUDI_PII_KEYS`` (``id:base64url-key,...``, the
first one seals, all of them open) or, when that is unset, from ``$SHUDI_HOME/pii-keys``,
created with one random key on first use. Rotation: put a new key first, run
``shudi pii rotate`` (re-seals every value under it), then drop the old key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shudi.exceptions import ShudiError
from shudi.settings import Settings, get_settings

PREFIX = "pii1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
KEY_FILE = "pii-keys"


class PiiKeyError(ShudiError):
    """The personal-data keys are missing, malformed, or cannot open a stored value."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_line() -> str:
    """A fresh ``id:key`` entry for ``SHUDI_PII_KEYS`` or the key file."""
    return f"k{secrets.token_hex(4)}:{_b64(AESGCM.generate_key(bit_length=256))}"


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """``id:base64url-key`` entries separated by commas or new lines (``#`` starts a comment),
    the sealing key first."""
    keys: list[tuple[str, bytes]] = []
    lines = (line.split("#", 1)[0] for line in spec.splitlines())
    for entry in (e.strip() for line in lines for e in line.split(",")):
        if not entry:
            continue
        kid, _, raw = entry.partition(":")
        try:
            key = _unb64(raw)
        except ValueError as exc:
            raise PiiKeyError(f"personal-data key {kid!r} is not base64url") from exc
        if not _KEY_ID.match(kid) or len(key) != 32:
            raise PiiKeyError(
                f"personal-data key {kid!r} must be `id:<32 bytes, base64url>` (id: letters, "
                "digits, _ or -); make one with `shudi pii new-key`"
            )
        if kid in dict(keys):
            raise PiiKeyError(f"personal-data key id {kid!r} appears twice")
        keys.append((kid, key))
    if not keys:
        raise PiiKeyError("no personal-data key configured (SHUDI_PII_KEYS or the key file)")
    return keys


@dataclass(frozen=True)
class Cipher:
    """Seals and opens personal data; the first key seals."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def current(self) -> str:
        """The id of the sealing key."""
        return self.keys[0][0]

    def seal(self, plain: str, *, column: str) -> str:
        """``plain`` sealed under the current key (the empty string stays empty)."""
        if not plain:
            return ""
        kid, key = self.keys[0]
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, plain.encode(), column.encode())
        return f"{PREFIX}:{kid}:{_b64(nonce + sealed)}"

    def open(self, value: str, *, column: str) -> str:
        """The plain text of a sealed value (a value stored before sealing: as it is)."""
        if not value or not value.startswith(PREFIX + ":"):
            return value
        _, kid, body = value.split(":", 2)
        key = dict(self.keys).get(kid)
        if key is None:
            raise PiiKeyError(f"personal data sealed with key {kid!r}, which is not configured")
        blob = _unb64(body)
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], column.encode()).decode()
        except InvalidTag as exc:
            raise PiiKeyError(f"a {column} value does not open with key {kid!r}") from exc

    def is_current(self, value: str) -> bool:
        """Whether ``value`` is empty or already sealed under the current key."""
        return not value or value.startswith(f"{PREFIX}:{self.current}:")

    def digest(self, value: str, *, purpose: str) -> str:
        """A keyed hash of ``value`` (for counters and look-ups that must not hold it)."""
        mac = hmac.new(self.keys[0][1], f"{purpose}\0{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]


def _key_file(home: Path) -> str:
    path = home / KEY_FILE
    if not path.exists():  # written aside, then published whole: no process reads it half-made
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("# Shudi personal-data keys: the first seals, all open.\n")
            out.write(new_key_line() + "\n")
        try:
            os.link(draft, path)  # fails if another process published first: theirs is kept
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text()


def cipher_for(settings: Settings) -> Cipher:
    """The cipher the settings describe."""
    spec = settings.pii_keys or _key_file(settings.home.resolve())
    return Cipher(tuple(parse_keys(spec)))


@lru_cache(maxsize=1)
def get_cipher() -> Cipher:
    """The process-wide cipher, built on first use."""
    return cipher_for(get_settings())
