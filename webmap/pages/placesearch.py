"""The place search box and the map's orientation layers, as includes for any page.

:func:`place_search` is the whole component: a stylesheet link, an empty
``<div data-place-search>`` that ``static/places.js`` turns into the search box, and the
script. :func:`orientation` adds ``static/orient.js`` (names, estate outlines, roads) to a map
page; :func:`webmap.pages.common.map_page` includes it on every map.
"""

from __future__ import annotations

from webmap.pages.common import ASSET_VERSION, STATIC, esc

PLACES_VERSION = "3"  # bump when places.js, places.css or orient.js change


def _css() -> str:
    return f'<link rel="stylesheet" href="{STATIC}/places.css?v={ASSET_VERSION}.{PLACES_VERSION}">'


def place_search(*, href: str | None = None, placeholder: str | None = None) -> str:
    """The search box. On a page without a map, picking a place follows ``href`` (with
    ``{lon}``, ``{lat}``, ``{zoom}``, ``{code}``), e.g. ``/directory#place={lon},{lat},{zoom}``.
    """
    attrs = ""
    if href:
        attrs += f' data-place-href="{esc(href)}"'
    if placeholder:
        attrs += f' data-placeholder="{esc(placeholder)}"'
    return (
        f"{_css()}\n"
        f'<div class="place-search" data-place-search data-testid="place-search"{attrs}></div>\n'
        f'<script defer src="{STATIC}/places.js?v={ASSET_VERSION}.{PLACES_VERSION}"></script>\n'
    )


def orientation() -> str:
    """The map's orientation layers (for a map page's ``<head>``)."""
    return (
        f"{_css()}\n"
        f'<script defer src="{STATIC}/orient.js?v={ASSET_VERSION}.{PLACES_VERSION}"></script>\n'
    )
