"""Text that leaves the system for the public: phone numbers and ID numbers masked.

Public outputs (Open311 answers, the tracking page) carry only what was written *for* the public
— residents' own words on the Open311 channel and the public replies of workflow actions, never
staff notes. Even those may quote a number by mistake ("已联系举报人，电话13800138003"): every
public text passes through :func:`mask` on its way out. See docs/security.md.
"""

from __future__ import annotations

import re

#: Mainland mobile numbers, with or without +86/86 and spaces or dashes between the digits.
MOBILE = re.compile(r"(?<![\dA-Za-z])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)")
#: Landlines with an area code: 0571-87654321, (0571)87654321, 021 6543 2100.
LANDLINE = re.compile(r"(?<![\dA-Za-z])\(?0\d{2,3}\)?[\s-]?\d{3,4}[\s-]?\d{4}(?!\d)")
#: Resident identity card numbers: 18 characters (birth date inside) and the old 15 digits.
ID_CARD = re.compile(
    r"(?<![\dA-Za-z])\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    r"(?![\dA-Za-z])"
    r"|(?<![\dA-Za-z])\d{6}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![\dA-Za-z])"
)
PHONE_MASK = "[电话已隐去]"
ID_MASK = "[证件号已隐去]"


def mask(text: str | None) -> str:
    """``text`` with every phone number and ID number replaced by a marker."""
    if not text:
        return ""
    out = ID_CARD.sub(ID_MASK, text)  # first: an ID contains runs that look like phones
    out = MOBILE.sub(PHONE_MASK, out)
    return LANDLINE.sub(PHONE_MASK, out)


def has_personal_number(text: str | None) -> bool:
    """Whether ``text`` holds something :func:`mask` would hide."""
    return bool(text) and mask(text) != text
