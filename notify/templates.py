"""Message templates as data (``notify/data/templates.yaml``): loading, rendering, SMS length.

An SMS is the 【signature】 and the Chinese text; providers count 70 characters for a single
message and 67 per part of a long one (the rest carries the reassembly header), so a body is
fitted to ``max_segments`` parts by shortening its free-text variables, never its links.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from notify.exceptions import TemplateError

TEMPLATE_FILE = Path(__file__).with_name("data") / "templates.yaml"
SINGLE = 70  # characters of one SMS (UCS-2, signature included)
PART = 67  # characters of each part of a long SMS
#: Variables that may be shortened to fit an SMS, the first first.
SHORTENABLE = ("note", "reason", "address", "handler", "town", "type")
_UNSAFE = re.compile(r"[【】\r\n\t]+")


@dataclass(frozen=True)
class Template:
    name: str
    version: int
    audience: str
    urgent: bool
    zh_subject: str
    zh_body: str
    en_subject: str
    en_body: str
    sms: str

    @property
    def variables(self) -> set[str]:
        texts = (self.zh_subject, self.zh_body, self.en_subject, self.en_body, self.sms)
        return {f for t in texts for _, f, _, _ in string.Formatter().parse(t) if f}


def _template(name: str, spec: dict[str, Any]) -> Template:
    try:
        tpl = Template(
            name=name,
            version=int(spec["version"]),
            audience=str(spec["audience"]),
            urgent=bool(spec.get("urgent", False)),
            zh_subject=str(spec["zh"]["subject"]),
            zh_body=str(spec["zh"]["body"]),
            en_subject=str(spec["en"]["subject"]),
            en_body=str(spec["en"]["body"]),
            sms=str(spec.get("sms", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(f"template {name!r} is incomplete ({exc})") from exc
    if tpl.audience not in ("resident", "staff"):
        raise TemplateError(f"template {name!r}: audience is resident or staff")
    if tpl.audience == "resident" and not tpl.sms:
        raise TemplateError(f"template {name!r}: a resident's template needs an sms text")
    if {"phone", "email", "contact_name"} & tpl.variables:
        raise TemplateError(f"template {name!r} may not show personal data")
    return tpl


@lru_cache(maxsize=4)
def load_templates(path: Path = TEMPLATE_FILE) -> dict[str, Template]:
    """Every template, checked."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {name: _template(name, spec) for name, spec in raw.items()}


def get_template(name: str) -> Template:
    templates = load_templates()
    if name not in templates:
        raise TemplateError(f"no template {name!r}; known: {', '.join(sorted(templates))}")
    return templates[name]


def clean(value: Any) -> str:
    """A variable's text: no line breaks and no 【】 (which would fake a signature)."""
    return _UNSAFE.sub(" ", "" if value is None else str(value)).strip()


#: Phone numbers as incidents.public_text masks them (mobiles with or without +86, landlines
#: with an area code): a message quotes a resident's or an officer's free text (an address,
#: a note) that may hold one; nobody told through the outbox reads it there.
_MOBILE = re.compile(r"(?<![\dA-Za-z])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)")
_LANDLINE = re.compile(r"(?<![\dA-Za-z])\(?0\d{2,3}\)?[\s-]?\d{3,4}[\s-]?\d{4}(?!\d)")
PHONE_MASK = "[电话已隐去]"
#: Variables that are codes or links, never free text: not masked.
VERBATIM = frozenset({"code", "case", "vcode", "link", "survey", "optout", "case_link", "confirm"})


def mask_numbers(value: str) -> str:
    """``value`` with phone numbers replaced by a marker."""
    return _LANDLINE.sub(PHONE_MASK, _MOBILE.sub(PHONE_MASK, value))


def fill(text: str, params: dict[str, Any]) -> str:
    """``text`` with its variables: cleaned, and free text's phone numbers masked."""
    try:
        return text.format_map(
            {k: clean(v) if k in VERBATIM else mask_numbers(clean(v)) for k, v in params.items()}
        )
    except KeyError as exc:
        raise TemplateError(f"template variable {exc} has no value") from exc


def sms_segments(text: str) -> int:
    """How many parts the provider bills ``text`` as (70 for one, 67 per part beyond)."""
    n = len(text)
    return 1 if n <= SINGLE else math.ceil(n / PART)


def sms_limit(max_segments: int) -> int:
    return SINGLE if max_segments == 1 else PART * max_segments


def check_sign_name(sign: str) -> str:
    if not 2 <= len(sign) <= 12 or _UNSAFE.search(sign):
        raise TemplateError("the SMS signature is 2 to 12 characters without 【】")
    return sign


def render_sms(tpl: Template, params: dict[str, Any], *, sign: str, max_segments: int) -> str:
    """【sign】 + the SMS text, shortened (free text first, with …) to ``max_segments`` parts."""
    prefix = f"【{check_sign_name(sign)}】"
    limit = sms_limit(max_segments)
    values = {k: clean(v) for k, v in params.items()}
    text = prefix + fill(tpl.sms, values)
    for name in SHORTENABLE:
        over = len(text) - limit
        if over <= 0:
            break
        if name not in values or f"{{{name}}}" not in tpl.sms or len(values[name]) <= 1:
            continue
        keep = max(len(values[name]) - over - 1, 0)
        values[name] = values[name][:keep] + "…"
        text = prefix + fill(tpl.sms, values)
    if len(text) > limit:
        raise TemplateError(f"template {tpl.name!r}: the SMS cannot fit {max_segments} part(s)")
    return text


def render_email(tpl: Template, params: dict[str, Any]) -> tuple[str, str]:
    """Subject and body: Chinese first, English second."""
    subject = f"{fill(tpl.zh_subject, params)} / {fill(tpl.en_subject, params)}"
    body = f"{fill(tpl.zh_body, params)}\n\n{fill(tpl.en_body, params)}\n"
    if "optout" in params:
        body += f"\n不再接收通知 / Stop these messages: {clean(params['optout'])}\n"
    return subject, body


def render_staff(tpl: Template, params: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of a staff notice (Chinese, then English)."""
    subject = fill(tpl.zh_subject, params)
    return subject, f"{fill(tpl.zh_body, params)}\n{fill(tpl.en_body, params)}"


def mask_phone(phone: str) -> str:
    """138****5678: enough to tell numbers apart, not to call."""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:]


def mask_email(email: str) -> str:
    local, _, domain = email.strip().partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
