"""What a new password must be: long enough for the role, not a common password, not the
user name.

Common passwords: the 30,000 most common passwords of public leaks shipped with the
``zxcvbn`` package (``zxcvbn.frequency_lists``), and ``accounts/data/common-passwords-zh.txt``
(those common among Chinese users). Compared case-insensitively; a common password with
digits or punctuation added at either end is still refused ("password1!", "1qaz2wsx").
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from accounts.exceptions import AccountError
from accounts.models import Role

MIN_LENGTH = 8
#: Administrators (and planners' exports of every case) hold more: a longer minimum.
MIN_LENGTH_ADMIN = 12
ZH_LIST = Path(__file__).resolve().parent / "data" / "common-passwords-zh.txt"
_EDGES = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@cache
def common_passwords() -> frozenset[str]:
    """The refused passwords, lower-cased."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    words = {w.lower() for w in FREQUENCY_LISTS["passwords"]}
    for line in ZH_LIST.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            words.add(line.strip().lower())
    return frozenset(words)


def min_length(role: Role | str) -> int:
    """The shortest password ``role`` may have."""
    return MIN_LENGTH_ADMIN if Role(role) is Role.admin else MIN_LENGTH


def check_password(password: str, *, role: Role | str, username: str = "") -> None:
    """Raise :class:`AccountError` (with the reason) unless ``password`` may be used."""
    need = min_length(role)
    if len(password) < need:
        who = "an administrator's" if need > MIN_LENGTH else "the"
        raise AccountError(
            f"{who} password must have at least {need} characters", reason="too_short", min=need
        )
    lowered = password.lower()
    common = common_passwords()
    core = _EDGES.sub("", lowered)
    if lowered in common or (len(core) >= 4 and core in common):
        raise AccountError(
            "this password is one of the most common passwords; choose another", reason="common"
        )
    if len(set(lowered)) < 4:
        raise AccountError(
            "the password repeats too few different characters", reason="few_characters"
        )
    if username and len(username) >= 3 and username.lower() in lowered:
        raise AccountError("the password must not contain the user name", reason="has_username")
