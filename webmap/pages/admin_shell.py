"""What the administrator's pages share: the page shell (menu, stylesheet, script), area and
agency names for the pickers, and small form pieces. Every value from data goes through
:func:`esc`; the forms are sent by ``static/admin.js`` to the JSON API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from webmap.pages.common import LEAFLET_CSS, LEAFLET_JS, STATIC, esc, plain_page
from webmap.pages.nav import nav_bar

LAYER_NAMES = {
    "town": "镇/街道",
    "community": "社区",
    "property_area": "物业管理区域（小区）",
    "agency_unit": "部门辖区（派出所、中队等）",
    "": "全区",
}


def page(
    *,
    user: Mapping[str, Any],
    current: str,
    title: str,
    body: str,
    scripts: Sequence[str] = (),
    leaflet: bool = False,
) -> str:
    """A complete admin page: the menu (``current`` marked), ``body`` in ``<main>``; with
    ``leaflet``, the app's own copy of Leaflet loaded first."""
    main = (
        f"{nav_bar(user, current, 'zh')}"
        f'<main class="workbench admin" id="main" data-testid="admin-{esc(current)}">'
        f"<h1>{esc(title)}</h1>{body}</main>"
    )
    return plain_page(
        lang="zh",
        title=f"{title} · 属地",
        body=main,
        scripts=("admin", *scripts),
        styles=((LEAFLET_CSS,) if leaflet else ()) + (f"{STATIC}/admin.css",),
        vendor_scripts=(LEAFLET_JS,) if leaflet else (),
    )


def options(
    pairs: Iterable[tuple[str, str]], selected: str | None = None, blank: str | None = None
) -> str:
    """``<option>`` elements of (value, label) pairs; a first empty option labelled ``blank``."""
    out = f'<option value="">{esc(blank)}</option>' if blank is not None else ""
    for value, label in pairs:
        mark = " selected" if value == selected else ""
        out += f'<option value="{esc(value)}"{mark}>{esc(label)}</option>'
    return out


def field(label: str, control: str, *, hint: str = "", attrs: str = "", default: str = "") -> str:
    """A labelled control (the label wraps it, so it is always named); ``default`` names a
    field of a file (kept untranslated)."""
    more = f'<span class="hint">{esc(hint)}</span>' if hint else ""
    if default:
        more += f'<span class="hint">留空即读取 <code translate="no">{esc(default)}</code></span>'

    return f'<label class="field"{attrs}><span>{esc(label)}</span>{control}{more}</label>'


def feedback() -> str:
    """Where a form's error (role=alert) and result appear."""
    return (
        '<div class="form-error card error" data-role="error" role="alert" hidden></div>'
        '<div class="form-result" data-role="result" role="status" hidden></div>'
    )


def names(choices: Mapping[str, Any]) -> dict[str, str]:
    """``layer:code`` and ``agency:code`` → Chinese name, for the lists."""
    out = {f"agency:{a['code']}": a["name_zh"] for a in choices["agencies"]}
    for layer, areas in choices["areas"].items():
        out |= {f"{layer}:{a['code']}": a["name"] for a in areas}
    return out


def area_options(choices: Mapping[str, Any], layer: str, selected: str | None = None) -> str:
    """The active areas of ``layer`` (labelled with their parent's name) as options."""
    parents = {"community": "town", "property_area": "community"}
    by_code = names(choices)
    pairs = []
    for a in choices["areas"].get(layer, []):
        parent = by_code.get(f"{parents.get(layer)}:{a['parent_code']}")
        pairs.append((a["code"], f"{parent} · {a['name']}" if parent else a["name"]))
    return options(pairs, selected, blank="（请选择）")


def agency_options(choices: Mapping[str, Any], selected: str | None = None) -> str:
    return options(
        ((a["code"], a["name_zh"]) for a in choices["agencies"]), selected, blank="（请选择）"
    )


def unit_options(choices: Mapping[str, Any], selected: str | None = None) -> str:
    """Every agency's field units, each marked with its agency (the page shows those of the
    chosen agency)."""
    out = '<option value="">（整个部门）</option>'
    for u in choices["areas"].get("agency_unit", []):
        mark = " selected" if u["code"] == selected else ""
        out += (
            f'<option value="{esc(u["code"])}" data-agency="{esc(u["agency"])}"{mark}>'
            f"{esc(u['name'])}</option>"
        )
    return out


def company_options(choices: Mapping[str, Any], selected: str | None = None) -> str:
    """The property companies named by the active estates, each with the estates it runs."""
    estates: dict[str, list[str]] = {}
    for e in choices["areas"].get("property_area", []):
        if e.get("company"):
            estates.setdefault(e["company"], []).append(e["name"])
    pairs = []
    for company in choices["companies"]:
        some = "、".join(estates[company][:3])
        more = f"等 {len(estates[company])} 个小区" if len(estates[company]) > 3 else ""
        pairs.append((company, f"{company}（{some}{more}）"))
    return options(pairs, selected, blank="（请选择）")


def when(value: Any) -> str:
    """A time as people read it here (Beijing time)."""
    from shudi.clock import beijing_text

    return beijing_text(value, label=True) if value else "—"
