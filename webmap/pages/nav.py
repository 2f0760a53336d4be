"""The staff's navigation: every page a role may use, its home, and the bar on every staff page.

One table (:data:`ROLE_PAGES`) says which pages each role may open, in menu order; the first
is the role's home (where log-in and ``/`` lead). Pages that check access themselves
(``api/pages.py``, ``hotspots``, ``assessment``, ``meetings``) agree with it; the bar never
links to a page that would answer 403.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webmap.pages.common import esc, with_lang

#: key → (path, Chinese, English)
PAGES: dict[str, tuple[str, str, str]] = {
    "work": ("/work", "我的待办", "My work"),
    "dispatch": ("/map/dispatch", "调度地图", "Dispatch map"),
    "cases": ("/cases", "案件列表", "Cases"),
    "meetings": ("/meetings", "联席会议", "Meetings"),
    "assessment": ("/assessment", "工作考核", "Assessment"),
    "hotspots": ("/map/hotspots", "热点分析", "Hot spots"),
    "report": ("/report", "现场上报", "Report"),
    "admin": ("/admin", "管理首页", "Administration"),
    "users": ("/admin/users", "用户管理", "Users"),
    "contacts": ("/admin/contacts", "联系人", "Contacts"),
    "bans": ("/admin/bans", "封禁管理", "Bans"),
    "boundaries": ("/admin/boundaries", "边界图层", "Boundaries"),
}

#: The pages of each role, its home first.
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "dispatcher": ("dispatch", "work", "cases", "meetings", "hotspots", "report"),
    "agency_officer": ("work", "cases", "report"),
    "town_coordinator": (
        "work",
        "dispatch",
        "cases",
        "meetings",
        "assessment",
        "hotspots",
        "report",
    ),
    "community_worker": ("work", "cases", "report"),
    "property_company": ("work", "cases", "report"),
    "planner": ("hotspots",),
    "admin": (
        "admin",
        "users",
        "contacts",
        "bans",
        "boundaries",
        "cases",
        "assessment",
        "hotspots",
        "meetings",
    ),
}

ROLE_NAMES: dict[str, tuple[str, str]] = {
    "dispatcher": ("调度员", "dispatcher"),
    "agency_officer": ("部门工作人员", "agency officer"),
    "town_coordinator": ("镇/街道协调员", "town coordinator"),
    "community_worker": ("社区工作人员", "community worker"),
    "property_company": ("物业企业", "property company"),
    "planner": ("规划人员", "planner"),
    "admin": ("管理员", "administrator"),
}

WORDS: dict[str, tuple[str, str]] = {
    "menu": ("主导航", "Main menu"),
    "logout": ("退出", "Log out"),
    "skip": ("跳到正文", "Skip to content"),
}


def pages_of(role: str) -> tuple[str, ...]:
    """The keys of the pages ``role`` may open (its home first); none for an unknown role."""
    return ROLE_PAGES.get(role, ())


def may_open(role: str, key: str) -> bool:
    """Whether the menu of ``role`` holds page ``key``."""
    return key in pages_of(role)


def home_of(role: str) -> str:
    """The path of the role's home page (``/report`` for a role with none)."""
    keys = pages_of(role)
    return PAGES[keys[0]][0] if keys else "/report"


def role_name(role: object, lang: str = "zh") -> str:
    """A role's name in the page language."""
    pair = ROLE_NAMES.get(str(role))
    return pair[1 if lang == "en" else 0] if pair else str(role or "")


def nav_bar(user: Mapping[str, Any], current: str | None, lang: str = "zh") -> str:
    """The bar: the role's pages (``current`` marked), who is logged in, and log out."""
    en = 1 if lang == "en" else 0
    role = str(user.get("role") or "")
    links = "".join(
        f'<a href="{esc(with_lang(PAGES[k][0], lang))}" data-page="{esc(k)}"'
        + (' aria-current="page"' if k == current else "")
        + f">{esc(PAGES[k][1 + en])}</a>"
        for k in pages_of(role)
    )
    return (
        f'<nav class="staff-nav" data-testid="nav" aria-label="{esc(WORDS["menu"][en])}">'
        f'<div class="nav-links">{links}</div>'
        f'<div class="nav-user"><span>{esc(role_name(role, lang))} '
        f'<span class="username" translate="no">{esc(user.get("username"))}</span></span>'
        '<form method="post" action="/logout"><button type="submit" class="btn link">'
        f"{esc(WORDS['logout'][en])}</button></form></div></nav>"
    )
